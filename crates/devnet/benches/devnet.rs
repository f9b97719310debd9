//! Devnet benchmark: prints `storeTransactions` throughput (transactions per
//! second over HTTP, including proof-of-work, structure and signature
//! checks) and `getBalances` latency for 10 000 addresses.
//!
//! ```text
//! cargo bench -p hub-devnet [-- --bundles N]
//! ```
//!
//! Bundles are built, signed and attached before the clock starts; each is
//! one input at security 2 (two transactions), one output and a remainder:
//! four transactions whose signature the node verifies on store.

use std::time::{Duration, Instant};

use hub_devnet::{Devnet, DevnetConfig};
use hub_node::{Client, ClientConfig};
use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::{wots, Address, SecurityLevel, Seed, Transaction};
use rand::Rng;

fn random_address(rng: &mut impl Rng) -> Address {
    let trytes: String = (0..80)
        .map(|_| hub_protocol::ternary::TRYTE_ALPHABET[rng.gen_range(0..27)] as char)
        .collect();
    Address::from_trytes(&format!("{trytes}9")).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bundles: usize = args
        .windows(2)
        .find(|w| w[0] == "--bundles")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(150);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let devnet = Devnet::start(DevnetConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            milestone_interval_ms: 0,
            ..DevnetConfig::default()
        })
        .await
        .unwrap();
        let client = Client::new(ClientConfig::new(devnet.url())).unwrap();
        let milestone = client.get_node_info().await.unwrap().latest_milestone;

        println!("preparing {bundles} signed, attached 4-transaction bundles…");
        let seed = Seed::from_trytes(&format!("{:9<81}", "DEVNETBENCH")).unwrap();
        let mut rng = rand::thread_rng();
        let prepared: Vec<Vec<Transaction>> = (0..bundles as u64)
            .map(|i| {
                let signed = BundleBuilder::new(1_700_000_000)
                    .unwrap()
                    .input(Input {
                        address: wots::address(&seed, i, SecurityLevel::Medium),
                        amount: 100,
                        security: SecurityLevel::Medium,
                    })
                    .output(Output::new(random_address(&mut rng), 60))
                    .output(Output::new(random_address(&mut rng), 40))
                    .build()
                    .unwrap()
                    .sign(|slot, hash| Ok::<_, ()>(wots::sign(&seed, i, slot.security, hash)))
                    .unwrap();
                let options = AttachOptions {
                    min_weight_magnitude: 9,
                    threads: 0,
                    timestamp_ms: 1_700_000_000_000,
                };
                attach_bundle(&signed, milestone, milestone, &options, &Cancel::default()).unwrap().unwrap()
            })
            .collect();

        let started = Instant::now();
        for bundle in &prepared {
            client.store_transactions(bundle).await.unwrap();
        }
        let elapsed = started.elapsed();
        let txs = prepared.iter().map(Vec::len).sum::<usize>();
        println!(
            "storeTransactions: {txs} transactions in {:.2} s = {:.0} transactions/s ({:.0} bundles/s; PoW, structure and signature checks included)",
            elapsed.as_secs_f64(),
            txs as f64 / elapsed.as_secs_f64(),
            bundles as f64 / elapsed.as_secs_f64()
        );
        let stored = client.get_trytes(&[prepared[0][0].hash()]).await.unwrap();
        assert!(stored[0].is_some(), "the bundles were stored");

        let addresses: Vec<Address> = (0..10_000).map(|_| random_address(&mut rng)).collect();
        let body = serde_json::json!({
            "command": "getBalances",
            "addresses": addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        let mut single = Vec::new();
        for _ in 0..30 {
            let started = Instant::now();
            let reply = client.call_raw("getBalances", &body).await.unwrap();
            single.push(started.elapsed());
            assert_eq!(reply["balances"].as_array().unwrap().len(), 10_000);
        }
        single.sort();
        let mut batched = Vec::new();
        for _ in 0..30 {
            let started = Instant::now();
            let balances = client.get_balances(&addresses).await.unwrap();
            batched.push(started.elapsed());
            assert_eq!(balances.balances.len(), 10_000);
        }
        batched.sort();
        println!(
            "getBalances, 10 000 addresses in one request: p50 {:.1} ms, p99 {:.1} ms",
            percentile(&single, 0.5).as_secs_f64() * 1e3,
            percentile(&single, 0.99).as_secs_f64() * 1e3
        );
        println!(
            "getBalances, 10 000 addresses as Hub's client sends them (10 x 1000): p50 {:.1} ms, p99 {:.1} ms",
            percentile(&batched, 0.5).as_secs_f64() * 1e3,
            percentile(&batched, 0.99).as_secs_f64() * 1e3
        );
        devnet.stop().await;
    });
}
