//! The public API against iota-crypto's Curl-P-81, which shares no code with
//! this crate: found nonces must satisfy the IRI rule, hashes must agree, and
//! no input may cause a panic.

use std::time::{Duration, Instant};

use crypto::encoding::ternary::{T1B1Buf, TritBuf, Trits, T1B1};
use crypto::hashes::ternary::curl_p::CurlP;
use hub_pow::{
    curl_p81, meets_weight, search, tries_per_second, Cancel, Outcome, PowError, SearchOptions, HASH_TRITS,
    MAX_MIN_WEIGHT_MAGNITUDE, MAX_THREADS, NONCE_TRITS, TRANSACTION_TRITS,
};
use proptest::prelude::*;

/// Curl-P-81 by iota-crypto.
fn reference_hash(trits: &[i8]) -> [i8; HASH_TRITS] {
    let input = Trits::<T1B1>::try_from_raw(trits, trits.len()).expect("valid trits");
    let hash: TritBuf<T1B1Buf> = CurlP::new().digest(input);
    hash.as_i8_slice().try_into().expect("243 trits")
}

fn transaction() -> impl Strategy<Value = Vec<i8>> {
    proptest::collection::vec(-1i8..=1, TRANSACTION_TRITS)
}

/// Runs a search that must find a nonce, and checks it with iota-crypto.
fn find_and_verify(transaction: &[i8], weight: u8, threads: usize) -> Result<(), TestCaseError> {
    let options = SearchOptions {
        min_weight_magnitude: weight,
        threads,
    };
    let outcome = search(transaction, &options, &Cancel::new()).expect("valid input");
    let Outcome::Found { nonce, tries } = outcome else {
        return Err(TestCaseError::fail("not cancelled, yet no nonce"));
    };
    prop_assert!(tries > 0);
    let mut attached = transaction.to_vec();
    attached[TRANSACTION_TRITS - NONCE_TRITS..].copy_from_slice(&nonce);
    prop_assert_eq!(
        &attached[..TRANSACTION_TRITS - NONCE_TRITS],
        &transaction[..TRANSACTION_TRITS - NONCE_TRITS]
    );
    let hash = reference_hash(&attached);
    prop_assert!(
        hash[HASH_TRITS - usize::from(weight)..].iter().all(|t| *t == 0),
        "hash {:?} misses weight {}",
        &hash[HASH_TRITS - usize::from(weight)..],
        weight
    );
    prop_assert!(meets_weight(&hash, weight));
    prop_assert_eq!(curl_p81(&attached).expect("valid"), hash);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn found_nonces_meet_the_weight(transaction in transaction(), weight in 1u8..=9) {
        find_and_verify(&transaction, weight, 1)?;
    }

    #[test]
    fn curl_p81_matches_iota_crypto(input in (1usize..=3).prop_flat_map(|chunks| {
        proptest::collection::vec(-1i8..=1, chunks * HASH_TRITS)
    })) {
        prop_assert_eq!(curl_p81(&input).expect("valid"), reference_hash(&input));
    }

    /// Random lengths and byte values: an error or a result, never a panic.
    #[test]
    fn bad_inputs_are_errors(
        trits in proptest::collection::vec(any::<i8>(), 0..=TRANSACTION_TRITS + 3),
        weight in any::<u8>(),
        threads in 0usize..=MAX_THREADS + 2,
    ) {
        let options = SearchOptions { min_weight_magnitude: weight, threads };
        let cancel = Cancel::new();
        cancel.cancel(); // Return at once if everything happens to be valid.
        let result = search(&trits, &options, &cancel);
        let bad_trit = trits.iter().position(|t| !(-1..=1).contains(t));
        match result {
            Err(PowError::WrongLength { actual }) => {
                prop_assert_eq!(actual, trits.len());
                prop_assert_ne!(actual, TRANSACTION_TRITS);
            }
            Err(PowError::InvalidTrit { position, value }) => {
                prop_assert_eq!(Some(position), bad_trit);
                prop_assert_eq!(value, trits[position]);
            }
            Err(PowError::MinWeightMagnitudeOutOfRange { value }) => {
                prop_assert_eq!(value, weight);
                prop_assert!(weight == 0 || weight > MAX_MIN_WEIGHT_MAGNITUDE);
            }
            Err(PowError::TooManyThreads { value }) => prop_assert!(value > MAX_THREADS),
            Err(other) => return Err(TestCaseError::fail(format!("unexpected {other}"))),
            Ok(outcome) => {
                prop_assert_eq!(trits.len(), TRANSACTION_TRITS);
                prop_assert!(bad_trit.is_none());
                let cancelled = matches!(outcome, Outcome::Cancelled { .. });
                prop_assert!(cancelled);
            }
        }
        match curl_p81(&trits) {
            Ok(_) => prop_assert!(
                !trits.is_empty() && trits.len() % HASH_TRITS == 0 && bad_trit.is_none()
            ),
            Err(PowError::NotWholeChunks { actual }) => {
                prop_assert!(actual == 0 || actual % HASH_TRITS != 0);
            }
            Err(PowError::InvalidTrit { position, .. }) => prop_assert_eq!(Some(position), bad_trit),
            Err(other) => return Err(TestCaseError::fail(format!("unexpected {other}"))),
        }
    }
}

