//! What access control costs, measured through the real binary: GetBalance
//! latency over gRPC with and without a token (two `hub serve`s, one with
//! `--auth token`, one with `--auth off`, measured in the same run,
//! interleaved), and GetDepositAddress under a burst of 200 concurrent
//! calls with the address pool at its default size and default Argon2
//! settings (how many are served, how many are told to retry, and how
//! long each took).
//!
//! `cargo bench --workspace --bench api` prints the figures.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{grpc_client, hub, start, Grpc, Running};
use hub_api::proto::hub as pb;

/// GetBalance calls measured per server.
const CALLS: usize = 2_000;
/// Concurrent GetDepositAddress calls in the burst.
const BURST: usize = 200;

fn serve(dir: &std::path::Path, extra: &[&str]) -> Running {
    let mut command = hub();
    command
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"])
        .args(["--devnet-listen", "127.0.0.1:0", "--sweep-interval-ms", "0"])
        .args(extra);
    start(&mut command, "Ctrl-C").expect("hub serve starts")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<38} n={:<5} p50 {:>9.3} ms   p99 {:>9.3} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
    );
}

async fn get_balance(client: &mut Grpc) -> Duration {
    let started = Instant::now();
    client
        .get_balance(pb::GetBalanceRequest {
            user_id: "bench".into(),
        })
        .await
        .expect("GetBalance answers");
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let cheap = ["--argon2-t-cost", "1", "--argon2-m-cost-kib", "1024"];
    // Buckets too large to empty: the figure is the check's cost, not throttling.
    let unthrottled = ["--rate-limit-per-second", "1000000", "--rate-limit-burst", "1000000"];
    let with_token = serve(&dir.path().join("token"), &[&cheap[..], &unthrottled[..]].concat());
    let mut open_args = cheap.to_vec();
    open_args.extend(["--auth", "off"]);
    let without = serve(&dir.path().join("off"), &open_args);
    let token = common::dev_token(&with_token);
    let mut authed = grpc_client(&with_token.value("gRPC API:").unwrap(), &token).await;
    let mut open = grpc_client(&without.value("gRPC API:").unwrap(), "unused").await;
    for client in [&mut authed, &mut open] {
        client
            .create_user(pb::CreateUserRequest {
                user_id: "bench".into(),
            })
            .await
            .unwrap();
        for _ in 0..100 {
            get_balance(client).await; // warm-up
        }
    }
    let (mut token_samples, mut open_samples) = (Vec::new(), Vec::new());
    for _ in 0..CALLS {
        token_samples.push(get_balance(&mut authed).await);
        open_samples.push(get_balance(&mut open).await);
    }
    println!("GetBalance over gRPC, {CALLS} calls each, interleaved:");
    report("  --auth off", open_samples.clone());
    report("  --auth token (bearer token)", token_samples.clone());
    let median = |mut samples: Vec<Duration>| {
        samples.sort();
        percentile(&samples, 0.5)
    };
    let (token_p50, open_p50) = (median(token_samples), median(open_samples));
    println!(
        "  authentication adds {:.1} µs at p50 ({:.2}× the unauthenticated call)",
        (token_p50.as_secs_f64() - open_p50.as_secs_f64()) * 1e6,
        token_p50.as_secs_f64() / open_p50.as_secs_f64()
    );
    with_token.stop();
    without.stop();

    // The burst: default pool size and default Argon2 (what production pays).
    let burst_server = serve(&dir.path().join("burst"), &unthrottled);
    let token = common::dev_token(&burst_server);
    let client = grpc_client(&burst_server.value("gRPC API:").unwrap(), &token).await;
    client
        .clone()
        .create_user(pb::CreateUserRequest {
            user_id: "burst".into(),
        })
        .await
        .unwrap();
    // Let the pool fill to its default size first.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let started = Instant::now();
    let calls: Vec<_> = (0..BURST)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let result = client
                    .get_deposit_address(pb::GetDepositAddressRequest {
                        user_id: "burst".into(),
                        include_checksum: false,
                    })
                    .await;
                (result.map_err(|status| status.code()), started.elapsed())
            })
        })
        .collect();
    let (mut served, mut retry, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for call in calls {
        match call.await.unwrap() {
            (Ok(_), took) => served.push(took),
            (Err(tonic::Code::ResourceExhausted), took) => retry.push(took),
            (Err(code), _) => other.push(code),
        }
    }
    println!(
        "GetDepositAddress, burst of {BURST} concurrent calls, default pool and Argon2 ({:.1} s in all):",
        started.elapsed().as_secs_f64()
    );
    if !served.is_empty() {
        report("  served", served);
    }
    if !retry.is_empty() {
        report("  told to retry (RESOURCE_EXHAUSTED)", retry);
    }
    println!("  other failures: {other:?}");
    burst_server.stop();
}
