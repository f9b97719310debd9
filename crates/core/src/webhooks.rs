//! Webhook endpoints: the feed pushed to an exchange's URLs.
//!
//! The rules live here: which URLs may be targets (http or https, no
//! credentials in them, and, unless the operator allows it, no loopback,
//! private or otherwise non-public address: a webhook must not become a
//! way to reach Hub's own network), which types an endpoint receives, how
//! a delivery is signed (Standard Webhooks: `v1,` and the base64
//! HMAC-SHA256 of `{id}.{timestamp}.{body}` under the `whsec_` secret),
//! how long a failing endpoint waits (exponential back-off, then disabled
//! after [`WebhookPolicy::disable_after_ms`]). The HTTP sending is
//! `hub-webhooks`' job; it checks resolved addresses with
//! [`is_public_ip`] too, so DNS cannot point a public name inside.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use hub_store::{DeliveryOutcome, DeliveryRow, NewWebhook, WebhookRow};
use rand::RngCore;
use sha2::Sha256;

use crate::feed::{feed_types, FeedEvent};
use crate::{Hub, HubError};

/// What a Standard Webhooks secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a new signing key.
const SECRET_BYTES: usize = 32;
/// The longest target URL.
pub const URL_CHARS_MAX: usize = 2048;
/// The longest description.
pub const DESCRIPTION_CHARS_MAX: usize = 256;
/// The longest wait between two attempts.
pub const RETRY_DELAY_MAX_MS: u64 = 3_600_000;
/// The most delivery attempts one page of the log holds.
pub const DELIVERIES_PAGE_MAX: u32 = 1000;

/// How webhooks are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Targets on loopback, private or other non-public addresses allowed
    /// (`--webhook-allow-private`; for a receiver inside the exchange's
    /// own network).
    pub allow_private: bool,
    /// The first retry's delay; each next one doubles, up to [`RETRY_DELAY_MAX_MS`].
    pub retry_base_ms: u64,
    /// An endpoint failing this long is disabled (default 24 h).
    pub disable_after_ms: u64,
    /// How long an attempt may take before it counts as failed (10 s).
    pub timeout_ms: u64,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            retry_base_ms: 1_000,
            disable_after_ms: 86_400_000,
            timeout_ms: 10_000,
        }
    }
}

impl WebhookPolicy {
    /// The wait before the attempt after `failures` failed ones in a row,
    /// without jitter (the sender adds up to a fifth more).
    pub fn retry_delay_ms(&self, failures: u32) -> u64 {
        let doubling = 1u64.checked_shl(failures.saturating_sub(1)).unwrap_or(u64::MAX);
        self.retry_base_ms.saturating_mul(doubling).min(RETRY_DELAY_MAX_MS)
    }
}

/// Whether `ip` is an address on the public internet: not loopback,
/// private, link-local, shared (CGNAT), documentation, multicast,
/// unspecified or reserved, in IPv4 or IPv6 (IPv4-mapped addresses judged
/// as IPv4).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064 && v6.segments()[1] == 0xff9b)
        }
    }
}

fn invalid(field: &'static str, rule: impl Into<String>) -> HubError {
    HubError::InvalidArgument {
        field,
        rule: rule.into(),
    }
}

/// Checks a target URL against the rules; the parsed URL.
pub fn check_target(url: &str, allow_private: bool) -> Result<url::Url, HubError> {
    if url.chars().count() > URL_CHARS_MAX {
        return Err(invalid(
            "url",
            format!("url must be at most {URL_CHARS_MAX} characters"),
        ));
    }
    let parsed = url::Url::parse(url).map_err(|e| invalid("url", format!("url must be an absolute URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("url", "url must be http or https"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("url", "url must not hold credentials (user:password@)"));
    }
    let private = match parsed.host() {
        None => return Err(invalid("url", "url must name a host")),
        Some(url::Host::Ipv4(ip)) => !is_public_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public_ip(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || !name.contains('.')
        }
    };
    if private && !allow_private {
        return Err(invalid(
            "url",
            "url must reach a public address; loopback, private and local names are refused unless Hub runs with --webhook-allow-private",
        ));
    }
    Ok(parsed)
}

/// A new signing secret, `whsec_` and 32 random bytes in base64.
fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", BASE64.encode(key))
}

/// The `webhook-signature` of a delivery: `v1,` and the base64
/// HMAC-SHA256 of `{msg_id}.{timestamp_s}.{body}` under the secret's key.
pub fn signature(secret: &str, msg_id: &str, timestamp_s: i64, body: &str) -> Result<String, HubError> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|key| BASE64.decode(key).ok())
        .ok_or_else(|| HubError::broken_invariant("a stored webhook secret is not whsec_ and base64"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| HubError::broken_invariant("an HMAC key was refused"))?;
    mac.update(format!("{msg_id}.{timestamp_s}.{body}").as_bytes());
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// An endpoint as the API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInfo {
    /// Its id.
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types it receives (all when empty).
    pub types: Vec<String>,
    /// The operator's note.
    pub description: String,
    /// The last event id it acknowledged.
    pub acknowledged: i64,
    /// Failed attempts in a row.
    pub failures: i64,
    /// When the current run of failures began (ms).
    pub failing_since_ms: Option<i64>,
    /// When the next attempt is due (ms; 0: now).
    pub next_attempt_ms: i64,
    /// When it was registered (ms).
    pub created_ms: i64,
    /// When and why it was disabled.
    pub disabled: Option<(i64, String)>,
}

