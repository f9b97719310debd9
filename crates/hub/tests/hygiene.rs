//! Start-up checks that keep secrets where they belong, through the real
//! binary, and the check on the on-demand derivation queue's setting.
//!
//! Goal: Hub refuses to send a database password and rows in the clear to
//! another host unless told to, names the URL without its password and the
//! setting that would allow it, and accepts loopback as it is. Method: each
//! case runs `hub serve` or `hub admin` until it stops at the check (or,
//! past it, at the connection to a host that does not exist), and reads
//! what it printed.

mod common;

use std::path::Path;
use std::process::Command;

use common::{fails, hub, quick_serve_args, Db, TestDb};

const REMOTE: &str = "postgres://u:secret@db.example.com/hub";
const SALT: &str = "a salt of more than twenty bytes";

/// `hub serve` on `database`, with a node that is never reached.
fn serve(dir: &Path, database: &str) -> Command {
    let mut command = hub();
    command
        .args(quick_serve_args(dir))
        .args(["--node", "http://127.0.0.1:1", "--database", database])
        .env("HUB_SALT", SALT);
    command
}

#[test]
fn a_plaintext_database_on_another_host_is_refused_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let error = fails(&mut serve(dir.path(), REMOTE));
    let refusal = "error: database postgres://u:***@db.example.com/hub: PostgreSQL on another host (db.example.com) \
                   needs TLS";
    assert!(
        error
            .lines()
            .any(|line| line.starts_with(refusal) && line.contains("--database-allow-plaintext")),
        "one line naming the URL and the setting: {error}"
    );
    assert!(!error.contains("secret"), "{error}");
}

#[test]
fn tls_or_the_override_gets_past_the_check_to_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let with_tls = format!("{REMOTE}?sslmode=require");
    let error = fails(&mut serve(dir.path(), &with_tls));
    assert!(
        error.contains("database postgres://u:***@db.example.com/hub?sslmode=require: "),
        "a connection failure: {error}"
    );
    assert!(!error.contains("needs TLS") && !error.contains("secret"), "{error}");

    let error = fails(serve(dir.path(), REMOTE).args(["--database-allow-plaintext", "true"]));
    assert!(error.contains("WITHOUT TLS"), "the override is warned about: {error}");
    assert!(
        error.contains("database postgres://u:***@db.example.com/hub: ") && !error.contains("needs TLS"),
        "a connection failure: {error}"
    );
    assert!(!error.contains("secret"), "{error}");
}

#[tokio::test]
async fn a_plaintext_database_on_loopback_is_accepted() {
    let db = TestDb::new(Db::Postgres).await;
    assert!(
        db.url.contains("@127.0.0.1") && !db.url.contains("sslmode"),
        "{}",
        db.url
    );
    let dir = tempfile::tempdir().unwrap();
    let output = hub()
        .args(["admin", "--data-dir"])
        .arg(dir.path())
        .args([
            "--database",
            &db.url,
            "--argon2-t-cost",
            "1",
            "--argon2-m-cost-kib",
            "1024",
        ])
        .args(["cold", "list"])
        .env("HUB_SALT", SALT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("WITHOUT TLS"), "{stderr}");
    db.remove().await;
}

#[test]
fn the_derivation_queue_needs_at_least_one_slot() {
    let dir = tempfile::tempdir().unwrap();
    let expected = "--deposit-derivation-queue-max: must be at least 1, got 0";
    let error = fails(
        hub()
            .args(quick_serve_args(dir.path()))
            .args(["--deposit-derivation-queue-max", "0"]),
    );
    assert!(error.contains(expected), "{error}");
    let error = fails(
        hub()
            .args(quick_serve_args(dir.path()))
            .env("HUB_DEPOSIT_DERIVATION_QUEUE_MAX", "0"),
    );
    assert!(error.contains(expected), "{error}");
}
