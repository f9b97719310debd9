//! The in-process seed provider: Argon2 with the operator's salt.
//!
//! This is how Hub derives keys when it holds the salt itself (`--signing
//! local`), and how the signing server derives them behind its gRPC
//! service. Argon2 takes 128 MiB and a noticeable fraction of a second per
//! call, so derivations are bounded by a semaphore and run off the async
//! executor.

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
    limit: Arc<Semaphore>,
}

impl LocalProvider {
    /// A provider deriving with `params` and `salt` at `security`, running at
    /// most `max_concurrent` Argon2 derivations at once (each takes
    /// `params.m_cost_kib` of memory).
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
            limit: Arc::new(Semaphore::new(max_concurrent)),
        })
    }

    /// The security level of every address this provider derives.
    pub fn security(&self) -> SecurityLevel {
        self.security
    }

    async fn with_seed<T: Send + 'static>(
        &self,
        uuid: &SeedUuid,
        work: impl FnOnce(&Seed) -> T + Send + 'static,
    ) -> Result<T, ProviderError> {
        let _permit = self
            .limit
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
        Box::pin(self.with_seed(uuid, move |seed| wots::address(seed, 0, security)))
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
        Box::pin(self.with_seed(uuid, move |seed| wots::sign(seed, 0, security, &hash)))
    }

    fn seed<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Seed, ProviderError>> {
        Box::pin(self.with_seed(uuid, Seed::clone))
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

    #[tokio::test]
    async fn bad_configuration_is_refused() {
        let salt = || Salt::new(vec![b's'; 32]).unwrap();
        assert!(LocalProvider::new(salt(), cheap(), SecurityLevel::Low, 0).is_err());
        let bad = Argon2Params { t_cost: 0, ..cheap() };
        assert!(LocalProvider::new(salt(), bad, SecurityLevel::Low, 1).is_err());
    }
}