impl From<WebhookRow> for WebhookInfo {
    fn from(row: WebhookRow) -> Self {
        Self {
            id: row.id,
            url: row.url,
            types: row.types,
            description: row.description,
            acknowledged: row.cursor,
            failures: row.attempts,
            failing_since_ms: row.failing_since,
            next_attempt_ms: row.next_attempt_at,
            created_ms: row.created_at,
            disabled: row.disabled_at.map(|at| (at, row.disabled_reason.unwrap_or_default())),
        }
    }
}

/// A registered endpoint and its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWebhook {
    /// The endpoint.
    pub webhook: WebhookInfo,
    /// The signing secret (`whsec_…`).
    pub secret: String,
}

/// Not found: the original's CANCELLED.
fn no_such_webhook(id: i64) -> HubError {
    HubError::Cancelled(format!("no webhook {id}"))
}

impl Hub {
    /// Registers an endpoint for `types` (every type when empty); it
    /// receives the events committed from now on.
    pub async fn create_webhook(
        &self,
        url: &str,
        types: &[String],
        description: &str,
    ) -> Result<CreatedWebhook, HubError> {
        check_target(url, self.webhook_policy().allow_private)?;
        let known = feed_types();
        if let Some(unknown) = types.iter().find(|t| !known.contains(&t.as_str())) {
            return Err(invalid(
                "types",
                format!("unknown event type {unknown:?}; known: {}", known.join(", ")),
            ));
        }
        if description.chars().count() > DESCRIPTION_CHARS_MAX {
            return Err(invalid(
                "description",
                format!("description must be at most {DESCRIPTION_CHARS_MAX} characters"),
            ));
        }
        let mut types = types.to_vec();
        types.sort();
        types.dedup();
        let secret = new_secret();
        let mut tx = self.store().begin().await?;
        let new = NewWebhook {
            url,
            types: &types,
            description,
            secret: &secret,
        };
        let id = tx.insert_webhook(&new, self.now_ms()).await?;
        let row = tx.webhook(id).await?.ok_or_else(|| no_such_webhook(id))?;
        tx.commit().await?;
        Ok(CreatedWebhook {
            webhook: row.into(),
            secret,
        })
    }

    /// The endpoints, by id.
    pub async fn webhooks(&self) -> Result<Vec<WebhookInfo>, HubError> {
        let rows = self.store().read().await?.webhooks().await?;
        Ok(rows.into_iter().map(WebhookInfo::from).collect())
    }

    /// Deletes an endpoint.
    pub async fn delete_webhook(&self, id: i64) -> Result<(), HubError> {
        let mut tx = self.store().begin().await?;
        if !tx.delete_webhook(id, self.now_ms()).await? {
            return Err(no_such_webhook(id));
        }
        Ok(tx.commit().await?)
    }

