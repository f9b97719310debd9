//! Compares `hub-pow` with `iota-pow` 0.2.1 (the legacy PearlDiver of
//! iota.rs) on the same transactions, in the same run.
//!
//! ```text
//! cargo run --release -p hub-pow-bench -- [--mwm N] [--samples K] [--seconds S] [--seed X]
//! ```
//!
//! # Method
//!
//! `iota-pow` counts no tries and cannot be cancelled while it runs, so the
//! two are compared on **time to nonce**:
//!
//! 1. K pseudo-random transactions are generated from a fixed seed.
//! 2. For each transaction in turn, four searches run at the same MWM: ours
//!    on 1 thread, `iota-pow` on 1 thread, ours on all cores, `iota-pow` on
//!    all cores. Interleaving them spreads any background load evenly.
//! 3. Every nonce is checked (`curl_p81`, itself tested against
//!    iota-crypto): a wrong answer aborts the run.
//! 4. A try succeeds with probability 3^-MWM, so the expected tries per nonce
//!    are 3^MWM for both. The *effective* rate is 3^MWM / mean time to nonce;
//!    ratios are taken between effective rates (equivalently, inverse ratios
//!    of mean times). Time to nonce is geometrically distributed, so the
//!    standard error of a mean of K searches is about 1/√K of it; it is
//!    printed next to each mean.
//! 5. For ours the tries are also counted: the *counted* rate is total tries
//!    over total time in the same searches (it includes setup: hashing the
//!    first 32 chunks, starting threads), and a fixed-duration run at an
//!    unreachable weight (`hub_pow::tries_per_second`) gives the steady rate.
//!
//! The default (MWM 10, 150 transactions) takes well under a minute on two
//! cores, most of it spent in `iota-pow`.

use std::process::ExitCode;
use std::time::Duration;

use hub_pow_bench::{expected_tries, random_transactions, si, timed_search, Implementation, Run, Summary};

struct Args {
    mwm: u8,
    samples: usize,
    seconds: f64,
    seed: u64,
}

const USAGE: &str = "usage: hub-pow-bench [--mwm N (1..=14, default 10)] [--samples K (default 150)] \
[--seconds S (fixed-duration run, default 2)] [--seed X (default 1)]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        mwm: 10,
        samples: 150,
        seconds: 2.0,
        seed: 1,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
        }
        let value = iter.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = || format!("bad value {value:?} for {flag}\n{USAGE}");
        match flag.as_str() {
            "--mwm" => args.mwm = value.parse().map_err(|_| bad())?,
            "--samples" => args.samples = value.parse().map_err(|_| bad())?,
            "--seconds" => args.seconds = value.parse().map_err(|_| bad())?,
            "--seed" => args.seed = value.parse().map_err(|_| bad())?,
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
    }
    // iota-pow at MWM 14 takes ~8 s per nonce on one core; beyond that a run
    // never ends in reasonable time.
    if !(1..=14).contains(&args.mwm) {
        return Err(format!("--mwm must be in 1..=14\n{USAGE}"));
    }
    if args.samples == 0 {
        return Err(format!("--samples must be at least 1\n{USAGE}"));
    }
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err(format!("--seconds must be in (0, 600]\n{USAGE}"));
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let cores = num_cpus::get();
    let mwm = args.mwm;
    println!("hub-pow vs iota-pow 0.2.1: legacy IOTA proof of work (Curl-P-81)");
    println!(
        "{cores} cores; hub-pow kernel: {}; MWM {mwm} (3^{mwm} = {} expected tries per nonce); \
         {} random transactions (seed {}), the same for both",
        hub_pow::kernel(),
        expected_tries(mwm),
        args.samples,
        args.seed
    );

    let transactions = random_transactions(args.samples, args.seed);
    let configurations = [
        (Implementation::Ours, 1),
        (Implementation::IotaPow, 1),
        (Implementation::Ours, cores),
        (Implementation::IotaPow, cores),
    ];
    let mut runs: Vec<Vec<Run>> = vec![Vec::with_capacity(args.samples); configurations.len()];
    for transaction in &transactions {
        for ((implementation, threads), runs) in configurations.iter().zip(&mut runs) {
            runs.push(timed_search(*implementation, transaction, mwm, *threads));
        }
    }
    let summaries: Vec<Summary> = runs.iter().map(|r| Summary::of(r)).collect();

    println!();
    println!(
        "{:<22} {:>14} {:>12} {:>18} {:>16}",
        "", "mean to nonce", "± s.e.", "effective tries/s", "counted tries/s"
    );
    for ((implementation, threads), summary) in configurations.iter().zip(&summaries) {
        println!(
            "{:<22} {:>11.2} ms {:>9.2} ms {:>18} {:>16}",
            format!("{} {threads} thread(s)", implementation.name()),
            summary.mean.as_secs_f64() * 1e3,
            summary.standard_error.as_secs_f64() * 1e3,
            si(summary.effective_tries_per_second(mwm)),
            summary.counted_tries_per_second.map_or_else(|| "-".to_owned(), si),
        );
    }

    let duration = Duration::from_secs_f64(args.seconds);
    let steady_one = steady_rate(1, duration);
    let steady_all = steady_rate(cores, duration);
    println!();
    println!(
        "ours, steady rate over {:.1} s at an unreachable weight: 1 thread {}, {cores} threads {}",
        args.seconds,
        si(steady_one),
        si(steady_all)
    );

    let effective = |i: usize| summaries[i].effective_tries_per_second(mwm);
    println!();
    println!(
        "tries/s 1 thread: ours {}, iota-pow {}, ratio {:.1}x",
        si(effective(0)),
        si(effective(1)),
        effective(0) / effective(1)
    );
    println!(
        "tries/s {cores} threads: ours {}, iota-pow {}, ratio {:.1}x",
        si(effective(2)),
        si(effective(3)),
        effective(2) / effective(3)
    );
    println!(
        "scaling ours {cores} threads / 1 thread: {:.2}x (steady rate: {:.2}x)",
        effective(2) / effective(0),
        steady_all / steady_one
    );
    println!(
        "scaling iota-pow {cores} threads / 1 thread: {:.2}x",
        effective(3) / effective(1)
    );
    ExitCode::SUCCESS
}

fn steady_rate(threads: usize, duration: Duration) -> f64 {
    let transaction = &random_transactions(1, u64::MAX)[0];
    hub_pow::tries_per_second(transaction, threads, duration).expect("valid input")
}
