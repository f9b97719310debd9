//! Properties of built, signed and attached bundles: they validate, and the
//! validator rejects any single-field mutation of one.

use std::sync::OnceLock;

use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::transaction::{Int27, Value};
use hub_protocol::validate::{meets_weight, validate, Options, Rule};
use hub_protocol::wots::{self, normalized_has_m};
use hub_protocol::{Address, Fragment, Hash, Nonce, SecurityLevel, Seed, Tag, Transaction};
use proptest::prelude::*;

const MWM: u8 = 13;

fn seed() -> Seed {
    Seed::from_trytes(&"SEED9FOR9PROPERTY9TESTS".repeat(4)[..81]).unwrap()
}

fn sign_with(seed: &Seed, indexes: &[u64], builder: BundleBuilder) -> Vec<Transaction> {
    let unsigned = builder.build().unwrap();
    let mut next = indexes.iter();
    unsigned
        .sign(|slot, hash| Ok::<_, ()>(wots::sign(seed, *next.next().unwrap(), slot.security, hash)))
        .unwrap()
}

/// Two inputs (security 1 and 2), a tagged output with a message and a remainder, attached with PoW.
fn attached_bundle() -> &'static Vec<Transaction> {
    static BUNDLE: OnceLock<Vec<Transaction>> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let seed = seed();
        let builder = BundleBuilder::new(1_700_000_000)
            .unwrap()
            .input(Input {
                address: wots::address(&seed, 3, SecurityLevel::Low),
                amount: 1_000,
                security: SecurityLevel::Low,
            })
            .input(Input {
                address: wots::address(&seed, 4, SecurityLevel::Medium),
                amount: 234,
                security: SecurityLevel::Medium,
            })
            .output({
                let mut o = Output::new(
                    Address::from_trytes(&format!("{}9", "PAYEE".repeat(16))).unwrap(),
                    1_200,
                )
                .with_tag(Tag::from_trytes_padded("WITHDRAWAL").unwrap());
                o.message = Fragment::from_trytes_padded("HELLO").unwrap();
                o
            })
            .output(Output::new(wots::address(&seed, 5, SecurityLevel::Medium), 34));
        let signed = sign_with(&seed, &[3, 4], builder);
        let trunk = Hash::from_trytes(&"T".repeat(81)).unwrap();
        let branch = Hash::from_trytes(&"B".repeat(81)).unwrap();
        let options = AttachOptions {
            min_weight_magnitude: MWM,
            threads: 0,
            timestamp_ms: 1_700_000_000_123,
        };
        attach_bundle(&signed, trunk, branch, &options, &Cancel::default())
            .unwrap()
            .unwrap()
    })
}

fn options() -> Options {
    Options {
        min_weight_magnitude: Some(MWM),
    }
}

#[test]
fn attached_bundle_is_valid_and_chained() {
    let txs = attached_bundle();
    assert_eq!(txs.len(), 5);
    let report = validate(txs, &options());
    assert!(report.is_valid(), "{:?}", report.violations);
    assert!(report.checked.contains(&Rule::TrunkChain) && report.checked.contains(&Rule::ProofOfWork));
    assert_eq!(txs[4].trunk.as_str(), "T".repeat(81));
    assert_eq!(txs[4].branch.as_str(), "B".repeat(81));
    for i in 0..4 {
        assert_eq!(txs[i].trunk, txs[i + 1].hash());
        assert_eq!(txs[i].branch.as_str(), "T".repeat(81));
    }
    // Empty tags are filled from the obsolete tag; a set tag is kept.
    assert_eq!(txs[0].tag, txs[0].obsolete_tag);
    assert_eq!(txs[3].tag.as_str(), "WITHDRAWAL99999999999999999");
    assert!(txs.iter().all(|tx| tx.attachment_timestamp.get() == 1_700_000_000_123));
}

#[test]
fn cancelled_attachment_returns_none() {
    let cancel = Cancel::default();
    cancel.cancel();
    let options = AttachOptions {
        min_weight_magnitude: 60,
        threads: 1,
        timestamp_ms: 0,
    };
    let out = attach_bundle(attached_bundle(), Hash::NULL, Hash::NULL, &options, &cancel).unwrap();
    assert!(out.is_none());
}

