//! The access gate and the listener rules, over real gRPC and HTTP clients
//! on loopback: every command needs its scope on both transports, refusals
//! never reach the commands, rate limits, browser checks, mutual TLS, and
//! the read timeout that closes a slowloris connection.

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use common::{start_grpc_with, start_http_with, Fake, Running, Setup};
use hub_api::auth::{AuthFuture, Authenticator};
use hub_api::{Command, Gate, HttpPolicy, Limits, RateLimit};
use hub_core::{AuthFailure, Principal, Scope};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::Code;

/// The development client certificate's subject CN (see `hub_signer::generate_dev_certs`).
const CLIENT_CN: &str = "hub (development client)";

/// Tokens named after what they hold.
struct Tokens;

fn principal(name: &str, scopes: &[Scope]) -> Principal {
    Principal {
        name: name.to_owned(),
        scopes: scopes.to_vec(),
    }
}

/// The token holding every scope but `scope`.
fn all_but(scope: Scope) -> String {
    format!("all-but-{scope}")
}

impl Authenticator for Tokens {
    fn by_token<'a>(&'a self, token: &'a str) -> AuthFuture<'a> {
        Box::pin(async move {
            if token == "all" {
                return Ok(principal("all", &Scope::ALL));
            }
            if let Some(scope) = Scope::ALL.into_iter().find(|scope| token == all_but(*scope)) {
                let scopes: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != scope).collect();
                return Ok(principal(token, &scopes));
            }
            match token {
                "reader" | "other-reader" => Ok(principal(token, &[Scope::Read])),
                "tok-revoked" => Err(AuthFailure::Revoked),
                "tok-expired" => Err(AuthFailure::Expired),
                _ => Err(AuthFailure::Unknown),
            }
        })
    }

    fn by_client_cn<'a>(&'a self, cn: &'a str) -> AuthFuture<'a> {
        Box::pin(async move {
            if cn == CLIENT_CN {
                Ok(principal("bot", &[Scope::Read]))
            } else {
                Err(AuthFailure::Unknown)
            }
        })
    }
}

fn gated(rate: Option<RateLimit>) -> Setup {
    Setup {
        gate: Gate::new(Arc::new(Tokens), rate),
        ..Setup::default()
    }
}

