//! The whole money loop, timed end to end: deposits in, withdrawals out,
//! with the real background services and real scheduling.
//!
//! ```text
//! cargo bench -p hub-core --bench money_loop      # HUB_BENCH_QUICK=1 for a short run
//! ```
//!
//! Hub runs over SQLite (a temporary file) against the embedded devnet over
//! HTTP, whose coordinator issues a milestone every second; the services
//! (`hub_core::services::spawn`: deposit monitor, sweeper, attacher, address
//! pool) run on short intervals, and proof of work is done locally (hub-pow)
//! at MWM 9 on the devnet's development profile and at MWM 14 on its
//! mainnet profile (IRI 1.8.6 rules and limits on both: the coordinator
//! confirms only what its walk reaches, so sweeps may need promotions and
//! reattachments, which are counted). Seeds use cheap
//! Argon2 parameters (t_cost 1, 64 KiB); this measures the loop, not
//! derivation (see `--bench core` for that). For each MWM it prints:
//!
//! - **deposit → sweep**: from the milestone confirming a faucet payment to a
//!   deposit address, to the milestone confirming the sweep that took it
//!   (on the Tangle) and to Hub marking that sweep confirmed; p50 and max
//!   over N deposits made 700 ms apart (N = 10; 4 with `HUB_BENCH_QUICK`).
//!   Times are observed by polling every 20 ms.
//! - **withdrawals/hour**: W withdrawals (50; 14 quick) queued at once
//!   against funds in one confirmed Hub address, timed until every payout
//!   address holds its amount on the devnet; also how many sweeps and
//!   attachments that took. Sweeps form a chain (each spends the previous
//!   one's remainder, which must confirm first), so this is bounded by
//!   confirmation latency, not by signing.
//! - **PoW per sweep**: the proof of work of the very bundles those sweeps
//!   made (up to three of them), redone after the run with the same code and
//!   MWM (the services give no hook to time it in place).
//! - **promotions / reattachments** each phase needed: promotion
//!   transactions found on the node, and tails recorded beyond one per sweep.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_core::attacher::{AttachConfig, PowMode};
use hub_core::monitor::MonitorConfig;
use hub_core::services::{self, ServiceConfig};
use hub_core::sweeper::SweepConfig;
use hub_core::{AddressReason, BalanceEvent, Clock, Hub, SystemClock, WithdrawRequest};
use hub_devnet::{Devnet, DevnetConfig, Profile};
use hub_node::{Client, ClientConfig};
use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::{Address, Argon2Params, Hash, Salt, SecurityLevel, Transaction};
use hub_signer::LocalProvider;
use hub_store::Store;
use rand::Rng;
use serde_json::json;
use tokio::sync::watch;

const MONITOR_MS: u64 = 250;
const SWEEP_MS: u64 = 500;
const ATTACH_MS: u64 = 250;
const NODE_CHECK_MS: u64 = 1_000;
const POOL_MS: u64 = 200;
const MILESTONE_MS: u64 = 1_000;
const POLL: Duration = Duration::from_millis(20);
const DEADLINE: Duration = Duration::from_secs(300);
/// Sweeps whose proof of work is redone to time it.
const POW_SAMPLE: usize = 3;

fn cheap_provider() -> Arc<LocalProvider> {
    let params = Argon2Params {
        t_cost: 1,
        m_cost_kib: 64,
        ..Argon2Params::default()
    };
    Arc::new(LocalProvider::new(Salt::new(vec![b's'; 32]).unwrap(), params, SecurityLevel::Medium, 2).unwrap())
}

/// A Hub with its services running, a devnet with a coordinator, a SQLite file.
struct Bed {
    hub: Arc<Hub>,
    devnet: Devnet,
    node: Client,
    file: std::path::PathBuf,
    stop: watch::Sender<bool>,
    services: Vec<tokio::task::JoinHandle<()>>,
}

