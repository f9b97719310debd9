//! Reproduces every vector in `tests/vectors/` (copied from shared/vectors,
//! agreed by independent libraries).

use hub_protocol::address::ChecksumPolicy;
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::seed::derive_seed;
use hub_protocol::validate::{validate, Options};
use hub_protocol::wots::{self, Signature};
use hub_protocol::{Address, Argon2Params, Hash, Salt, SecurityLevel, Seed, SeedUuid, Tag, Transaction};

const ADDRESSES: &str = include_str!("vectors/addresses.txt");
const HUB_SIGNATURE: &str = include_str!("vectors/hub-signature-sec2.txt");
const IOTAJS_BUNDLE: &str = include_str!("vectors/iotajs-signed-bundle-4tx.txt");

fn comment_value<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix("# ").and_then(|l| l.strip_prefix(key)).map(str::trim))
        .unwrap_or_else(|| panic!("vector has no `{key}` line"))
}

#[test]
fn addresses_agreed_by_three_libraries() {
    let seed = Seed::from_trytes(comment_value(ADDRESSES, "seed =")).unwrap();
    let mut rows = 0;
    for line in ADDRESSES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let security: SecurityLevel = cols[0].parse().unwrap();
        let index: u64 = cols[1].parse().unwrap();
        let address = wots::address(&seed, index, security);
        assert_eq!(address.as_str(), cols[2], "security {security} index {index}");
        if let Some(checksum) = cols.get(3) {
            assert_eq!(address.checksum(), *checksum);
        }
        rows += 1;
    }
    assert_eq!(rows, 6);
    let subseed = wots::subseed(&seed, 0);
    assert_eq!(
        hub_protocol::ternary::trits_to_trytes(&subseed[..]).unwrap(),
        comment_value(ADDRESSES, "subseed(index 0) =")
    );
    let (address, checksum) = comment_value(ADDRESSES, "address checksum of")
        .split_once(" = ")
        .unwrap();
    assert_eq!(Address::from_trytes(address).unwrap().checksum(), checksum);
}

fn hub_vector_inputs() -> (SeedUuid, Salt) {
    let uuid = SeedUuid::parse(comment_value(HUB_SIGNATURE, "seed uuid:")).unwrap();
    let salt = Salt::new(comment_value(HUB_SIGNATURE, "salt:").as_bytes().to_vec()).unwrap();
    (uuid, salt)
}

#[test]
fn hub_seed_address_and_signature() {
    let (uuid, salt) = hub_vector_inputs();
    let seed = derive_seed(&uuid, &salt, &Argon2Params::default()).unwrap();
    // hub-behaviour.md §4.9
    assert_eq!(
        seed.expose_trytes(),
        "S9ENEPNSDNELMCBPAOPXFYKWEPVWGQCXNIZGGDLQTKLLXDTSCHPT9PVHVUTPNXFNHKNBLHRM9HAPEKSTX"
    );
    let address = wots::address(&seed, 0, SecurityLevel::Medium);
    assert_eq!(
        address.as_str(),
        "TLGUJV9NKSKKLQYBABOPVINMHRMPOOADQPWGFAFULPVXFQBFDJXQGJVLELQECCIQAXJCBXKVPDCWYWYQB"
    );
    assert_eq!(address.checksum(), "ZLCWXJAKB");
    assert_eq!(
        wots::address(&seed, 0, SecurityLevel::Low).as_str(),
        "PXPHKJRAYQWKDXNLUAOC9KHKEAAVIDT9BLLZLXYNC9WFRYRC9XJMDPBWEYCPEJHN9DDNCUCRZSBT9YP9Y"
    );
    assert_eq!(
        wots::address(&seed, 0, SecurityLevel::High).as_str(),
        "BLKVJQICQVUW9TU9KZWV9ACQNOWQGUA9CCPYXTWGGYSZBYNKLHYLB9VBFMKVSNCPTYLNOJFBCXMDYEAL9"
    );

    let bundle_hash = Hash::from_trytes(comment_value(HUB_SIGNATURE, "bundle hash:")).unwrap();
    let expected = HUB_SIGNATURE
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap()
        .trim();
    assert_eq!(expected.len(), 4374);
    let signature = wots::sign(&seed, 0, SecurityLevel::Medium, &bundle_hash);
    assert_eq!(signature.to_trytes(), expected);
    assert!(wots::verify(
        &address,
        &bundle_hash,
        &Signature::from_trytes(expected).unwrap().0
    ));
}

#[test]
fn hub_seed_with_legacy_argon2i_parameters() {
    let (uuid, salt) = hub_vector_inputs();
    let seed = derive_seed(&uuid, &salt, &Argon2Params::legacy()).unwrap();
    assert_eq!(
        seed.expose_trytes(),
        "TTUVCDOGKVNMAPWDOIZPTBXAJDONMORWUMYWVFNDNYTYQUNREPBHTRVHKAJWXXVTHSRIFSCRGTOGZXPPD"
    );
}

fn iotajs_transactions() -> Vec<Transaction> {
    IOTAJS_BUNDLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| Transaction::from_trytes(l.trim()).unwrap())
        .collect()
}

#[test]
fn iotajs_bundle_validates_and_round_trips() {
    let txs = iotajs_transactions();
    assert_eq!(txs.len(), 4);
    let expected_hash = comment_value(IOTAJS_BUNDLE, "bundle hash")
        .split_whitespace()
        .next()
        .unwrap();
    assert!(txs.iter().all(|tx| tx.bundle.as_str() == expected_hash));
    let report = validate(&txs, &Options::default());
    assert!(report.is_valid(), "{:?}", report.violations);
    // Any order is accepted.
    let mut shuffled = txs.clone();
    shuffled.reverse();
    assert!(validate(&shuffled, &Options::default()).is_valid());
    for (tx, line) in txs.iter().zip(IOTAJS_BUNDLE.lines().filter(|l| !l.starts_with('#'))) {
        assert_eq!(tx.to_trytes(), line.trim());
    }
}

#[test]
fn our_builder_reproduces_the_iotajs_bundle() {
    let txs = iotajs_transactions();
    let seed = Seed::from_trytes(&"ABCDEFGHIJKLMNOPQRSTUVWXYZ9".repeat(3)).unwrap();
    let hubtest = Tag::from_trytes_padded("HUBTEST").unwrap();
    let unsigned = BundleBuilder::new(1_500_000_000)
        .unwrap()
        .output(
            Output::new(txs[0].address, 40)
                .with_tag(hubtest)
                .with_obsolete_tag(hubtest),
        )
        .input(Input {
            address: wots::address(&seed, 0, SecurityLevel::Medium),
            amount: 100,
            security: SecurityLevel::Medium,
        })
        .output(Output::new(wots::address(&seed, 1, SecurityLevel::Medium), 60))
        .build()
        .unwrap();
    assert_eq!(unsigned.hash(), txs[0].bundle);
    assert_eq!(unsigned.transactions()[0].obsolete_tag, txs[0].obsolete_tag);
    assert_eq!(
        unsigned.transactions()[0].obsolete_tag.as_str(),
        "JVBTEST99999999999999999999"
    );
    let signed = unsigned
        .sign(|slot, hash| Ok::<_, std::convert::Infallible>(wots::sign(&seed, 0, slot.security, hash)))
        .unwrap();
    assert_eq!(signed, txs, "same transactions, signatures included");
    let _ = ChecksumPolicy::Without;
}