/// An HTTP command call with an optional bearer token.
async fn http_call(server: &Running, command: Command, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/", server.addr))
        .header("content-type", "application/json")
        .body(format!(r#"{{"command":"{}"}}"#, command.name()));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send().await.unwrap()
}

/// A gRPC call of `command` with an empty request message (every field
/// defaults), the way any client can reach any method; its status code.
async fn grpc_call(channel: Channel, command: Command, token: Option<&str>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(());
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let path = format!("/hub.rpc.Hub/{}", command.name()).parse().unwrap();
    let codec = tonic::codec::ProstCodec::<(), ()>::default();
    let streaming = matches!(command, Command::BalanceSubscription | Command::SweepSubscription);
    let result = if streaming {
        grpc.server_streaming(request, path, codec).await.map(|_| ())
    } else {
        grpc.unary(request, path, codec).await.map(|_| ())
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn every_command_needs_its_scope_on_both_transports() {
    let fake = Arc::new(Fake::default());
    let http = start_http_with(fake.clone(), gated(None)).await;
    let grpc = start_grpc_with(fake.clone(), gated(None)).await;
    let channel = Channel::from_shared(format!("http://{}", grpc.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();

    for command in Command::ALL {
        let scope = command.scope();
        let lacking = all_but(scope);
        for (token, status, code) in [
            (None, StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (Some("wrong"), StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (Some("tok-revoked"), StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (Some("tok-expired"), StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (Some(lacking.as_str()), StatusCode::FORBIDDEN, Code::PermissionDenied),
        ] {
            let reply = http_call(&http, command, token).await;
            assert_eq!(reply.status(), status, "HTTP {} with {token:?}", command.name());
            let body = reply.text().await.unwrap();
            assert!(
                body.contains(&format!("scope `{scope}`")),
                "the refusal names the scope: {body}"
            );
            if let Some(token) = token {
                assert!(
                    !body.contains(&format!("Bearer {token}")),
                    "never echoes the token: {body}"
                );
            }
            assert_eq!(
                grpc_call(channel.clone(), command, token).await,
                code,
                "gRPC {} with {token:?}",
                command.name()
            );
        }
        assert!(
            fake.take_calls().is_empty(),
            "{}: a refused call never runs",
            command.name()
        );

        let reply = http_call(&http, command, Some("all")).await;
        assert_eq!(
            reply.status(),
            StatusCode::OK,
            "HTTP {} with every scope",
            command.name()
        );
        let code = grpc_call(channel.clone(), command, Some("all")).await;
        assert!(
            !matches!(code, Code::Unauthenticated | Code::PermissionDenied),
            "gRPC {} with every scope: {code:?}",
            command.name()
        );
        fake.take_calls();
    }
    http.stop().await;
    grpc.stop().await;
}

#[tokio::test]
async fn refusals_say_why_and_never_quote_the_token() {
    let server = start_http_with(Arc::new(Fake::default()), gated(None)).await;
    let cases = [
        (Some("tok-revoked"), "revoked"),
        (Some("tok-expired"), "expired"),
        (Some("hub_0123456789"), "unknown API token"),
        (None, "an API token is required"),
    ];
    for (token, says) in cases {
        let reply = http_call(&server, Command::GetStats, token).await;
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(reply.headers()["www-authenticate"], "Bearer");
        let body = reply.text().await.unwrap();
        assert!(body.contains(says), "{token:?} → {body}");
        assert!(token.is_none_or(|token| !body.contains(token)), "{body}");
    }
    let reply = reqwest::Client::new()
        .post(format!("http://{}/", server.addr))
        .header("content-type", "application/json")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(r#"{"command":"GetStats"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    assert!(reply.text().await.unwrap().contains("Bearer TOKEN"));
    let reply = http_call(&server, Command::UserWithdraw, Some("reader")).await;
    assert_eq!(reply.status(), StatusCode::FORBIDDEN);
    assert!(reply
        .text()
        .await
        .unwrap()
        .contains("token 'reader' lacks scope `withdraw`"));
    server.stop().await;
}

#[tokio::test]
async fn a_burst_above_the_bucket_is_refused_and_other_tokens_are_not() {
    let rate = RateLimit {
        per_second: NonZeroU32::new(1).unwrap(),
        burst: NonZeroU32::new(3).unwrap(),
    };
    let http = start_http_with(Arc::new(Fake::default()), gated(Some(rate))).await;
    for _ in 0..3 {
        assert_eq!(
            http_call(&http, Command::GetStats, Some("reader")).await.status(),
            StatusCode::OK
        );
    }
    let refused = http_call(&http, Command::GetStats, Some("reader")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        http_call(&http, Command::GetStats, Some("other-reader")).await.status(),
        StatusCode::OK,
        "another token has its own bucket"
    );

    let grpc = start_grpc_with(Arc::new(Fake::default()), gated(Some(rate))).await;
    let channel = Channel::from_shared(format!("http://{}", grpc.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            grpc_call(channel.clone(), Command::GetStats, Some("reader")).await,
            Code::Ok
        );
    }
    assert_eq!(
        grpc_call(channel.clone(), Command::GetStats, Some("reader")).await,
        Code::ResourceExhausted
    );
    assert_eq!(
        grpc_call(channel, Command::GetStats, Some("other-reader")).await,
        Code::Ok
    );
    http.stop().await;
    grpc.stop().await;
}

#[tokio::test]
async fn browser_attacks_are_refused() {
    let setup = Setup {
        policy: HttpPolicy {
            allowed_origins: vec!["https://ops.example.com".parse().unwrap()],
            loopback_host_only: true,
        },
        ..gated(None)
    };
    let fake = Arc::new(Fake::default());
    let server = start_http_with(fake.clone(), setup).await;
    let url = format!("http://{}/", server.addr);
    let client = reqwest::Client::new();
    let body = r#"{"command":"UserWithdraw","userId":"u","payoutAddress":"A","amount":"1"}"#;
    let post = |content_type: Option<&'static str>| {
        let mut request = client.post(&url).header("authorization", "Bearer all").body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request
    };

    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let reply = post(content_type).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
    }
    let reply = post(Some("application/json; charset=utf-8")).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    fake.take_calls();

    let foreign = post(Some("application/json"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let rebound = post(Some("application/json"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    assert!(rebound.text().await.unwrap().contains("Host"));
    assert!(fake.take_calls().is_empty(), "no refused request ran a command");

    let allowed = post(Some("application/json"))
        .header("origin", "https://ops.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://ops.example.com"
    );
    let preflight = client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://ops.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed_headers = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allowed_headers.contains("authorization"), "{allowed_headers}");
    for host in ["localhost", "127.0.0.1:1234", "[::1]:80"] {
        let reply = post(Some("application/json"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK, "Host {host}");
    }
    server.stop().await;
}

#[tokio::test]
async fn mutual_tls_admits_mapped_certificates_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let ours = hub_signer::generate_dev_certs(&new_dir(dir.path(), "ours"), &[]).unwrap();
    let theirs = hub_signer::generate_dev_certs(&new_dir(dir.path(), "theirs"), &[]).unwrap();
    let tls = hub_signer::listener_tls_config(
        &hub_signer::ListenerTls {
            cert: ours.server.clone(),
            key: ours.server_key.clone(),
            client_ca: Some(ours.ca.clone()),
        },
        vec![b"h2".to_vec()],
    )
    .unwrap();
    let grpc = start_grpc_with(
        Arc::new(Fake::default()),
        Setup {
            tls: Some(Arc::new(tls)),
            ..gated(None)
        },
    )
    .await;
    let read = |path: &std::path::Path| std::fs::read(path).unwrap();
    let connect = |identity: Option<Identity>| {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(&ours.ca)))
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        let endpoint = Channel::from_shared(format!("https://{}", grpc.addr))
            .unwrap()
            .tls_config(tls)
            .unwrap();
        async move { endpoint.connect().await }
    };

    let mapped = connect(Some(Identity::from_pem(read(&ours.client), read(&ours.client_key))))
        .await
        .unwrap();
    assert_eq!(grpc_call(mapped.clone(), Command::GetStats, None).await, Code::Ok);
    assert_eq!(
        grpc_call(mapped, Command::UserWithdraw, None).await,
        Code::PermissionDenied,
        "the certificate's mapping has only `read`"
    );
    // TLS 1.3 clients learn of a refused certificate at their first call.
    let refused = |result: Result<Channel, tonic::transport::Error>| async move {
        match result {
            Err(_) => true,
            Ok(channel) => {
                let code = grpc_call(channel, Command::GetStats, None).await;
                println!("refused connection: {code:?}");
                !matches!(code, Code::Ok | Code::Unauthenticated | Code::PermissionDenied)
            }
        }
    };
    assert!(
        refused(connect(None).await).await,
        "no client certificate: no handshake"
    );
    let foreign = Identity::from_pem(read(&theirs.client), read(&theirs.client_key));
    assert!(
        refused(connect(Some(foreign)).await).await,
        "a certificate from another CA: no handshake"
    );
    grpc.stop().await;
}

/// A new directory `name` in `parent`.
fn new_dir(parent: &std::path::Path, name: &str) -> std::path::PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_slow_client_is_cut_off_and_the_connection_limit_holds() {
    let setup = Setup {
        limits: Limits {
            read_timeout: Duration::from_millis(300),
            max_connections: 1,
            ..Limits::default()
        },
        ..gated(None)
    };
    let server = start_http_with(Arc::new(Fake::default()), setup).await;
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();

    // While the slow client holds the only slot, another connection is closed at once.
    let mut second = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buffer))
        .await
        .expect("the server closes the connection over the limit");
    assert!(matches!(read, Ok(0) | Err(_)), "closed without an answer: {read:?}");

    // The slow client never finishes its headers: closed after the read timeout.
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let mut text = Vec::new();
        let _ = slow.read_to_end(&mut text).await;
        text
    })
    .await
    .expect("the server closes a slowloris connection");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed after {:?}",
        started.elapsed()
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The slot is free again.
    assert_eq!(
        http_call(&server, Command::GetStats, Some("reader")).await.status(),
        StatusCode::OK
    );
    server.stop().await;
}
