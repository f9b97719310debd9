//! `hub signer` end to end: the real binary makes development certificates,
//! runs the signing server, and `hub serve --signing remote` gets its
//! deposit addresses from it over mutual TLS.

mod common;

use common::signing::{dev_certs, remote_serve, signer_command, signer_command_with_key, start_signer, SALT};
use common::{dev_token, fails, grpc_client, hub, quick_serve_args, start};
use hub_api::proto::hub::{self as pb};
use hub_protocol::{Argon2Params, Salt, SecurityLevel, SeedUuid};
use hub_signer::{LocalProvider, SeedProvider};

#[test]
fn the_signer_refuses_to_start_without_tls_or_a_proper_salt() {
    let dir = tempfile::tempdir().unwrap();
    dev_certs(&dir.path().join("certs"));
    let error = fails(
        hub()
            .args(["signer", "dev-certs", "--out"])
            .arg(dir.path().join("certs")),
    );
    assert!(error.contains("refusing to overwrite"), "{error}");

    let salt_file = dir.path().join("salt");
    std::fs::write(&salt_file, format!("{SALT}\n")).unwrap();
    let error = fails(
        hub()
            .args(["signer", "serve", "--salt-file"])
            .arg(&salt_file)
            .env_remove("HUB_SALT"),
    );
    assert!(
        error.contains("--tls-cert") && error.contains("--tls-client-ca"),
        "{error}"
    );

    let short = dir.path().join("short-salt");
    std::fs::write(&short, "too short\n").unwrap();
    let error = fails(&mut signer_command(dir.path(), &short, "2"));
    assert!(error.contains("salt") && error.contains("at least 21 bytes"), "{error}");
    assert!(!error.contains("too short"), "the salt is never printed: {error}");

    let error = fails(signer_command(dir.path(), &salt_file, "2").env("HUB_SALT", SALT));
    assert!(error.contains("HUB_SALT"), "{error}");

    let missing = dir.path().join("no-salt-here");
    let error = fails(&mut signer_command(dir.path(), &missing, "2"));
    assert!(error.contains("no-salt-here"), "{error}");

    let missing_key = dir.path().join("certs/missing-key.pem");
    let error = fails(&mut signer_command_with_key(dir.path(), &salt_file, "2", &missing_key));
    assert!(
        error.contains("server private key") && error.contains("missing-key.pem"),
        "{error}"
    );

    let error = fails(&mut signer_command(dir.path(), &salt_file, "4"));
    assert!(error.contains("--key-security-level"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_serve_gets_its_addresses_from_the_remote_signer() {
    let dir = tempfile::tempdir().unwrap();
    dev_certs(&dir.path().join("certs"));
    let (signer, url) = start_signer(dir.path(), "2");

    let server = start(&mut remote_serve(dir.path(), &url), "Ctrl-C").expect("hub serve --signing remote starts");
    let signer_line = server.value("signer:").expect("hub serve names its signer");
    assert!(
        signer_line.contains(&url) && signer_line.contains("security level 2"),
        "{signer_line}"
    );
    assert!(server.value("salt:").is_none(), "Hub holds no salt in remote mode");
    let mut client = grpc_client(&server.value("gRPC API:").unwrap(), &dev_token(&server)).await;
    client
        .create_user(pb::CreateUserRequest {
            user_id: "alice".into(),
        })
        .await
        .unwrap();
    let address = client
        .get_deposit_address(pb::GetDepositAddressRequest {
            user_id: "alice".into(),
            include_checksum: false,
        })
        .await
        .unwrap()
        .into_inner()
        .address;
    assert_eq!(address.len(), 81);

    // The address is the one the signer's salt gives for its seed UUID.
    let database = format!("sqlite://{}?mode=ro", dir.path().join("hub-data/hub.sqlite").display());
    let uuid: String = {
        use sqlx::Connection;
        let mut db = sqlx::SqliteConnection::connect(&database).await.unwrap();
        sqlx::query_scalar("SELECT seed_uuid FROM user_address WHERE address = ?")
            .bind(&address)
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    let params = Argon2Params {
        t_cost: 1,
        m_cost_kib: 64,
        ..Argon2Params::default()
    };
    let reference = LocalProvider::new(Salt::new(SALT.into()).unwrap(), params, SecurityLevel::Medium, 1).unwrap();
    let derived = reference.address(&SeedUuid::parse(&uuid).unwrap()).await.unwrap();
    assert_eq!(derived.as_str(), address);
    server.stop();

    // Without its signer, Hub cannot check its stored addresses and does not start.
    signer.stop();
    let error = start(&mut remote_serve(dir.path(), &url), "Ctrl-C")
        .err()
        .expect("hub serve refuses to start without its signer");
    assert!(error.contains("signing server") && error.contains(&url), "{error}");
}

#[test]
fn hub_serve_refuses_a_signer_at_another_security_level_or_without_its_files() {
    let dir = tempfile::tempdir().unwrap();
    dev_certs(&dir.path().join("certs"));
    let (signer, url) = start_signer(dir.path(), "3");
    let error = start(&mut remote_serve(dir.path(), &url), "Ctrl-C")
        .err()
        .expect("hub serve refuses a signer at security level 3");
    assert!(
        error.contains("security level 3") && error.contains("--key-security-level 2"),
        "{error}"
    );
    // Agreeing on the level is enough.
    let server = start(
        remote_serve(dir.path(), &url).args(["--key-security-level", "3"]),
        "Ctrl-C",
    )
    .expect("hub serve starts at the signer's level");
    server.stop();
    signer.stop();

    let mut command = hub();
    command
        .args(quick_serve_args(&dir.path().join("hub-data-2")))
        .args(["--signing", "remote", "--signer-url", &url])
        .arg("--signer-ca")
        .arg(dir.path().join("certs/ca.pem"))
        .arg("--signer-cert")
        .arg(dir.path().join("certs/client.pem"))
        .env_remove("HUB_SALT")
        .env_remove("HUB_SIGNER_KEY");
    let error = fails(&mut command);
    assert!(error.contains("--signer-key") && error.contains("required"), "{error}");
    let error = fails(command.arg("--signer-key").arg(dir.path().join("certs/nope.pem")));
    assert!(error.contains("--signer-key") && error.contains("nope.pem"), "{error}");
}
