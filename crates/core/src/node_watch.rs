//! Whether each node is usable, as events: `node.unsynced` when a node
//! stops answering or falls behind its milestones, `node.synced` when it is
//! back. Exchanges learn from the feed why deposits stop being credited
//! and sweeps stop confirming, instead of from silence. What was last
//! recorded lives in the event log, so a restart reports nothing twice.

use std::collections::HashMap;
use std::sync::Mutex;

use hub_protocol::redact_url;

use crate::tangle::synced_node;
use crate::{Hub, HubError};

/// What the watch last recorded per node (its redacted URL), so a tick
/// opens a write transaction only when a node's state changes.
#[derive(Debug, Default)]
pub struct NodeWatch {
    recorded: Mutex<HashMap<String, bool>>,
}

impl NodeWatch {
    /// Asks every node whether it is synced and records each change.
    pub async fn run_tick(&self, hub: &Hub) -> Result<(), HubError> {
        for node in hub.nodes() {
            let name = node
                .endpoints()
                .iter()
                .map(|url| redact_url(url))
                .collect::<Vec<_>>()
                .join(",");
            let (synced, why_not) = match synced_node(node, hub.now_ms()).await {
                Ok(Some(_)) => (true, String::new()),
                Ok(None) => (false, "behind its milestones".to_owned()),
                Err(e) => (false, format!("not answering: {e}")),
            };
            if self.recorded.lock().unwrap_or_else(|e| e.into_inner()).get(&name) == Some(&synced) {
                continue;
            }
            let mut tx = hub.store().begin().await?;
            if tx.record_node_state(&name, synced, &why_not, hub.now_ms()).await? {
                if synced {
                    tracing::info!(node = %name, "node synced");
                } else {
                    tracing::warn!(node = %name, "node unsynced: {why_not}");
                }
            }
            tx.commit().await?;
            self.recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name, synced);
        }
        Ok(())
    }
}