async fn bed(tag: &str, mwm: u8) -> Bed {
    let devnet = Devnet::start(DevnetConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        milestone_interval_ms: MILESTONE_MS,
        profile: if mwm >= Profile::Mainnet.mwm() {
            Profile::Mainnet
        } else {
            Profile::Development
        },
        mwm: Some(mwm),
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let node = Client::new(ClientConfig::new(devnet.url())).unwrap();
    let file = std::env::temp_dir().join(format!("hub_bench_money_{tag}_{mwm}_{}.sqlite", std::process::id()));
    remove(&file);
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", file.display()))
        .await
        .unwrap();
    let hub = Arc::new(Hub::new(store, node.clone(), cheap_provider(), Arc::new(SystemClock)));
    let config = ServiceConfig {
        monitor_interval_ms: MONITOR_MS,
        monitor: MonitorConfig::default(),
        pool_target: 8,
        pool_interval_ms: POOL_MS,
        pool_parallelism: 1,
        sweep_interval_ms: SWEEP_MS,
        sweep: SweepConfig::default(),
        attachment_interval_ms: ATTACH_MS,
        attach: AttachConfig {
            mwm,
            pow: PowMode::Local,
            ..AttachConfig::default()
        },
        node_check_interval_ms: NODE_CHECK_MS,
    };
    let (stop, stopped) = watch::channel(false);
    let services = services::spawn(hub.clone(), config, stopped);
    Bed {
        hub,
        devnet,
        node,
        file,
        stop,
        services,
    }
}

fn remove(file: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

impl Bed {
    async fn stop_services(&mut self) {
        let _ = self.stop.send(true);
        for handle in self.services.drain(..) {
            let _ = handle.await;
        }
    }

    async fn finish(mut self) {
        self.stop_services().await;
        self.hub.store().close().await;
        self.devnet.stop().await;
        remove(&self.file);
    }

    async fn fund(&self, address: &str, amount: u64) -> Hash {
        let reply = self
            .node
            .call_raw(
                "fund",
                &json!({"command": "fund", "address": address, "amount": amount}),
            )
            .await
            .unwrap();
        Hash::from_trytes(reply["tail"].as_str().unwrap()).unwrap()
    }

    /// Promotion transactions on the node so far.
    async fn promotions(&self) -> usize {
        let promotion_address = Address::from_trytes(&format!("{:9<81}", "SOME9RANDOM9HUB9BEING9REATTACHED")).unwrap();
        let query = hub_node::FindQuery {
            addresses: vec![promotion_address],
            ..Default::default()
        };
        self.node.find_transactions(&query).await.unwrap().len()
    }

    async fn latest_milestone(&self) -> Hash {
        self.node.get_node_info().await.unwrap().latest_milestone
    }

    async fn included(&self, tails: &[Hash]) -> Vec<bool> {
        self.node.get_inclusion_states(tails).await.unwrap()
    }

    /// The signed transactions of a sweep, in index order.
    async fn sweep_bundle(&self, bundle_hash: &str) -> Vec<Transaction> {
        let detail = self.hub.sweep_detail(bundle_hash).await.unwrap();
        detail
            .trytes
            .iter()
            .map(|t| Transaction::from_trytes(t).unwrap())
            .collect()
    }
}

fn random_address() -> String {
    let mut rng = rand::thread_rng();
    let trytes: String = (0..80)
        .map(|_| hub_protocol::ternary::TRYTE_ALPHABET[rng.gen_range(0..27)] as char)
        .collect();
    trytes + "9"
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Redoes the proof of work of (up to [`POW_SAMPLE`] of) these bundles at
/// `mwm`: (average per bundle, average transactions per bundle).
fn pow_per_bundle(bundles: &[Vec<Transaction>], mwm: u8, tip: Hash) -> (Duration, f64) {
    let bundles = &bundles[..bundles.len().min(POW_SAMPLE)];
    let options = AttachOptions {
        min_weight_magnitude: mwm,
        threads: 0,
        timestamp_ms: SystemClock.now_ms(),
    };
    let started = Instant::now();
    for bundle in bundles {
        attach_bundle(bundle, tip, tip, &options, &Cancel::default())
            .unwrap()
            .unwrap();
    }
    let transactions: usize = bundles.iter().map(Vec::len).sum();
    (
        started.elapsed() / bundles.len().max(1) as u32,
        transactions as f64 / bundles.len().max(1) as f64,
    )
}

struct Latency {
    deposits: usize,
    tangle: Vec<Duration>,
    hub: Vec<Duration>,
    sweeps: usize,
    attachments: usize,
    promotions: usize,
    pow: (Duration, f64),
}

/// Deposits `n` times, 700 ms apart, and times each from its confirmation to its sweep's.
async fn deposit_to_sweep(mwm: u8, n: usize) -> Latency {
    let mut bed = bed("latency", mwm).await;
    let mut addresses = Vec::new();
    for i in 0..n {
        let user = format!("depositor{i}");
        bed.hub.create_user(&user).await.unwrap();
        addresses.push(bed.hub.get_deposit_address(&user, false).await.unwrap());
    }
    let mut tails: Vec<Option<Hash>> = vec![None; n];
    let mut deposit_confirmed: Vec<Option<Instant>> = vec![None; n];
    let mut sweep_of: Vec<Option<String>> = vec![None; n];
    let mut sweep_on_tangle: HashMap<String, Instant> = HashMap::new();
    let mut sweep_in_hub: HashMap<String, Instant> = HashMap::new();
    let started = Instant::now();
    let mut next_deposit = 0;
    loop {
        assert!(started.elapsed() < DEADLINE, "deposits were not swept in time");
        if next_deposit < n && started.elapsed() >= Duration::from_millis(700 * next_deposit as u64) {
            tails[next_deposit] = Some(bed.fund(&addresses[next_deposit], 1_000 + next_deposit as u64).await);
            next_deposit += 1;
        }
        let now = Instant::now();
        let waiting: Vec<usize> = (0..next_deposit).filter(|i| deposit_confirmed[*i].is_none()).collect();
        if !waiting.is_empty() {
            let wanted: Vec<Hash> = waiting.iter().map(|i| tails[*i].unwrap()).collect();
            for (i, included) in waiting.iter().zip(bed.included(&wanted).await) {
                if included {
                    deposit_confirmed[*i] = Some(now);
                }
            }
        }
        if sweep_of.iter().any(Option::is_none) {
            for event in bed.hub.balance_subscription(0).await.unwrap() {
                if let BalanceEvent::UserAddress(e) = event {
                    if e.reason == AddressReason::Sweep {
                        if let Some(i) = addresses.iter().position(|a| *a == e.address) {
                            sweep_of[i] = Some(e.hash);
                        }
                    }
                }
            }
        }
        let mut sweeps: Vec<String> = sweep_of.iter().flatten().cloned().collect();
        sweeps.sort();
        sweeps.dedup();
        for sweep in &sweeps {
            if sweep_on_tangle.contains_key(sweep) && sweep_in_hub.contains_key(sweep) {
                continue;
            }
            let detail = bed.hub.sweep_detail(sweep).await.unwrap();
            if detail.confirmed {
                sweep_in_hub.entry(sweep.clone()).or_insert(now);
            }
            if !sweep_on_tangle.contains_key(sweep) && !detail.tail_hashes.is_empty() {
                let tails: Vec<Hash> = detail
                    .tail_hashes
                    .iter()
                    .map(|t| Hash::from_trytes(t).unwrap())
                    .collect();
                if bed.included(&tails).await.into_iter().any(|x| x) {
                    sweep_on_tangle.insert(sweep.clone(), now);
                }
            }
        }
        let done = sweep_of
            .iter()
            .all(|s| s.as_ref().is_some_and(|s| sweep_in_hub.contains_key(s)));
        if next_deposit == n && done {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let mut tangle = Vec::new();
    let mut hub = Vec::new();
    for i in 0..n {
        let confirmed = deposit_confirmed[i].expect("a deposit is confirmed before it is swept");
        let sweep = sweep_of[i].as_ref().unwrap();
        tangle.push(sweep_on_tangle[sweep].saturating_duration_since(confirmed));
        hub.push(sweep_in_hub[sweep].saturating_duration_since(confirmed));
    }
    tangle.sort();
    hub.sort();
    let mut sweeps: Vec<String> = sweep_of.into_iter().flatten().collect();
    sweeps.sort();
    sweeps.dedup();
    let tip = bed.latest_milestone().await;
    bed.stop_services().await;
    let promotions = bed.promotions().await;
    let mut bundles = Vec::new();
    let mut attachments = 0;
    for sweep in &sweeps {
        bundles.push(bed.sweep_bundle(sweep).await);
        attachments += bed.hub.sweep_detail(sweep).await.unwrap().tail_hashes.len();
    }
    let pow = pow_per_bundle(&bundles, mwm, tip);
    bed.finish().await;
    Latency {
        deposits: n,
        tangle,
        hub,
        sweeps: sweeps.len(),
        attachments,
        promotions,
        pow,
    }
}

struct Throughput {
    withdrawals: usize,
    elapsed: Duration,
    sweeps: usize,
    attachments: usize,
    promotions: usize,
    pow: (Duration, f64),
}

/// Funds Hub, queues `w` withdrawals at once, times until all are paid on the devnet.
async fn withdrawals_per_hour(mwm: u8, w: usize) -> Throughput {
    let mut bed = bed("throughput", mwm).await;
    let hub = bed.hub.clone();
    let funds = 10_000_000u64;
    hub.create_user("treasury").await.unwrap();
    let address = hub.get_deposit_address("treasury", false).await.unwrap();
    bed.fund(&address, funds).await;
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < DEADLINE,
            "the treasury deposit was not swept in time"
        );
        if hub.get_balance("treasury").await.unwrap().available == funds as i64 {
            let sweeps = hub.sweep_subscription(0).await.unwrap();
            let mut all_confirmed = true;
            for sweep in &sweeps {
                all_confirmed &= hub.sweep_detail(&sweep.bundle_hash).await.unwrap().confirmed;
            }
            if all_confirmed {
                break;
            }
        }
        tokio::time::sleep(POLL).await;
    }

    let promotions_before = bed.promotions().await;
    let payouts: Vec<(String, u64)> = (0..w).map(|i| (random_address(), 1_000 + i as u64)).collect();
    let since_ms = SystemClock.now_ms() as u64;
    let started = Instant::now();
    for (payout, amount) in &payouts {
        hub.user_withdraw(&WithdrawRequest {
            user_id: "treasury".into(),
            payout_address: payout.clone(),
            amount: *amount,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let addresses: Vec<Address> = payouts.iter().map(|(a, _)| Address::from_trytes(a).unwrap()).collect();
    let expected: Vec<u64> = payouts.iter().map(|(_, amount)| *amount).collect();
    loop {
        assert!(started.elapsed() < DEADLINE, "the withdrawals were not paid in time");
        if bed.node.get_balances(&addresses).await.unwrap().balances == expected {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let elapsed = started.elapsed();
    let tip = bed.latest_milestone().await;
    bed.stop_services().await;
    let promotions = bed.promotions().await - promotions_before;
    let paying: Vec<_> = hub
        .sweep_subscription(since_ms)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| !s.withdrawal_uuids.is_empty())
        .collect();
    assert_eq!(paying.iter().map(|s| s.withdrawal_uuids.len()).sum::<usize>(), w);
    let mut attachments = 0;
    let mut bundles = Vec::new();
    for sweep in &paying {
        attachments += hub.sweep_detail(&sweep.bundle_hash).await.unwrap().tail_hashes.len();
        bundles.push(bed.sweep_bundle(&sweep.bundle_hash).await);
    }
    let pow = pow_per_bundle(&bundles, mwm, tip);
    drop(hub);
    bed.finish().await;
    Throughput {
        withdrawals: w,
        elapsed,
        sweeps: paying.len(),
        attachments,
        promotions,
        pow,
    }
}

fn main() {
    let quick = std::env::var_os("HUB_BENCH_QUICK").is_some();
    let (n, w) = if quick { (4, 14) } else { (10, 50) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sweep = SweepConfig::default();
    println!(
        "money loop: Hub over SQLite (temp file), embedded devnet over HTTP (IRI 1.8.6 rules; development profile \
         at MWM 9, mainnet profile at MWM 14), local PoW (hub-pow)"
    );
    println!("  Argon2id t_cost 1, m_cost 64 KiB (cheap test parameters), security level 2");
    println!(
        "  intervals: monitor {MONITOR_MS} ms, sweep {SWEEP_MS} ms, attach {ATTACH_MS} ms, pool {POOL_MS} ms, \
         devnet milestone {MILESTONE_MS} ms; sweep limits {} deposits / {} withdrawals",
        sweep.max_deposits, sweep.max_withdrawals
    );
    println!(
        "  {} cores; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if quick { "QUICK run" } else { "full run" }
    );
    let mut latencies = Vec::new();
    let mut throughputs = Vec::new();
    runtime.block_on(async {
        for mwm in [9u8, 14] {
            let run = Instant::now();
            latencies.push((mwm, deposit_to_sweep(mwm, n).await));
            throughputs.push((mwm, withdrawals_per_hour(mwm, w).await));
            eprintln!("  (MWM {mwm} took {:.0} s)", run.elapsed().as_secs_f64());
        }
    });
    println!();
    println!("deposit confirmed -> its sweep confirmed ({n} deposits, 700 ms apart)");
    println!(
        "{:>4} | {:>8} | {:>6} | {:>22} | {:>22} | {:>10} | {:>8} | {:>22}",
        "MWM",
        "deposits",
        "sweeps",
        "on Tangle p50 / max",
        "seen by Hub p50 / max",
        "promotions",
        "reattach",
        "PoW per sweep (txs)"
    );
    for (mwm, l) in &latencies {
        println!(
            "{:>4} | {:>8} | {:>6} | {:>22} | {:>22} | {:>10} | {:>8} | {:>22}",
            mwm,
            l.deposits,
            l.sweeps,
            format!(
                "{} / {}",
                secs(percentile(&l.tangle, 0.5)),
                secs(*l.tangle.last().unwrap())
            ),
            format!("{} / {}", secs(percentile(&l.hub, 0.5)), secs(*l.hub.last().unwrap())),
            l.promotions,
            l.attachments - l.sweeps,
            format!("{:.0} ms ({:.1})", l.pow.0.as_secs_f64() * 1e3, l.pow.1),
        );
    }
    println!();
    println!("withdrawals queued at once -> all paid on the devnet (funds in one confirmed Hub address)");
    println!(
        "{:>4} | {:>11} | {:>9} | {:>10} | {:>6} | {:>10} | {:>8} | {:>22}",
        "MWM", "withdrawals", "elapsed", "per hour", "sweeps", "promotions", "reattach", "PoW per sweep (txs)"
    );
    for (mwm, t) in &throughputs {
        println!(
            "{:>4} | {:>11} | {:>9} | {:>10.0} | {:>6} | {:>10} | {:>8} | {:>22}",
            mwm,
            t.withdrawals,
            secs(t.elapsed),
            t.withdrawals as f64 / t.elapsed.as_secs_f64() * 3600.0,
            t.sweeps,
            t.promotions,
            t.attachments - t.sweeps,
            format!("{:.0} ms ({:.1})", t.pow.0.as_secs_f64() * 1e3, t.pow.1),
        );
    }
    println!();
    println!(
        "PoW per sweep: the proof of work of (up to {POW_SAMPLE} of) those sweeps' own bundles redone after the run, same MWM,"
    );
    println!("all cores; promotions (one transaction each) come on top.");
    println!(
        "Promotions = promotion transactions on the node; reattach = tails recorded beyond each sweep's first \
         (the latency run counts the whole run, including the sweeps of its deposits only)."
    );
}
