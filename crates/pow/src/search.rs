//! The nonce search: splitting the nonce space, the per-thread loop, and the
//! choice of lane width for the CPU at hand.
//!
//! # Nonce space
//!
//! The nonce is trits `[162, 243)` of the last 243-trit chunk. It is split
//! into three fields:
//!
//! - `[162, 168)`: the **lane** field. Lane `l` of a batch holds the base-3
//!   digits of `l`; 6 trits cover up to 729 lanes.
//! - `[168, 173)`: the **thread** field, the base-3 digits of the thread
//!   index; up to [`MAX_THREADS`] threads.
//! - `[173, 243)`: the **counter**, the same in every lane, incremented after
//!   each batch (3^70 batches per thread: never exhausted).
//!
//! So no two lanes of any two threads ever try the same nonce.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::packed::Packed;
use crate::sliced::{layout_before, Lane, SlicedTrit, State, Words, NUM_ROUNDS, RATE_TRITS, ROUNDS, STATE_TRITS};
use crate::{Cancel, NONCE_TRITS, TRANSACTION_TRITS};

/// First trit of the nonce within the last chunk.
const NONCE_START: usize = RATE_TRITS - NONCE_TRITS;
/// Trits of the lane field.
const LANE_TRITS: usize = 6;
/// Trits of the thread field.
const THREAD_TRITS: usize = 5;
/// First trit of the counter within the last chunk.
const COUNTER_START: usize = NONCE_START + LANE_TRITS + THREAD_TRITS;

/// Candidates per batch: 8 words of 64 bits, 512 lanes, on every CPU.
///
/// Measured on an AMD EPYC (Zen 4), one thread, before the round-0 and
/// last-rounds shortcuts: with AVX2, 256 lanes ran at 4.5–5 M tries/s and 512
/// lanes at 6.5–6.7; without AVX, 128 lanes at 2.5, 256 at 3.1 and 512 at 3.4
/// M tries/s; 1024 lanes (a 186 KiB state) fell to about 1 M tries/s. Wider
/// batches amortise the per-step bookkeeping until the loop is bound by
/// stores and the state still fits the L2 cache.
type Batch = Words<8>;

/// Most threads one search can use (3^5: the thread field has 5 trits).
pub const MAX_THREADS: usize = 243;

/// The part of a search every thread shares.
pub(crate) struct Job {
    /// Curl state after absorbing all chunks but the last, natural layout,
    /// with the last chunk's first 243 trits already in place (the nonce
    /// trits are overwritten per thread).
    midstate: [i8; STATE_TRITS],
    /// Number of trailing zero trits required (at most 243).
    weight: usize,
}

/// What one thread reports.
pub(crate) struct ThreadResult {
    pub(crate) nonce: Option<[i8; NONCE_TRITS]>,
    pub(crate) tries: u64,
}

impl Job {
    /// Absorbs everything but the last chunk. `transaction` is valid.
    pub(crate) fn new(transaction: &[i8], weight: usize) -> Job {
        debug_assert_eq!(transaction.len(), TRANSACTION_TRITS);
        let (head, last) = transaction.split_at(TRANSACTION_TRITS - RATE_TRITS);
        let mut state = Packed::new();
        for chunk in head.chunks_exact(RATE_TRITS) {
            state.absorb_chunk(chunk);
        }
        let mut midstate = [0i8; STATE_TRITS];
        for (j, out) in midstate.iter_mut().enumerate() {
            *out = state.get(j);
        }
        midstate[..RATE_TRITS].copy_from_slice(last);
        Job { midstate, weight }
    }
}

/// Stop signals checked between batches.
pub(crate) struct Stop<'a> {
    pub(crate) found: &'a AtomicBool,
    pub(crate) cancel: &'a Cancel,
}

impl Stop<'_> {
    #[inline]
    fn should_stop(&self) -> bool {
        self.found.load(Ordering::Relaxed) || self.cancel.is_cancelled()
    }
}

/// Name of the kernel [`run_thread`] uses on this CPU.
pub(crate) fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            return "avx2, 512 lanes";
        }
    }
    "portable, 512 lanes"
}

/// Runs thread `thread` (below [`MAX_THREADS`]) of `job` until it finds a
/// nonce or `stop` fires, with the best kernel the CPU supports.
pub(crate) fn run_thread(job: &Job, thread: usize, stop: &Stop<'_>) -> ThreadResult {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { run_avx2(job, thread, stop) };
        }
    }
    run_lanes::<Batch>(job, thread, stop)
}

