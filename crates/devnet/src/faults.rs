//! Faults the devnet can be told to show, switched at run time over the
//! admin command `setFaults`, so tests can see how Hub behaves when its node
//! misbehaves.

use serde::{Deserialize, Serialize};

/// How the node should look unsynchronised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncFault {
    /// Synced.
    #[default]
    None,
    /// The latest solid milestone lags one behind the latest milestone.
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
    /// Fraction (0..=1) of requests answered with HTTP 500.
    pub fail_rate: f64,
    /// Fraction (0..=1) of requests delayed by `delay_ms`.
    pub delay_rate: f64,
    /// Delay for delayed requests, at most 60 000 ms.
    pub delay_ms: u64,
    /// `storeTransactions`/`broadcastTransactions` answer success but keep nothing.
    pub drop_broadcasts: bool,
}

impl Faults {
    /// Checks the ranges.
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
