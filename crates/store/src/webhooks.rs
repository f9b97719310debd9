//! Webhook endpoints (`webhook`) and their delivery log
//! (`webhook_delivery`). The event log is the outbox: an endpoint's
//! `cursor` is the id of the last event it acknowledged, moved only by an
//! acknowledgement (or an operator's redelivery), so what is not
//! acknowledged is sent again after a restart or a crash, in id order.
//! Every attempt appends a row; endpoints are never deleted, only marked
//! (the log keeps naming them).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::EventKind;
use crate::events::EventOf;
use crate::rows::{DeliveryRow, NewWebhook, WebhookRow};
use crate::sql::Columns;
use crate::tx::{Result, Tx};

const TABLE: &str = "webhook";

const WEBHOOK_COLUMNS: &str = "id, url, types, description, secret, cursor, attempts, failing_since, next_attempt_at, \
     created_at, disabled_at, disabled_reason";

fn webhook_row(r: &AnyRow) -> Result<WebhookRow> {
    let c = Columns::new(TABLE, r);
    let types = c.text("types")?;
    Ok(WebhookRow {
        id: c.int("id")?,
        url: c.text("url")?,
        types: types.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        description: c.text("description")?,
        secret: c.text("secret")?,
        cursor: c.int("cursor")?,
        attempts: c.int("attempts")?,
        failing_since: c.opt_int("failing_since")?,
        next_attempt_at: c.int("next_attempt_at")?,
        created_at: c.int("created_at")?,
        disabled_at: c.opt_int("disabled_at")?,
        disabled_reason: c.opt_text("disabled_reason")?,
    })
}

/// What one delivery attempt got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// The HTTP status, if the endpoint answered.
    pub status_code: Option<i64>,
    /// Why it failed, if it did (never the secret).
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: i64,
}

