//! `hub util bench`: figures for the protocol's hot paths on this machine.
//!
//! Each figure runs its operation repeatedly for a fixed time and prints the
//! rate. Criterion benches (`cargo bench`) measure the same paths more
//! carefully; this command gives an operator the numbers for their hardware
//! in one go.

use std::io::Write;
use std::time::{Duration, Instant};

use hub_protocol::seed::derive_seed;
use hub_protocol::sponge::kerl;
use hub_protocol::{wots, Argon2Params, Hash, Salt, SecurityLevel, Seed, SeedUuid, Transaction};
use rand::Rng;

/// Runs `op` until `budget` has passed (at least once) and returns runs per second.
fn rate(budget: Duration, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut runs = 0u64;
    while runs == 0 || start.elapsed() < budget {
        op();
        runs += 1;
    }
    runs as f64 / start.elapsed().as_secs_f64()
}

fn random_trytes(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| hub_protocol::ternary::TRYTE_ALPHABET[rng.gen_range(0..27)] as char)
        .collect()
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} k", rate / 1e3)
    } else {
        format!("{rate:.2}")
    }
}

/// Prints every figure, spending about `seconds` on each.
pub fn run(seconds: f64, out: &mut dyn Write) -> Result<(), String> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 600.0) {
        return Err(format!("--seconds: must be between 0 and 600, got {seconds}"));
    }
    let budget = Duration::from_secs_f64(seconds);
    let mut line =
        |label: &str, value: String| writeln!(out, "{label:<52} {value}").map_err(|e| format!("writing output: {e}"));

    let input = hub_protocol::ternary::parse_trits("input", &random_trytes(81)).expect("random trytes");
    line(
        "Kerl hashes/s (one 243-trit chunk)",
        human(rate(budget, || drop(kerl(&input)))),
    )?;

    let seed = Seed::from_trytes(&random_trytes(81)).expect("random seed");
    let mut index = 0;
    let address_rate = rate(budget, || {
        index += 1;
        wots::address(&seed, index, SecurityLevel::Medium);
    });
    line("address generations/s (security 2)", human(address_rate))?;

    let hash = Hash::from_trytes(&random_trytes(81)).expect("random hash");
    line(
        "signatures/s (security 2)",
        human(rate(budget, || {
            drop(wots::sign(&seed, 0, SecurityLevel::Medium, &hash))
        })),
    )?;

    let params = Argon2Params::default();
    let salt = Salt::new(random_trytes(32).into_bytes()).expect("long salt");
    let argon = rate(budget, || drop(derive_seed(&SeedUuid::generate(), &salt, &params)));
    line("Argon2 seed derivations/s (id, t=4, m=128 MiB, p=1)", human(argon))?;

    let mut tx = Transaction::null();
    tx.signature_message_fragment = hub_protocol::Fragment::from_trytes(&random_trytes(2187)).expect("random message");
    let trits = tx.to_trits();
    let one = hub_pow::tries_per_second(&trits, 1, budget).map_err(|e| e.to_string())?;
    line(
        &format!("PoW nonce tries/s, 1 thread ({})", hub_pow::kernel()),
        human(one),
    )?;
    let cores = num_cpus::get();
    let all = hub_pow::tries_per_second(&trits, cores, budget).map_err(|e| e.to_string())?;
    line(
        &format!("PoW nonce tries/s, {cores} threads"),
        format!("{} (x{:.2} of 1 thread)", human(all), all / one),
    )?;
    Ok(())
}
