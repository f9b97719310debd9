//! Shared pieces of the `hub-pow` versus `iota-pow` comparison: the same
//! random transactions for both, one timed search per call, every nonce
//! checked, and the summary arithmetic. Used by the `hub-pow-bench` binary
//! and by the criterion bench `compare`.

use std::time::{Duration, Instant};

use hub_pow::{curl_p81, meets_weight, search, Cancel, Outcome, SearchOptions, NONCE_TRITS, TRANSACTION_TRITS};
use iota_pow::{PearlDiver, PowOptions};

/// Whose proof of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// `hub-pow`, this workspace.
    Ours,
    /// `iota-pow` 0.2.1, the legacy PearlDiver from iota.rs.
    IotaPow,
}

impl Implementation {
    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Ours => "ours",
            Implementation::IotaPow => "iota-pow",
        }
    }
}

/// One timed search.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Wall time from the call to the nonce.
    pub elapsed: Duration,
    /// Nonces tried, when the implementation counts them (ours does).
    pub tries: Option<u64>,
}

/// `count` pseudo-random transactions, the same for a given `seed` on every
/// machine (SplitMix64; no need for cryptographic randomness here).
pub fn random_transactions(count: usize, seed: u64) -> Vec<Vec<i8>> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|_| (0..TRANSACTION_TRITS).map(|_| (next() % 3) as i8 - 1).collect())
        .collect()
}

/// Runs one search of `implementation` on `threads` threads and checks the
/// nonce with `hub_pow::curl_p81` (itself tested against iota-crypto).
///
/// Panics if the implementation fails or returns a wrong nonce: a benchmark
/// of a wrong answer is worthless, so it must not go unnoticed.
pub fn timed_search(
    implementation: Implementation,
    transaction: &[i8],
    min_weight_magnitude: u8,
    threads: usize,
) -> Run {
    let started = Instant::now();
    let (attached, tries) = match implementation {
        Implementation::Ours => {
            let options = SearchOptions {
                min_weight_magnitude,
                threads,
            };
            let outcome = search(transaction, &options, &Cancel::new()).expect("valid input");
            let elapsed = started.elapsed();
            let Outcome::Found { nonce, tries } = outcome else {
                panic!("hub-pow search was not cancelled but found no nonce");
            };
            let mut attached = transaction.to_vec();
            attached[TRANSACTION_TRITS - NONCE_TRITS..].copy_from_slice(&nonce);
            check(&attached, transaction, min_weight_magnitude, implementation);
            return Run {
                elapsed,
                tries: Some(tries),
            };
        }
        Implementation::IotaPow => {
            let options = PowOptions {
                min_weight_magnitude: usize::from(min_weight_magnitude),
                threads,
            };
            let attached = PearlDiver::new()
                .search(transaction.to_vec(), options)
                .expect("iota-pow search");
            (attached, None)
        }
    };
    let elapsed = started.elapsed();
    check(&attached, transaction, min_weight_magnitude, implementation);
    Run { elapsed, tries }
}

fn check(attached: &[i8], original: &[i8], weight: u8, implementation: Implementation) {
    let name = implementation.name();
    assert_eq!(attached.len(), TRANSACTION_TRITS, "{name}: wrong length");
    assert_eq!(
        attached[..TRANSACTION_TRITS - NONCE_TRITS],
        original[..TRANSACTION_TRITS - NONCE_TRITS],
        "{name} changed more than the nonce"
    );
    let hash = curl_p81(attached).expect("valid trits");
    assert!(meets_weight(&hash, weight), "{name}: nonce misses weight {weight}");
}

/// Mean and standard error of a set of search times, plus the tries counted
/// over them if known.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// Number of searches.
    pub samples: usize,
    /// Mean time to nonce.
    pub mean: Duration,
    /// Standard error of the mean.
    pub standard_error: Duration,
    /// Total tries divided by total time, when tries were counted.
    pub counted_tries_per_second: Option<f64>,
}

impl Summary {
    /// Summarises `runs` (at least one).
    pub fn of(runs: &[Run]) -> Summary {
        let samples = runs.len().max(1);
        let seconds: Vec<f64> = runs.iter().map(|r| r.elapsed.as_secs_f64()).collect();
        let total: f64 = seconds.iter().sum();
        let mean = total / samples as f64;
        let variance =
            seconds.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (samples.saturating_sub(1).max(1)) as f64;
        let counted_tries_per_second = runs
            .iter()
            .map(|r| r.tries)
            .sum::<Option<u64>>()
            .filter(|_| total > 0.0)
            .map(|tries| tries as f64 / total);
        Summary {
            samples: runs.len(),
            mean: Duration::from_secs_f64(mean),
            standard_error: Duration::from_secs_f64((variance / samples as f64).sqrt()),
            counted_tries_per_second,
        }
    }

    /// Expected tries per nonce (3^MWM) divided by the mean time to nonce:
    /// the rate both implementations can be compared on.
    pub fn effective_tries_per_second(&self, min_weight_magnitude: u8) -> f64 {
        expected_tries(min_weight_magnitude) / self.mean.as_secs_f64()
    }
}

/// Expected number of tries to meet a weight: each try meets it with
/// probability 3^-MWM.
pub fn expected_tries(min_weight_magnitude: u8) -> f64 {
    3f64.powi(i32::from(min_weight_magnitude))
}

/// `1234567.0` → `"1.23M"`.
pub fn si(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_are_deterministic_and_valid() {
        let a = random_transactions(2, 7);
        assert_eq!(a, random_transactions(2, 7));
        assert_ne!(a[0], a[1]);
        assert!(a[0].iter().all(|t| (-1..=1).contains(t)));
    }

    #[test]
    fn both_implementations_find_checked_nonces() {
        let transactions = random_transactions(2, 1);
        for implementation in [Implementation::Ours, Implementation::IotaPow] {
            for transaction in &transactions {
                timed_search(implementation, transaction, 5, 1);
            }
        }
    }

    #[test]
    fn summary_arithmetic() {
        let runs = [
            Run {
                elapsed: Duration::from_millis(1),
                tries: Some(1000),
            },
            Run {
                elapsed: Duration::from_millis(3),
                tries: Some(3000),
            },
        ];
        let summary = Summary::of(&runs);
        assert_eq!(summary.mean, Duration::from_millis(2));
        let rate = summary.counted_tries_per_second.expect("counted");
        assert!((rate - 1e6).abs() < 1.0);
        assert_eq!(si(2_500_000.0), "2.50M");
    }
}
