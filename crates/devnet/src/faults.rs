//! Faults the devnet can be told to show, switched at run time over the
//! admin command `setFaults`, so tests can see how Hub behaves when its node
//! misbehaves.
//!
//! Two kinds: faults of the transport (failures, delays, dropped
//! broadcasts, paused milestones) and faults that change what the API
//! answers, as a real node in that condition would: a solid milestone
//! behind the latest (`behindMilestones`, `notSynced: lagging`) moves
//! balances, inclusion states and the sync-gated commands to that
//! milestone; a local snapshot with pruning (`prunedBelowMilestone`) makes
//! old transactions unknown. Both are views: switching them off shows the
//! whole node again, nothing is lost.

use serde::{Deserialize, Serialize};

/// How the node should look unsynchronised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncFault {
    /// Synced.
    #[default]
    None,
    /// The latest solid milestone lags one behind the latest milestone
    /// (the same as `behindMilestones: 1`).
    Lagging,
    /// Milestones carry a timestamp an hour old.
    Stale,
}

/// Every fault switch. Missing fields in a `setFaults` request mean "off".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
    /// The coordinator stops issuing milestones (on-demand `issueMilestone` still works).
    pub pause_milestones: bool,
    /// Report not being synced.
    pub not_synced: SyncFault,
    /// Fraction (0..=1) of requests answered with a bare HTTP 503, as a failing node or its proxy would.
    pub fail_rate: f64,
    /// Fraction (0..=1) of requests delayed by `delay_ms`.
    pub delay_rate: f64,
    /// Delay for delayed requests, at most 60 000 ms.
    pub delay_ms: u64,
    /// `storeTransactions`/`broadcastTransactions` answer success but keep nothing.
    pub drop_broadcasts: bool,
    /// The latest solid milestone is this many behind the latest (the
    /// genesis milestone at most): balances, inclusion states and
    /// `milestoneIndex` are those of the solid milestone, and from 2 on the
    /// commands IRI gates on being synchronised refuse.
    pub behind_milestones: u64,
    /// A local snapshot with pruning at this milestone: transactions
    /// confirmed by an older milestone are forgotten (`getTrytes` answers
    /// all-`9`s, `findTransactions` does not list them, their inclusion
    /// state is false) and `getNodeInfo` reports this index as
    /// `milestoneStartIndex` and `lastSnapshottedMilestoneIndex`. 0 is off;
    /// at most the latest solid milestone's index when set.
    pub pruned_below_milestone: u64,
}

impl Faults {
    /// How many milestones the latest solid milestone is behind the latest.
    pub fn solid_lag_milestones(&self) -> u64 {
        let lagging = u64::from(self.not_synced == SyncFault::Lagging);
        self.behind_milestones.max(lagging)
    }

    /// Checks the ranges that need no node state.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [("failRate", self.fail_rate), ("delayRate", self.delay_rate)] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        if self.delay_ms > 60_000 {
            return Err(format!("delayMs must be at most 60000, got {}", self.delay_ms));
        }
        Ok(())
    }
}
