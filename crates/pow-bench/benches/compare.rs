//! Criterion version of the comparison in `src/main.rs` (see its method):
//! ours and `iota-pow` 0.2.1, on 1 thread and on all cores, searching the
//! same random transactions at the same MWM. One iteration is one search on
//! the next transaction of the set, so every configuration sees the same
//! transactions in the same order. Throughput is set to the expected tries
//! per nonce (3^MWM), so criterion's "elements/s" is the effective tries/s.
//!
//! After criterion's own report it prints the mean time to nonce of every
//! configuration over all the searches criterion ran, and the ratios.
//! Criterion runs the configurations one after another, so load from other
//! processes can favour one of them; the `hub-pow-bench` binary interleaves
//! them and is the better comparison on a busy machine.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use hub_pow_bench::{random_transactions, si, timed_search, Implementation, Run, Summary};

/// 3^10 = 59049 expected tries: ~10 ms for ours, ~70 ms for iota-pow on one
/// thread. Lower weights mostly measure setup (iota-pow spends ~4 ms hashing
/// the first 32 chunks with its 64-lane transform, we ~0.2 ms).
const MWM: u8 = 10;
const TRANSACTIONS: usize = 64;

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let transactions = random_transactions(TRANSACTIONS, 2);
    let cores = num_cpus::get();
    let configurations = [
        (Implementation::Ours, 1),
        (Implementation::IotaPow, 1),
        (Implementation::Ours, cores),
        (Implementation::IotaPow, cores),
    ];
    let all_runs: Vec<Mutex<Vec<Run>>> = configurations.iter().map(|_| Mutex::new(Vec::new())).collect();

    let mut group = criterion.benchmark_group(format!("pow mwm {MWM}"));
    group.throughput(Throughput::Elements(3u64.pow(u32::from(MWM))));
    // Searches take milliseconds and vary a lot: same iterations per sample.
    group.sampling_mode(SamplingMode::Flat);
    for ((implementation, threads), runs) in configurations.iter().zip(&all_runs) {
        let name = format!("{} {threads} thread(s)", implementation.name());
        let mut next = 0;
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let started = Instant::now();
                for _ in 0..iterations {
                    let transaction = &transactions[next % TRANSACTIONS];
                    next += 1;
                    let run = timed_search(*implementation, transaction, MWM, *threads);
                    runs.lock().expect("not poisoned").push(run);
                }
                started.elapsed()
            })
        });
    }
    group.finish();
    criterion.final_summary();

    let summaries: Vec<Summary> = all_runs
        .iter()
        .map(|runs| Summary::of(&runs.lock().expect("not poisoned")))
        .collect();
    println!("\nall searches run above, MWM {MWM}:");
    for ((implementation, threads), summary) in configurations.iter().zip(&summaries) {
        println!(
            "  {} {threads} thread(s): {} searches, mean {:.3} ms ± {:.3}, effective {} tries/s",
            implementation.name(),
            summary.samples,
            summary.mean.as_secs_f64() * 1e3,
            summary.standard_error.as_secs_f64() * 1e3,
            si(summary.effective_tries_per_second(MWM)),
        );
    }
    let rate = |i: usize| summaries[i].effective_tries_per_second(MWM);
    println!(
        "tries/s 1 thread: ours {}, iota-pow {}, ratio {:.1}x",
        si(rate(0)),
        si(rate(1)),
        rate(0) / rate(1)
    );
    println!(
        "tries/s {cores} threads: ours {}, iota-pow {}, ratio {:.1}x",
        si(rate(2)),
        si(rate(3)),
        rate(2) / rate(3)
    );
    println!(
        "scaling {cores} threads / 1 thread: ours {:.2}x, iota-pow {:.2}x",
        rate(2) / rate(0),
        rate(3) / rate(1)
    );
}
