//! The event feed exchanges build on: every state change, in commit order,
//! read by cursor (`GET /v1/events`), streamed (SSE, gRPC
//! `hub.v1.Events/Watch`) and, later, pushed (webhooks).
//!
//! An event's id increases in commit order (the store writes events at
//! commit, under a lock on PostgreSQL), so a reader that asks for the
//! events after the last id it saw never misses one and never sees one
//! twice. Ids are not contiguous: audit-only rows and rolled-back
//! transactions leave gaps. The payload is built here, once, from the
//! stored row: the user's identifier, the address, the amount, the
//! reference under the name its kind gives it, and the kind's details.

use hub_store::{AccountReason, Code, EventKind, FeedRow};
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::model::LegacyName;
use crate::{Hub, HubError};

/// The most events one page holds.
pub const FEED_PAGE_MAX: u32 = 1000;

/// One event of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// Increases in commit order.
    pub id: u64,
    /// What happened (`deposit.credited`, …; see [`feed_types`]).
    pub event_type: &'static str,
    /// When, ms since the epoch.
    pub timestamp_ms: i64,
    /// What it concerns: `userId`, `address`, `amount`, its reference
    /// (`bundleHash`, `uuid`, `tail`, …) and the kind's details.
    pub data: Map<String, Value>,
}

impl FeedEvent {
    /// When, as RFC 3339 with milliseconds in UTC.
    pub fn timestamp(&self) -> String {
        let nanos = i128::from(self.timestamp_ms) * 1_000_000;
        time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default()
    }

    /// `{"id", "type", "timestamp", "data"}`: the event as every reader
    /// and every webhook sees it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "type": self.event_type,
            "timestamp": self.timestamp(),
            "data": self.data,
        })
    }
}

/// Every type the feed may show, sorted.
pub fn feed_types() -> Vec<&'static str> {
    let mut types: Vec<&'static str> = EventKind::ALL.into_iter().filter_map(EventKind::feed_type).collect();
    types.sort_unstable();
    types.dedup();
    types
}

/// The kinds a reader asked for by type (all of the feed's when none);
/// an unknown type is an error naming it.
fn kinds_of(types: &[String]) -> Result<Vec<EventKind>, HubError> {
    let mut kinds = Vec::new();
    for name in types {
        let of_type = EventKind::of_feed_type(name);
        if of_type.is_empty() {
            return Err(HubError::InvalidArgument {
                field: "type",
                rule: format!("unknown event type {name:?}; known: {}", feed_types().join(", ")),
            });
        }
        kinds.extend(of_type);
    }
    Ok(kinds)
}

/// Kinds whose amount 0 means something ("the difference is gone").
fn reports_zero(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::DepositLate | EventKind::HubUnexpectedInbound | EventKind::HubShortfall
    )
}

fn feed_event(row: FeedRow) -> Result<Option<FeedEvent>, HubError> {
    let Some(event_type) = row.kind.feed_type() else {
        return Ok(None);
    };
    let mut data = match row.data.as_deref().map(serde_json::from_str::<Value>) {
        None => Map::new(),
        Some(Ok(Value::Object(details))) => details,
        Some(_) => return Err(HubError::broken_invariant("an event's data is not a JSON object")),
    };
    if event_type == "error" {
        data.insert("code".into(), row.kind.as_str().into());
    }
    if let Some(code) = data.get("reason").and_then(Value::as_i64) {
        let reason = AccountReason::from_code(code)
            .ok_or_else(|| HubError::broken_invariant("a balance change of an unknown reason"))?;
        data.insert("reason".into(), reason.http_name().into());
    }
    if let Some(user) = row.user {
        data.insert("userId".into(), user.into());
    }
    if let Some(address) = row.address {
        data.insert("address".into(), address.into());
    }
    if row.amount != 0 || reports_zero(row.kind) {
        data.insert("amount".into(), row.amount.into());
    }
    if let Some(reference) = row.reference {
        data.insert(row.kind.reference_name().into(), reference.into());
    }
    let id = u64::try_from(row.id).map_err(|_| HubError::broken_invariant("a negative event id"))?;
    Ok(Some(FeedEvent {
        id,
        event_type,
        timestamp_ms: row.occurred_at,
        data,
    }))
}

impl Hub {
    /// Up to `limit` (1 to [`FEED_PAGE_MAX`]) events with ids above
    /// `after`, in id order, of the given types (every type when none).
    pub async fn feed(&self, after: u64, limit: u32, types: &[String]) -> Result<Vec<FeedEvent>, HubError> {
        let limit = crate::views::check_page_limit(limit, FEED_PAGE_MAX)?;
        let after = i64::try_from(after).map_err(|_| HubError::InvalidArgument {
            field: "after",
            rule: format!("after must be at most {}", i64::MAX),
        })?;
        let kinds = kinds_of(types)?;
        let rows = self.store().read().await?.feed(after, limit, &kinds).await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            events.extend(feed_event(row)?);
        }
        Ok(events)
    }

    /// Changes whenever this process commits events (see
    /// `hub_store::Store::feed_changes`).
    pub fn feed_changes(&self) -> watch::Receiver<()> {
        self.store().feed_changes()
    }
}
