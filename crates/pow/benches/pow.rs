//! Proof-of-work throughput.
//!
//! - `search/1 thread`: a whole one-thread search on a fixed transaction. The
//!   search is deterministic on one thread, so its tries are known; criterion
//!   reports them per second ("elements/s" = nonce tries per second),
//!   setup (hashing the first 32 chunks) included.
//! - `curl_p81/transaction`: hashing one transaction, as a caller verifying a
//!   nonce would.
//!
//! Afterwards the steady rate on 1 thread and on all cores is printed
//! (`hub_pow::tries_per_second`, 2 s each). `hub-pow-bench` compares with
//! `iota-pow`.

use std::time::Duration;

use criterion::{black_box, Criterion, Throughput};
use hub_pow::{curl_p81, search, Cancel, Outcome, SearchOptions, TRANSACTION_TRITS};

/// Weight of the benchmarked search: 3^11 ≈ 177k expected tries, a few tens
/// of milliseconds on one thread.
const MWM: u8 = 11;

fn transaction() -> Vec<i8> {
    (0..TRANSACTION_TRITS)
        .map(|i| ((i * 7 + i / 13 + 1) % 3) as i8 - 1)
        .collect()
}

fn tries_of(outcome: Outcome) -> u64 {
    match outcome {
        Outcome::Found { tries, .. } | Outcome::Cancelled { tries } => tries,
    }
}

fn bench_search(c: &mut Criterion) {
    let transaction = transaction();
    let options = SearchOptions {
        min_weight_magnitude: MWM,
        threads: 1,
    };
    let run = || search(black_box(&transaction), &options, &Cancel::new()).expect("valid input");
    let tries = tries_of(run());
    println!("search/1 thread: {tries} tries per search (MWM {MWM})");
    let mut group = c.benchmark_group("search");
    group.throughput(Throughput::Elements(tries));
    group.bench_function("1 thread", |b| b.iter(run));
    group.finish();
}

fn bench_curl(c: &mut Criterion) {
    let transaction = transaction();
    let mut group = c.benchmark_group("curl_p81");
    group.throughput(Throughput::Elements(1));
    group.bench_function("transaction", |b| {
        b.iter(|| curl_p81(black_box(&transaction)).expect("valid input"))
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    bench_search(&mut criterion);
    bench_curl(&mut criterion);
    criterion.final_summary();

    let transaction = transaction();
    let cores = num_cpus::get();
    let rate = |threads| hub_pow::tries_per_second(&transaction, threads, Duration::from_secs(2)).expect("valid input");
    let (one, all) = (rate(1), rate(cores));
    println!(
        "steady rate ({}): 1 thread {:.2} M tries/s, {cores} threads {:.2} M tries/s, scaling {:.2}x",
        hub_pow::kernel(),
        one / 1e6,
        all / 1e6,
        all / one
    );
}
