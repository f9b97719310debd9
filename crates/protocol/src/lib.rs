//! Legacy IOTA 1.0 primitives for Hub.
//!
//! Everything Hub needs to speak the legacy protocol lives here, as value types
//! that cannot hold invalid data: trytes and trits, addresses with checksums,
//! hashes and tags, seeds and seed UUIDs, Kerl and Curl-P-81, Winternitz
//! one-time signatures, the 2673-tryte transaction codec, bundle building,
//! finalisation, signing and validation, and the local "attach" step with
//! proof of work. Nothing here does I/O; nothing here knows about Hub's
//! database or users. [`redact_url`] hides the credentials of any URL a
//! crate above shows (it lives here, the one crate below them all).
//!
//! Kerl, Curl-P-81 and WOTS come from `iota-crypto`, which agrees with two
//! independent libraries; proof of work is our own (`hub-pow`).

pub mod address;
pub mod amount;
pub mod attach;
pub mod bundle;
pub mod error;
pub mod redact;
pub mod seed;
pub mod sponge;
pub mod ternary;
pub mod transaction;
pub mod types;
pub mod validate;
pub mod wots;

pub use address::Address;
pub use amount::Amount;
pub use error::Error;
pub use redact::redact_url;
pub use seed::{Argon2Mode, Argon2Params, Salt, SecurityLevel, Seed, SeedUuid};
pub use transaction::{Transaction, Value};
pub use types::{Fragment, Hash, Nonce, Tag};

/// The total supply of legacy IOTA tokens; no value may exceed it in magnitude.
pub const SUPPLY: i64 = 2_779_530_283_277_761;
