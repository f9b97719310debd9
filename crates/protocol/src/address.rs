//! Addresses and their checksums.
//!
//! An address is 81 trytes. People and wallets often carry it with a 9-tryte
//! checksum appended (the last 9 trytes of its Kerl hash), 90 trytes in all;
//! Hub stores addresses without it. Addresses derived with Kerl always end in
//! a zero trit ("last trit is zero"), which the network requires of any
//! address that moves value.

use crate::sponge::kerl;
use crate::ternary::{check_trytes, trits_to_trytes};
use crate::types::tryte_type;
use crate::Error;

tryte_type!(
    /// An 81-tryte address, without checksum.
    Address, 81, "address", Copy
);

/// Trytes in an address checksum.
pub const CHECKSUM_TRYTES: usize = 9;

/// How a caller wants an address string to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumPolicy {
    /// Exactly 81 trytes; a 90-tryte string is rejected, never stripped.
    Without,
    /// Exactly 90 trytes whose last 9 are the right checksum.
    Required,
    /// Either form; a checksum, if present, must be right.
    Optional,
}

impl Address {
    /// Parses an address according to `policy` (see [`ChecksumPolicy`]).
    pub fn parse(s: &str, policy: ChecksumPolicy) -> Result<Self, Error> {
        let len = s.chars().count();
        let with_checksum = Self::LEN + CHECKSUM_TRYTES;
        match (policy, len) {
            (ChecksumPolicy::Without, _) | (ChecksumPolicy::Optional, 81) => Self::from_trytes(s),
            (ChecksumPolicy::Required, _) | (ChecksumPolicy::Optional, 90) => {
                if len != with_checksum {
                    return Err(Error::Length {
                        field: "address",
                        expected: format!("{with_checksum} trytes (address and checksum)"),
                        actual: len,
                    });
                }
                check_trytes("address", s, Some(with_checksum))?;
                let address = Self::from_trytes(&s[..Self::LEN])?;
                if address.checksum() != s[Self::LEN..] {
                    return Err(Error::ChecksumMismatch { field: "address" });
                }
                Ok(address)
            }
            (ChecksumPolicy::Optional, actual) => Err(Error::Length {
                field: "address",
                expected: "81 trytes, or 90 with checksum".into(),
                actual,
            }),
        }
    }

    /// The 9-tryte checksum: the last 9 trytes of Kerl(address).
    pub fn checksum(&self) -> String {
        let hash = kerl(&self.to_trits()).expect("an address is one Kerl chunk");
        trits_to_trytes(&hash[243 - 3 * CHECKSUM_TRYTES..]).expect("Kerl output is trits")
    }

    /// The 90-tryte form: address followed by its checksum.
    pub fn with_checksum(&self) -> String {
        format!("{}{}", self.as_str(), self.checksum())
    }

    /// Whether the 243rd trit is zero, i.e. the last tryte is one of
    /// `9ABCDWXYZ`. True for every Kerl-derived address; the network refuses
    /// value transactions on other addresses, and Hub refuses to pay to them.
    pub fn last_trit_is_zero(&self) -> bool {
        matches!(
            self.as_bytes()[80],
            b'9' | b'A' | b'B' | b'C' | b'D' | b'W' | b'X' | b'Y' | b'Z'
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ADDRESS: &str = "WLVZXWARPSYCWJMBZJGXHUOVYBVCEKMNQDMXHCAEJZFLFLMHFYYQQSSLVYWAZWESKXZOROLU9OQFRVDEW";

    #[test]
    fn checksum_vector() {
        let a = Address::from_trytes(ADDRESS).unwrap();
        assert_eq!(a.checksum(), "CHKKXPWGY");
        assert_eq!(a.with_checksum(), format!("{ADDRESS}CHKKXPWGY"));
    }

    #[test]
    fn parse_policies() {
        let full = format!("{ADDRESS}CHKKXPWGY");
        let wrong = format!("{ADDRESS}CHKKXPWGA");
        assert!(Address::parse(ADDRESS, ChecksumPolicy::Without).is_ok());
        assert!(Address::parse(&full, ChecksumPolicy::Without).is_err());
        assert!(Address::parse(&full, ChecksumPolicy::Required).is_ok());
        assert!(Address::parse(&full, ChecksumPolicy::Optional).is_ok());
        assert!(Address::parse(ADDRESS, ChecksumPolicy::Optional).is_ok());
        assert_eq!(
            Address::parse(&wrong, ChecksumPolicy::Required),
            Err(Error::ChecksumMismatch { field: "address" })
        );
        assert!(matches!(
            Address::parse(ADDRESS, ChecksumPolicy::Required),
            Err(Error::Length { actual: 81, .. })
        ));
        assert!(matches!(
            Address::parse("ABC", ChecksumPolicy::Required),
            Err(Error::Length { actual: 3, .. })
        ));
        assert!(matches!(
            Address::parse(&format!("{ADDRESS}A"), ChecksumPolicy::Optional),
            Err(Error::Length { actual: 82, .. })
        ));
    }

    #[test]
    fn last_trit_rule() {
        for (c, ok) in [
            ('9', true),
            ('A', true),
            ('D', true),
            ('E', false),
            ('M', false),
            ('N', false),
            ('V', false),
            ('W', true),
            ('Z', true),
        ] {
            let a = Address::from_trytes(&format!("{}{c}", "9".repeat(80))).unwrap();
            assert_eq!(a.last_trit_is_zero(), ok, "{c}");
            assert_eq!(a.to_trits()[242] == 0, ok, "{c}");
        }
    }

    proptest! {
        #[test]
        fn checksum_round_trip(s in "[9A-Z]{81}") {
            let a = Address::from_trytes(&s).unwrap();
            prop_assert_eq!(Address::parse(&a.with_checksum(), ChecksumPolicy::Required).unwrap(), a);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,100}") {
            for p in [ChecksumPolicy::Without, ChecksumPolicy::Required, ChecksumPolicy::Optional] {
                let _ = Address::parse(&s, p);
            }
        }
    }
}
