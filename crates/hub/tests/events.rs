//! The event feed through the real binary, on SQLite and on PostgreSQL: a
//! deposit is swept and credited, a withdrawal is paid and confirmed, and
//! the feed tells it in order. It is read three ways (cursor pages of
//! `GET /v1/events`, the SSE stream with a reconnect in the middle, and
//! gRPC `hub.v1.Events/Watch` opened before anything happened) and the
//! three readings hold the same events, without gaps or repeats.

mod common;

use std::path::Path;
use std::time::Duration;

use common::books::*;
use common::*;
use serde_json::Value;

/// `(id, type, data)` of each event, in the order read.
type Reading = Vec<(u64, String, Value)>;

/// Every event through `GET /v1/events`, `limit` at a time.
async fn read_pages(http: &str, token: &str, limit: u32) -> Reading {
    let client = reqwest::Client::new();
    let mut events = Reading::new();
    let mut after = 0;
    loop {
        let page: Value = client
            .get(format!("{http}v1/events?after={after}&limit={limit}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let batch = page["events"].as_array().unwrap();
        assert!(batch.len() <= limit as usize);
        if batch.is_empty() {
            assert_eq!(page["next"].as_u64(), Some(after), "an empty page keeps the cursor");
            return events;
        }
        for event in batch {
            events.push(reading(event));
        }
        after = page["next"].as_u64().unwrap();
        assert_eq!(after, events.last().unwrap().0, "next is the last id of the page");
    }
}

fn reading(event: &Value) -> (u64, String, Value) {
    (
        event["id"].as_u64().unwrap(),
        event["type"].as_str().unwrap().to_owned(),
        event["data"].clone(),
    )
}

/// Reads SSE frames from `GET /v1/events/stream` (resuming after
/// `last_event_id` if given) until `count` events arrived; checks each
/// frame's `id:` and `event:` lines against its data.
async fn read_stream(http: &str, token: &str, last_event_id: Option<u64>, count: usize) -> Reading {
    let mut request = reqwest::Client::new()
        .get(format!("{http}v1/events/stream"))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let mut response = request.send().await.unwrap().error_for_status().unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut buffer = String::new();
    let mut events = Reading::new();
    while events.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .expect("the stream delivers")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|line| line.strip_prefix(name).map(|v| v.trim_start().to_owned()))
            };
            let Some(data) = field("data:") else { continue }; // a keep-alive comment
            let event: Value = serde_json::from_str(&data).unwrap();
            let (id, kind, details) = reading(&event);
            assert_eq!(field("id:"), Some(id.to_string()));
            assert_eq!(field("event:"), Some(kind.clone()));
            events.push((id, kind, details));
        }
    }
    events
}

/// Asserts ids strictly increase (no repeats) and `types` occur in this order.
fn assert_tells(reading: &Reading, types: &[&str]) {
    assert!(reading.windows(2).all(|w| w[0].0 < w[1].0), "ids increase: {reading:?}");
    let mut expected = types.iter().peekable();
    for (_, kind, _) in reading {
        if expected.peek() == Some(&&kind.as_str()) {
            expected.next();
        }
    }
    let told: Vec<&str> = reading.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert!(
        expected.peek().is_none(),
        "expected {types:?} in order, the feed told {told:?}"
    );
}

