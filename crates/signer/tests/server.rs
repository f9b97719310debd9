//! The signing server end to end: a real server on a loopback port with
//! development certificates, called through the real remote provider (and,
//! for what the provider cannot send, a raw gRPC client).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hub_protocol::wots;
use hub_protocol::{Argon2Params, Hash, Salt, SecurityLevel, SeedUuid};
use hub_signer::proto::signing_server_client::SigningServerClient;
use hub_signer::proto::{self as pb};
use hub_signer::tls::client_tls_config;
use hub_signer::{
    generate_dev_certs, ClientTls, DevCerts, LocalProvider, ProviderError, RemoteProvider, RemoteTimeouts,
    SeedProvider, Signer, SignerConfig, SignerError,
};
use prost::Message;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

const SALT: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const VECTOR_UUID: &str = "43vgLK8NYigfKagfahbCSm+lMFcilNjZyV8Jj6blqX5u98Lx7vjH98AG1oh/ezOR";

fn cheap() -> Argon2Params {
    Argon2Params {
        t_cost: 1,
        m_cost_kib: 64,
        ..Argon2Params::default()
    }
}

fn local(params: Argon2Params, security: SecurityLevel) -> LocalProvider {
    LocalProvider::new(Salt::new(SALT.to_vec()).unwrap(), params, security, 2).unwrap()
}

fn hash(c: char) -> Hash {
    Hash::from_trytes(&c.to_string().repeat(81)).unwrap()
}

struct Running {
    addr: std::net::SocketAddr,
    data_dir: PathBuf,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), SignerError>>,
}

impl Running {
    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    certs: DevCerts,
    data_dir: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let certs = generate_dev_certs(&dir.path().join("certs"), &[]).unwrap();
    let data_dir = dir.path().join("signer-data");
    Setup {
        _dir: dir,
        certs,
        data_dir,
    }
}

async fn start_with(setup: &Setup, provider: LocalProvider, allow_seed_export: bool) -> Running {
    let signer = Signer::bind(
        provider,
        SignerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: setup.data_dir.clone(),
            tls: setup.certs.server_tls(),
            allow_seed_export,
        },
    )
    .await
    .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let addr = signer.local_addr();
    let data_dir = signer.data_dir().to_path_buf();
    let task = tokio::spawn(signer.serve(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        data_dir,
        stop,
        task,
    }
}

async fn start(setup: &Setup, allow_seed_export: bool) -> Running {
    start_with(setup, local(cheap(), SecurityLevel::Medium), allow_seed_export).await
}

async fn remote(server: &Running, tls: &ClientTls) -> Result<RemoteProvider, ProviderError> {
    RemoteProvider::connect(&server.url(), tls, RemoteTimeouts::default()).await
}

fn audit_log(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("audit.log")).unwrap()
}

