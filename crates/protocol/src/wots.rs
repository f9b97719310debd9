//! Winternitz one-time signatures over Kerl, as legacy IOTA used them.
//!
//! An address is the public key of one WOTS key pair derived from
//! `(seed, index, security)`. Signing a bundle hash reveals part of the key;
//! signing a second, different hash with the same key leaks enough to forge,
//! which is why Hub never signs twice with one address. The key schedule,
//! hash chains and key recovery come from `iota-crypto`; the subseed step and
//! the mapping onto our types are here.

// Kerl and its WOTS are marked deprecated upstream because the legacy network
// is; Hub must keep speaking them so existing deployments' funds stay reachable.
#![allow(deprecated)]

use crypto::encoding::ternary::{T1B1Buf, TritBuf, Trits, T1B1};
use crypto::hashes::ternary::kerl::Kerl as LibKerl;
use crypto::keys::ternary::wots::sponge::WotsSpongePrivateKeyGeneratorBuilder;
use crypto::keys::ternary::wots::WotsSecurityLevel;
use crypto::keys::ternary::PrivateKeyGenerator;
use crypto::signatures::ternary::wots::{WotsPrivateKey, WotsSignature};
use crypto::signatures::ternary::{PrivateKey, PublicKey, RecoverableSignature, Signature as _};
use zeroize::Zeroizing;

use crate::address::Address;
use crate::seed::{SecurityLevel, Seed};
use crate::sponge::kerl;
use crate::ternary::{add_to_trits, tryte_trits};
use crate::types::{Fragment, Hash};
use crate::Error;

/// Trits in one signature fragment (one transaction's message field).
pub const FRAGMENT_TRITS: usize = 6561;

/// A signature: one 2187-tryte fragment per security level, to be placed in
/// the input's transactions in order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Signature(pub Vec<Fragment>);

impl Signature {
    /// The signature as one tryte string (`security × 2187` trytes).
    pub fn to_trytes(&self) -> String {
        self.0.iter().map(Fragment::as_str).collect()
    }

    /// Splits `security × 2187` trytes into fragments.
    pub fn from_trytes(s: &str) -> Result<Self, Error> {
        let len = s.len();
        if len == 0 || len % Fragment::LEN != 0 || len / Fragment::LEN > 3 {
            return Err(Error::Length {
                field: "signature",
                expected: "2187, 4374 or 6561 trytes".into(),
                actual: s.chars().count(),
            });
        }
        crate::ternary::check_trytes("signature", s, None)?;
        let fragments = (0..len / Fragment::LEN)
            .map(|i| Fragment::from_trytes(&s[i * Fragment::LEN..(i + 1) * Fragment::LEN]))
            .collect::<Result<_, _>>()?;
        Ok(Self(fragments))
    }
}

fn lib_level(security: SecurityLevel) -> WotsSecurityLevel {
    match security {
        SecurityLevel::Low => WotsSecurityLevel::Low,
        SecurityLevel::Medium => WotsSecurityLevel::Medium,
        SecurityLevel::High => WotsSecurityLevel::High,
    }
}

/// Subseed of `index`: Kerl(seed + index), the index added as a balanced
/// ternary integer to the seed's trits.
pub fn subseed(seed: &Seed, index: u64) -> Zeroizing<[i8; 243]> {
    let mut trits = seed.trits();
    add_to_trits(&mut trits[..], index);
    Zeroizing::new(kerl(&trits[..]).expect("a seed is one Kerl chunk"))
}

fn private_key(seed: &Seed, index: u64, security: SecurityLevel) -> WotsPrivateKey<LibKerl> {
    let subseed = subseed(seed, index);
    let entropy = Trits::<T1B1>::try_from_raw(&subseed[..], 243).expect("Kerl output is trits");
    WotsSpongePrivateKeyGeneratorBuilder::<LibKerl>::default()
        .with_security_level(lib_level(security))
        .build()
        .and_then(|generator| generator.generate_from_entropy(entropy))
        // Kerl output always has a zero last trit and is 243 trits long.
        .expect("Kerl subseed is valid WOTS entropy")
}

fn address_from_trits(trits: &Trits<T1B1>) -> Address {
    Address::from_trits(trits.as_i8_slice()).expect("public keys are 243 trits")
}

/// The address of `(seed, index, security)`.
pub fn address(seed: &Seed, index: u64, security: SecurityLevel) -> Address {
    let key = private_key(seed, index, security);
    let public = key.generate_public_key().expect("Kerl sponge operations succeed");
    address_from_trits(public.as_trits())
}

/// Normalises a bundle hash for signing: three blocks of 27 trytes, each
/// brought to sum zero by lowering (raising) its first trytes that are not
/// already at -13 (13). Returns the 81 tryte values.
pub fn normalize(hash: &Hash) -> [i8; 81] {
    let mut out = [0i8; 81];
    for (o, &c) in out.iter_mut().zip(hash.as_bytes()) {
        *o = crate::ternary::tryte_value(c).expect("hash holds trytes");
    }
    for block in out.chunks_mut(27) {
        let mut sum: i32 = block.iter().map(|&v| i32::from(v)).sum();
        while sum > 0 {
            if let Some(v) = block.iter_mut().find(|v| **v > -13) {
                *v -= 1;
            }
            sum -= 1;
        }
        while sum < 0 {
            if let Some(v) = block.iter_mut().find(|v| **v < 13) {
                *v += 1;
            }
            sum += 1;
        }
    }
    out
}

