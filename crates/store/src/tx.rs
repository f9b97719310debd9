//! One database transaction, and what every aggregate's operations share
//! inside it.
//!
//! Nothing is visible to others until [`Tx::commit`]; dropping a `Tx`
//! without committing rolls everything back, so an error anywhere leaves no
//! partial write. The operations themselves live with their aggregate
//! (`users`, `deposit_addresses`, `hub_addresses`, `sweeps`,
//! `withdrawals`, `keys`, `pool`, `tokens`, `events`, `audit`), each an
//! `impl Tx` block.
//!
//! A write transaction begun inside [`crate::acting`] records on whose
//! behalf it runs: each of its events carries the actor, and its commit
//! first appends one `call` event naming the command, so the audit record
//! commits (or rolls back) with the change itself. A read transaction, or
//! one begun outside `acting`, records no actor.

use std::sync::Arc;

use sqlx::{Any, Transaction};
use tokio::sync::watch;

use crate::audit::{self, Acting};
use crate::codes::EventKind;
use crate::events::{EventOf, PendingEvent};
use crate::{Backend, StoreError};

/// A transaction on Hub's database.
pub struct Tx {
    pub(crate) inner: Transaction<'static, Any>,
    backend: Backend,
    locking: bool,
    acting: Option<Acting>,
    pub(crate) pending_events: Vec<PendingEvent>,
    feed: Arc<watch::Sender<()>>,
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

impl Tx {
    /// A transaction; a locking (write) one captures the current [`Acting`].
    pub(crate) fn new(
        inner: Transaction<'static, Any>,
        backend: Backend,
        locking: bool,
        feed: Arc<watch::Sender<()>>,
    ) -> Self {
        Self {
            inner,
            backend,
            locking,
            acting: if locking { audit::current() } else { None },
            pending_events: Vec::new(),
            feed,
        }
    }

    /// Makes every change of this transaction durable and visible; a write
    /// transaction made on behalf of an actor first records the call. Its
    /// events are written last, and feed readers are woken once they are
    /// visible.
    pub async fn commit(mut self) -> Result<()> {
        if let Some(acting) = self.acting.clone() {
            let of = EventOf {
                reference: Some(&acting.command),
                ..EventOf::default()
            };
            self.event(EventKind::Call, of, audit::wall_clock_ms()).await?;
        }
        let wrote_events = self.write_pending_events().await?;
        self.inner.commit().await?;
        if wrote_events {
            self.feed.send_replace(());
        }
        Ok(())
    }

    /// Who this transaction's events are made by (`events.actor`), if anyone.
    pub(crate) fn actor(&self) -> Option<&str> {
        self.acting.as_ref().map(|acting| acting.actor.as_str())
    }

    /// The engine.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// `FOR UPDATE` where the engine has it (SQLite holds the write lock already).
    pub(crate) fn lock_clause(&self) -> &'static str {
        match (self.backend, self.locking) {
            (Backend::Postgres, true) => " FOR UPDATE",
            _ => "",
        }
    }
}
