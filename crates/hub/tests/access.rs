//! Access control through the real binary, with real clients (tonic and
//! reqwest), on SQLite and PostgreSQL: tokens made with `hub admin token`,
//! every command against every kind of credential, refusals that write
//! nothing, mutual TLS with a mapped client certificate, the start-up
//! refusals of an exposed listener, and the README's curl flow with the
//! development token.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use hub_api::proto::hub as pb;
use hub_api::Command;
use reqwest::StatusCode;
use tonic::Code;

const SCOPES: [&str; 5] = ["read", "deposit", "trade", "withdraw", "admin"];

/// `hub admin token create --name NAME --scope …`: the token it printed.
fn create_token(data: &Path, database: &str, name: &str, scopes: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["token", "create", "--name", name];
    for scope in scopes {
        args.extend(["--scope", scope]);
    }
    args.extend(extra);
    let printed = admin(data, database, &args, "").unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {printed:?}");
    lines[0].to_owned()
}

/// The credentials of the matrix, each with the refusal it must get
/// (`None`: admitted). `lacking` holds every scope but the command's.
struct Tokens {
    all: String,
    revoked: String,
    expired: String,
    lacking: Vec<(String, String)>,
}

impl Tokens {
    async fn create(data: &Path, database: &str) -> Self {
        let all = create_token(data, database, "all", &SCOPES, &[]);
        let lacking = SCOPES
            .iter()
            .map(|scope| {
                let others: Vec<&str> = SCOPES.iter().copied().filter(|s| s != scope).collect();
                let name = format!("no-{scope}");
                (scope.to_string(), create_token(data, database, &name, &others, &[]))
            })
            .collect();
        let revoked = create_token(data, database, "gone", &SCOPES, &[]);
        admin(data, database, &["token", "revoke", "gone"], "").unwrap();
        let expired = create_token(data, database, "old", &SCOPES, &["--expires-in-days", "1"]);
        execute(database, "UPDATE api_token SET expires_at = 1 WHERE name = 'old'").await;
        Self {
            all,
            revoked,
            expired,
            lacking,
        }
    }

    fn lacking(&self, scope: &str) -> &str {
        &self.lacking.iter().find(|(s, _)| s == scope).unwrap().1
    }

    /// Each refused credential with its HTTP status and gRPC code.
    fn refused<'a>(&'a self, scope: &str) -> Vec<(Option<&'a str>, StatusCode, Code)> {
        let unknown = "hub_0000000000000000000000000000000000000000000000000000000000000000";
        vec![
            (None, StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (Some(unknown), StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (Some(&self.revoked), StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (Some(&self.expired), StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (Some(self.lacking(scope)), StatusCode::FORBIDDEN, Code::PermissionDenied),
        ]
    }
}

async fn execute(database: &str, sql: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database).await.unwrap();
    sqlx::query(sql).execute(&mut conn).await.unwrap();
}

async fn http_call(url: &str, command: Command, token: Option<&str>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(format!(r#"{{"command":"{}","userId":"u"}}"#, command.name()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = request.send().await.unwrap();
    (reply.status(), reply.text().await.unwrap())
}

/// One typed gRPC call per scope, as an exchange's client makes it.
async fn grpc_call(address: &str, scope: &str, token: Option<&str>) -> Code {
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::hub_client::HubClient::new(channel);
    fn with<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        request
    }
    let result = match scope {
        "read" => client.get_stats(with(pb::GetStatsRequest {}, token)).await.map(|_| ()),
        "deposit" => client
            .create_user(with(pb::CreateUserRequest { user_id: "u".into() }, token))
            .await
            .map(|_| ()),
        "trade" => client
            .process_transfer_batch(with(pb::ProcessTransferBatchRequest::default(), token))
            .await
            .map(|_| ()),
        "withdraw" => client
            .user_withdraw_cancel(with(pb::UserWithdrawCancelRequest { uuid: "x".into() }, token))
            .await
            .map(|_| ()),
        "admin" => client
            .get_seed_for_uuid(with(pb::GetSeedForUuidRequest { uuid: "x".into() }, token))
            .await
            .map(|_| ()),
        other => unreachable!("{other}"),
    };
    result.map_or_else(|status| status.code(), |()| Code::Ok)
}

/// A Python with grpcio and grpcio-tools: `HUB_TEST_PYTHON`, else the
/// system's if it has them, else a virtual environment made once in the
/// target directory (the packages come from PyPI).
fn python_with_grpc() -> &'static Path {
    static PYTHON: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let has_grpc = |python: &Path| {
            std::process::Command::new(python)
                .args(["-c", "import grpc, grpc_tools"])
                .output()
                .is_ok_and(|output| output.status.success())
        };
        if let Some(python) = std::env::var_os("HUB_TEST_PYTHON") {
            return python.into();
        }
        let system = Path::new("python3");
        if has_grpc(system) {
            return system.to_owned();
        }
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("grpc-python");
        let python = venv.join("bin/python");
        if !has_grpc(&python) {
            let run = |command: &mut std::process::Command| {
                let output = command.output().expect("python3 runs");
                assert!(
                    output.status.success(),
                    "setting up the independent gRPC client's Python: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            };
            run(std::process::Command::new("python3").args(["-m", "venv"]).arg(&venv));
            run(std::process::Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "grpcio>=1.60,<2",
                "grpcio-tools>=1.60,<2",
            ]));
        }
        python
    })
}

