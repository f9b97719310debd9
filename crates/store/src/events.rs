//! The event log: one row per state change, appended in the transaction
//! that makes the change, with the actor it was made for (see `audit`).
//! Every aggregate logs through [`Tx::event`]; the events are written when
//! the transaction commits, so that their ids increase in commit order and
//! the feed (`Tx::feed`) can be read by cursor without ever missing one.

use hub_protocol::Amount;
use sqlx::Row;

use crate::codes::EventKind;
use crate::rows::{EventRow, FeedRow};
use crate::sql::{corrupt, placeholders, Columns, INSERT_ROWS_MAX};
use crate::tx::{Result, Tx};

/// What an event concerns, besides its kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventOf<'a> {
    pub(crate) user_id: Option<i64>,
    pub(crate) address: Option<&'a str>,
    pub(crate) amount: i64,
    pub(crate) reference: Option<&'a str>,
    /// Details beyond the columns, a JSON object.
    pub(crate) data: Option<serde_json::Value>,
}

/// An event written by a transaction that has not committed yet.
#[derive(Debug)]
pub(crate) struct PendingEvent {
    kind: EventKind,
    user_id: Option<i64>,
    address: Option<String>,
    amount: i64,
    reference: Option<String>,
    data: Option<String>,
    occurred_at: i64,
}

/// Columns of one `events` row as written.
const EVENT_COLUMNS: usize = 8;

/// The PostgreSQL advisory lock that orders event ids by commit ("HUBFEED").
const FEED_ORDER_LOCK: i64 = 0x0048_5542_4645_4544;

impl Tx {
    /// Appends one event, made by this transaction's actor (if any). It is
    /// written when the transaction commits (see [`Tx::commit`]), so that
    /// event ids increase in commit order.
    pub(crate) async fn event(&mut self, kind: EventKind, of: EventOf<'_>, now: i64) -> Result<()> {
        self.pending_events.push(PendingEvent {
            kind,
            user_id: of.user_id,
            address: of.address.map(str::to_owned),
            amount: of.amount,
            reference: of.reference.map(str::to_owned),
            data: of.data.map(|data| data.to_string()),
            occurred_at: now,
        });
        Ok(())
    }

    /// Writes this transaction's events, just before it commits. On
    /// PostgreSQL the ids come from a sequence when rows are inserted, not
    /// when they commit: two transactions could commit their events in the
    /// other order, and a reader past the later id would never see the
    /// earlier one. So the insert and the commit happen under one
    /// transaction-scoped advisory lock, taken after every other lock the
    /// transaction holds (no deadlock) and released by the commit itself;
    /// SQLite's write lock already serializes whole transactions.
    pub(crate) async fn write_pending_events(&mut self) -> Result<bool> {
        if self.pending_events.is_empty() {
            return Ok(false);
        }
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(FEED_ORDER_LOCK)
                .execute(&mut *self.inner)
                .await?;
        }
        let actor = self.actor().map(str::to_owned);
        let events = std::mem::take(&mut self.pending_events);
        for chunk in events.chunks(INSERT_ROWS_MAX) {
            let values = (0..chunk.len())
                .map(|i| format!("({})", placeholders(EVENT_COLUMNS * i + 1, EVENT_COLUMNS)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO events (kind, user_id, address, amount, reference, data, occurred_at, actor) VALUES {values}"
            );
            let mut query = sqlx::query(&sql);
            for e in chunk {
                query = query
                    .bind(e.kind.as_str())
                    .bind(e.user_id)
                    .bind(e.address.as_deref())
                    .bind(e.amount)
                    .bind(e.reference.as_deref())
                    .bind(e.data.as_deref())
                    .bind(e.occurred_at)
                    .bind(actor.as_deref());
            }
            query.execute(&mut *self.inner).await?;
        }
        Ok(true)
    }

    /// Whether this transaction has written an event of `kind` matching
    /// `concerns` that is not committed yet.
    pub(crate) fn pending_event(
        &self,
        kind: EventKind,
        concerns: impl Fn(Option<&str>, Option<&str>) -> bool,
    ) -> Option<i64> {
        self.pending_events
            .iter()
            .rev()
            .find(|e| e.kind == kind && concerns(e.address.as_deref(), e.reference.as_deref()))
            .map(|e| e.amount)
    }

