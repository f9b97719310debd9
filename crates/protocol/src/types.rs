//! Fixed-length tryte strings: hashes, tags, nonces, message fragments.
//!
//! Each type holds exactly its number of valid trytes, so code that receives
//! one never has to check it again. They are stored as ASCII tryte bytes
//! (cheap to print, compare and store) and turned into trits on demand.

use crate::ternary::check_trytes;
use crate::Error;

/// Defines a value type holding exactly `$len` trytes.
macro_rules! tryte_type {
    ($(#[$meta:meta])* $name:ident, $len:expr, $field:expr $(, $derive:ident)*) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord $(, $derive)*)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length in trytes.
            pub const LEN: usize = $len;
            /// Length in trits.
            pub const TRITS: usize = $len * 3;
            /// The value made of `9`s only.
            pub const NULL: Self = Self([b'9'; $len]);

            /// Parses exactly `LEN` trytes.
            pub fn from_trytes(s: &str) -> Result<Self, $crate::Error> {
                $crate::ternary::check_trytes($field, s, Some($len))?;
                let mut bytes = [b'9'; $len];
                bytes.copy_from_slice(s.as_bytes());
                Ok(Self(bytes))
            }

            /// Builds the value from exactly `TRITS` trits.
            pub fn from_trits(trits: &[i8]) -> Result<Self, $crate::Error> {
                if trits.len() != Self::TRITS {
                    return Err($crate::Error::Length {
                        field: $field,
                        expected: format!("{} trits", Self::TRITS),
                        actual: trits.len(),
                    });
                }
                $crate::ternary::check_trits($field, trits)?;
                let mut bytes = [b'9'; $len];
                bytes.copy_from_slice(&$crate::ternary::trits_to_tryte_bytes(trits));
                Ok(Self(bytes))
            }

            /// The trytes as a string slice.
            pub fn as_str(&self) -> &str {
                // The bytes are always tryte characters, which are ASCII.
                std::str::from_utf8(&self.0).expect("trytes are ASCII")
            }

            /// The tryte bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Writes the trits into `out`, which must be `TRITS` long.
            pub(crate) fn write_trits(&self, out: &mut [i8]) {
                $crate::ternary::trytes_to_trits_into(&self.0, out);
            }

            /// The trits.
            pub fn to_trits(&self) -> Vec<i8> {
                let mut out = vec![0; Self::TRITS];
                self.write_trits(&mut out);
                out
            }

            /// Whether every tryte is `9`.
            pub fn is_null(&self) -> bool {
                self.0.iter().all(|&b| b == b'9')
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::NULL
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> Result<Self, $crate::Error> {
                Self::from_trytes(s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.as_str())
            }
        }
    };
}

pub(crate) use tryte_type;

tryte_type!(
    /// An 81-tryte hash: a transaction hash or a bundle hash.
    Hash, 81, "hash", Copy
);

tryte_type!(
    /// A 27-tryte tag or obsolete tag.
    Tag, 27, "tag", Copy
);

tryte_type!(
    /// The 27-tryte proof-of-work nonce of a transaction.
    Nonce, 27, "nonce", Copy
);

tryte_type!(
    /// A 2187-tryte signature or message fragment.
    Fragment, 2187, "signatureMessageFragment"
);

impl Tag {
    /// Parses up to 27 trytes and right-pads them with `9`, as Hub does for
    /// withdrawal tags. Empty input gives the null tag.
    pub fn from_trytes_padded(s: &str) -> Result<Self, Error> {
        check_trytes("tag", s, None)?;
        if s.len() > Self::LEN {
            return Err(Error::Length {
                field: "tag",
                expected: format!("at most {} trytes", Self::LEN),
                actual: s.len(),
            });
        }
        let mut bytes = [b'9'; 27];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Self(bytes))
    }
}

impl Fragment {
    /// A fragment holding `trytes` (at most 2187) followed by `9`s: how a
    /// message shorter than a fragment is stored.
    pub fn from_trytes_padded(s: &str) -> Result<Self, Error> {
        check_trytes("signatureMessageFragment", s, None)?;
        if s.len() > Self::LEN {
            return Err(Error::Length {
                field: "signatureMessageFragment",
                expected: format!("at most {} trytes", Self::LEN),
                actual: s.len(),
            });
        }
        let mut bytes = [b'9'; 2187];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hash_rejects_wrong_length_and_alphabet() {
        assert!(matches!(
            Hash::from_trytes("ABC"),
            Err(Error::Length {
                field: "hash",
                actual: 3,
                ..
            })
        ));
        let bad = format!("{}a", "9".repeat(80));
        assert!(matches!(
            Hash::from_trytes(&bad),
            Err(Error::NotTryte {
                position: 80,
                found: 'a',
                ..
            })
        ));
        assert!(Hash::from_trytes(&"Z".repeat(81)).is_ok());
    }

    #[test]
    fn padded_tag() {
        assert_eq!(
            Tag::from_trytes_padded("HUBTEST").unwrap().as_str(),
            "HUBTEST99999999999999999999"
        );
        assert!(Tag::from_trytes_padded("").unwrap().is_null());
        assert!(Tag::from_trytes_padded(&"A".repeat(28)).is_err());
        assert!(Tag::from_trytes_padded("lower").is_err());
    }

    proptest! {
        #[test]
        fn hash_trits_round_trip(s in "[9A-Z]{81}") {
            let h = Hash::from_trytes(&s).unwrap();
            prop_assert_eq!(Hash::from_trits(&h.to_trits()).unwrap(), h);
            prop_assert_eq!(h.to_string(), s);
        }

        #[test]
        fn from_trits_never_panics(v in proptest::collection::vec(-3i8..3, 0..300)) {
            let _ = Hash::from_trits(&v);
            let _ = Tag::from_trits(&v);
        }
    }
}