/// `len` trytes made from `seed`, guaranteed to differ from `current`.
fn different(current: &str, seed: &str, len: usize) -> String {
    let mut candidate: String = seed.chars().cycle().take(len).collect();
    if candidate == current {
        let first = if candidate.starts_with('A') { "B" } else { "A" };
        candidate.replace_range(0..1, first);
    }
    candidate
}

/// Changes field `field` (layout order) of `tx`, using `seed` for new trytes.
fn mutate(tx: &mut Transaction, field: usize, seed: &str) {
    let bump = |v: i64, max: i64| if v + 1 > max { v - 1 } else { v + 1 };
    let int27 = |v: Int27| Int27::new(bump(v.get(), Int27::MAX)).unwrap();
    let hash = |h: Hash| Hash::from_trytes(&different(h.as_str(), seed, 81)).unwrap();
    let tag = |t: Tag| Tag::from_trytes(&different(t.as_str(), seed, 27)).unwrap();
    match field {
        0 => {
            tx.signature_message_fragment =
                Fragment::from_trytes(&different(tx.signature_message_fragment.as_str(), seed, 2187)).unwrap()
        }
        1 => tx.address = Address::from_trytes(&different(tx.address.as_str(), seed, 81)).unwrap(),
        2 => tx.value = Value::new(bump(tx.value.get(), hub_protocol::SUPPLY)).unwrap(),
        3 => tx.obsolete_tag = tag(tx.obsolete_tag),
        4 => tx.timestamp = int27(tx.timestamp),
        5 => tx.current_index = int27(tx.current_index),
        6 => tx.last_index = int27(tx.last_index),
        7 => tx.bundle = hash(tx.bundle),
        8 => tx.trunk = hash(tx.trunk),
        9 => tx.branch = hash(tx.branch),
        10 => tx.tag = tag(tx.tag),
        11 => tx.attachment_timestamp = int27(tx.attachment_timestamp),
        12 => tx.attachment_timestamp_lower = int27(tx.attachment_timestamp_lower),
        13 => tx.attachment_timestamp_upper = int27(tx.attachment_timestamp_upper),
        _ => tx.nonce = Nonce::from_trytes(&different(tx.nonce.as_str(), seed, 27)).unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_single_field_mutation_is_rejected(index in 0usize..5, field in 0usize..15, seed in "[9A-Z]{1,81}") {
        let mut txs = attached_bundle().clone();
        prop_assert!(validate(&txs, &options()).is_valid(), "the unmutated bundle is valid");
        let before = txs[index].clone();
        mutate(&mut txs[index], field, &seed);
        prop_assert_ne!(&txs[index], &before, "the mutation changed something");
        // The only mutation a node could accept is one whose new hash happens
        // to meet the weight again (about 1 in 3^13): skip that case.
        prop_assume!(!(index == 0 && meets_weight(&txs[0].hash(), MWM) && txs[0].hash() != before.hash() && validate(&txs, &options()).is_valid()));
        let report = validate(&txs, &options());
        prop_assert!(!report.is_valid(), "mutating field {} of transaction {} went unnoticed", field, index);
    }

    #[test]
    fn built_and_signed_bundles_validate(amounts in proptest::collection::vec(1u64..1_000_000, 1..4), levels in proptest::collection::vec(1u8..=3, 3), split in 0u64..1_000) {
        let seed = seed();
        let total: u64 = amounts.iter().sum();
        let mut builder = BundleBuilder::new(1_600_000_000).unwrap();
        let mut indexes = Vec::new();
        for (i, amount) in amounts.iter().enumerate() {
            let security = SecurityLevel::try_from(levels[i % levels.len()]).unwrap();
            builder = builder.input(Input { address: wots::address(&seed, i as u64, security), amount: *amount, security });
            indexes.push(i as u64);
        }
        let first = split.min(total);
        builder = builder
            .output(Output::new(Address::from_trytes(&"C".repeat(81)).unwrap(), first))
            .output(Output::new(Address::from_trytes(&"D".repeat(81)).unwrap(), total - first));
        let txs = sign_with(&seed, &indexes, builder);
        prop_assert!(!normalized_has_m(&txs[0].bundle));
        let report = validate(&txs, &Options::default());
        prop_assert!(report.is_valid(), "{:?}", report.violations);
    }
}

#[test]
fn builder_refuses_unbalanced_or_empty_bundles() {
    let a = Address::from_trytes(&"A".repeat(81)).unwrap();
    assert!(BundleBuilder::new(0).unwrap().build().is_err());
    let unbalanced = BundleBuilder::new(0)
        .unwrap()
        .input(Input {
            address: a,
            amount: 5,
            security: SecurityLevel::Low,
        })
        .output(Output::new(a, 4))
        .build();
    assert!(unbalanced.is_err());
    let zero_input = BundleBuilder::new(0)
        .unwrap()
        .input(Input {
            address: a,
            amount: 0,
            security: SecurityLevel::Low,
        })
        .build();
    assert!(zero_input.is_err());
    let over_supply = BundleBuilder::new(0)
        .unwrap()
        .output(Output::new(a, hub_protocol::SUPPLY as u64 + 1))
        .build();
    assert!(over_supply.is_err());
    assert!(BundleBuilder::new(u64::MAX).is_err());
}

#[test]
fn signer_returning_a_wrong_signature_is_caught() {
    let seed = seed();
    let unsigned = BundleBuilder::new(0)
        .unwrap()
        .input(Input {
            address: wots::address(&seed, 0, SecurityLevel::Medium),
            amount: 5,
            security: SecurityLevel::Medium,
        })
        .output(Output::new(Address::from_trytes(&"A".repeat(81)).unwrap(), 5))
        .build()
        .unwrap();
    // Signs with the key of another index.
    let result = unsigned.sign(|slot, hash| Ok::<_, ()>(wots::sign(&seed, 1, slot.security, hash)));
    assert!(matches!(
        result,
        Err(hub_protocol::bundle::SignError::BadSignature { index: 0 })
    ));
}

/// Forgery exposure (log2) of a key that signed `hashes`, over `positions`.
fn exposure(hashes: &[Hash], positions: usize) -> f64 {
    (0..positions)
        .map(|j| {
            let max = hashes.iter().map(|h| wots::normalize(h)[j]).max().unwrap();
            (f64::from(max + 14) / 27.0).log2()
        })
        .sum()
}

#[test]
fn mining_picks_the_least_exposing_hash_over_the_real_essence() {
    let seed = seed();
    let input = wots::address(&seed, 7, SecurityLevel::Medium);
    let payee = Address::from_trytes(&format!("{}9", &"RECOVER".repeat(12)[..80])).unwrap();
    let build = |timestamp| {
        BundleBuilder::new(timestamp)
            .unwrap()
            .input(Input {
                address: input,
                amount: 500,
                security: SecurityLevel::Medium,
            })
            .output(Output::new(payee, 500))
            .build()
            .unwrap()
    };
    // The key already signed one bundle (its sweep).
    let first = build(1_700_000_000).hash();
    let plain = build(1_700_000_100);
    let mut mined = plain.transactions().to_vec();
    let result = hub_protocol::bundle::mine(&mut mined, &[first], SecurityLevel::Medium, 2_000).unwrap();

    assert_eq!(result.tried, 2_000);
    assert_eq!(
        result.hash,
        hub_protocol::bundle::bundle_hash(&mined).unwrap(),
        "hash of the real essence"
    );
    assert!(mined.iter().all(|tx| tx.bundle == result.hash));
    assert!(!normalized_has_m(&result.hash));
    let reported = exposure(&[first, result.hash], 54);
    assert!((reported - result.forgery_log2).abs() < 1e-9);
    assert!(
        result.forgery_log2 <= exposure(&[first, plain.hash()], 54),
        "mined {} is no better than the unmined {}",
        result.forgery_log2,
        exposure(&[first, plain.hash()], 54)
    );
    // Signing the mined hash gives a valid bundle.
    let signature = wots::sign(&seed, 7, SecurityLevel::Medium, &result.hash);
    for (tx, fragment) in mined.iter_mut().zip(signature.0) {
        tx.signature_message_fragment = fragment;
    }
    assert!(validate(&mined, &Options::default()).is_valid());
    // Bad arguments are errors, not panics.
    assert!(hub_protocol::bundle::mine(&mut [], &[first], SecurityLevel::Medium, 10).is_err());
    assert!(hub_protocol::bundle::mine(&mut mined, &[first], SecurityLevel::Medium, 0).is_err());
}
