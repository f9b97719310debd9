//! One database transaction, and what every aggregate's operations share
//! inside it.
//!
//! Nothing is visible to others until [`Tx::commit`]; dropping a `Tx`
//! without committing rolls everything back, so an error anywhere leaves no
//! partial write. The operations themselves live with their aggregate
//! (`users`, `deposit_addresses`, `hub_addresses`, `sweeps`,
//! `withdrawals`, `keys`, `pool`, `events`), each an `impl Tx` block.

use sqlx::{Any, Transaction};

use crate::{Backend, StoreError};

/// A transaction on Hub's database.
pub struct Tx {
    pub(crate) inner: Transaction<'static, Any>,
    backend: Backend,
    locking: bool,
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

impl Tx {
    pub(crate) fn new(inner: Transaction<'static, Any>, backend: Backend, locking: bool) -> Self {
        Self {
            inner,
            backend,
            locking,
        }
    }

    /// Makes every change of this transaction durable and visible.
    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
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