#[tokio::test]
async fn remote_addresses_match_local_and_each_key_signs_one_bundle() {
    let setup = setup();
    let server = start(&setup, false).await;
    let provider = remote(&server, &setup.certs.client_tls()).await.unwrap();
    let reference = local(cheap(), SecurityLevel::Medium);
    assert_eq!(provider.security(), SecurityLevel::Medium);

    let uuid = SeedUuid::generate();
    let address = provider.address(&uuid).await.unwrap();
    assert_eq!(address, reference.address(&uuid).await.unwrap());
    assert_eq!(provider.security_level(&uuid).await.unwrap(), SecurityLevel::Medium);

    let signature = provider.sign(&uuid, &hash('H')).await.unwrap();
    assert_eq!(signature.0.len(), 2);
    assert!(wots::verify(&address, &hash('H'), &signature.0));
    let again = provider.sign(&uuid, &hash('H')).await.unwrap();
    assert_eq!(again, signature, "a retry of the same bundle is answered again");
    match provider.sign(&uuid, &hash('I')).await {
        Err(ProviderError::Refused(message)) => {
            assert!(message.contains("already signed a different bundle"), "{message}")
        }
        other => panic!("a second bundle must be refused, got {other:?}"),
    }
    let other = SeedUuid::generate();
    provider.sign(&other, &hash('I')).await.unwrap();

    let log = audit_log(&server.data_dir);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    for (line, outcome) in lines.iter().zip(["signed", "repeated", "refused", "signed"]) {
        assert!(line.contains("rpc=GetSignatureForUUID"), "{line}");
        assert!(line.contains(&format!("outcome={outcome}")), "{line}");
        assert!(
            line.contains("client=\"hub (development client) @ 127.0.0.1:"),
            "{line}"
        );
    }
    assert!(lines[0].contains(uuid.as_str()) && lines[0].contains(hash('H').as_str()));
    let seed = reference.seed(&uuid).await.unwrap();
    assert!(!log.contains(seed.expose_trytes()), "no seed in the audit log");
    assert!(
        !log.contains(std::str::from_utf8(SALT).unwrap()),
        "no salt in the audit log"
    );
    assert!(
        !log.contains(&signature.0[0].as_str()[..81]),
        "no signature in the audit log"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_known_vector_derives_through_the_signer() {
    let setup = setup();
    let server = start_with(&setup, local(Argon2Params::default(), SecurityLevel::Medium), false).await;
    let provider = remote(&server, &setup.certs.client_tls()).await.unwrap();
    let address = provider.address(&SeedUuid::parse(VECTOR_UUID).unwrap()).await.unwrap();
    assert_eq!(
        address.as_str(),
        "TLGUJV9NKSKKLQYBABOPVINMHRMPOOADQPWGFAFULPVXFQBFDJXQGJVLELQECCIQAXJCBXKVPDCWYWYQB"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_registry_survives_a_restart_and_a_torn_last_line() {
    let setup = setup();
    let server = start(&setup, false).await;
    let provider = remote(&server, &setup.certs.client_tls()).await.unwrap();
    let uuid = SeedUuid::generate();
    let first = provider.sign(&uuid, &hash('H')).await.unwrap();
    drop(provider);
    server.stop().await;

    // A crash in the middle of recording a second key leaves half a line.
    let torn = SeedUuid::generate();
    let registry = setup.data_dir.join("signed-uuids.log");
    let mut text = std::fs::read_to_string(&registry).unwrap();
    assert_eq!(text, format!("{uuid} {}\n", hash('H')));
    text.push_str(&format!("{torn} {}", &hash('J').as_str()[..30]));
    std::fs::write(&registry, text).unwrap();

    let server = start(&setup, false).await;
    let provider = remote(&server, &setup.certs.client_tls()).await.unwrap();
    assert!(matches!(
        provider.sign(&uuid, &hash('I')).await,
        Err(ProviderError::Refused(_))
    ));
    assert_eq!(provider.sign(&uuid, &hash('H')).await.unwrap(), first);
    provider
        .sign(&torn, &hash('I'))
        .await
        .expect("the torn entry was never signed");
    server.stop().await;
    let text = std::fs::read_to_string(&registry).unwrap();
    assert_eq!(
        text,
        format!("{uuid} {}\n{torn} {}\n", hash('H'), hash('I')),
        "the torn line is gone"
    );
}

#[tokio::test]
async fn seed_export_is_off_by_default_and_audited() {
    let setup = setup();
    let server = start(&setup, false).await;
    let provider = remote(&server, &setup.certs.client_tls()).await.unwrap();
    let uuid = SeedUuid::generate();
    match provider.seed(&uuid).await {
        Err(ProviderError::Refused(message)) => assert!(message.contains("seed export is disabled"), "{message}"),
        other => panic!("export must be refused, got {other:?}"),
    }
    assert!(audit_log(&server.data_dir).contains("rpc=GetSeedForUUID"));
    assert!(audit_log(&server.data_dir).contains("outcome=export-refused"));
    drop(provider);
    server.stop().await;

    let server = start(&setup, true).await;
    let provider = remote(&server, &setup.certs.client_tls()).await.unwrap();
    let seed = provider.seed(&uuid).await.unwrap();
    let expected = local(cheap(), SecurityLevel::Medium).seed(&uuid).await.unwrap();
    assert_eq!(seed, expected);
    let log = audit_log(&server.data_dir);
    assert!(log.lines().last().unwrap().contains("outcome=exported"), "{log}");
    assert!(!log.contains(seed.expose_trytes()), "the audit log never holds a seed");
    server.stop().await;
}

#[tokio::test]
async fn clients_without_a_certificate_from_the_ca_cannot_call() {
    let setup = setup();
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = generate_dev_certs(stranger_dir.path(), &[]).unwrap();
    let server = start(&setup, false).await;

    // No client certificate at all.
    let ca = Certificate::from_pem(std::fs::read(&setup.certs.ca).unwrap());
    let endpoint = Endpoint::from_shared(server.url())
        .unwrap()
        .tls_config(ClientTlsConfig::new().ca_certificate(ca))
        .unwrap();
    let outcome = async {
        let channel = endpoint.connect().await?;
        SigningServerClient::new(channel)
            .get_security_level(pb::GetSecurityLevelRequest {
                uuid: SeedUuid::generate().to_string(),
            })
            .await
            .map(|_| ())
            .map_err(Box::<dyn std::error::Error>::from)
    }
    .await;
    assert!(outcome.is_err(), "a client without a certificate was served");

    // A certificate signed by another CA.
    let foreign = ClientTls {
        ca: setup.certs.ca.clone(),
        cert: stranger.client.clone(),
        key: stranger.client_key.clone(),
    };
    match remote(&server, &foreign).await {
        Err(ProviderError::Unavailable(message)) => assert!(message.contains(&server.url()), "{message}"),
        other => panic!("a foreign client certificate was accepted: {other:?}"),
    }

    // A client that does not trust the server's CA.
    let distrustful = ClientTls {
        ca: stranger.ca.clone(),
        ..setup.certs.client_tls()
    };
    assert!(matches!(
        remote(&server, &distrustful).await,
        Err(ProviderError::Unavailable(_))
    ));

    // And the server still serves trusted clients afterwards.
    remote(&server, &setup.certs.client_tls()).await.unwrap();
    server.stop().await;
}

async fn raw_client(server: &Running, certs: &DevCerts) -> SigningServerClient<tonic::transport::Channel> {
    let tls = client_tls_config(&certs.client_tls()).unwrap();
    let channel = Endpoint::from_shared(server.url())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    SigningServerClient::new(channel)
}

#[tokio::test]
async fn invalid_inputs_are_refused_naming_the_field() {
    let setup = setup();
    let server = start(&setup, true).await;
    let mut client = raw_client(&server, &setup.certs).await;
    let valid = SeedUuid::generate().to_string();
    let check = |status: tonic::Status, prefix: &str| {
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(prefix), "{}", status.message());
        let error = pb::Error::decode(status.details()).expect("details carry signing.rpc.Error");
        assert_eq!(error.code, pb::ErrorCode::EcUnknown as i32);
    };
    for bad in ["", "short", &"A".repeat(65), &format!("{}!", "A".repeat(63))] {
        let request = pb::GetAddressForUuidRequest { uuid: bad.to_string() };
        check(client.get_address_for_uuid(request).await.unwrap_err(), "uuid:");
        let request = pb::GetSignatureForUuidRequest {
            uuid: bad.to_string(),
            bundle_hash: hash('H').to_string(),
        };
        check(client.get_signature_for_uuid(request).await.unwrap_err(), "uuid:");
        let request = pb::GetSeedForUuidRequest { uuid: bad.to_string() };
        check(client.get_seed_for_uuid(request).await.unwrap_err(), "uuid:");
        let request = pb::GetSecurityLevelRequest { uuid: bad.to_string() };
        check(client.get_security_level(request).await.unwrap_err(), "uuid:");
    }
    for bad in ["", "ABC", &"a".repeat(81), &"A".repeat(82)] {
        let request = pb::GetSignatureForUuidRequest {
            uuid: valid.clone(),
            bundle_hash: bad.to_string(),
        };
        check(client.get_signature_for_uuid(request).await.unwrap_err(), "bundleHash:");
    }
    // A hash whose normalised form holds an M would reveal a raw key segment.
    let request = pb::GetSignatureForUuidRequest {
        uuid: valid.clone(),
        bundle_hash: "M".repeat(81),
    };
    check(client.get_signature_for_uuid(request).await.unwrap_err(), "bundleHash:");
    let provider = remote(&server, &setup.certs.client_tls()).await.unwrap();
    let uuid = SeedUuid::parse(&valid).unwrap();
    assert!(matches!(
        provider.sign(&uuid, &hash('M')).await,
        Err(ProviderError::Refused(m)) if m.contains("bundleHash")
    ));
    // None of that recorded the key: it can still sign.
    provider.sign(&uuid, &hash('H')).await.unwrap();
    let log = audit_log(&server.data_dir);
    assert_eq!(log.matches("outcome=refused").count(), 4 * 4 + 4 + 2, "{log}");
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_signer_is_unavailable_within_the_timeout() {
    let setup = setup();
    let timeouts = RemoteTimeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_secs(2),
    };
    // Nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let result = RemoteProvider::connect(
        &format!("https://127.0.0.1:{port}"),
        &setup.certs.client_tls(),
        timeouts,
    )
    .await;
    assert!(matches!(result, Err(ProviderError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Something listens but never completes a handshake.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", silent.local_addr().unwrap());
    let started = Instant::now();
    let result = RemoteProvider::connect(&url, &setup.certs.client_tls(), timeouts).await;
    assert!(matches!(result, Err(ProviderError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Bad settings are refused before any connection.
    let result = RemoteProvider::connect("http://127.0.0.1:1", &setup.certs.client_tls(), timeouts).await;
    assert!(matches!(result, Err(ProviderError::Refused(m)) if m.contains("https://")));
    let missing = ClientTls {
        key: PathBuf::from("/nonexistent/client-key.pem"),
        ..setup.certs.client_tls()
    };
    let result = RemoteProvider::connect(&url, &missing, timeouts).await;
    assert!(matches!(result, Err(ProviderError::Refused(m)) if m.contains("/nonexistent/client-key.pem")));

    // A server that goes away makes calls unavailable, not hang.
    let server = start(&setup, false).await;
    let provider = RemoteProvider::connect(&server.url(), &setup.certs.client_tls(), timeouts)
        .await
        .unwrap();
    server.stop().await;
    let started = Instant::now();
    let result = provider.address(&SeedUuid::generate()).await;
    assert!(matches!(result, Err(ProviderError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_key_sign_only_one_bundle() {
    let setup = setup();
    let server = start(&setup, false).await;
    let provider = std::sync::Arc::new(remote(&server, &setup.certs.client_tls()).await.unwrap());
    for _ in 0..3 {
        let uuid = SeedUuid::generate();
        let tasks: Vec<_> = ['H', 'I', 'H', 'I']
            .into_iter()
            .map(|c| {
                let (provider, uuid) = (provider.clone(), uuid.clone());
                tokio::spawn(async move { (c, provider.sign(&uuid, &hash(c)).await) })
            })
            .collect();
        let mut signed = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (c, Ok(_)) => signed.push(c),
                (_, Err(ProviderError::Refused(_))) => {}
                (_, Err(e)) => panic!("{e}"),
            }
        }
        assert_eq!(
            signed.len(),
            2,
            "both requests for the winning hash succeed: {signed:?}"
        );
        assert_eq!(signed[0], signed[1], "only one bundle hash was signed: {signed:?}");
    }
    server.stop().await;
}