    /// Up to `limit` events of the feed with ids above `after`, by id:
    /// those of `kinds` (every kind with a feed type when empty).
    pub async fn feed(&mut self, after: i64, limit: i64, kinds: &[EventKind]) -> Result<Vec<FeedRow>> {
        let kinds: Vec<EventKind> = if kinds.is_empty() {
            EventKind::ALL
                .into_iter()
                .filter(|kind| kind.feed_type().is_some())
                .collect()
        } else {
            kinds.to_vec()
        };
        let names: Vec<String> = kinds.iter().map(|kind| format!("'{}'", kind.as_str())).collect();
        let sql = format!(
            "SELECT e.id, e.kind, e.occurred_at, u.identifier, e.address, e.amount, e.reference, e.data
             FROM events e LEFT JOIN user_account u ON u.id = e.user_id
             WHERE e.id > $1 AND e.kind IN ({}) ORDER BY e.id LIMIT $2",
            names.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter()
            .map(|r| {
                let c = Columns::new("events", r);
                let kind = c.text("kind")?;
                Ok(FeedRow {
                    id: c.int("id")?,
                    kind: EventKind::parse(&kind).ok_or_else(|| corrupt("events", "kind", "an unknown kind"))?,
                    occurred_at: c.int("occurred_at")?,
                    user: c.opt_text("identifier")?,
                    address: c.opt_text("address")?,
                    amount: c.int("amount")?,
                    reference: c.opt_text("reference")?,
                    data: c.opt_text("data")?,
                })
            })
            .collect()
    }

    /// Records an ALERT: the node's answer about `reference` (a tail or a
    /// bundle hash) failed verification and was not believed. Once per
    /// reference: `false` if it was reported before.
    pub async fn report_rejected_node_answer(&mut self, reference: &hub_protocol::Hash, now: i64) -> Result<bool> {
        let kind = EventKind::NodeAnswerRejected;
        let earlier = sqlx::query("SELECT 1 FROM events WHERE kind = $1 AND reference = $2")
            .bind(kind.as_str())
            .bind(reference.as_str())
            .fetch_optional(&mut *self.inner)
            .await?;
        let pending = self.pending_event(kind, |_, pending| pending == Some(reference.as_str()));
        if earlier.is_some() || pending.is_some() {
            return Ok(false);
        }
        let of = EventOf {
            reference: Some(reference.as_str()),
            ..EventOf::default()
        };
        self.event(kind, of, now).await?;
        Ok(true)
    }

    /// Records an ALERT: a tick of the background service `service` panicked.
    pub async fn report_service_panic(&mut self, service: &str, now: i64) -> Result<()> {
        let of = EventOf {
            reference: Some(service),
            ..EventOf::default()
        };
        self.event(EventKind::ServicePanicked, of, now).await
    }

    /// Number of rows in the event log (for tests and reports).
    pub async fn event_count(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM events")
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Events of `kind`, oldest first.
    pub async fn events_of_kind(&mut self, kind: EventKind) -> Result<Vec<EventRow>> {
        let rows = sqlx::query("SELECT user_id, address, amount, reference FROM events WHERE kind = $1 ORDER BY id")
            .bind(kind.as_str())
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter()
            .map(|r| {
                let c = Columns::new("events", r);
                Ok(EventRow {
                    user_id: c.opt_int("user_id")?,
                    address: c.opt_text("address")?,
                    amount: c.int("amount")?,
                    reference: c.opt_text("reference")?,
                })
            })
            .collect()
    }

    /// Logs a settled transfer batch: how many transfers, the volume (the
    /// sum of its credits) and its idempotency key, if it had one.
    pub async fn log_transfer_batch(
        &mut self,
        transfers: usize,
        volume: Amount,
        idempotency_key: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let of = EventOf {
            amount: volume.as_i64(),
            reference: idempotency_key,
            data: Some(serde_json::json!({ "transfers": transfers })),
            ..EventOf::default()
        };
        self.event(EventKind::TransferBatchProcessed, of, now).await
    }

    /// Records whether `node` (its URL, credentials redacted) is synced,
    /// with why not: an event when that differs from what was last
    /// recorded for it (or nothing was). `true` if one was written.
    pub async fn record_node_state(&mut self, node: &str, synced: bool, why_not: &str, now: i64) -> Result<bool> {
        let row = sqlx::query(&format!(
            "SELECT kind FROM events WHERE kind IN ('{}', '{}') AND reference = $1 ORDER BY id DESC LIMIT 1",
            EventKind::NodeSynced.as_str(),
            EventKind::NodeUnsynced.as_str()
        ))
        .bind(node)
        .fetch_optional(&mut *self.inner)
        .await?;
        let kind = if synced {
            EventKind::NodeSynced
        } else {
            EventKind::NodeUnsynced
        };
        let last = row.map(|r| Columns::new("events", &r).text("kind")).transpose()?;
        if last.as_deref() == Some(kind.as_str()) {
            return Ok(false);
        }
        let of = EventOf {
            reference: Some(node),
            data: (!synced).then(|| serde_json::json!({ "why": why_not })),
            ..EventOf::default()
        };
        self.event(kind, of, now).await?;
        Ok(true)
    }
}
