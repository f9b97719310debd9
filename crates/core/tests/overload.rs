//! The on-demand derivation queue of GetDepositAddress, on SQLite and
//! PostgreSQL.
//!
//! Goal: when the address pool is empty, at most the queue's maximum of
//! GetDepositAddress calls wait for or run a derivation; one more is
//! refused at once with `Overloaded` and writes nothing, and the queue
//! frees up once derivations finish. Method: a seed provider whose
//! address derivation blocks until the test opens its gate, a queue of
//! one, and row counts of every table before and after.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use hub_core::{ErrorCode, Hub, SystemClock};
use hub_protocol::wots::Signature;
use hub_protocol::{Address, Hash, SecurityLevel, Seed, SeedUuid};
use hub_signer::{BoxFuture, LocalProvider, ProviderError, SeedProvider};
use tokio::sync::{watch, Notify};

/// The test provider, whose address derivation waits until the gate opens
/// and says when a derivation has begun.
struct Gated {
    inner: Arc<LocalProvider>,
    open: watch::Receiver<bool>,
    entered: Notify,
}

impl SeedProvider for Gated {
    fn address<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Address, ProviderError>> {
        Box::pin(async move {
            self.entered.notify_one();
            let mut open = self.open.clone();
            open.wait_for(|open| *open)
                .await
                .map_err(|_| ProviderError::Unavailable("the test ended".into()))?;
            self.inner.address(uuid).await
        })
    }

    fn security_level<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<SecurityLevel, ProviderError>> {
        self.inner.security_level(uuid)
    }

    fn sign<'a>(&'a self, uuid: &'a SeedUuid, hash: &'a Hash) -> BoxFuture<'a, Result<Signature, ProviderError>> {
        self.inner.sign(uuid, hash)
    }

    fn seed<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Seed, ProviderError>> {
        self.inner.seed(uuid)
    }
}

/// Long enough for any healthy call; only a call that hangs reaches it.
const HANG: Duration = Duration::from_secs(30);

async fn a_full_derivation_queue_refuses_without_writing(db: Db) {
    let ctx = start(db).await;
    let (gate, open) = watch::channel(false);
    let provider = Arc::new(Gated {
        inner: provider(),
        open,
        entered: Notify::new(),
    });
    let hub = Arc::new(
        Hub::new(
            ctx.hub.store().clone(),
            ctx.client.clone(),
            provider.clone(),
            Arc::new(SystemClock),
        )
        .with_deposit_derivation_queue(1),
    );
    hub.create_user("alice").await.unwrap();
    let before = ctx.row_counts().await;

    let first = tokio::spawn({
        let hub = hub.clone();
        async move { hub.get_deposit_address("alice", false).await }
    });
    // The first call holds the only slot once its derivation has begun.
    tokio::time::timeout(HANG, provider.entered.notified()).await.unwrap();
    let second = tokio::time::timeout(HANG, hub.get_deposit_address("alice", false))
        .await
        .expect("refused at once, not queued");
    let error = second.unwrap_err();
    assert!(error.is_overloaded(), "{error:?}");
    assert_eq!(error.code(), ErrorCode::GetAddressFailed);
    assert_eq!(
        error.to_string(),
        "the address pool is empty and 1 deposit-address derivations are already queued; retry later"
    );
    assert_eq!(ctx.row_counts().await, before, "a refused call writes nothing");

    gate.send(true).unwrap();
    let address = tokio::time::timeout(HANG, first).await.unwrap().unwrap().unwrap();
    assert_eq!(hub.get_address_info(&address).await.unwrap(), "alice");
    let later = hub.get_deposit_address("alice", false).await.unwrap();
    assert_ne!(later, address);
    assert_eq!(hub.get_address_info(&later).await.unwrap(), "alice");
    ctx.finish().await;
}
on_both_databases!(
    a_full_derivation_queue_refuses_without_writing_test,
    a_full_derivation_queue_refuses_without_writing
);