/// Every method called by the independent Python client (stubs generated
/// from `crates/api/proto`): method name → status code name.
fn python_calls(address: &str, token: Option<&str>) -> std::collections::BTreeMap<String, String> {
    use std::io::Write;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new(python_with_grpc())
        .arg(root.join("tests/clients/hub_grpc.py"))
        .arg("--proto-dir")
        .arg(root.join("../api/proto"))
        .args(["--address", address])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.unwrap_or_default().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// gRPC's name of a refusal's status code, as the Python client prints it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Unauthenticated => "UNAUTHENTICATED",
        Code::PermissionDenied => "PERMISSION_DENIED",
        other => unreachable!("{other:?}"),
    }
}

/// Row counts once the address pool is full again (it refills in the
/// background, the only writer besides the calls under test).
async fn settled_row_counts(database: &str) -> Vec<(String, i64)> {
    let pool_full = || async {
        row_counts(database)
            .await
            .contains(&("address_pool".to_owned(), POOL_SIZE))
    };
    wait_for("the address pool to refill", Duration::from_secs(30), pool_full).await;
    row_counts(database).await
}

/// `quick_serve_args`' pool size.
const POOL_SIZE: i64 = 3;

async fn every_command_against_every_credential(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub-data");
    let test_db = TestDb::new(db).await;
    let database = test_db.url.clone();
    let tokens = Tokens::create(&data, &database).await;
    let running = start(
        hub().args(quick_serve_args(&data)).args([
            "--database",
            &database,
            "--sweep-interval-ms",
            "0",
            "--node-check-interval-ms",
            "0",
        ]),
        "Ctrl-C",
    )
    .expect("hub serve starts");
    let http = running.value("HTTP API:").unwrap();
    let grpc = running.value("gRPC API:").unwrap();

    for command in Command::ALL {
        let scope = command.scope().to_string();
        let before = settled_row_counts(&database).await;
        for (token, status, _) in tokens.refused(&scope) {
            let (got, body) = http_call(&http, command, token).await;
            assert_eq!(got, status, "HTTP {} with {token:?}: {body}", command.name());
            assert!(body.contains(&format!("scope `{scope}`")), "names the scope: {body}");
            assert!(
                token.is_none_or(|token| !body.contains(token)),
                "never echoes the token"
            );
        }
        assert_eq!(
            row_counts(&database).await,
            before,
            "{}: refusals write nothing",
            command.name()
        );
        let (got, body) = http_call(&http, command, Some(&tokens.all)).await;
        assert_eq!(got, StatusCode::OK, "HTTP {} with every scope: {body}", command.name());
    }

    // The independent client, every method: refused for each bad
    // credential (writing nothing), refused only where the scope is missing.
    let before = settled_row_counts(&database).await;
    for (token, _, code) in tokens.refused("read").into_iter().take(4) {
        let calls = python_calls(&grpc, token);
        assert_eq!(calls.len(), Command::ALL.len(), "{calls:?}");
        assert!(
            calls.values().all(|got| got == code_name(code)),
            "Python client with {token:?}: {calls:?}"
        );
    }
    assert_eq!(
        row_counts(&database).await,
        before,
        "Python client: refusals write nothing"
    );
    for scope in SCOPES {
        let calls = python_calls(&grpc, Some(tokens.lacking(scope)));
        for command in Command::ALL {
            let got = &calls[command.name()];
            if command.scope().to_string() == scope {
                assert_eq!(
                    got,
                    "PERMISSION_DENIED",
                    "Python client, {} without {scope}",
                    command.name()
                );
            } else {
                assert!(
                    !["UNAUTHENTICATED", "PERMISSION_DENIED"].contains(&got.as_str()),
                    "Python client, {} without {scope}: {got}",
                    command.name()
                );
            }
        }
    }

    for scope in SCOPES {
        let before = settled_row_counts(&database).await;
        for (token, _, code) in tokens.refused(scope) {
            assert_eq!(
                grpc_call(&grpc, scope, token).await,
                code,
                "gRPC {scope} with {token:?}"
            );
        }
        assert_eq!(
            row_counts(&database).await,
            before,
            "gRPC {scope}: refusals write nothing"
        );
        let code = grpc_call(&grpc, scope, Some(&tokens.all)).await;
        assert!(
            !matches!(code, Code::Unauthenticated | Code::PermissionDenied),
            "gRPC {scope} with every scope: {code:?}"
        );
    }

    // Revocation takes effect on the next call, while serving.
    admin(&data, &database, &["token", "revoke", "all"], "").unwrap();
    let (got, _) = http_call(&http, Command::GetStats, Some(&tokens.all)).await;
    assert_eq!(got, StatusCode::UNAUTHORIZED);

    // Every state-changing call is on record with the token's name.
    let audit = admin(&data, &database, &["audit"], "").unwrap();
    assert!(
        audit
            .lines()
            .any(|line| line.contains(" all ") && line.contains("CreateUser")),
        "{audit}"
    );
    running.stop();
    test_db.remove().await;
}

