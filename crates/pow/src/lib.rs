//! Legacy IOTA proof of work: find a nonce that gives a transaction's Curl-P-81
//! hash enough trailing zero trits.
//!
//! Every legacy IOTA transaction carries 81 nonce trits chosen so that the
//! Curl-P-81 hash of the whole 8019-trit transaction ends in at least
//! *minimum weight magnitude* (MWM) zero trits: the IRI rule. A Hub attaches
//! every sweep, promotion and reattachment to the tangle itself, so this
//! search is on its hot path, and `iota-crypto` (our source for Curl-P, Kerl
//! and WOTS) has no proof of work at all. The crate has one job: do that
//! search fast, on every core, cancellably.
//!
//! How (details in the module docs):
//!
//! - `sliced`: the Curl state is bit-sliced, one bit per candidate nonce,
//!   512 candidates per transform; the S-box is four bitwise operations;
//!   rounds run in place in one buffer; the first and the last two rounds are
//!   mostly skipped.
//! - `search`: the Curl state after the 32 chunks that do not contain the
//!   nonce is computed once; threads get disjoint parts of the nonce space;
//!   the hot loop is compiled twice on x86-64, for AVX2 and for the baseline,
//!   and the AVX2 one is chosen at run time when the CPU has it.
//! - `packed`: Curl-P-81 of a single input with 64 trits per machine word,
//!   for the 32 chunks above and for [`curl_p81`].
//!
//! On one core of an AMD EPYC (Zen 4) this tries about 7.4 million nonces per
//! second, and twice that on two; about 8 times `iota-pow` 0.2.1 measured in
//! the same run on the same transactions (the `hub-pow-bench` crate).
//!
//! Trits are `i8` values in `-1..=1` throughout.
//!
//! ```
//! use hub_pow::{search, curl_p81, meets_weight, Cancel, Outcome, SearchOptions};
//!
//! let mut transaction = vec![0i8; hub_pow::TRANSACTION_TRITS];
//! let options = SearchOptions { min_weight_magnitude: 5, threads: 1 };
//! let Outcome::Found { nonce, .. } = search(&transaction, &options, &Cancel::default())? else {
//!     unreachable!("nobody cancelled")
//! };
//! transaction[hub_pow::TRANSACTION_TRITS - hub_pow::NONCE_TRITS..].copy_from_slice(&nonce);
//! assert!(meets_weight(&curl_p81(&transaction)?, 5));
//! # Ok::<(), hub_pow::PowError>(())
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod packed;
mod search;
mod sliced;

pub use search::MAX_THREADS;

use packed::Packed;
use sliced::RATE_TRITS;

/// Length of a legacy IOTA transaction in trits (2673 trytes).
pub const TRANSACTION_TRITS: usize = 8019;
/// Length of a Curl-P-81 hash in trits.
pub const HASH_TRITS: usize = 243;
/// Length of the nonce in trits: the last 81 trits of a transaction.
pub const NONCE_TRITS: usize = 81;
/// Largest accepted minimum weight magnitude. Every zero trit triples the
/// expected work; 81 zero trits (3^81 tries) is far beyond any network's
/// setting (mainnet used 14, devnets 9), so larger values can only be
/// mistakes.
pub const MAX_MIN_WEIGHT_MAGNITUDE: u8 = 81;

/// A cancellation handle, cheap to clone; all clones share one flag.
///
/// Cancelling makes a running [`search()`] return [`Outcome::Cancelled`] within
/// one batch (tens of microseconds); a search started with an already
/// cancelled handle returns at once.
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
}

impl Cancel {
    /// A handle that has not been cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every search using this handle (or a clone) to stop.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// Has [`Cancel::cancel`] been called on this handle or a clone?
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// Parameters of a [`search()`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchOptions {
    /// Number of trailing hash trits that must be 0, in
    /// `1..=`[`MAX_MIN_WEIGHT_MAGNITUDE`].
    pub min_weight_magnitude: u8,
    /// Number of threads, at most [`MAX_THREADS`]; 0 means one per available
    /// core.
    pub threads: usize,
}

/// How a [`search()`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A nonce was found: put it in the last [`NONCE_TRITS`] trits of the
    /// transaction.
    Found {
        /// The nonce trits.
        nonce: [i8; NONCE_TRITS],
        /// Nonces tried by all threads together (whole batches are counted).
        tries: u64,
    },
    /// The search was cancelled before a nonce was found.
    Cancelled {
        /// Nonces tried by all threads together before they stopped.
        tries: u64,
    },
}

/// Why an input was refused. Nothing in this crate panics on bad input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PowError {
    /// The transaction is not [`TRANSACTION_TRITS`] trits long.
    #[error("transaction must be {TRANSACTION_TRITS} trits long, got {actual}")]
    WrongLength {
        /// Length received.
        actual: usize,
    },
    /// The input to [`curl_p81`] is empty or not a multiple of
    /// [`HASH_TRITS`] trits.
    #[error("Curl-P-81 input must be a non-zero multiple of {HASH_TRITS} trits, got {actual}")]
    NotWholeChunks {
        /// Length received.
        actual: usize,
    },
    /// A value outside `-1..=1`.
    #[error("trit {position} is {value}, must be -1, 0 or 1")]
    InvalidTrit {
        /// Index of the first bad value.
        position: usize,
        /// The bad value.
        value: i8,
    },
    /// The minimum weight magnitude is 0 or above
    /// [`MAX_MIN_WEIGHT_MAGNITUDE`].
    #[error("min_weight_magnitude must be in 1..={MAX_MIN_WEIGHT_MAGNITUDE}, got {value}")]
    MinWeightMagnitudeOutOfRange {
        /// Value received.
        value: u8,
    },
    /// More than [`MAX_THREADS`] threads were requested.
    #[error("threads must be at most {MAX_THREADS} (0 = all cores), got {value}")]
    TooManyThreads {
        /// Value received.
        value: usize,
    },
}

