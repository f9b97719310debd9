//! Pre-derived deposit addresses.
//!
//! Deriving an address costs one Argon2 run (128 MiB, a large fraction of a
//! second). `GetDepositAddress` takes a ready address from the
//! `address_pool` table instead, in the same transaction that assigns it to
//! the user; a background task keeps the pool filled. The pool lives in the
//! database, so it survives restarts, and its seed UUIDs are as safe there
//! as those of assigned addresses. When the pool is empty, the command
//! derives one itself.

use hub_protocol::{Address, SeedUuid};
use hub_signer::ProviderError;
use tokio::task::JoinSet;

use crate::{Cause, Hub, HubError};

/// A new seed UUID and its address.
pub(crate) async fn derive_address(hub: &Hub) -> Result<(SeedUuid, Address), ProviderError> {
    let uuid = SeedUuid::generate();
    let address = hub.provider().address(&uuid).await?;
    Ok((uuid, address))
}

/// Derives one address into the pool (outside any transaction: Argon2 is
/// slow), for a caller that found the pool empty.
pub(crate) async fn add_one(hub: &Hub) -> Result<(), HubError> {
    let (uuid, address) = derive_address(hub)
        .await
        .map_err(|e| HubError::GetAddressFailed(e.to_string()))?;
    let mut tx = hub.store().begin().await?;
    tx.add_pooled_address(&uuid, &address, hub.now_ms()).await?;
    Ok(tx.commit().await?)
}

/// Adds addresses until the pool holds `target`, deriving up to `parallel`
/// at a time. Returns how many were added.
pub async fn refill(hub: &std::sync::Arc<Hub>, target: usize, parallel: usize) -> Result<usize, HubError> {
    let size = hub.store().read().await?.pool_size().await?;
    let missing = target.saturating_sub(usize::try_from(size).unwrap_or(usize::MAX));
    let mut added = 0;
    let mut remaining = missing;
    while remaining > 0 {
        let round = remaining.min(parallel.max(1));
        let mut jobs = JoinSet::new();
        for _ in 0..round {
            let hub = hub.clone();
            jobs.spawn(async move { derive_address(&hub).await });
        }
        while let Some(joined) = jobs.join_next().await {
            let (uuid, address) = joined
                .map_err(|e| HubError::internal(Cause::Task, format!("derivation task failed: {e}")))?
                .map_err(|e| HubError::GetAddressFailed(e.to_string()))?;
            let mut tx = hub.store().begin().await?;
            tx.add_pooled_address(&uuid, &address, hub.now_ms()).await?;
            tx.commit().await?;
            added += 1;
        }
        remaining -= round;
    }
    Ok(added)
}
