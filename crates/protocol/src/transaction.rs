//! The 2673-tryte legacy transaction and its codec.
//!
//! A transaction is a fixed layout of fields (table below). Decoding checks
//! every field, so a `Transaction` value always encodes back to the same
//! trytes. The hash of a transaction is the Curl-P-81 digest of its 8019
//! trits; the first 486 trits after the message field are its *essence*,
//! which bundle hashes are made of.
//!
//! | field                    | trytes | offset |
//! |--------------------------|-------:|-------:|
//! | signatureMessageFragment |   2187 |      0 |
//! | address                  |     81 |   2187 |
//! | value                    |     27 |   2268 |
//! | obsoleteTag              |     27 |   2295 |
//! | timestamp                |      9 |   2322 |
//! | currentIndex             |      9 |   2331 |
//! | lastIndex                |      9 |   2340 |
//! | bundle                   |     81 |   2349 |
//! | trunkTransaction         |     81 |   2430 |
//! | branchTransaction        |     81 |   2511 |
//! | tag                      |     27 |   2592 |
//! | attachmentTimestamp      |      9 |   2619 |
//! | attachmentTimestampLower |      9 |   2628 |
//! | attachmentTimestampUpper |      9 |   2637 |
//! | nonce                    |     27 |   2646 |

use std::fmt;

use crate::address::Address;
use crate::sponge::curl_p81;
use crate::ternary::{
    check_trytes, int_to_trits, max_balanced, trits_to_int, trits_to_tryte_bytes, trytes_to_trits_into,
};
use crate::types::{Fragment, Hash, Nonce, Tag};
use crate::{Error, SUPPLY};

/// Trytes in a serialised transaction.
pub const TRANSACTION_TRYTES: usize = 2673;
/// Trits in a serialised transaction.
pub const TRANSACTION_TRITS: usize = TRANSACTION_TRYTES * 3;
/// Trits of the value field that may be non-zero (the rest must be zero).
pub const VALUE_USABLE_TRITS: usize = 33;
/// Offset (in trits) of the essence: address, value, obsolete tag, timestamp,
/// current and last index.
pub const ESSENCE_OFFSET: usize = 2187 * 3;
/// Length (in trits) of the essence.
pub const ESSENCE_TRITS: usize = 486;

/// A token amount on a transaction: |value| ≤ the total supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Value(i64);

impl Value {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// Checks the supply bound.
    pub fn new(value: i64) -> Result<Self, Error> {
        if !(-SUPPLY..=SUPPLY).contains(&value) {
            return Err(Error::OutOfRange {
                field: "value",
                value: value.into(),
                min: (-SUPPLY).into(),
                max: SUPPLY.into(),
            });
        }
        Ok(Self(value))
    }

    /// The amount.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A number that fits 27 balanced trits (timestamps, indexes, attachment
/// timestamps): |v| ≤ 3 812 798 742 493.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Int27(i64);

impl Int27 {
    /// The largest value: (3^27 - 1) / 2.
    pub const MAX: i64 = max_balanced(27);
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// Checks the 27-trit bound.
    pub fn new(value: i64) -> Result<Self, Error> {
        Self::for_field("27-trit integer", value)
    }

