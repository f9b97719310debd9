//! Webhooks through the real binary, on SQLite and on PostgreSQL: a real
//! HTTP receiver verifies every signature (Standard Webhooks, checked here
//! with its own HMAC), refuses the first three deliveries and then accepts.
//! Every event arrives, in order; the delivery log shows the retries. Then
//! Hub is killed with SIGKILL while deliveries are pending, and after the
//! restart none is lost.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::books::*;
use common::*;
use hmac::{Hmac, Mac};
use hub_api::proto::hub as pb;
use serde_json::{json, Value};
use sha2::Sha256;

/// What the receiver saw and how it answers.
#[derive(Default)]
struct Receiver {
    /// The signing secret, once the webhook exists.
    secret: Option<String>,
    /// Deliveries still to refuse with a 500.
    refuse: usize,
    /// Event ids of the deliveries it accepted, in arrival order.
    accepted: Vec<u64>,
    /// Deliveries it refused.
    refused: usize,
}

/// Verifies a delivery's signature as a receiver would, from the headers
/// and the raw body alone.
fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> Value {
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    let key = BASE64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    assert_eq!(header("webhook-signature"), expected, "signature of delivery {id}");
    let sent_at: i64 = timestamp.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - sent_at).abs() < 60, "webhook-timestamp is now");
    let event: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["id"].to_string(), id, "webhook-id is the event id");
    event
}

async fn receive(State(receiver): State<Arc<Mutex<Receiver>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut receiver = receiver.lock().unwrap();
    let event = verify(receiver.secret.as_deref().unwrap(), &headers, &body);
    if receiver.refuse > 0 {
        receiver.refuse -= 1;
        receiver.refused += 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    receiver.accepted.push(event["id"].as_u64().unwrap());
    StatusCode::NO_CONTENT
}

async fn start_receiver(receiver: Arc<Mutex<Receiver>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

fn serve_command(database: &str, dir: &Path) -> std::process::Command {
    let mut command = hub();
    command.args(quick_serve_args(&dir.join("hub-data"))).args([
        "--database",
        database,
        "--webhook-allow-private",
        "--webhook-retry-base-ms",
        "100",
    ]);
    command
}

/// The ids of the feed's `user.created` events after `after`.
async fn users_created(http: &str, token: &str, after: u64) -> Vec<u64> {
    let page: Value = reqwest::Client::new()
        .get(format!("{http}v1/events?after={after}&type=user.created&limit=1000"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect()
}

async fn create_users(grpc: &mut Grpc, names: &[&str]) {
    for name in names {
        grpc.create_user(pb::CreateUserRequest {
            user_id: (*name).into(),
        })
        .await
        .unwrap();
    }
}

async fn wait_accepted(receiver: &Arc<Mutex<Receiver>>, count: usize) {
    wait_for("the receiver to accept every event", Duration::from_secs(60), || {
        let receiver = receiver.clone();
        async move { receiver.lock().unwrap().accepted.len() >= count }
    })
    .await;
}

async fn webhooks(database: &str, dir: &Path) {
    let receiver = Arc::new(Mutex::new(Receiver {
        refuse: 3,
        ..Receiver::default()
    }));
    let target = start_receiver(receiver.clone()).await;
    let mut hub = serve(&mut serve_command(database, dir)).await;
    let http = hub.running.value("HTTP API:").unwrap();
    let client = reqwest::Client::new();

    let created = client
        .post(format!("{http}v1/webhooks"))
        .bearer_auth(&hub.token)
        .json(&json!({"url": format!("http://{target}/hook"), "types": ["user.created"], "description": "desk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let webhook = created["id"].as_i64().unwrap();
    receiver.lock().unwrap().secret = Some(created["secret"].as_str().unwrap().to_owned());
    let since = created["acknowledged"].as_u64().unwrap();

    create_users(&mut hub.grpc, &["ann", "bob", "cid", "dan", "eve"]).await;
    wait_accepted(&receiver, 5).await;
    let expected = users_created(&http, &hub.token, since).await;
    assert_eq!(
        receiver.lock().unwrap().accepted,
        expected,
        "every event, in order, once"
    );
    assert_eq!(receiver.lock().unwrap().refused, 3);

    let log: Value = client
        .get(format!("{http}v1/webhooks/{webhook}/deliveries"))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attempts: Vec<(u64, i64, i64)> = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|d| {
            (
                d["eventId"].as_u64().unwrap(),
                d["attempt"].as_i64().unwrap(),
                d["statusCode"].as_i64().unwrap(),
            )
        })
        .collect();
    let first = expected[0];
    assert_eq!(
        attempts[..4],
        [(first, 1, 500), (first, 2, 500), (first, 3, 500), (first, 4, 204)],
        "the first event was retried until accepted: {log}"
    );
    assert_eq!(attempts.len(), 8, "then one attempt per event: {log}");
    assert!(log["deliveries"][0]["nextRetryAt"].is_null() && !log["deliveries"][7]["nextRetryAt"].is_null());

    // Pending deliveries when Hub is killed: none is lost after the restart.
    receiver.lock().unwrap().refuse = usize::MAX;
    create_users(&mut hub.grpc, &["fay", "gus", "hal"]).await;
    wait_for("a refused delivery", Duration::from_secs(30), || {
        let receiver = receiver.clone();
        async move { receiver.lock().unwrap().refused > 3 }
    })
    .await;
    drop(hub.running); // SIGKILL
    receiver.lock().unwrap().refuse = 0;
    let hub = serve(&mut serve_command(database, dir)).await;
    let http = hub.running.value("HTTP API:").unwrap();
    wait_accepted(&receiver, 8).await;
    let expected = users_created(&http, &hub.token, since).await;
    let accepted = receiver.lock().unwrap().accepted.clone();
    assert_eq!(expected.len(), 8);
    assert_eq!(accepted, expected, "after SIGKILL and restart: every event, in order");

    // Refusals name the field (which targets are public is hub-core's
    // tests' business).
    let refused = client
        .post(format!("{http}v1/webhooks"))
        .bearer_auth(&hub.token)
        .json(&json!({"url": "ftp://example.com/", "types": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["field"], "url", "{problem}");
    let refused = client
        .post(format!("{http}v1/webhooks"))
        .bearer_auth(&hub.token)
        .json(&json!({"url": "https://example.com/", "types": ["user.maybe"]}))
        .send()
        .await
        .unwrap();
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["field"], "types", "{problem}");
    let deleted = client
        .delete(format!("{http}v1/webhooks/{webhook}"))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let listed: Value = client
        .get(format!("{http}v1/webhooks"))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["webhooks"], json!([]));
    hub.running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("hub.sqlite").display());
    webhooks(&database, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_postgres() {
    let postgres = TestDb::new(Db::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    webhooks(&postgres.url, dir.path()).await;
    postgres.remove().await;
}
