//! The dangerous commands (hub-behaviour.md §9), one feature per module:
//! `SignBundle` ([`sign_bundle`]), `RecoverFunds` (`recover`),
//! `GetSeedForAddress` and `GetSeedForUUID` (`seeds`).
//!
//! Each one is off unless the operator turns it on ([`SensitiveConfig`]);
//! each one signs a key again or hands a seed out, so each success is logged
//! as a warning (never with the seed or the signature).

mod recover;
mod seeds;
pub mod sign_bundle;

pub use recover::DEFAULT_RECOVERY_CANDIDATES;
pub use sign_bundle::{AuthKey, MIN_AUTH_KEY_BYTES};

use hub_protocol::address::ChecksumPolicy;
use hub_protocol::Address;

use crate::HubError;

/// Which dangerous commands are on. Everything is off by default.
#[derive(Debug, Clone)]
pub struct SensitiveConfig {
    /// `SignBundle`, with the key its tokens are checked against.
    pub sign_bundle: Option<AuthKey>,
    /// `RecoverFunds`.
    pub recover_funds: bool,
    /// Bundle hashes RecoverFunds tries when a key signs again.
    pub recovery_candidates: u64,
    /// `GetSeedForAddress`.
    pub seed_for_address: bool,
    /// `GetSeedForUUID`.
    pub seed_for_uuid: bool,
}

impl Default for SensitiveConfig {
    fn default() -> Self {
        Self {
            sign_bundle: None,
            recover_funds: false,
            recovery_candidates: DEFAULT_RECOVERY_CANDIDATES,
            seed_for_address: false,
            seed_for_uuid: false,
        }
    }
}

fn disabled(command: &str) -> HubError {
    HubError::Cancelled(format!("{command} is disabled on this Hub"))
}

/// An address of exactly 81 trytes (no checksum accepted).
fn exact_address(field: &'static str, text: &str) -> Result<Address, HubError> {
    Address::parse(text, ChecksumPolicy::Without).map_err(|e| HubError::argument(field, e))
}