hub_store::on_both_databases!(access_matrix, every_command_against_every_credential);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_a_mapped_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub-data");
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let ours = hub_signer::generate_dev_certs(&certs, &[]).unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("hub.sqlite").display());
    let mapped = admin(
        &data,
        &database,
        &[
            "token",
            "create",
            "--name",
            "bot",
            "--client-cn",
            "hub (development client)",
            "--scope",
            "read",
        ],
        "",
    )
    .unwrap();
    assert_eq!(mapped, "", "a certificate mapping prints no token");
    let running = start(
        hub()
            .args(quick_serve_args(&data))
            .args(["--database", &database])
            .args([
                "--tls-cert",
                ours.server.to_str().unwrap(),
                "--tls-key",
                ours.server_key.to_str().unwrap(),
                "--tls-client-ca",
                ours.ca.to_str().unwrap(),
            ]),
        "Ctrl-C",
    )
    .expect("hub serve starts with TLS");
    assert!(running
        .value("access:")
        .unwrap()
        .contains("client certificates required"));
    let grpc = running.value("gRPC API:").unwrap();
    let http = running.value("HTTP API:").unwrap();
    assert!(http.starts_with("https://"), "{http}");
    let read = |path: &Path| std::fs::read(path).unwrap();

    let identity = reqwest::Identity::from_pem(&[read(&ours.client), read(&ours.client_key)].concat()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&read(&ours.ca)).unwrap())
        .identity(identity)
        .build()
        .unwrap();
    let reply = client
        .post(http.replace("127.0.0.1", "localhost"))
        .header("content-type", "application/json")
        .body(r#"{"command":"GetStats"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(reply.text().await.unwrap(), r#"{"totalBalance":"0"}"#);

    let tls = |identity: Option<tonic::transport::Identity>| {
        let mut tls = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(read(&ours.ca)))
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        tls
    };
    let endpoint = |identity| {
        tonic::transport::Channel::from_shared(format!("https://{grpc}"))
            .unwrap()
            .tls_config(tls(identity))
            .unwrap()
    };
    let channel = endpoint(Some(tonic::transport::Identity::from_pem(
        read(&ours.client),
        read(&ours.client_key),
    )))
    .connect()
    .await
    .unwrap();
    let mut client = pb::hub_client::HubClient::new(channel);
    let stats = client.get_stats(pb::GetStatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.total_balance, 0);
    let denied = client
        .create_user(pb::CreateUserRequest { user_id: "u".into() })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "the mapping holds only `read`");

    // A TLS 1.3 client learns of its refused handshake at its first call.
    let without = endpoint(None).connect().await;
    let refused = match without {
        Err(_) => true,
        Ok(channel) => pb::hub_client::HubClient::new(channel)
            .get_stats(pb::GetStatsRequest {})
            .await
            .is_err_and(|status| !matches!(status.code(), Code::Unauthenticated | Code::PermissionDenied)),
    };
    assert!(refused, "no client certificate: the handshake fails");
    let plain = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&read(&ours.ca)).unwrap())
        .build()
        .unwrap()
        .post(http.replace("127.0.0.1", "localhost"))
        .header("content-type", "application/json")
        .body(r#"{"command":"GetStats"}"#)
        .send()
        .await;
    assert!(plain.is_err(), "HTTPS without a client certificate fails");
    running.stop();
}