/// [`run_lanes`] compiled for AVX2: each 512-bit bit plane of [`Batch`] is
/// two registers.
///
/// There is no AVX-512 variant: on the AMD EPYC (Zen 4) we measure on, the
/// same loop compiled for AVX-512F ran 2–5% slower than for AVX2 (the loop is
/// bound by stores, and Zen 4 splits 512-bit operations in two), and
/// `avx512f` as a target feature needs Rust 1.89, above our minimum.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2(job: &Job, thread: usize, stop: &Stop<'_>) -> ThreadResult {
    run_lanes::<Batch>(job, thread, stop)
}

/// The search loop of one thread, generic over the lane width. Inlined into
/// the feature-specific wrappers so the whole loop is compiled for them.
#[inline(always)]
fn run_lanes<L: Lane>(job: &Job, thread: usize, stop: &Stop<'_>) -> ThreadResult {
    debug_assert!(thread < MAX_THREADS);
    debug_assert!(L::LANES <= 3usize.pow(LANE_TRITS as u32));

    let mut base = initial_state::<L>(job, thread);
    let mut counter = [0i8; RATE_TRITS - COUNTER_START];

    // Round 0 mixes only neighbouring trits, and from one batch to the next
    // only a counter trit or two change, so the state after round 0 is kept
    // and patched instead of recomputed: `first` is `base` after round 0.
    let mut first = Box::new(State::<L>::zero());
    first.round_from(&base, ROUNDS[0]);
    let mut work = first.clone();
    let mut tries: u64 = 0;
    while !stop.should_stop() {
        // Rounds 1..79 (round 1 reads `first`, so it needs no copy), then the
        // two last rounds only where the hash is checked.
        work.round_from(&first, ROUNDS[1]);
        work.rounds(2..NUM_ROUNDS - 2);
        let hits = work.last_two_rounds_zero_lanes(job.weight);
        tries += L::LANES as u64;
        if let Some(lane) = hits.first_set() {
            let mut nonce = [0i8; NONCE_TRITS];
            for (out, trit) in nonce.iter_mut().zip(&base.0[NONCE_START..RATE_TRITS]) {
                *out = trit.get(lane);
            }
            return ThreadResult {
                nonce: Some(nonce),
                tries,
            };
        }
        let changed = increment(&mut counter, &mut base.0[COUNTER_START..RATE_TRITS]);
        for position in COUNTER_START..COUNTER_START + changed {
            patch_first_round(&base, &mut first, position);
        }
    }
    ThreadResult { nonce: None, tries }
}

/// The state of the first batch of thread `thread`: the midstate, the lane
/// field, the thread field and a zero counter (natural layout).
fn initial_state<L: Lane>(job: &Job, thread: usize) -> Box<State<L>> {
    let mut base = Box::new(State::<L>::zero());
    for (slot, trit) in base.0.iter_mut().zip(job.midstate) {
        *slot = SlicedTrit::splat(trit);
    }
    // Lane field: lane l gets the base-3 digits of l.
    for lane in 0..L::LANES {
        for (digit, slot) in base_3_digits(lane, LANE_TRITS).zip(NONCE_START..) {
            base.0[slot] = base.0[slot].with(lane, digit);
        }
    }
    for (digit, slot) in base_3_digits(thread, THREAD_TRITS).zip(NONCE_START + LANE_TRITS..) {
        base.0[slot] = SlicedTrit::splat(digit);
    }
    for slot in &mut base.0[COUNTER_START..RATE_TRITS] {
        *slot = SlicedTrit::splat(0);
    }
    base
}

/// After trit `position` of `base` (natural layout) changed, recomputes the
/// two outputs of round 0 that read it and stores them in `first`.
fn patch_first_round<L: Lane>(base: &State<L>, first: &mut State<L>, position: usize) {
    // Output i reads logical t(i) = 364·i and t(i+1) (mod 729). Since
    // 364·(-2) ≡ 1, t(i) = position for i = -2·position and
    // t(i+1) = position for the output before it.
    let reader = (2 * STATE_TRITS - 2 * position) % STATE_TRITS;
    let after = layout_before(1);
    for i in [reader, (reader + STATE_TRITS - 1) % STATE_TRITS] {
        first.0[after.slot(i)] = base.round_output(ROUNDS[0], i);
    }
}

/// Adds one to the counter (balanced ternary, least significant trit first),
/// writes the trits that changed into every lane of `slots` and returns how
/// many changed (they are the first ones).
fn increment<L: Lane>(counter: &mut [i8], slots: &mut [SlicedTrit<L>]) -> usize {
    for (changed, (digit, slot)) in counter.iter_mut().zip(slots).enumerate() {
        let (next, carry) = match *digit {
            -1 => (0, false),
            0 => (1, false),
            _ => (-1, true),
        };
        *digit = next;
        *slot = SlicedTrit::splat(next);
        if !carry {
            return changed + 1;
        }
    }
    counter.len()
}

