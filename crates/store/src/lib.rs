//! Hub's database: SQLite (the embedded default) and PostgreSQL (production)
//! behind one API.
//!
//! The schema is created and evolved by migrations (one set per engine; they
//! differ only in how ids are generated). Table and column names are the
//! original Hub's. Every operation that changes state runs inside a [`Tx`];
//! the caller (`core`) runs its checks and its writes in the same
//! transaction and commits once. Ledgers are append-only: rows are only ever
//! inserted, and each insert updates the cached balance (and appends to the
//! event log) in the same transaction. On SQLite a transaction takes the
//! write lock when it begins (`BEGIN IMMEDIATE`), on PostgreSQL rows are
//! locked with `FOR UPDATE`, so a read-check-write sequence is never raced.
//!
//! The store decides nothing: it reads and writes what it is told. Rows
//! come back in protocol types, parsed once (`rows`); codes are named once
//! (`codes`); the operations are grouped by aggregate, one module each.
//! Write transactions record on whose behalf they ran (`audit`).
//!
//! A commit must survive a power cut: a sweep broadcast and then rolled
//! back would be planned again for keys that already signed. SQLite runs
//! with `synchronous = FULL`; a PostgreSQL server with
//! `synchronous_commit = off` is refused at connect ([`Store::durability`]).

mod answers;
mod audit;
mod checks;
mod codes;
mod deposit_addresses;
mod events;
mod hub_addresses;
mod keys;
mod network;
mod pool;
mod rows;
mod sql;
mod sweeps;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod tx;
mod users;
mod watch;
mod webhooks;
mod withdrawals;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use tokio::sync::watch as signal;

pub use audit::{acting, Acting};
pub use codes::{AccountReason, AddressReason, Code, EventKind, HubAddressReason, Scope, SweepState, UnknownScope};
pub use keys::Binding;
pub use rows::*;
pub use tx::Tx;
pub use webhooks::DeliveryOutcome;

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error (connection lost, constraint, …).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The URL names no supported engine.
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    /// The database would not keep a commit through a crash.
    #[error("{0}")]
    NotDurable(String),
    /// A stored value is not what the schema promises.
    #[error("corrupt row: {table}.{column}: {reason}")]
    Corrupt {
        /// The table (or query) it was read from.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What is wrong with it (never the value of a secret).
        reason: String,
    },
}

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection pool to Hub's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Told after every commit that wrote events (see [`Store::feed_changes`]).
    feed: Arc<signal::Sender<()>>,
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and
    /// applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Self {
            pool,
            backend,
            feed: Arc::new(signal::channel(()).0),
        };
        if backend == Backend::Postgres && store.durability().await? == "synchronous_commit=off" {
            store.close().await;
            return Err(StoreError::NotDurable(
                "PostgreSQL has synchronous_commit = off: a crash could roll back a sweep already broadcast and \
                 let a key sign twice; set synchronous_commit = on for Hub's role or database \
                 (ALTER ROLE … SET synchronous_commit = on)"
                    .into(),
            ));
        }
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&store.pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&store.pool).await?,
        }
        Ok(store)
    }

    /// How durably a commit is written, as the engine reports it:
    /// `synchronous=FULL` (SQLite: every commit synced to disk, also in WAL
    /// mode) or `synchronous_commit=on` (PostgreSQL; Hub refuses `off`, with
    /// which a crash can lose committed transactions).
    pub async fn durability(&self) -> Result<String, StoreError> {
        use sqlx::Row;
        Ok(match self.backend {
            Backend::Sqlite => {
                let row = sqlx::query("PRAGMA synchronous").fetch_one(&self.pool).await?;
                let level = match row.try_get::<i64, _>(0)? {
                    0 => "OFF",
                    1 => "NORMAL",
                    2 => "FULL",
                    3 => "EXTRA",
                    _ => "unknown",
                };
                format!("synchronous={level}")
            }
            Backend::Postgres => {
                let row = sqlx::query("SELECT CAST(current_setting('synchronous_commit') AS TEXT)")
                    .fetch_one(&self.pool)
                    .await?;
                format!("synchronous_commit={}", row.try_get::<String, _>(0)?)
            }
        })
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that may read, check and write without races
    /// (it takes the locks its reads imply). Begun inside [`acting`], it
    /// records its actor and its call when it commits.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx::new(tx, self.backend, true, self.feed.clone()))
    }

    /// Begins a transaction for reading only: a consistent snapshot, no
    /// locks, no audit record.
    pub async fn read(&self) -> Result<Tx, StoreError> {
        Ok(Tx::new(
            self.pool.begin().await?,
            self.backend,
            false,
            self.feed.clone(),
        ))
    }

    /// Changes whenever a transaction of this store commits events: a feed
    /// reader waits on it instead of polling. Events written by another
    /// process (an operator's `hub admin`) do not signal it; a reader
    /// polls as well, less often.
    pub fn feed_changes(&self) -> signal::Receiver<()> {
        self.feed.subscribe()
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
