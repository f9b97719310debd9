//! The in-process seed provider: Argon2 with the operator's salt.
//!
//! This is how Hub derives keys when it holds the salt itself (`--signing
//! local`), and how the signing server derives them behind its gRPC
//! service. Argon2 takes 128 MiB and a noticeable fraction of a second per
//! call, so derivations are bounded and run off the async executor.
//!
//! Two lanes bound them. Address derivation (the address-pool filler and
//! GetDepositAddress on demand) shares `max_concurrent` slots; signing and
//! seed export have one slot of their own, so a sweep is never queued
//! behind a pool refill of any size. Memory is therefore bounded by
//! (`max_concurrent` + 1) × `m_cost_kib`.

use std::sync::Arc;

use hub_protocol::seed::derive_seed;
use hub_protocol::wots::{self, Signature};
use hub_protocol::{Address, Argon2Params, Hash, Salt, SecurityLevel, Seed, SeedUuid};
use tokio::sync::Semaphore;

use crate::provider::{BoxFuture, ProviderError, SeedProvider};

/// Derives seeds in-process from the salt.
pub struct LocalProvider {
    salt: Arc<Salt>,
    params: Argon2Params,
    security: SecurityLevel,
    /// Slots of address derivation: `max_concurrent`.
    address_lane: Semaphore,
    /// The slot reserved for signing and seed export: one, so signing
    /// waits only for other signing, never for address derivation.
    signing_lane: Semaphore,
}

/// Slots of the signing lane: sweeps sign their inputs one after another,
/// so one is enough, and it adds only one Argon2 memory to the bound.
const SIGNING_LANE_SLOTS: usize = 1;

impl LocalProvider {
    /// A provider deriving with `params` and `salt` at `security`, running at
    /// most `max_concurrent` address derivations and one signing or seed
    /// export at once (each takes `params.m_cost_kib` of memory, so at most
    /// (`max_concurrent` + 1) × `m_cost_kib` in all).
    pub fn new(
        salt: Salt,
        params: Argon2Params,
        security: SecurityLevel,
        max_concurrent: usize,
    ) -> Result<Self, ProviderError> {
        params.validate().map_err(|e| ProviderError::Refused(e.to_string()))?;
        if max_concurrent == 0 {
            return Err(ProviderError::Refused(
                "at least one concurrent derivation is needed".into(),
            ));
        }
        Ok(Self {
            salt: Arc::new(salt),
            params,
            security,
            address_lane: Semaphore::new(max_concurrent),
            signing_lane: Semaphore::new(SIGNING_LANE_SLOTS),
        })
    }

    /// The security level of every address this provider derives.
    pub fn security(&self) -> SecurityLevel {
        self.security
    }

    /// Runs `work` on `uuid`'s seed once `lane` has a free slot.
    async fn with_seed<T: Send + 'static>(
        &self,
        lane: &Semaphore,
        uuid: &SeedUuid,
        work: impl FnOnce(&Seed) -> T + Send + 'static,
    ) -> Result<T, ProviderError> {
        let _permit = lane
            .acquire()
            .await
            .map_err(|_| ProviderError::Unavailable("provider shut down".into()))?;
        let (salt, params, uuid) = (self.salt.clone(), self.params, uuid.clone());
        tokio::task::spawn_blocking(move || {
            let seed = derive_seed(&uuid, &salt, &params).map_err(|e| ProviderError::Refused(e.to_string()))?;
            Ok(work(&seed))
        })
        .await
        .map_err(|e| ProviderError::Unavailable(format!("derivation task failed: {e}")))?
    }
}