/// Finds a nonce for `transaction_trits` (a whole transaction, whose current
/// nonce is ignored) such that its Curl-P-81 hash ends in at least
/// `options.min_weight_magnitude` zero trits.
///
/// Threads search disjoint parts of the nonce space; all of them stop as soon
/// as one finds a nonce or `cancel` fires. Returns the nonce only; the caller
/// writes it into the transaction. If a nonce is found and the search is
/// cancelled at the same time, the nonce wins.
pub fn search(transaction_trits: &[i8], options: &SearchOptions, cancel: &Cancel) -> Result<Outcome, PowError> {
    validate_transaction(transaction_trits)?;
    let weight = options.min_weight_magnitude;
    if weight == 0 || weight > MAX_MIN_WEIGHT_MAGNITUDE {
        return Err(PowError::MinWeightMagnitudeOutOfRange { value: weight });
    }
    let threads = thread_count(options.threads)?;
    Ok(run_search(transaction_trits, usize::from(weight), threads, cancel))
}

/// Curl-P-81 hash of `trits`, which must be a non-zero multiple of
/// [`HASH_TRITS`] long: absorb every 243-trit chunk, squeeze 243 trits.
///
/// Packs the state along trits (64 trits per machine word), so hashing a
/// transaction takes some tens of microseconds: fine for verification, not
/// tuned for bulk hashing.
pub fn curl_p81(trits: &[i8]) -> Result<[i8; HASH_TRITS], PowError> {
    if trits.is_empty() || trits.len() % HASH_TRITS != 0 {
        return Err(PowError::NotWholeChunks { actual: trits.len() });
    }
    validate_trits(trits)?;
    let mut state = Packed::new();
    for chunk in trits.chunks_exact(RATE_TRITS) {
        state.absorb_chunk(chunk);
    }
    Ok(std::array::from_fn(|j| state.get(j)))
}

/// Do the last `min_weight_magnitude` trits of `hash` all equal 0? A weight of
/// 0 is always met; one above [`HASH_TRITS`] never is.
pub fn meets_weight(hash: &[i8; HASH_TRITS], min_weight_magnitude: u8) -> bool {
    let weight = usize::from(min_weight_magnitude);
    weight <= HASH_TRITS && hash[HASH_TRITS - weight..].iter().all(|t| *t == 0)
}

/// Runs the search on `transaction_trits` with a weight no search will ever
/// meet, on `threads` threads (0 = all cores) for about `duration`, and
/// returns the nonces tried per second (all threads together).
pub fn tries_per_second(transaction_trits: &[i8], threads: usize, duration: Duration) -> Result<f64, PowError> {
    validate_transaction(transaction_trits)?;
    let threads = thread_count(threads)?;
    let cancel = Cancel::new();
    let started = Instant::now();
    let outcome = std::thread::scope(|scope| {
        let timer_cancel = cancel.clone();
        scope.spawn(move || {
            std::thread::sleep(duration);
            timer_cancel.cancel();
        });
        // All 243 hash trits zero: 3^-243 per try, never in practice.
        run_search(transaction_trits, HASH_TRITS, threads, &cancel)
    });
    let elapsed = started.elapsed().as_secs_f64();
    let tries = match outcome {
        Outcome::Found { tries, .. } | Outcome::Cancelled { tries } => tries,
    };
    Ok(if elapsed > 0.0 { tries as f64 / elapsed } else { 0.0 })
}

/// Which search kernel this CPU gets, e.g. `"avx2, 512 lanes"`; for
/// benchmark reports.
pub fn kernel() -> &'static str {
    search::kernel_name()
}

/// The search proper, on validated inputs.
fn run_search(transaction: &[i8], weight: usize, threads: usize, cancel: &Cancel) -> Outcome {
    let job = search::Job::new(transaction, weight);
    let found = AtomicBool::new(false);
    let stop = search::Stop { found: &found, cancel };
    let finish = |result: search::ThreadResult| {
        if result.nonce.is_some() {
            found.store(true, Ordering::Relaxed);
        }
        result
    };
    let results: Vec<search::ThreadResult> = if threads == 1 {
        vec![search::run_thread(&job, 0, &stop)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|thread| {
                    let (job, stop, finish) = (&job, &stop, &finish);
                    scope.spawn(move || finish(search::run_thread(job, thread, stop)))
                })
                .collect();
            handles
                .into_iter()
                // A worker thread does not panic on validated input; should
                // one ever do so, its tries are lost but not the search.
                .filter_map(|handle| handle.join().ok())
                .collect()
        })
    };
    let tries = results.iter().map(|r| r.tries).sum();
    match results.iter().find_map(|r| r.nonce) {
        Some(nonce) => Outcome::Found { nonce, tries },
        None => Outcome::Cancelled { tries },
    }
}

fn thread_count(requested: usize) -> Result<usize, PowError> {
    match requested {
        0 => Ok(num_cpus::get().clamp(1, MAX_THREADS)),
        n if n > MAX_THREADS => Err(PowError::TooManyThreads { value: n }),
        n => Ok(n),
    }
}

fn validate_transaction(trits: &[i8]) -> Result<(), PowError> {
    if trits.len() != TRANSACTION_TRITS {
        return Err(PowError::WrongLength { actual: trits.len() });
    }
    validate_trits(trits)
}

fn validate_trits(trits: &[i8]) -> Result<(), PowError> {
    match trits.iter().position(|t| !(-1..=1).contains(t)) {
        Some(position) => Err(PowError::InvalidTrit {
            position,
            value: trits[position],
        }),
        None => Ok(()),
    }
}
