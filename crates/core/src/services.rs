//! The background services of `hub serve`: the deposit monitor, the
//! sweeper, the attacher, the address-pool refiller and the node watch, each a loop that ticks one interval after the last
//! tick finished (ticks never overlap), survives errors (logged; the next
//! tick tries again) and panics (an ALERT in the log and a
//! `service_panicked` event, then a longer wait), and stops
//! on shutdown, ending a tick under way (and its proof of work). An interval of 0 disables a
//! service, as in the original.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::monitor::{run_pass, MonitorConfig};
use crate::node_watch::NodeWatch;
use crate::pool::refill;
use crate::sweep::attacher::{self, AttachConfig};
use crate::sweep::sweeper::{self, SweepConfig};
use crate::Hub;

/// Service settings.
#[derive(Debug, Clone, Copy)]
pub struct ServiceConfig {
    /// Deposit monitor interval (0 disables it).
    pub monitor_interval_ms: u64,
    /// Deposit monitor settings.
    pub monitor: MonitorConfig,
    /// Address pool target size (0 disables the pool).
    pub pool_target: usize,
    /// How often the pool is topped up.
    pub pool_interval_ms: u64,
    /// Derivations run in parallel when filling the pool.
    pub pool_parallelism: usize,
    /// Sweeper interval (0 disables it).
    pub sweep_interval_ms: u64,
    /// Sweep limits.
    pub sweep: SweepConfig,
    /// Attacher interval (0 disables it).
    pub attachment_interval_ms: u64,
    /// Attachment settings.
    pub attach: AttachConfig,
    /// How often every node is asked whether it is synced, for the
    /// `node.synced` / `node.unsynced` events (0 disables it).
    pub node_check_interval_ms: u64,
}

/// Longest wait after a tick panicked: the wait doubles from the
/// service's interval with each panic in a row, up to this.
const PANIC_BACKOFF_MAX_MS: u64 = 60_000;

/// Runs `tick` every `interval_ms` until `stop`. Each tick runs as its own
/// task, so a panic in it ends that tick only: the service raises an ALERT
/// ([`alert_panic`]), waits longer (doubling, up to
/// [`PANIC_BACKOFF_MAX_MS`]) and goes on.
pub async fn every<F, Fut>(
    hub: Arc<Hub>,
    name: &'static str,
    interval_ms: u64,
    mut stop: watch::Receiver<bool>,
    mut tick: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if interval_ms == 0 {
        tracing::info!("{name} disabled (interval 0)");
        return;
    }
    let mut wait_ms = interval_ms;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let mut running = tokio::spawn(tick());
        let outcome = tokio::select! {
            outcome = &mut running => outcome,
            _ = stop.wait_for(|s| *s) => {
                // As safe as a crash (every step is durable before the
                // next); dropping the tick cancels its proof of work.
                running.abort();
                return;
            }
        };
        match outcome {
            Ok(()) => wait_ms = interval_ms,
            Err(e) => {
                wait_ms = wait_ms.saturating_mul(2).min(PANIC_BACKOFF_MAX_MS.max(interval_ms));
                alert_panic(&hub, name, &e, wait_ms).await;
            }
        }
    }
}

/// Reports a tick that panicked: an ALERT in the log and a
/// `service_panicked` event, so an operator watching either learns of it.
/// The panic's message stays in the log: it may quote anything.
async fn alert_panic(hub: &Hub, name: &str, failure: &tokio::task::JoinError, wait_ms: u64) {
    tracing::error!("ALERT: {name} tick failed ({failure}); the service goes on in {wait_ms} ms");
    let recorded = async {
        let mut tx = hub.store().begin().await?;
        tx.report_service_panic(name, hub.now_ms()).await?;
        tx.commit().await
    };
    if let Err(e) = recorded.await {
        tracing::error!("ALERT: the {name} panic could not be recorded as an event: {e}");
    }
}

/// Starts the services; they stop when `stop` turns true.
pub fn spawn(hub: Arc<Hub>, config: ServiceConfig, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let monitor_hub = hub.clone();
    let monitor = tokio::spawn(every(
        hub.clone(),
        "deposit monitor",
        config.monitor_interval_ms,
        stop.clone(),
        move || {
            let hub = monitor_hub.clone();
            async move {
                match run_pass(&hub, &config.monitor).await {
                    Ok(report) if report.skipped_not_synced => {
                        tracing::warn!("deposit monitor: node not synced, pass skipped")
                    }
                    Ok(report)
                        if report.credited + report.deferred + report.quarantined + report.rejected + report.failed
                            > 0 =>
                    {
                        tracing::info!(?report, "deposit monitor pass")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("deposit monitor pass failed: {e}"),
                }
            }
        },
    ));
    let sweep_hub = hub.clone();
    let sweeps = tokio::spawn(every(
        hub.clone(),
        "sweeper",
        config.sweep_interval_ms,
        stop.clone(),
        move || {
            let hub = sweep_hub.clone();
            async move {
                match sweeper::run_tick(&hub, &config.sweep).await {
                    Ok(report) if report.skipped_not_synced => tracing::warn!("sweeper: node not synced, no new sweep"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("sweep tick failed (retried next tick): {e}"),
                }
            }
        },
    ));
    let attach_hub = hub.clone();
    let attachments = tokio::spawn(every(
        hub.clone(),
        "attacher",
        config.attachment_interval_ms,
        stop.clone(),
        move || {
            let hub = attach_hub.clone();
            async move {
                if let Err(e) = attacher::run_tick(&hub, &config.attach).await {
                    tracing::warn!("attachment tick failed (retried next tick): {e}");
                }
            }
        },
    ));
    let pool_interval = if config.pool_target == 0 {
        0
    } else {
        config.pool_interval_ms
    };
    let pool_hub = hub.clone();
    let pool = tokio::spawn(every(
        hub.clone(),
        "address pool",
        pool_interval,
        stop.clone(),
        move || {
            let hub = pool_hub.clone();
            async move {
                if let Err(e) = refill(&hub, config.pool_target, config.pool_parallelism).await {
                    tracing::warn!("address pool refill failed: {e}");
                }
            }
        },
    ));
    let watch_hub = hub.clone();
    let node_watch = Arc::new(NodeWatch::default());
    let nodes = tokio::spawn(every(
        hub.clone(),
        "node watch",
        config.node_check_interval_ms,
        stop.clone(),
        move || {
            let hub = watch_hub.clone();
            let node_watch = node_watch.clone();
            async move {
                if let Err(e) = node_watch.run_tick(&hub).await {
                    tracing::warn!("node watch tick failed: {e}");
                }
            }
        },
    ));
    vec![monitor, sweeps, attachments, pool, nodes]
}