#[test]
fn an_exposed_listener_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub-data");
    let serve = |args: &[&str]| {
        let mut command = hub();
        command.args(["serve", "--data-dir"]).arg(&data).args(args);
        fails(&mut command)
    };
    let error = serve(&["--grpc-listen", "0.0.0.0:0"]);
    assert!(
        error.contains("--grpc-listen 0.0.0.0:0: not a loopback address and TLS is off"),
        "{error}"
    );
    assert_eq!(error.trim().lines().count(), 1, "one line: {error}");
    let error = serve(&[
        "--auth",
        "off",
        "--http-listen",
        "0.0.0.0:0",
        "--allow-plaintext-public",
    ]);
    assert!(
        error.contains("--auth off: refused because --http-listen 0.0.0.0:0"),
        "{error}"
    );
    assert!(!data.join("hub.sqlite").exists(), "refused before opening anything");
}

/// The `curl` lines of the README's "Trying it" block.
fn readme_curl_lines() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("## Trying it")
        .nth(1)
        .and_then(|rest| rest.split("```sh").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("README has a Trying it block");
    block
        .lines()
        .filter(|line| line.starts_with("curl "))
        .map(str::to_owned)
        .collect()
}

fn bash(dir: &Path, line: &str) -> String {
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_curl_flow_works_with_the_development_token() {
    let dir = tempfile::tempdir().unwrap();
    let lines = readme_curl_lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    // `hub serve` with embedded defaults, from the directory the README's commands run in.
    let running = start(
        hub().current_dir(dir.path()).arg("serve").args(quick_node_args()),
        "Ctrl-C",
    )
    .expect("hub serve starts on embedded defaults");
    assert_eq!(running.value("HTTP API:").unwrap(), "http://127.0.0.1:50052/");
    assert!(running.value("API token:").unwrap().starts_with("hub-data/dev-token"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("hub-data/dev-token"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    assert_eq!(bash(dir.path(), &lines[0]), "{}");
    let reply: serde_json::Value = serde_json::from_str(&bash(dir.path(), &lines[1])).unwrap();
    let address = reply["address"].as_str().expect("an address").to_owned();
    assert_eq!(address.len(), 90);
    let node = running
        .value("node:")
        .and_then(|v| v.split_whitespace().find(|w| w.starts_with("http")).map(str::to_string))
        .unwrap();
    let funded = hub()
        .args(["devnet", "fund", "--node", &node, &address, "1000"])
        .output()
        .unwrap();
    assert!(funded.status.success(), "{}", String::from_utf8_lossy(&funded.stderr));
    wait_for("the deposit to show as pending", Duration::from_secs(60), || {
        let line = lines[2].clone();
        let dir = dir.path().to_owned();
        async move { bash(&dir, &line).trim() == r#"{"available":"0","pendingDeposit":"1000"}"# }
    })
    .await;
    running.stop();
}
