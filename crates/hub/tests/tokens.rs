//! Goal: `hub admin token …` and `hub admin audit` through the real binary,
//! on SQLite and PostgreSQL: create prints the token alone on stdout, once;
//! lists never show it or its hash; a revoked token is listed as revoked;
//! the audit trail names `admin-cli`; a bad scope is refused naming
//! `--scope`; a remote PostgreSQL in the clear is refused as by `hub serve`.
//! Method: a fresh database and no salt at all (the salt file given does
//! not exist), so the commands prove they open only the database.

mod common;

use std::path::Path;
use std::process::Output;

use common::hub;
use hub_store::on_both_databases;
use hub_store::testing::{Db, TestDb};

/// Runs `hub admin --data-dir D --database URL ARGS…` without a salt.
fn admin(dir: &Path, database: &str, args: &[&str]) -> Output {
    hub()
        .args(["admin", "--data-dir"])
        .arg(dir)
        .args(["--database", database, "--salt-file"])
        .arg(dir.join("no-such-salt"))
        .args(args)
        .output()
        .expect("the hub binary starts")
}

/// Its stdout, after checking that it succeeded.
fn succeeds(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn is_token_format(token: &str) -> bool {
    token
        .strip_prefix("hub_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

async fn stored_hashes(database: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database).await.unwrap();
    let rows = sqlx::query("SELECT token_hash FROM api_token WHERE token_hash IS NOT NULL")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.iter().map(|r| r.get::<String, _>(0)).collect()
}

async fn tokens_are_created_listed_revoked_and_audited(db: Db) {
    let test = TestDb::new(db).await;
    let dir = tempfile::tempdir().unwrap();
    let database = test.url.as_str();

    let created = admin(
        dir.path(),
        database,
        &[
            "token", "create", "--name", "desk-1", "--scope", "withdraw", "--scope", "read",
        ],
    );
    let stdout = succeeds(&created);
    let token = stdout.strip_suffix('\n').expect("one line");
    assert!(is_token_format(token), "exactly the token on stdout: {stdout:?}");
    let confirmation = "token 'desk-1' created with scopes read, withdraw; it is shown only once";
    assert!(stderr(&created).contains(confirmation), "{}", stderr(&created));
    let mapped = admin(
        dir.path(),
        database,
        &[
            "token",
            "create",
            "--name",
            "ops-cert",
            "--scope",
            "admin",
            "--client-cn",
            "exchange ops",
            "--expires-in-days",
            "30",
        ],
    );
    assert_eq!(succeeds(&mapped), "", "a mapping prints nothing on stdout");
    assert!(
        stderr(&mapped).contains("'exchange ops' mapped as 'ops-cert'"),
        "{}",
        stderr(&mapped)
    );

    let listed = succeeds(&admin(dir.path(), database, &["token", "list"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0].starts_with("desk-1 token read,withdraw created 20"),
        "{listed}"
    );
    assert!(lines[0].ends_with("last-used never expires never"), "{listed}");
    assert!(
        lines[1].starts_with("ops-cert cn:exchange ops admin created 20"),
        "{listed}"
    );
    let hashes = stored_hashes(database).await;
    assert_eq!(hashes.len(), 1);
    for secret in [token, token.strip_prefix("hub_").unwrap(), &hashes[0]] {
        assert!(!listed.contains(secret), "the list shows a secret: {listed}");
    }

    let revoked = admin(dir.path(), database, &["token", "revoke", "desk-1"]);
    assert_eq!(succeeds(&revoked), "");
    let again = admin(dir.path(), database, &["token", "revoke", "desk-1"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("'desk-1' is not an active credential"),
        "{}",
        stderr(&again)
    );
    let active = succeeds(&admin(dir.path(), database, &["token", "list"]));
    assert!(!active.contains("desk-1"), "{active}");
    let all = succeeds(&admin(dir.path(), database, &["token", "list", "--all"]));
    let desk = all.lines().find(|l| l.starts_with("desk-1 ")).unwrap();
    assert!(desk.contains(" revoked 20"), "{all}");
    let ops = all.lines().find(|l| l.starts_with("ops-cert ")).unwrap();
    assert!(ops.ends_with(" revoked -") && !ops.contains("expires never"), "{all}");
    assert!(!all.contains(token), "{all}");

    let audit = succeeds(&admin(dir.path(), database, &["audit"]));
    let kinds: Vec<(&str, &str, &str)> = audit
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (fields[1], fields[2], fields[3])
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("admin-cli", "call", "token"),
            ("admin-cli", "token_revoked", "desk-1"),
            ("admin-cli", "call", "token"),
            ("admin-cli", "token_created", "ops-cert"),
            ("admin-cli", "call", "token"),
            ("admin-cli", "token_created", "desk-1"),
        ],
        "newest first; the call's reference is the command ('token revoke'): {audit}"
    );
    assert!(audit.lines().next().unwrap().contains(" token revoke "), "{audit}");
    assert!(!audit.contains(token), "{audit}");
    let newest = succeeds(&admin(dir.path(), database, &["audit", "--limit", "1"]));
    assert_eq!(newest.lines().count(), 1);
    test.remove().await;
}
on_both_databases!(round_trip, tokens_are_created_listed_revoked_and_audited);

async fn bad_input_is_refused_naming_the_flag(db: Db) {
    let test = TestDb::new(db).await;
    let dir = tempfile::tempdir().unwrap();
    let database = test.url.as_str();
    let cases: [(&[&str], &str); 6] = [
        (&["token", "create", "--name", "x", "--scope", "sideways"], "--scope"),
        (&["token", "create", "--name", "x"], "--scope"),
        (
            &["token", "create", "--name", "a b", "--scope", "read"],
            "name may hold only",
        ),
        (
            &[
                "token",
                "create",
                "--name",
                "x",
                "--scope",
                "read",
                "--expires-in-days",
                "0",
            ],
            "expires_in_days must be 1 to 3650",
        ),
        (&["audit", "--limit", "0"], "--limit"),
        (&["audit", "--limit", "10001"], "--limit"),
    ];
    for (args, named) in cases {
        let output = admin(dir.path(), database, args);
        assert!(!output.status.success(), "{args:?} is refused");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{args:?}");
        assert!(stderr(&output).contains(named), "{args:?}: {}", stderr(&output));
    }
    let sideways = stderr(&admin(
        dir.path(),
        database,
        &["token", "create", "--name", "x", "--scope", "sideways"],
    ));
    assert!(
        sideways.contains("unknown scope 'sideways' (expected read, deposit, trade, withdraw or admin)"),
        "{sideways}"
    );
    assert_eq!(succeeds(&admin(dir.path(), database, &["token", "list", "--all"])), "");

    // Opening only the database still refuses it in the clear across a network.
    let remote = "postgres://u:secret@db.example.com/hub";
    let refused = stderr(&admin(dir.path(), remote, &["token", "list"]));
    assert!(
        refused.contains("--database-allow-plaintext") && !refused.contains("secret"),
        "{refused}"
    );
    test.remove().await;
}
on_both_databases!(bad_input, bad_input_is_refused_naming_the_flag);