    /// Checks the 27-trit bound, naming `field` in the error.
    pub fn for_field(field: &'static str, value: i64) -> Result<Self, Error> {
        if !(-Self::MAX..=Self::MAX).contains(&value) {
            return Err(Error::OutOfRange {
                field,
                value: value.into(),
                min: (-Self::MAX).into(),
                max: Self::MAX.into(),
            });
        }
        Ok(Self(value))
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// One legacy IOTA transaction, every field valid.
#[derive(Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Signature fragment (inputs) or message (outputs).
    pub signature_message_fragment: Fragment,
    /// Address whose balance the value moves.
    pub address: Address,
    /// Tokens moved: negative for inputs, positive for outputs.
    pub value: Value,
    /// Part of the bundle essence; finalisation adjusts it on transaction 0.
    pub obsolete_tag: Tag,
    /// Bundle creation time, seconds since the Unix epoch.
    pub timestamp: Int27,
    /// Position in the bundle, 0 for the tail.
    pub current_index: Int27,
    /// Index of the bundle's last transaction.
    pub last_index: Int27,
    /// Bundle hash.
    pub bundle: Hash,
    /// Approved transaction: the next one of the bundle, or a tip for the last.
    pub trunk: Hash,
    /// Second approved transaction.
    pub branch: Hash,
    /// Free tag (filled from the obsolete tag on attachment when empty).
    pub tag: Tag,
    /// Time of proof of work, milliseconds since the Unix epoch.
    pub attachment_timestamp: Int27,
    /// Lower bound announced for the attachment timestamp.
    pub attachment_timestamp_lower: Int27,
    /// Upper bound announced for the attachment timestamp.
    pub attachment_timestamp_upper: Int27,
    /// Proof-of-work nonce.
    pub nonce: Nonce,
}

/// Field layout: (name, offset in trytes, length in trytes).
const FIELDS: [(&str, usize, usize); 15] = [
    ("signatureMessageFragment", 0, 2187),
    ("address", 2187, 81),
    ("value", 2268, 27),
    ("obsoleteTag", 2295, 27),
    ("timestamp", 2322, 9),
    ("currentIndex", 2331, 9),
    ("lastIndex", 2340, 9),
    ("bundle", 2349, 81),
    ("trunkTransaction", 2430, 81),
    ("branchTransaction", 2511, 81),
    ("tag", 2592, 27),
    ("attachmentTimestamp", 2619, 9),
    ("attachmentTimestampLower", 2628, 9),
    ("attachmentTimestampUpper", 2637, 9),
    ("nonce", 2646, 27),
];

fn field_trits(trits: &[i8], index: usize) -> &[i8] {
    let (_, offset, len) = FIELDS[index];
    &trits[offset * 3..(offset + len) * 3]
}

impl Transaction {
    /// A transaction of all-`9` fields (value 0, timestamps 0).
    pub fn null() -> Self {
        Self {
            signature_message_fragment: Fragment::NULL,
            address: Address::NULL,
            value: Value::ZERO,
            obsolete_tag: Tag::NULL,
            timestamp: Int27::ZERO,
            current_index: Int27::ZERO,
            last_index: Int27::ZERO,
            bundle: Hash::NULL,
            trunk: Hash::NULL,
            branch: Hash::NULL,
            tag: Tag::NULL,
            attachment_timestamp: Int27::ZERO,
            attachment_timestamp_lower: Int27::ZERO,
            attachment_timestamp_upper: Int27::ZERO,
            nonce: Nonce::NULL,
        }
    }

    /// Decodes exactly 2673 trytes.
    pub fn from_trytes(s: &str) -> Result<Self, Error> {
        check_trytes("transaction", s, Some(TRANSACTION_TRYTES))?;
        let mut trits = vec![0i8; TRANSACTION_TRITS];
        trytes_to_trits_into(s.as_bytes(), &mut trits);
        Self::from_trits(&trits)
    }

