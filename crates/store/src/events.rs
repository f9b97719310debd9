//! The event log: one row per state change, appended in the transaction
//! that makes the change, with the actor it was made for (see `audit`).
//! Every aggregate logs through [`Tx::event`] (the account ledger, which
//! logs a batch at once, binds the same actor).

use sqlx::Row;

use crate::codes::EventKind;
use crate::rows::EventRow;
use crate::sql::Columns;
use crate::tx::{Result, Tx};

/// What an event concerns, besides its kind.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EventOf<'a> {
    pub(crate) user_id: Option<i64>,
    pub(crate) address: Option<&'a str>,
    pub(crate) amount: i64,
    pub(crate) reference: Option<&'a str>,
}

impl Tx {
    /// Appends one event, made by this transaction's actor (if any).
    pub(crate) async fn event(&mut self, kind: EventKind, of: EventOf<'_>, now: i64) -> Result<()> {
        let actor = self.actor().map(str::to_string);
        sqlx::query("INSERT INTO events (kind, user_id, address, amount, reference, occurred_at, actor) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(kind.as_str())
            .bind(of.user_id)
            .bind(of.address)
            .bind(of.amount)
            .bind(of.reference)
            .bind(now)
            .bind(actor)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
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
        if earlier.is_some() {
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
}
