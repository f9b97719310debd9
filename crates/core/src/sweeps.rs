//! Reading sweeps: `SweepSubscription`, `SweepInfo`, `SweepDetail`
//! (hub-behaviour.md §2.3.10, §2.3.12, §2.3.14). Unknown or not-yet-swept
//! things are CANCELLED, as in the original; a sweep without withdrawals
//! reports an empty list (the original's gRPC sent one empty string).

use hub_protocol::Hash;
use hub_store::{SweepRow, SweepState};

use crate::model::{SweepDetail, SweepEvent, SweepQuery};
use crate::sweep::sweep_transactions;
use crate::{Hub, HubError};

impl Hub {
    pub(crate) async fn sweep_event(&self, sweep: SweepRow) -> Result<SweepEvent, HubError> {
        let withdrawal_uuids = self.store.read().await?.sweep_withdrawal_uuids(sweep.id).await?;
        Ok(SweepEvent {
            bundle_hash: sweep.bundle_hash.to_string(),
            timestamp_ms: u64::try_from(sweep.created_at).unwrap_or(0),
            withdrawal_uuids,
        })
    }

    /// `SweepSubscription`: every sweep made at or after `newer_than_ms`, in order.
    pub async fn sweep_subscription(&self, newer_than_ms: u64) -> Result<Vec<SweepEvent>, HubError> {
        let newer_than = i64::try_from(newer_than_ms).unwrap_or(i64::MAX);
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .store
                .read()
                .await?
                .sweeps_since(newer_than, after, crate::commands::LEGACY_PAGE_ROWS)
                .await?;
            let full = page.len() >= crate::commands::LEGACY_PAGE_ROWS as usize;
            for sweep in page {
                after = sweep.id;
                events.push(self.sweep_event(sweep).await?);
            }
            if !full {
                return Ok(events);
            }
        }
    }

    async fn find_sweep(&self, bundle_hash: &str) -> Result<SweepRow, HubError> {
        let hash =
            Hash::from_trytes(bundle_hash).map_err(|e| HubError::Cancelled(e.for_field("bundleHash").to_string()))?;
        self.store
            .read()
            .await?
            .sweep_by_hash(&hash)
            .await?
            .ok_or_else(|| HubError::Cancelled("no sweep has this bundle hash".into()))
    }

    /// `SweepInfo`: the sweep paying a withdrawal, or with a bundle hash.
    pub async fn sweep_info(&self, query: &SweepQuery) -> Result<SweepEvent, HubError> {
        let sweep = match query {
            SweepQuery::WithdrawalUuid(uuid) => self
                .store
                .read()
                .await?
                .sweep_of_withdrawal(uuid)
                .await?
                .ok_or_else(|| HubError::Cancelled("the withdrawal is unknown or not swept yet".into()))?,
            SweepQuery::BundleHash(hash) => self.find_sweep(hash).await?,
        };
        self.sweep_event(sweep).await
    }

    /// The sweeps on their way: planned ones, then signed ones, oldest
    /// first in each (for `hub admin sweep list`).
    pub async fn unconfirmed_sweeps(&self) -> Result<Vec<SweepRow>, HubError> {
        let mut read = self.store.read().await?;
        let mut sweeps = read.sweeps_in_state(SweepState::Planned).await?;
        sweeps.extend(read.sweeps_in_state(SweepState::Signed).await?);
        Ok(sweeps)
    }

    /// `SweepDetail`: confirmation, the signed transactions and every tail.
    pub async fn sweep_detail(&self, bundle_hash: &str) -> Result<SweepDetail, HubError> {
        let sweep = self.find_sweep(bundle_hash).await?;
        let tails = self.store.read().await?.sweep_tails(sweep.id).await?;
        Ok(SweepDetail {
            confirmed: sweep.state == SweepState::Confirmed,
            trytes: sweep_transactions(&sweep)?.iter().map(|t| t.to_trytes()).collect(),
            tail_hashes: tails.into_iter().map(|t| t.hash.to_string()).collect(),
        })
    }
}