    /// Decodes exactly 8019 trits.
    pub fn from_trits(trits: &[i8]) -> Result<Self, Error> {
        if trits.len() != TRANSACTION_TRITS {
            return Err(Error::Length {
                field: "transaction",
                expected: format!("{TRANSACTION_TRITS} trits"),
                actual: trits.len(),
            });
        }
        crate::ternary::check_trits("transaction", trits)?;
        let value_trits = field_trits(trits, 2);
        if value_trits[VALUE_USABLE_TRITS..].iter().any(|&t| t != 0) {
            return Err(Error::Rule {
                field: "value",
                rule: "only the first 33 trits may be non-zero",
            });
        }
        let int27 = |index: usize| Int27::for_field(FIELDS[index].0, trits_to_int(field_trits(trits, index))?);
        Ok(Self {
            signature_message_fragment: Fragment::from_trits(field_trits(trits, 0))?,
            address: Address::from_trits(field_trits(trits, 1))?,
            value: Value::new(trits_to_int(&value_trits[..VALUE_USABLE_TRITS])?)?,
            obsolete_tag: Tag::from_trits(field_trits(trits, 3))?,
            timestamp: int27(4)?,
            current_index: int27(5)?,
            last_index: int27(6)?,
            bundle: Hash::from_trits(field_trits(trits, 7))?,
            trunk: Hash::from_trits(field_trits(trits, 8))?,
            branch: Hash::from_trits(field_trits(trits, 9))?,
            tag: Tag::from_trits(field_trits(trits, 10))?,
            attachment_timestamp: int27(11)?,
            attachment_timestamp_lower: int27(12)?,
            attachment_timestamp_upper: int27(13)?,
            nonce: Nonce::from_trits(field_trits(trits, 14))?,
        })
    }

    /// Encodes to 8019 trits.
    pub fn to_trits(&self) -> Vec<i8> {
        let mut trits = vec![0i8; TRANSACTION_TRITS];
        let mut put = |index: usize, write: &dyn Fn(&mut [i8])| {
            let (_, offset, len) = FIELDS[index];
            write(&mut trits[offset * 3..(offset + len) * 3]);
        };
        let int = |v: Int27| move |out: &mut [i8]| int_to_trits("int27", v.get(), out).expect("Int27 fits 27 trits");
        put(0, &|o| self.signature_message_fragment.write_trits(o));
        put(1, &|o| self.address.write_trits(o));
        put(2, &|o| {
            int_to_trits("value", self.value.get(), o).expect("Value fits 81 trits")
        });
        put(3, &|o| self.obsolete_tag.write_trits(o));
        put(4, &int(self.timestamp));
        put(5, &int(self.current_index));
        put(6, &int(self.last_index));
        put(7, &|o| self.bundle.write_trits(o));
        put(8, &|o| self.trunk.write_trits(o));
        put(9, &|o| self.branch.write_trits(o));
        put(10, &|o| self.tag.write_trits(o));
        put(11, &int(self.attachment_timestamp));
        put(12, &int(self.attachment_timestamp_lower));
        put(13, &int(self.attachment_timestamp_upper));
        put(14, &|o| self.nonce.write_trits(o));
        trits
    }

    /// Encodes to 2673 trytes.
    pub fn to_trytes(&self) -> String {
        String::from_utf8(trits_to_tryte_bytes(&self.to_trits())).expect("trytes are ASCII")
    }

    /// The 486-trit essence (address, value, obsolete tag, timestamp,
    /// current index, last index) that bundle hashes are computed over.
    pub fn essence(&self) -> Vec<i8> {
        self.to_trits()[ESSENCE_OFFSET..ESSENCE_OFFSET + ESSENCE_TRITS].to_vec()
    }

    /// The transaction hash: Curl-P-81 of its trits.
    pub fn hash(&self) -> Hash {
        let digest = curl_p81(&self.to_trits()).expect("a transaction is 33 Curl chunks");
        Hash::from_trits(&digest).expect("Curl output is 243 trits")
    }

