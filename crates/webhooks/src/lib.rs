//! Delivers Hub's event feed to the registered webhook endpoints.
//!
//! Each endpoint gets its events one at a time, in id order: the next only
//! after a 2xx for the one before (within the policy's timeout, 10 s by
//! default), so a receiver sees them in order and at least once. A failure
//! is logged and retried after the policy's back-off plus up to a fifth of
//! jitter; the event log is the outbox and each endpoint's cursor is
//! stored, so a restart or a crash loses nothing (`hub_core::webhooks`
//! holds the rules). Endpoints are served side by side: a slow one delays
//! only itself.
//!
//! Requests never follow redirects, and reach only public addresses unless
//! the operator allows private ones: the target is checked before every
//! attempt, and names are resolved through [`PublicOnly`], so a public name
//! resolving inside the network is refused too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_core::webhooks::{check_target, is_public_ip, signature};
use hub_core::{FeedEvent, Hub, HubError};
use hub_store::{DeliveryOutcome, WebhookRow};
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Events one endpoint is sent in one round before the others are looked at again.
const ROUND_EVENTS_MAX: u32 = 100;
/// How often the deliverer looks for due retries and foreign events with nothing committed.
pub const POLL_INTERVAL_MS: u64 = 250;

/// Resolves names to their public addresses only.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.into_iter().filter(|a| is_public_ip(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address (see --webhook-allow-private)").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Sends the feed to every endpoint, as long as it runs.
pub struct Deliverer {
    hub: Arc<Hub>,
    client: reqwest::Client,
}

impl Deliverer {
    /// A deliverer for `hub`'s endpoints, by its webhook policy.
    pub fn new(hub: Arc<Hub>) -> Result<Self, String> {
        let policy = hub.webhook_policy();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_millis(policy.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("iota-hub/", env!("CARGO_PKG_VERSION")));
        if !policy.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self { hub, client })
    }

    /// Delivers until `stop` turns true: a round whenever events commit,
    /// and every [`POLL_INTERVAL_MS`] for retries that fell due.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut changes = this.hub.feed_changes();
        loop {
            changes.borrow_and_update();
            if let Err(e) = this.clone().round().await {
                tracing::warn!("webhook round failed (retried): {e}");
            }
            tokio::select! {
                _ = changes.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// One round: every due endpoint gets its waiting events, side by side.
    pub async fn round(self: Arc<Self>) -> Result<(), HubError> {
        let mut endpoints = JoinSet::new();
        for webhook in self.hub.due_webhooks().await? {
            endpoints.spawn(self.clone().catch_up(webhook));
        }
        while let Some(done) = endpoints.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("webhook delivery failed (retried): {e}"),
                Err(e) => tracing::error!("ALERT: a webhook delivery task ended: {e}"),
            }
        }
        Ok(())
    }

    /// Sends `webhook` its events after its cursor, in order, until one
    /// fails, it is up to date, or [`ROUND_EVENTS_MAX`] were sent.
    async fn catch_up(self: Arc<Self>, mut webhook: WebhookRow) -> Result<(), HubError> {
        let cursor = u64::try_from(webhook.cursor).unwrap_or(0);
        for event in self.hub.feed(cursor, ROUND_EVENTS_MAX, &webhook.types).await? {
            let (outcome, acknowledged) = self.send(&webhook, &event).await;
            let jitter = rand::thread_rng().gen_range(0.0..0.2);
            let recorded = self
                .hub
                .record_delivery(&webhook, &event, &outcome, acknowledged, jitter)
                .await?;
            if !acknowledged || !recorded {
                return Ok(());
            }
            webhook.cursor = i64::try_from(event.id).unwrap_or(i64::MAX);
            webhook.attempts = 0;
            webhook.failing_since = None;
        }
        Ok(())
    }

    /// POSTs one event; what came back, and whether it was acknowledged.
    async fn send(&self, webhook: &WebhookRow, event: &FeedEvent) -> (DeliveryOutcome, bool) {
        let started = Instant::now();
        let outcome = |status_code: Option<i64>, error: Option<String>| DeliveryOutcome {
            status_code,
            error,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        };
        if let Err(e) = check_target(&webhook.url, self.hub.webhook_policy().allow_private) {
            return (outcome(None, Some(e.to_string())), false);
        }
        let body = event.to_json().to_string();
        let msg_id = event.id.to_string();
        let timestamp_s = self.hub.now_ms() / 1000;
        let signed = match signature(&webhook.secret, &msg_id, timestamp_s, &body) {
            Ok(signed) => signed,
            Err(e) => return (outcome(None, Some(e.to_string())), false),
        };
        let sent = self
            .client
            .post(&webhook.url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp_s.to_string())
            .header("webhook-signature", signed)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                let acknowledged = status.is_success();
                let error = (!acknowledged).then(|| format!("answered {status}"));
                (outcome(Some(i64::from(status.as_u16())), error), acknowledged)
            }
            // Without the URL: a token in its path or query stays out of the log.
            Err(e) => (outcome(None, Some(e.without_url().to_string())), false),
        }
    }
}