impl Tx {
    /// Registers an endpoint; it receives the events committed from now on.
    pub async fn insert_webhook(&mut self, new: &NewWebhook<'_>, now: i64) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO webhook (url, types, description, secret, cursor, created_at)
             VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(id), 0) FROM events), $5) RETURNING id",
        )
        .bind(new.url)
        .bind(new.types.join(","))
        .bind(new.description)
        .bind(new.secret)
        .bind(now)
        .fetch_one(&mut *self.inner)
        .await?;
        let id: i64 = row.try_get("id")?;
        self.webhook_event(EventKind::WebhookCreated, id, None, now).await?;
        Ok(id)
    }

    async fn webhook_event(&mut self, kind: EventKind, id: i64, why: Option<&str>, now: i64) -> Result<()> {
        let reference = id.to_string();
        let of = EventOf {
            reference: Some(&reference),
            data: why.map(|why| serde_json::json!({ "why": why })),
            ..EventOf::default()
        };
        self.event(kind, of, now).await
    }

    /// Endpoints not deleted, by id.
    pub async fn webhooks(&mut self) -> Result<Vec<WebhookRow>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE deleted_at IS NULL ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&mut *self.inner).await?;
        rows.iter().map(webhook_row).collect()
    }

    /// An endpoint not deleted.
    pub async fn webhook(&mut self, id: i64) -> Result<Option<WebhookRow>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE id = $1 AND deleted_at IS NULL");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *self.inner).await?;
        row.as_ref().map(webhook_row).transpose()
    }

    /// Enabled endpoints whose next attempt is due at `now`, by id.
    pub async fn due_webhooks(&mut self, now: i64) -> Result<Vec<WebhookRow>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook
             WHERE deleted_at IS NULL AND disabled_at IS NULL AND next_attempt_at <= $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(&mut *self.inner).await?;
        rows.iter().map(webhook_row).collect()
    }

    /// Deletes an endpoint (it receives nothing more); `false` if unknown.
    pub async fn delete_webhook(&mut self, id: i64, now: i64) -> Result<bool> {
        let deleted = sqlx::query("UPDATE webhook SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *self.inner)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        self.webhook_event(EventKind::WebhookDeleted, id, None, now).await?;
        Ok(true)
    }

    /// Records one attempt to deliver `event_id` to the endpoint, picked
    /// when its cursor was `cursor`. Acknowledged: the cursor moves to the
    /// event (unless an operator moved it meanwhile) and the failure count
    /// resets. Otherwise the next attempt waits until `next_retry_at`.
    /// `false` if the endpoint changed meanwhile (its cursor was moved,
    /// or it was deleted): the attempt is logged, nothing else.
    pub async fn record_delivery(
        &mut self,
        webhook: &WebhookRow,
        event_id: i64,
        outcome: &DeliveryOutcome,
        next_retry_at: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        sqlx::query(
            "INSERT INTO webhook_delivery (webhook_id, event_id, attempt, status_code, error, duration_ms, attempted_at, next_retry_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(webhook.id)
        .bind(event_id)
        .bind(webhook.attempts + 1)
        .bind(outcome.status_code)
        .bind(outcome.error.as_deref())
        .bind(outcome.duration_ms)
        .bind(now)
        .bind(next_retry_at)
        .execute(&mut *self.inner)
        .await?;
        let updated = match next_retry_at {
            None => sqlx::query(
                "UPDATE webhook SET cursor = $1, attempts = 0, failing_since = NULL, next_attempt_at = 0
                 WHERE id = $2 AND cursor = $3 AND deleted_at IS NULL",
            )
            .bind(event_id)
            .bind(webhook.id)
            .bind(webhook.cursor),
            Some(at) => sqlx::query(
                "UPDATE webhook SET attempts = attempts + 1, failing_since = COALESCE(failing_since, $1),
                 next_attempt_at = $2 WHERE id = $3 AND cursor = $4 AND deleted_at IS NULL",
            )
            .bind(now)
            .bind(at)
            .bind(webhook.id)
            .bind(webhook.cursor),
        }
        .execute(&mut *self.inner)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Disables an endpoint that kept failing, with an event saying why.
    pub async fn disable_webhook(&mut self, id: i64, why: &str, now: i64) -> Result<bool> {
        let disabled = sqlx::query(
            "UPDATE webhook SET disabled_at = $1, disabled_reason = $2 WHERE id = $3 AND disabled_at IS NULL",
        )
        .bind(now)
        .bind(why)
        .bind(id)
        .execute(&mut *self.inner)
        .await?
        .rows_affected();
        if disabled == 0 {
            return Ok(false);
        }
        self.webhook_event(EventKind::WebhookDisabled, id, Some(why), now)
            .await?;
        Ok(true)
    }

    /// Sends the events after `after` again (and enables the endpoint if
    /// it was disabled); `false` if the endpoint is unknown.
    pub async fn redeliver_webhook(&mut self, id: i64, after: i64, now: i64) -> Result<bool> {
        let moved = sqlx::query(
            "UPDATE webhook SET cursor = $1, attempts = 0, failing_since = NULL, next_attempt_at = 0,
             disabled_at = NULL, disabled_reason = NULL WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(after)
        .bind(id)
        .execute(&mut *self.inner)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        self.webhook_event(EventKind::WebhookRedelivered, id, None, now).await?;
        Ok(true)
    }

    /// Up to `limit` attempts for an endpoint, newest first, with ids below
    /// `before` (all when `None`).
    pub async fn webhook_deliveries(&mut self, id: i64, before: Option<i64>, limit: i64) -> Result<Vec<DeliveryRow>> {
        let rows = sqlx::query(
            "SELECT id, event_id, attempt, status_code, error, duration_ms, attempted_at, next_retry_at
             FROM webhook_delivery WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&mut *self.inner)
        .await?;
        rows.iter()
            .map(|r| {
                let c = Columns::new("webhook_delivery", r);
                Ok(DeliveryRow {
                    id: c.int("id")?,
                    event_id: c.int("event_id")?,
                    attempt: c.int("attempt")?,
                    status_code: c.opt_int("status_code")?,
                    error: c.opt_text("error")?,
                    duration_ms: c.int("duration_ms")?,
                    attempted_at: c.int("attempted_at")?,
                    next_retry_at: c.opt_int("next_retry_at")?,
                })
            })
            .collect()
    }
}
