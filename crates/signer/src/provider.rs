//! The seed-provider interface every key source implements.
//!
//! Hub never stores seeds: each address has a seed UUID, and a
//! [`SeedProvider`] turns a UUID into an address, a security level, a
//! signature or (for recovery) the seed itself. Hub's core depends only on
//! this trait, so keys can live in-process ([`crate::LocalProvider`]) or on
//! a signing server ([`crate::RemoteProvider`]) without Hub's rules changing.

use std::future::Future;
use std::pin::Pin;

use hub_protocol::wots::Signature;
use hub_protocol::{Address, Hash, SecurityLevel, Seed, SeedUuid};

/// A boxed future, so providers can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a provider could not answer. Messages never carry secrets.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The provider (or the signing server behind it) is unreachable or failed.
    #[error("seed provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request.
    #[error("seed provider refused: {0}")]
    Refused(String),
}

/// Derives addresses, signatures and seeds from seed UUIDs. Every address
/// is key index 0 of its UUID's seed (hub-behaviour.md §4.3).
pub trait SeedProvider: Send + Sync {
    /// The address of `uuid`.
    fn address<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Address, ProviderError>>;
    /// The security level `uuid`'s address uses.
    fn security_level<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<SecurityLevel, ProviderError>>;
    /// A signature of `bundle_hash` by `uuid`'s key.
    fn sign<'a>(&'a self, uuid: &'a SeedUuid, bundle_hash: &'a Hash)
        -> BoxFuture<'a, Result<Signature, ProviderError>>;
    /// The seed of `uuid` (recovery only).
    fn seed<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Seed, ProviderError>>;
}