async fn feed(database: &str, dir: &Path) {
    let mut command = hub();
    command
        .args(quick_serve_args(&dir.join("hub-data")))
        .args(["--database", database])
        .args(["--sweep-interval-ms", "300", "--attachment-interval-ms", "300"])
        .args(["--node-check-interval-ms", "200"]);
    let mut hub = serve(&mut command).await;
    let http = hub.running.value("HTTP API:").unwrap();
    let grpc_address = hub.running.value("gRPC API:").unwrap();

    let mut watch = events_client(&grpc_address, &hub.token)
        .await
        .watch(hub_api::proto::v1::WatchRequest {
            after: 0,
            types: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();

    let address = deposit(&mut hub, "ann", 5_000).await;
    let grpc = hub.grpc.clone();
    wait_for("the deposit to be credited", Duration::from_secs(120), || {
        let grpc = grpc.clone();
        async move { available(&mut grpc.clone(), "ann").await == 5_000 }
    })
    .await;
    let payout = format!("{}9", "P".repeat(80));
    let uuid = withdraw(&mut hub.grpc, "ann", &payout, 1_200, "ann-1").await;
    let grpc = hub.grpc.clone();
    wait_for("the withdrawal to confirm", Duration::from_secs(120), || {
        let (grpc, uuid) = (grpc.clone(), uuid.clone());
        async move { withdrawal_confirmed(&mut grpc.clone(), &uuid).await }
    })
    .await;

    let pages = read_pages(&http, &hub.token, 7).await;
    // The deposit's story, and the withdrawal's (requested as soon as the
    // credit made the balance available, so the two interleave).
    let deposit_story = [
        "user.created",
        "deposit.pending",
        "sweep.planned",
        "deposit.credited",
        "balance.changed",
        "sweep.signed",
        "sweep.broadcast",
        "sweep.confirmed",
    ];
    let withdrawal_story = [
        "withdrawal.requested",
        "balance.changed",
        "sweep.planned",
        "withdrawal.swept",
        "sweep.signed",
        "sweep.broadcast",
        "sweep.confirmed",
        "withdrawal.confirmed",
    ];
    assert_tells(&pages, &deposit_story);
    assert_tells(&pages, &withdrawal_story);
    assert!(
        pages.iter().all(|(_, kind, _)| kind != "deposit.late"),
        "no false alarm while a sweep confirms: {pages:?}"
    );
    let node_synced = pages.iter().find(|(_, kind, _)| kind == "node.synced");
    assert!(
        node_synced.is_some(),
        "the node watch reported the devnet synced: {pages:?}"
    );

    // What the events say, as a user would check it.
    let of_type = |kind: &str| -> Vec<&Value> {
        pages
            .iter()
            .filter(|(_, k, _)| k == kind)
            .map(|(_, _, data)| data)
            .collect()
    };
    let credited = of_type("deposit.credited");
    assert_eq!(credited.len(), 1);
    assert_eq!(credited[0]["userId"], "ann");
    assert_eq!(credited[0]["address"], address.as_str());
    assert_eq!(credited[0]["amount"], 5_000);
    let balances: Vec<(String, i64, i64)> = of_type("balance.changed")
        .iter()
        .map(|d| {
            (
                d["reason"].as_str().unwrap().to_owned(),
                d["amount"].as_i64().unwrap(),
                d["balance"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        balances,
        [
            ("DEPOSIT".to_owned(), 5_000, 5_000),
            ("WITHDRAWAL".to_owned(), -1_200, 3_800)
        ]
    );
    let confirmed = of_type("withdrawal.confirmed");
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0]["uuid"], uuid.as_str());
    assert_eq!(confirmed[0]["address"], payout.as_str());
    assert_eq!(confirmed[0]["amount"], 1_200);
    let sweeps = of_type("sweep.confirmed");
    assert_eq!(confirmed[0]["bundleHash"], sweeps[1]["bundleHash"]);
    assert_eq!(confirmed[0]["tail"], sweeps[1]["tail"]);

    // The SSE stream, dropped halfway and resumed with Last-Event-ID.
    let half = pages.len() / 2;
    let mut streamed = read_stream(&http, &hub.token, None, half).await;
    let resumed = read_stream(&http, &hub.token, streamed.last().map(|e| e.0), pages.len() - half).await;
    streamed.extend(resumed);
    assert_eq!(
        ids(&streamed),
        ids(&pages),
        "SSE with a reconnect reads what the pages read"
    );

    // gRPC Watch, open since before the first event, delivered them live.
    let mut watched = Reading::new();
    while watched.len() < pages.len() {
        let event = tokio::time::timeout(Duration::from_secs(30), watch.message())
            .await
            .expect("Watch delivers")
            .unwrap()
            .expect("Watch stays open");
        watched.push((event.id, event.r#type, serde_json::from_str(&event.data_json).unwrap()));
    }
    assert_eq!(watched, pages, "Watch reads what the pages read");

    // Unknown types and bad cursors are refused, naming the field.
    let refused = reqwest::Client::new()
        .get(format!("{http}v1/events?type=deposit.maybe"))
        .bearer_auth(&hub.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["field"], "type", "{problem}");
    let anonymous = reqwest::Client::new()
        .get(format!("{http}v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    hub.running.stop();
}

fn ids(reading: &Reading) -> Vec<u64> {
    reading.iter().map(|(id, _, _)| *id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("hub.sqlite").display());
    feed(&database, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_on_postgres() {
    let postgres = TestDb::new(Db::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    feed(&postgres.url, dir.path()).await;
    postgres.remove().await;
}