    /// Whether this is the first transaction of its bundle.
    pub fn is_tail(&self) -> bool {
        self.current_index.get() == 0
    }
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("address", &self.address)
            .field("value", &self.value.get())
            .field("obsolete_tag", &self.obsolete_tag)
            .field("timestamp", &self.timestamp.get())
            .field("current_index", &self.current_index.get())
            .field("last_index", &self.last_index.get())
            .field("bundle", &self.bundle)
            .field("trunk", &self.trunk)
            .field("branch", &self.branch)
            .field("tag", &self.tag)
            .field("attachment_timestamp", &self.attachment_timestamp.get())
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_transaction() -> impl Strategy<Value = Transaction> {
        let hash = || "[9A-Z]{81}".prop_map(|s| Hash::from_trytes(&s).unwrap());
        let tag = || "[9A-Z]{27}".prop_map(|s| Tag::from_trytes(&s).unwrap());
        let int = || (-Int27::MAX..=Int27::MAX).prop_map(|v| Int27::new(v).unwrap());
        (
            ("[9A-Z]{2187}", hash(), (-SUPPLY..=SUPPLY), tag(), int(), int(), int()),
            (hash(), hash(), hash(), tag(), int(), int(), int(), "[9A-Z]{27}"),
        )
            .prop_map(
                |(
                    (msg, address, value, obsolete_tag, timestamp, current_index, last_index),
                    (bundle, trunk, branch, tag, at, atl, atu, nonce),
                )| Transaction {
                    signature_message_fragment: Fragment::from_trytes(&msg).unwrap(),
                    address: Address::from_trytes(address.as_str()).unwrap(),
                    value: Value::new(value).unwrap(),
                    obsolete_tag,
                    timestamp,
                    current_index,
                    last_index,
                    bundle,
                    trunk,
                    branch,
                    tag,
                    attachment_timestamp: at,
                    attachment_timestamp_lower: atl,
                    attachment_timestamp_upper: atu,
                    nonce: Nonce::from_trytes(&nonce).unwrap(),
                },
            )
    }

    #[test]
    fn null_transaction_is_all_nines() {
        assert_eq!(Transaction::null().to_trytes(), "9".repeat(2673));
    }

    #[test]
    fn value_beyond_usable_trits_is_rejected() {
        let mut trytes = "9".repeat(2673).into_bytes();
        trytes[2268 + 12] = b'A'; // trit 36 of the value field
        let err = Transaction::from_trytes(std::str::from_utf8(&trytes).unwrap()).unwrap_err();
        assert_eq!(err.field(), "value");
    }

    #[test]
    fn value_above_supply_is_rejected() {
        let mut t = [0i8; 81];
        int_to_trits("value", SUPPLY, &mut t).unwrap();
        let mut tx = Transaction::null().to_trits();
        tx[2268 * 3..2295 * 3].copy_from_slice(&t);
        assert_eq!(Transaction::from_trits(&tx).unwrap().value.get(), SUPPLY);
        // The supply is exactly the largest 33-trit number: one more spills
        // into the unusable trits.
        crate::ternary::increment_trits(&mut t);
        tx[2268 * 3..2295 * 3].copy_from_slice(&t);
        assert_eq!(Transaction::from_trits(&tx).unwrap_err().field(), "value");
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(Transaction::from_trytes("").is_err());
        assert!(Transaction::from_trytes(&"9".repeat(2672)).is_err());
        assert!(Transaction::from_trytes(&format!("{}a", "9".repeat(2672))).is_err());
        assert!(Transaction::from_trits(&[0; 10]).is_err());
        assert!(Value::new(SUPPLY + 1).is_err());
        assert!(Int27::new(Int27::MAX + 1).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn codec_round_trip(tx in arb_transaction()) {
            let trytes = tx.to_trytes();
            prop_assert_eq!(trytes.len(), TRANSACTION_TRYTES);
            let back = Transaction::from_trytes(&trytes).unwrap();
            prop_assert_eq!(&back, &tx);
            prop_assert_eq!(back.to_trytes(), trytes);
        }

        #[test]
        fn decoding_never_panics(s in "[9A-Z]{2673}") {
            // Random trytes are often invalid (value range); they must error, not panic.
            if let Ok(tx) = Transaction::from_trytes(&s) {
                prop_assert_eq!(tx.to_trytes(), s);
            }
        }

        #[test]
        fn decoding_garbage_never_panics(s in "\\PC{0,3000}") {
            let _ = Transaction::from_trytes(&s);
        }
    }
}