/// The first `count` base-3 digits of `value`, least significant first, each
/// as a trit (digit 2 becomes -1).
fn base_3_digits(mut value: usize, count: usize) -> impl Iterator<Item = i8> {
    (0..count).map(move |_| {
        let digit = (value % 3) as i8;
        value /= 3;
        if digit == 2 {
            -1
        } else {
            digit
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_fit_the_nonce() {
        assert_eq!(COUNTER_START, 173);
        assert!(Words::<8>::LANES <= 3usize.pow(LANE_TRITS as u32));
        assert_eq!(MAX_THREADS, 3usize.pow(THREAD_TRITS as u32));
    }

    #[test]
    fn digits_are_distinct() {
        let all: std::collections::HashSet<Vec<i8>> =
            (0..729).map(|v| base_3_digits(v, LANE_TRITS).collect()).collect();
        assert_eq!(all.len(), 729);
    }

    #[test]
    fn increment_counts_through_all_values() {
        let mut counter = [0i8; 3];
        let mut slots = [SlicedTrit::<Words<1>>::ZERO; 3];
        let mut seen = std::collections::HashSet::new();
        for _ in 0..27 {
            assert!(seen.insert(counter));
            let changed = increment(&mut counter, &mut slots);
            assert!((1..=3).contains(&changed));
            for (d, s) in counter.iter().zip(&slots) {
                assert_eq!(s.get(5), *d);
            }
        }
        assert_eq!(counter, [0, 0, 0]);
    }

    fn job() -> Job {
        let transaction: Vec<i8> = (0..TRANSACTION_TRITS).map(|i| (i % 3) as i8 - 1).collect();
        Job::new(&transaction, 1)
    }

    fn nonce_of(state: &State<Batch>, lane: usize) -> Vec<i8> {
        state.0[NONCE_START..RATE_TRITS].iter().map(|t| t.get(lane)).collect()
    }

    #[test]
    fn threads_and_lanes_never_share_a_nonce() {
        let job = job();
        let mut seen = std::collections::HashSet::new();
        for thread in [0, 1, 2, 100, MAX_THREADS - 1] {
            let mut state = initial_state::<Batch>(&job, thread);
            let mut counter = [0i8; RATE_TRITS - COUNTER_START];
            for _batch in 0..4 {
                for lane in 0..Batch::LANES {
                    assert!(seen.insert(nonce_of(&state, lane)), "thread {thread} lane {lane}");
                }
                increment(&mut counter, &mut state.0[COUNTER_START..RATE_TRITS]);
            }
        }
    }

    #[test]
    fn patched_first_round_equals_recomputed() {
        let job = job();
        let mut base = initial_state::<Words<1>>(&job, 7);
        let mut first = State::<Words<1>>::zero();
        first.round_from(&base, ROUNDS[0]);
        let mut counter = [0i8; RATE_TRITS - COUNTER_START];
        for _ in 0..30 {
            let changed = increment(&mut counter, &mut base.0[COUNTER_START..RATE_TRITS]);
            for position in COUNTER_START..COUNTER_START + changed {
                patch_first_round(&base, &mut first, position);
            }
            let mut fresh = State::<Words<1>>::zero();
            fresh.round_from(&base, ROUNDS[0]);
            assert_eq!(&first.0[..], &fresh.0[..]);
        }
    }

    /// The kernel without target features (the one non-x86 CPUs get, and
    /// x86 CPUs without AVX2), and a narrow one, find valid nonces too.
    #[test]
    fn every_lane_width_finds_valid_nonces() {
        fn check<L: Lane>(transaction: &[i8], weight: usize) {
            let job = Job::new(transaction, weight);
            let (found, cancel) = (AtomicBool::new(false), Cancel::new());
            let stop = Stop {
                found: &found,
                cancel: &cancel,
            };
            let result = run_lanes::<L>(&job, 3, &stop);
            let nonce = result.nonce.expect("no cancellation, so a nonce");
            assert_eq!(result.tries % L::LANES as u64, 0);
            let mut attached = transaction.to_vec();
            attached[TRANSACTION_TRITS - NONCE_TRITS..].copy_from_slice(&nonce);
            let hash = crate::curl_p81(&attached).expect("valid");
            assert!(crate::meets_weight(&hash, weight as u8), "{} lanes", L::LANES);
        }
        let transaction: Vec<i8> = (0..TRANSACTION_TRITS).map(|i| ((i / 7) % 3) as i8 - 1).collect();
        check::<Batch>(&transaction, 8);
        check::<Words<1>>(&transaction, 6);
    }
}