/// A transaction with every byte valid, different from the all-zero one.
fn sample_transaction(seed: usize) -> Vec<i8> {
    (0..TRANSACTION_TRITS)
        .map(|i| ((i * 7 + i / 13 + seed) % 3) as i8 - 1)
        .collect()
}

#[test]
fn multi_threaded_search_finds_valid_nonces() {
    for (seed, weight) in [(1, 8), (2, 10)] {
        find_and_verify(&sample_transaction(seed), weight, 2).expect("valid nonce");
    }
    // More threads than cores must work too (the nonce space is still split).
    find_and_verify(&sample_transaction(3), 7, 5).expect("valid nonce");
    // 0 = all cores.
    find_and_verify(&sample_transaction(4), 7, 0).expect("valid nonce");
}

#[test]
fn cancel_stops_a_search_promptly() {
    let transaction = sample_transaction(5);
    let cancel = Cancel::new();
    let options = SearchOptions {
        min_weight_magnitude: MAX_MIN_WEIGHT_MAGNITUDE,
        threads: 2,
    };
    let (outcome, stopped_after) = std::thread::scope(|scope| {
        let runner = scope.spawn(|| {
            let outcome = search(&transaction, &options, &cancel);
            (outcome, Instant::now())
        });
        std::thread::sleep(Duration::from_millis(100));
        let cancelled_at = Instant::now();
        cancel.clone().cancel();
        let (outcome, finished_at) = runner.join().expect("no panic");
        (outcome, finished_at.duration_since(cancelled_at))
    });
    let Ok(Outcome::Cancelled { tries }) = outcome else {
        panic!("expected Cancelled, got {outcome:?}");
    };
    assert!(tries > 0, "ran for 100 ms but counted no tries");
    assert!(
        stopped_after < Duration::from_millis(500),
        "took {stopped_after:?} to stop"
    );
    assert!(cancel.is_cancelled());
}

#[test]
fn an_already_cancelled_search_returns_at_once() {
    let cancel = Cancel::default();
    cancel.cancel();
    let options = SearchOptions {
        min_weight_magnitude: 20,
        threads: 1,
    };
    let outcome = search(&sample_transaction(6), &options, &cancel).expect("valid");
    assert_eq!(outcome, Outcome::Cancelled { tries: 0 });
}

#[test]
fn meets_weight_edges() {
    let mut hash = [1i8; HASH_TRITS];
    assert!(meets_weight(&hash, 0));
    assert!(!meets_weight(&hash, 1));
    hash[HASH_TRITS - 3..].fill(0);
    assert!(meets_weight(&hash, 3));
    assert!(!meets_weight(&hash, 4));
    let zero = [0i8; HASH_TRITS];
    assert!(meets_weight(&zero, 243));
    assert!(!meets_weight(&zero, 244));
    assert!(!meets_weight(&zero, u8::MAX));
}

#[test]
fn tries_per_second_measures_and_validates() {
    let transaction = sample_transaction(7);
    let rate = tries_per_second(&transaction, 1, Duration::from_millis(100)).expect("valid");
    assert!(rate > 10_000.0, "rate {rate}");
    assert_eq!(
        tries_per_second(&transaction[1..], 1, Duration::from_millis(1)),
        Err(PowError::WrongLength {
            actual: TRANSACTION_TRITS - 1
        })
    );
    assert_eq!(
        tries_per_second(&transaction, MAX_THREADS + 1, Duration::from_millis(1)),
        Err(PowError::TooManyThreads { value: MAX_THREADS + 1 })
    );
}

#[test]
fn errors_name_the_rule() {
    let mut transaction = sample_transaction(8);
    transaction[42] = 2;
    let options = SearchOptions {
        min_weight_magnitude: 9,
        threads: 1,
    };
    let error = search(&transaction, &options, &Cancel::new()).unwrap_err();
    assert_eq!(error, PowError::InvalidTrit { position: 42, value: 2 });
    assert_eq!(error.to_string(), "trit 42 is 2, must be -1, 0 or 1");
    let options = SearchOptions {
        min_weight_magnitude: 0,
        threads: 1,
    };
    let error = search(&sample_transaction(8), &options, &Cancel::new()).unwrap_err();
    assert_eq!(error.to_string(), "min_weight_magnitude must be in 1..=81, got 0");
}