    /// Up to `limit` (1 to [`DELIVERIES_PAGE_MAX`]) delivery attempts of
    /// an endpoint, newest first, with ids below `before`.
    pub async fn webhook_deliveries(
        &self,
        id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, HubError> {
        let limit = crate::views::check_page_limit(limit, DELIVERIES_PAGE_MAX)?;
        let mut tx = self.store().read().await?;
        if tx.webhook(id).await?.is_none() {
            return Err(no_such_webhook(id));
        }
        Ok(tx.webhook_deliveries(id, before, limit).await?)
    }

    /// Delivers the events after `after` again, in order (and enables the
    /// endpoint if it was disabled).
    pub async fn redeliver_webhook(&self, id: i64, after: u64) -> Result<(), HubError> {
        let after =
            i64::try_from(after).map_err(|_| invalid("after", format!("after must be at most {}", i64::MAX)))?;
        let mut tx = self.store().begin().await?;
        if !tx.redeliver_webhook(id, after, self.now_ms()).await? {
            return Err(no_such_webhook(id));
        }
        Ok(tx.commit().await?)
    }

    /// The enabled endpoints whose next attempt is due.
    pub async fn due_webhooks(&self) -> Result<Vec<WebhookRow>, HubError> {
        Ok(self.store().read().await?.due_webhooks(self.now_ms()).await?)
    }

    /// Records an attempt to deliver `event` to `webhook`: acknowledged,
    /// or failed (then the next waits, and an endpoint failing longer
    /// than the policy allows is disabled). `false` if the endpoint changed
    /// meanwhile (an operator's redelivery, a deletion): the sender starts
    /// over from what is stored.
    pub async fn record_delivery(
        &self,
        webhook: &WebhookRow,
        event: &FeedEvent,
        outcome: &DeliveryOutcome,
        acknowledged: bool,
        jitter: f64,
    ) -> Result<bool, HubError> {
        let policy = self.webhook_policy();
        let now = self.now_ms();
        let event_id = i64::try_from(event.id).map_err(|_| HubError::broken_invariant("an event id beyond i64"))?;
        let next_retry_at = (!acknowledged).then(|| {
            let failures = u32::try_from(webhook.attempts + 1).unwrap_or(u32::MAX);
            let delay_ms = policy.retry_delay_ms(failures) as f64 * (1.0 + jitter.clamp(0.0, 0.2));
            now.saturating_add(delay_ms as i64)
        });
        let mut tx = self.store().begin().await?;
        if !tx
            .record_delivery(webhook, event_id, outcome, next_retry_at, now)
            .await?
        {
            tx.commit().await?;
            return Ok(false);
        }
        let failing_since = webhook.failing_since.unwrap_or(now);
        let disable_after = i64::try_from(policy.disable_after_ms).unwrap_or(i64::MAX);
        if !acknowledged && now.saturating_sub(failing_since) >= disable_after {
            let why = format!(
                "every delivery failed for {} s (the last: {})",
                now.saturating_sub(failing_since) / 1000,
                outcome.error.as_deref().unwrap_or("no 2xx")
            );
            if tx.disable_webhook(webhook.id, &why, now).await? {
                tracing::error!(webhook = webhook.id, "ALERT: webhook disabled: {why}");
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let signed = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let secret = new_secret();
        assert!(secret.starts_with(SECRET_PREFIX) && secret.len() == SECRET_PREFIX.len() + 44);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn only_public_targets_unless_allowed() {
        for url in [
            "http://127.0.0.1/hook",
            "http://10.1.2.3/",
            "http://192.168.0.10:8080/",
            "http://172.16.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://0.0.0.0/",
            "http://localhost:9000/",
            "http://hooks.localhost/",
            "http://intranet/",
        ] {
            assert!(check_target(url, false).is_err(), "{url} refused");
            assert!(
                check_target(url, true).is_ok(),
                "{url} allowed with --webhook-allow-private"
            );
        }
        for url in [
            "https://hooks.exchange.example/hub",
            "http://93.184.216.34:8443/x",
            "https://[2606:4700::1111]/",
        ] {
            assert!(check_target(url, false).is_ok(), "{url}");
        }
        for (url, rule) in [
            ("ftp://hooks.example.com/", "http or https"),
            ("https://user:pw@hooks.example.com/", "credentials"),
            ("hooks.example.com/x", "absolute URL"),
        ] {
            match check_target(url, true) {
                Err(HubError::InvalidArgument {
                    field: "url",
                    rule: said,
                }) => assert!(said.contains(rule), "{said}"),
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let policy = WebhookPolicy::default();
        let delays: Vec<u64> = (1..=4).map(|n| policy.retry_delay_ms(n)).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000]);
        assert_eq!(policy.retry_delay_ms(13), RETRY_DELAY_MAX_MS);
        assert_eq!(policy.retry_delay_ms(200), RETRY_DELAY_MAX_MS);
    }
}
