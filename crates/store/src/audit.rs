//! The audit trail: who made each change, recorded in the transaction that
//! makes it.
//!
//! A caller (the API transport for an authenticated token, `hub admin` for
//! the operator) runs its work inside [`acting`]. A write transaction
//! ([`crate::Store::begin`]) begun inside it captures the [`Acting`]: every
//! event it appends carries the actor (`events.actor`), and its commit first
//! appends one `call` event (reference = the command, actor = the actor), so
//! the record of who did it commits atomically with what was done. Read
//! transactions ([`crate::Store::read`]) and transactions dropped without a
//! commit record nothing; work outside `acting` (Hub's own background loops)
//! has no actor. The context is task-local: a task spawned inside `acting`
//! does not inherit it.
//!
//! The actor is a token name or `admin-cli` (at most 64 characters, the
//! width of `events.actor`) and the command a short name such as
//! `UserWithdraw` or `cold export` (at most 81, the width of
//! `events.reference`); neither is ever a secret.

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::AnyRow;

use crate::rows::AuditRow;
use crate::sql::Columns;
use crate::tx::{Result, Tx};

tokio::task_local! {
    static ACTING: Acting;
}

/// On whose behalf, and for which command, work is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// Who: a token name, or `admin-cli`.
    pub actor: String,
    /// What: the command's name.
    pub command: String,
}

/// Runs `future` on behalf of `acting`: every write transaction it begins
/// records the actor (see the module documentation).
pub async fn acting<F: Future>(acting: Acting, future: F) -> F::Output {
    ACTING.scope(acting, future).await
}

/// The `Acting` of the current task, if it runs inside [`acting`].
pub(crate) fn current() -> Option<Acting> {
    ACTING.try_with(Acting::clone).ok()
}

/// When a `call` event happened: the store is given no clock for it, so it
/// reads the wall clock, ms since the epoch.
pub(crate) fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn audit_row(r: &AnyRow) -> Result<AuditRow> {
    let c = Columns::new("events", r);
    Ok(AuditRow {
        occurred_at: c.int("occurred_at")?,
        actor: c.text("actor")?,
        kind: c.text("kind")?,
        identifier: c.opt_text("identifier")?,
        address: c.opt_text("address")?,
        amount: c.int("amount")?,
        reference: c.opt_text("reference")?,
    })
}

impl Tx {
    /// The latest `limit` events made on behalf of an actor, newest first.
    pub async fn audit_events(&mut self, limit: i64) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query(
            "SELECT e.occurred_at, e.actor, e.kind, u.identifier, e.address, e.amount, e.reference
             FROM events e LEFT JOIN user_account u ON u.id = e.user_id
             WHERE e.actor IS NOT NULL
             ORDER BY e.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.inner)
        .await?;
        rows.iter().map(audit_row).collect()
    }
}
