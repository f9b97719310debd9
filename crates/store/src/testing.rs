//! The database test bed (feature `testing`, for tests only): a fresh,
//! empty SQLite file or PostgreSQL database per test, and a macro that runs
//! a test body once on each engine. Every crate that tests against the
//! store uses this one, so both engines are always covered the same way.

use std::sync::atomic::{AtomicU64, Ordering};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A SQLite file in the temporary directory.
    Sqlite,
    /// A database on the local PostgreSQL server (`HUB_TEST_POSTGRES_URL`).
    Postgres,
}

/// Runs an async test body once per database: `name_sqlite`, `name_postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::testing::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body($crate::testing::Db::Postgres).await
            }
        }
    };
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("HUB_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty database.
pub struct TestDb {
    /// Its URL, for `Store::connect`.
    pub url: String,
    drop_name: Option<String>,
    file: Option<std::path::PathBuf>,
}

impl TestDb {
    /// A new empty database on `db`.
    pub async fn new(db: Db) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("hub_test_{}_{}_{}", std::process::id(), n, rand::random::<u32>());
        match db {
            Db::Sqlite => {
                let file = std::env::temp_dir().join(format!("{name}.sqlite"));
                Self {
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    drop_name: None,
                    file: Some(file),
                }
            }
            Db::Postgres => {
                use sqlx::Executor;
                let admin = postgres_admin_url();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("PostgreSQL is running");
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
                Self {
                    url: format!("{base}/{name}"),
                    drop_name: Some(name),
                    file: None,
                }
            }
        }
    }

    /// A copy of the database as it is now, as a backup would hold it (and
    /// to be removed like any). On PostgreSQL the copy is made from the
    /// database as a template, so nobody may be connected to it: close
    /// every store on it first.
    pub async fn copy(&self) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("hub_copy_{}_{}_{}", std::process::id(), n, rand::random::<u32>());
        use sqlx::Executor;
        match (&self.file, &self.drop_name) {
            (Some(_), _) => {
                let file = std::env::temp_dir().join(format!("{name}.sqlite"));
                sqlx::any::install_default_drivers();
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&self.url)
                    .await
                    .expect("the test database is reachable");
                conn.execute(format!("VACUUM INTO '{}'", file.display()).as_str())
                    .await
                    .expect("VACUUM INTO copies the database");
                Self {
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    drop_name: None,
                    file: Some(file),
                }
            }
            (None, Some(source)) => {
                let admin = postgres_admin_url();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("PostgreSQL is running");
                // The caller closed its stores; a server session can still
                // linger a moment after its client let go (PostgreSQL then
                // refuses the template for 5 s): end any such session first.
                let linger = format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{source}' AND pid <> pg_backend_pid()"
                );
                conn.execute(linger.as_str()).await.expect("ending lingering sessions");
                conn.execute(format!("CREATE DATABASE {name} TEMPLATE {source}").as_str())
                    .await
                    .expect("the source database has no other connection");
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
                Self {
                    url: format!("{base}/{name}"),
                    drop_name: Some(name),
                    file: None,
                }
            }
            (None, None) => unreachable!("a test database is a file or a PostgreSQL database"),
        }
    }

    /// Removes the database (call at the end of a test).
    pub async fn remove(self) {
        if let Some(name) = &self.drop_name {
            use sqlx::Executor;
            if let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&postgres_admin_url()).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

/// The number of rows in every table of Hub's schema at `url` (migrations
/// bookkeeping excluded), by table name: what a test compares to show that
/// a refused call wrote nothing.
pub async fn row_counts(url: &str) -> Vec<(String, i64)> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .expect("the test database is reachable");
    let tables = if url.starts_with("sqlite:") {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name"
    } else {
        "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations' ORDER BY tablename"
    };
    let names: Vec<String> = sqlx::query(tables)
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect();
    let mut counts = Vec::new();
    for table in names {
        let row = sqlx::query(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.push((table, row.get::<i64, _>(0)));
    }
    counts
}
