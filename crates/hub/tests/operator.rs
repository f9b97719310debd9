//! The operator's commands through the real binary, while `hub serve`
//! runs: cold storage with `hub admin cold …` (mark, list, export to a
//! file, restore from stdin, unmark), and SignBundle turned on with an HMAC
//! key file, its token made by `hub util sign-bundle-token`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::books::*;
use common::*;
use hub_api::proto::hub as pb;
use prost::Message;

/// Runs `hub admin … cold ARGS…`, feeding `stdin`; its stdout.
fn cold(dir: &Path, database: &str, args: &[&str], stdin: &str) -> Result<String, String> {
    let args: Vec<&str> = std::iter::once("cold").chain(args.iter().copied()).collect();
    admin(dir, database, &args, stdin)
}

async fn query(database: &str, sql: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database).await.unwrap();
    let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
    rows.iter().map(|r| r.get::<String, _>(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_storage_and_sign_bundle_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub-data");
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("hub.sqlite").display());
    let key_file = dir.path().join("sign-bundle.key");
    std::fs::write(&key_file, "a SignBundle key of at least thirty-two bytes\n").unwrap();
    let mut command = hub();
    command
        .args(quick_serve_args(&data))
        .args(["--database", &database])
        .args(["--sweep-interval-ms", "300", "--attachment-interval-ms", "300"])
        .arg("--sign-bundle-key-file")
        .arg(&key_file);
    let mut served = serve(&mut command).await;
    let dangerous = served.running.value("dangerous:").unwrap();
    assert_eq!(dangerous, "ENABLED: SignBundle");

    deposit(&mut served, "olga", 1_000).await;
    let grpc = served.grpc.clone();
    wait_for("the deposit to be swept", Duration::from_secs(90), || {
        let mut grpc = grpc.clone();
        async move { available(&mut grpc, "olga").await == 1_000 }
    })
    .await;
    let hub_address = query(&database, "SELECT address FROM hub_address").await.remove(0);
    let uuid = query(&database, "SELECT seed_uuid FROM hub_address").await.remove(0);

    // Cold storage round trip, while Hub serves.
    let marked = cold(&data, &database, &["mark", &hub_address], "").unwrap();
    assert_eq!(marked.trim(), format!("{hub_address} 1000 cold"));
    let listed = cold(&data, &database, &["list"], "").unwrap();
    assert_eq!(listed.trim(), format!("{hub_address} 1000 cold"));
    let file = dir.path().join("cold.uuid");
    let exported = cold(&data, &database, &["export", &hub_address, "--out"], "");
    assert!(exported.is_err(), "--out needs a value");
    let exported = cold(
        &data,
        &database,
        &["export", &hub_address, "--out", file.to_str().unwrap()],
        "",
    )
    .unwrap();
    assert!(exported.contains("cold, seed UUID exported"), "{exported}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), uuid);
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_ne!(
        query(&database, "SELECT seed_uuid FROM hub_address").await,
        vec![uuid.clone()]
    );
    let again = cold(
        &data,
        &database,
        &["export", &hub_address, "--out", file.to_str().unwrap()],
        "",
    )
    .unwrap_err();
    assert!(again.contains("already exported"), "{again}");
    let error = cold(&data, &database, &["unmark", &hub_address], "").unwrap_err();
    assert!(error.contains("restore it"), "{error}");
    let error = cold(&data, &database, &["restore", &hub_address], &"A".repeat(64)).unwrap_err();
    assert!(error.contains("does not derive"), "{error}");
    let restored = cold(&data, &database, &["restore", &hub_address], &format!("{uuid}\n")).unwrap();
    assert_eq!(restored.trim(), format!("{hub_address} 1000 cold"));
    let warm = cold(&data, &database, &["unmark", &hub_address], "").unwrap();
    assert_eq!(warm.trim(), format!("{hub_address} 1000 warm"));
    assert_eq!(query(&database, "SELECT seed_uuid FROM hub_address").await, vec![uuid]);

    // SignBundle: a token made for one bundle hash does not sign another
    // (and nothing is signed until the key's own sweep is confirmed).
    let database_url = database.clone();
    wait_for("the sweep to confirm", Duration::from_secs(90), || {
        let url = database_url.clone();
        async move { query(&url, "SELECT state FROM sweep").await == vec!["confirmed".to_string()] }
    })
    .await;
    let deposit_address = query(&database, "SELECT address FROM user_address").await.remove(0);
    let bundle_hash = "B".repeat(81);
    let token = |hash: &str| {
        let output = hub()
            .args(["util", "sign-bundle-token", "--key-file"])
            .arg(&key_file)
            .args(["--bundle-hash", hash, "--address", &deposit_address])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let request = |authentication: String| pb::SignBundleRequest {
        address: deposit_address.clone(),
        bundle_hash: bundle_hash.clone(),
        authentication,
        validate_checksum: false,
    };
    let signature = served
        .grpc
        .sign_bundle(request(token(&bundle_hash)))
        .await
        .unwrap()
        .into_inner()
        .signature;
    let fragments = hub_protocol::wots::Signature::from_trytes(&signature).unwrap();
    assert!(hub_protocol::wots::verify(
        &hub_protocol::Address::from_trytes(&deposit_address).unwrap(),
        &hub_protocol::Hash::from_trytes(&bundle_hash).unwrap(),
        &fragments.0
    ));
    let status = served
        .grpc
        .sign_bundle(request(token(&"C".repeat(81))))
        .await
        .unwrap_err();
    assert_eq!(
        pb::Error::decode(status.details()).unwrap().code,
        10,
        "INVALID_AUTHENTICATION"
    );
    // Still off: the seed commands.
    let status = served
        .grpc
        .get_seed_for_uuid(pb::GetSeedForUuidRequest { uuid: "A".repeat(64) })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Cancelled);
    served.running.stop();
}