/// Whether the normalised hash contains the tryte 13 (`M`): signing such a
/// hash reveals a whole unhashed key segment, so bundles are finalised until
/// it does not.
pub fn normalized_has_m(hash: &Hash) -> bool {
    normalize(hash).contains(&13)
}

fn normalized_trits(hash: &Hash) -> TritBuf<T1B1Buf> {
    let mut trits = TritBuf::<T1B1Buf>::zeros(243);
    let values = normalize(hash);
    let raw: Vec<i8> = values.iter().flat_map(|&v| tryte_trits(v)).collect();
    trits.copy_from(Trits::<T1B1>::try_from_raw(&raw, 243).expect("tryte trits are trits"));
    trits
}

/// Signs `bundle_hash` with the key of `(seed, index, security)`.
pub fn sign(seed: &Seed, index: u64, security: SecurityLevel, bundle_hash: &Hash) -> Signature {
    let mut key = private_key(seed, index, security);
    let signature = key.sign(&normalized_trits(bundle_hash)).expect("message is 243 trits");
    let fragments = signature
        .as_trits()
        .as_i8_slice()
        .chunks(FRAGMENT_TRITS)
        .map(|chunk| Fragment::from_trits(chunk).expect("fragments are 6561 trits"))
        .collect();
    Signature(fragments)
}

/// Recovers the address that signed `bundle_hash` with these fragments.
pub fn recover_address(bundle_hash: &Hash, fragments: &[Fragment]) -> Result<Address, Error> {
    if fragments.is_empty() || fragments.len() > 3 {
        return Err(Error::OutOfRange {
            field: "signature fragments",
            value: fragments.len() as i128,
            min: 1,
            max: 3,
        });
    }
    let mut trits = Vec::with_capacity(fragments.len() * FRAGMENT_TRITS);
    for fragment in fragments {
        trits.extend(fragment.to_trits());
    }
    let buf = Trits::<T1B1>::try_from_raw(&trits, trits.len())
        .expect("fragment trits")
        .to_buf::<T1B1Buf>();
    let signature = WotsSignature::<LibKerl>::from_trits(buf).map_err(|_| Error::Rule {
        field: "signature",
        rule: "is not a whole number of fragments",
    })?;
    let public = signature
        .recover_public_key(&normalized_trits(bundle_hash))
        .map_err(|_| Error::Rule {
            field: "signature",
            rule: "cannot be recovered",
        })?;
    Ok(address_from_trits(public.as_trits()))
}

/// Whether `fragments` are a valid signature of `bundle_hash` by `address`.
pub fn verify(address: &Address, bundle_hash: &Hash, fragments: &[Fragment]) -> bool {
    recover_address(bundle_hash, fragments).is_ok_and(|recovered| recovered == *address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vector_seed() -> Seed {
        Seed::from_trytes("ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9ABCDEFGHIJKLMNOPQRSTUVWXYZ9").unwrap()
    }

    #[test]
    fn subseed_vector() {
        let s = subseed(&vector_seed(), 0);
        assert_eq!(
            crate::ternary::trits_to_trytes(&s[..]).unwrap(),
            "APSNZAPLANAGSXGZMZYCSXROJ9KUX9HVOPODQHMWNJOCGBKRIOOQKYGPFAIQBYNIODMIWMFKJGKRWFFPY"
        );
    }

    #[test]
    fn normalized_blocks_sum_to_zero() {
        let h = Hash::from_trytes(&"M".repeat(81)).unwrap();
        let n = normalize(&h);
        for block in n.chunks(27) {
            assert_eq!(block.iter().map(|&v| i32::from(v)).sum::<i32>(), 0);
        }
    }

    #[test]
    fn signature_from_trytes_rules() {
        assert!(Signature::from_trytes("").is_err());
        assert!(Signature::from_trytes(&"9".repeat(2188)).is_err());
        assert!(Signature::from_trytes(&"9".repeat(4 * 2187)).is_err());
        assert_eq!(Signature::from_trytes(&"9".repeat(4374)).unwrap().0.len(), 2);
        assert!(recover_address(&Hash::NULL, &[]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn sign_then_verify(seed in "[9A-Z]{81}", index in 0u64..1_000_000, level in 1u8..=3, hash in "[9A-Z]{81}", other in "[9A-Z]{81}") {
            let seed = Seed::from_trytes(&seed).unwrap();
            let security = SecurityLevel::try_from(level).unwrap();
            let hash = Hash::from_trytes(&hash).unwrap();
            let address = address(&seed, index, security);
            let signature = sign(&seed, index, security, &hash);
            prop_assert_eq!(signature.0.len(), level as usize);
            prop_assert!(verify(&address, &hash, &signature.0));
            let other = Hash::from_trytes(&other).unwrap();
            if normalize(&other) != normalize(&hash) {
                prop_assert!(!verify(&address, &other, &signature.0));
            }
            let wrong_address = address_from_index(&seed, index + 1, security);
            prop_assert!(!verify(&wrong_address, &hash, &signature.0));
        }
    }

    fn address_from_index(seed: &Seed, index: u64, security: SecurityLevel) -> Address {
        address(seed, index, security)
    }
}