impl std::fmt::Debug for LocalProvider {
    /// Parameters only: the salt is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalProvider")
            .field("params", &self.params)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl SeedProvider for LocalProvider {
    fn address<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Address, ProviderError>> {
        let security = self.security;
        Box::pin(self.with_seed(&self.address_lane, uuid, move |seed| wots::address(seed, 0, security)))
    }

    fn security_level<'a>(&'a self, _uuid: &'a SeedUuid) -> BoxFuture<'a, Result<SecurityLevel, ProviderError>> {
        let security = self.security;
        Box::pin(async move { Ok(security) })
    }

    fn sign<'a>(
        &'a self,
        uuid: &'a SeedUuid,
        bundle_hash: &'a Hash,
    ) -> BoxFuture<'a, Result<Signature, ProviderError>> {
        let (security, hash) = (self.security, *bundle_hash);
        Box::pin(self.with_seed(&self.signing_lane, uuid, move |seed| {
            wots::sign(seed, 0, security, &hash)
        }))
    }

    fn seed<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Seed, ProviderError>> {
        Box::pin(self.with_seed(&self.signing_lane, uuid, Seed::clone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Params {
        Argon2Params {
            t_cost: 1,
            m_cost_kib: 64,
            ..Argon2Params::default()
        }
    }

    #[tokio::test]
    async fn local_provider_matches_the_vector_and_signs_verifiably() {
        let salt = Salt::new(b"abcdefghijklmnopqrstuvwxyz".to_vec()).unwrap();
        let provider = LocalProvider::new(salt, Argon2Params::default(), SecurityLevel::Medium, 2).unwrap();
        let uuid = SeedUuid::parse("43vgLK8NYigfKagfahbCSm+lMFcilNjZyV8Jj6blqX5u98Lx7vjH98AG1oh/ezOR").unwrap();
        let address = provider.address(&uuid).await.unwrap();
        assert_eq!(
            address.as_str(),
            "TLGUJV9NKSKKLQYBABOPVINMHRMPOOADQPWGFAFULPVXFQBFDJXQGJVLELQECCIQAXJCBXKVPDCWYWYQB"
        );
        let hash = Hash::from_trytes(&"H".repeat(81)).unwrap();
        let signature = provider.sign(&uuid, &hash).await.unwrap();
        assert!(wots::verify(&address, &hash, &signature.0));
        assert_eq!(provider.security_level(&uuid).await.unwrap(), SecurityLevel::Medium);
        assert_eq!(
            wots::address(&provider.seed(&uuid).await.unwrap(), 0, SecurityLevel::Medium),
            address
        );
    }

    /// Goal: a sweep's signature is never queued behind address derivation.
    /// Method: one address slot and Argon2 slow enough that derivations
    /// queue; four address() calls wait or run, then a sign() is asked; the
    /// sign must finish before the last address does (with one shared
    /// queue it would finish last).
    #[tokio::test]
    async fn signing_never_waits_behind_address_derivation() {
        let salt = Salt::new(vec![b's'; 32]).unwrap();
        let slow = Argon2Params {
            t_cost: 1,
            m_cost_kib: 16 * 1024,
            ..Argon2Params::default()
        };
        let provider = Arc::new(LocalProvider::new(salt, slow, SecurityLevel::Low, 1).unwrap());
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let (started, mut queued) = tokio::sync::mpsc::unbounded_channel();
        const ADDRESSES: usize = 4;
        for i in 0..ADDRESSES {
            let (provider, done, started) = (provider.clone(), done.clone(), started.clone());
            tokio::spawn(async move {
                started.send(()).unwrap();
                provider.address(&SeedUuid::generate()).await.unwrap();
                done.send(format!("address {i}")).unwrap();
            });
        }
        // The test runs on one thread: each task above got as far as the
        // address lane (waiting or deriving) before it could be heard from.
        for _ in 0..ADDRESSES {
            queued.recv().await.unwrap();
        }
        tokio::spawn(async move {
            let hash = Hash::from_trytes(&"H".repeat(81)).unwrap();
            provider.sign(&SeedUuid::generate(), &hash).await.unwrap();
            done.send("sign".to_string()).unwrap();
        });
        let mut order = Vec::new();
        while let Some(label) = finished.recv().await {
            order.push(label);
        }
        assert_eq!(order.len(), ADDRESSES + 1, "{order:?}");
        let sign = order.iter().position(|label| label == "sign").unwrap();
        let last_address = order.iter().rposition(|label| label.starts_with("address")).unwrap();
        assert!(sign < last_address, "signing waited for every address: {order:?}");
    }

    #[tokio::test]
    async fn bad_configuration_is_refused() {
        let salt = || Salt::new(vec![b's'; 32]).unwrap();
        assert!(LocalProvider::new(salt(), cheap(), SecurityLevel::Low, 0).is_err());
        let bad = Argon2Params { t_cost: 0, ..cheap() };
        assert!(LocalProvider::new(salt(), bad, SecurityLevel::Low, 1).is_err());
    }
}
