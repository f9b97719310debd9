//! One error type for every parse and check in this crate.
//!
//! Each variant names the field it is about and the rule that was broken, so
//! a caller (CLI, API) can show it to a person as is. No variant carries
//! secret material.

use thiserror::Error;

/// Why a value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// The input has the wrong number of characters or trits.
    #[error("{field}: must be {expected} long, got {actual}")]
    Length {
        field: &'static str,
        expected: String,
        actual: usize,
    },
    /// A character outside the tryte alphabet `9A-Z`.
    #[error("{field}: character {found:?} at position {position} is not a tryte (allowed: 9 and A-Z)")]
    NotTryte {
        field: &'static str,
        position: usize,
        found: char,
    },
    /// A character outside the alphabet a field allows.
    #[error("{field}: character {found:?} at position {position} is not allowed (allowed: {allowed})")]
    NotInAlphabet {
        field: &'static str,
        position: usize,
        found: char,
        allowed: &'static str,
    },
    /// A trit outside -1..=1.
    #[error("{field}: trit {value} at position {position} is not -1, 0 or 1")]
    NotTrit {
        field: &'static str,
        position: usize,
        value: i8,
    },
    /// A 90-tryte address whose last 9 trytes are not its Kerl checksum.
    #[error("{field}: checksum does not match the address")]
    ChecksumMismatch { field: &'static str },
    /// A number outside the range its field allows.
    #[error("{field}: {value} is outside the allowed range {min}..={max}")]
    OutOfRange {
        field: &'static str,
        value: i128,
        min: i128,
        max: i128,
    },
    /// Any other rule, stated in words.
    #[error("{field}: {rule}")]
    Rule { field: &'static str, rule: &'static str },
}

impl Error {
    /// The name of the field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Error::Length { field, .. }
            | Error::NotTryte { field, .. }
            | Error::NotInAlphabet { field, .. }
            | Error::NotTrit { field, .. }
            | Error::ChecksumMismatch { field }
            | Error::OutOfRange { field, .. }
            | Error::Rule { field, .. } => field,
        }
    }

    /// The same error, reported for another field name (for example the API
    /// name `payoutAddress` instead of the type name `address`).
    pub fn for_field(mut self, name: &'static str) -> Self {
        match &mut self {
            Error::Length { field, .. }
            | Error::NotTryte { field, .. }
            | Error::NotInAlphabet { field, .. }
            | Error::NotTrit { field, .. }
            | Error::ChecksumMismatch { field }
            | Error::OutOfRange { field, .. }
            | Error::Rule { field, .. } => *field = name,
        }
        self
    }
}
