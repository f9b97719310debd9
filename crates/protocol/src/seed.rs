//! Seeds, security levels, seed UUIDs, salts and Hub's seed derivation.
//!
//! Hub never stores a seed. Every address has its own random 64-character
//! seed UUID; the seed is re-derived when needed as
//! `Argon2(password = seed UUID, salt = operator's salt)`, 48 bytes turned into
//! 243 trits the way Kerl converts its output (hub-behaviour.md §4.2). The
//! parameters must match the deployment's forever, or its funds become
//! unreachable, so they are explicit here and checked.

// Kerl and its WOTS are marked deprecated upstream because the legacy network
// is; Hub must keep speaking them so existing deployments' funds stay reachable.
#![allow(deprecated)]

use std::fmt;
use std::str::FromStr;

use crypto::hashes::ternary::kerl::bigint::{binary_representation::U8Repr, endianness::BigEndian, I384, T242};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::ternary::{check_trytes, trits_to_tryte_bytes, trytes_to_trits_into};
use crate::Error;

/// An 81-tryte seed. Zeroised on drop; never printed by `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Seed([u8; 81]);

impl Seed {
    /// Parses exactly 81 trytes.
    pub fn from_trytes(s: &str) -> Result<Self, Error> {
        check_trytes("seed", s, Some(81))?;
        let mut bytes = [0u8; 81];
        bytes.copy_from_slice(s.as_bytes());
        Ok(Self(bytes))
    }

    /// Builds a seed from 243 trits.
    pub fn from_trits(trits: &[i8]) -> Result<Self, Error> {
        if trits.len() != 243 {
            return Err(Error::Length {
                field: "seed",
                expected: "243 trits".into(),
                actual: trits.len(),
            });
        }
        crate::ternary::check_trits("seed", trits)?;
        let mut bytes = [0u8; 81];
        bytes.copy_from_slice(&Zeroizing::new(trits_to_tryte_bytes(trits)));
        Ok(Self(bytes))
    }

    /// The seed's trytes. Handle with care: this is the secret.
    pub fn expose_trytes(&self) -> &str {
        std::str::from_utf8(&self.0).expect("trytes are ASCII")
    }

    /// The seed's 243 trits, zeroised when dropped.
    pub fn trits(&self) -> Zeroizing<[i8; 243]> {
        let mut out = Zeroizing::new([0i8; 243]);
        trytes_to_trits_into(&self.0, &mut out[..]);
        out
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

/// WOTS security level: how many 2187-tryte key fragments an address has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecurityLevel {
    /// One fragment (81-trit security).
    Low = 1,
    /// Two fragments; Hub's default.
    Medium = 2,
    /// Three fragments.
    High = 3,
}

impl SecurityLevel {
    /// 1, 2 or 3.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Number of key (and signature) fragments, which is also the number of
    /// transactions an input of this level occupies in a bundle.
    pub fn fragments(self) -> usize {
        self as usize
    }
}

impl TryFrom<u8> for SecurityLevel {
    type Error = Error;
    fn try_from(v: u8) -> Result<Self, Error> {
        match v {
            1 => Ok(Self::Low),
            2 => Ok(Self::Medium),
            3 => Ok(Self::High),
            _ => Err(Error::OutOfRange {
                field: "security level",
                value: v.into(),
                min: 1,
                max: 3,
            }),
        }
    }
}

impl FromStr for SecurityLevel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let v: u8 = s.trim().parse().map_err(|_| Error::Rule {
            field: "security level",
            rule: "must be 1, 2 or 3",
        })?;
        Self::try_from(v)
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u8())
    }
}

/// The alphabet of seed UUIDs (standard base64 symbols).
pub const SEED_UUID_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The per-address secret handle: exactly 64 characters of `A-Z a-z 0-9 + /`
/// (≈384 bits), not an RFC-4122 UUID. With the salt it yields the seed.
#[derive(Clone, PartialEq, Eq, Hash, Zeroize, ZeroizeOnDrop)]
pub struct SeedUuid([u8; 64]);

impl SeedUuid {
    /// Length in characters.
    pub const LEN: usize = 64;

    /// Draws a new UUID from the operating system's random source, each
    /// character uniformly from the 64-symbol alphabet.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 64];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        for b in &mut bytes {
            // 256 is a multiple of 64, so masking keeps the draw uniform.
            *b = SEED_UUID_ALPHABET[(*b & 63) as usize];
        }
        Self(bytes)
    }

    /// Parses exactly 64 characters of the alphabet.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let actual = s.chars().count();
        if actual != Self::LEN {
            return Err(Error::Length {
                field: "seed uuid",
                expected: "64 characters".into(),
                actual,
            });
        }
        if let Some((position, found)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_alphanumeric() && *c != '+' && *c != '/')
        {
            return Err(Error::NotInAlphabet {
                field: "seed uuid",
                position,
                found,
                allowed: "A-Z, a-z, 0-9, + and /",
            });
        }
        let mut bytes = [0u8; 64];
        bytes.copy_from_slice(s.as_bytes());
        Ok(Self(bytes))
    }

    /// The UUID as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("alphabet is ASCII")
    }
}

impl FromStr for SeedUuid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl fmt::Display for SeedUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SeedUuid {
    /// Only a prefix: with the salt, a UUID is a key, so logs get no more.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeedUuid({}…)", &self.as_str()[..4])
    }
}

/// The operator's Argon2 salt. Zeroised on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Salt(Vec<u8>);

impl Salt {
    /// The shortest salt Hub accepts: more than 20 bytes, as the original
    /// required of every deployment.
    pub const MIN_LEN: usize = 21;

    /// Takes the salt's raw bytes (the whole input, no trimming).
    pub fn new(bytes: Vec<u8>) -> Result<Self, Error> {
        if bytes.len() < Self::MIN_LEN {
            let actual = bytes.len();
            drop(Zeroizing::new(bytes));
            return Err(Error::Length {
                field: "salt",
                expected: format!("at least {} bytes", Self::MIN_LEN),
                actual,
            });
        }
        Ok(Self(bytes))
    }

    /// The raw bytes.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt(<{} bytes redacted>)", self.0.len())
    }
}

/// Argon2 variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2Mode {
    /// argon2id: the default since mid-2018.
    Id,
    /// argon2i: deployments created before mid-2018.
    I,
}

impl FromStr for Argon2Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "id" | "argon2id" => Ok(Self::Id),
            "i" | "argon2i" => Ok(Self::I),
            _ => Err(Error::Rule {
                field: "argon2 mode",
                rule: "must be `id` or `i`",
            }),
        }
    }
}

/// Argon2 parameters of a deployment. Version is always 0x13, output 48 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Variant.
    pub mode: Argon2Mode,
    /// Iterations.
    pub t_cost: u32,
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// argon2id, t=4, m=131072 KiB (128 MiB), p=1: the original's defaults.
    fn default() -> Self {
        Self {
            mode: Argon2Mode::Id,
            t_cost: 4,
            m_cost_kib: 131_072,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    /// argon2i, t=1, m=65536 KiB, p=1: deployments older than June 2018.
    pub fn legacy() -> Self {
        Self {
            mode: Argon2Mode::I,
            t_cost: 1,
            m_cost_kib: 65_536,
            parallelism: 1,
        }
    }

    /// Checks the parameters against Argon2's limits.
    pub fn validate(&self) -> Result<(), Error> {
        self.build().map(|_| ())
    }

    fn build(&self) -> Result<argon2::Argon2<'static>, Error> {
        if self.t_cost == 0 {
            return Err(Error::OutOfRange {
                field: "argon2 t_cost",
                value: 0,
                min: 1,
                max: u32::MAX.into(),
            });
        }
        if self.parallelism == 0 || self.parallelism > 0x00ff_ffff {
            return Err(Error::OutOfRange {
                field: "argon2 parallelism",
                value: self.parallelism.into(),
                min: 1,
                max: 0x00ff_ffff,
            });
        }
        let min_memory = 8 * self.parallelism;
        if self.m_cost_kib < min_memory {
            return Err(Error::OutOfRange {
                field: "argon2 m_cost_kib",
                value: self.m_cost_kib.into(),
                min: min_memory.into(),
                max: u32::MAX.into(),
            });
        }
        let params =
            argon2::Params::new(self.m_cost_kib, self.t_cost, self.parallelism, Some(SEED_BYTES)).map_err(|_| {
                Error::Rule {
                    field: "argon2 parameters",
                    rule: "rejected by Argon2",
                }
            })?;
        let algorithm = match self.mode {
            Argon2Mode::Id => argon2::Algorithm::Argon2id,
            Argon2Mode::I => argon2::Algorithm::Argon2i,
        };
        Ok(argon2::Argon2::new(algorithm, argon2::Version::V0x13, params))
    }
}

/// Bytes of Argon2 output: one Kerl-sized integer.
const SEED_BYTES: usize = 48;

/// Derives the seed of `uuid` under `salt` and `params` (hub-behaviour.md §4.2).
pub fn derive_seed(uuid: &SeedUuid, salt: &Salt, params: &Argon2Params) -> Result<Seed, Error> {
    let argon2 = params.build()?;
    let mut bytes = Zeroizing::new([0u8; SEED_BYTES]);
    argon2
        .hash_password_into(uuid.as_str().as_bytes(), salt.expose_bytes(), &mut bytes[..])
        .map_err(|_| Error::Rule {
            field: "argon2",
            rule: "derivation failed",
        })?;
    let trits = Zeroizing::new(kerl_bytes_to_trits(&bytes));
    Seed::from_trits(&trits[..])
}

/// Turns 48 bytes (a big-endian two's-complement 384-bit integer) into 243
/// trits exactly as Kerl turns Keccak-384 output into a hash: reduced into
/// 242 balanced trits, the 243rd trit zero.
pub fn kerl_bytes_to_trits(bytes: &[u8; SEED_BYTES]) -> [i8; 243] {
    let value = I384::<BigEndian, U8Repr>::from_array(*bytes);
    let ternary = T242::from_i384_ignoring_mst(value).into_t243();
    let mut out = [0i8; 243];
    for (o, t) in out.iter_mut().zip(ternary.iter()) {
        *o = i8::from(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_uuids_parse_and_differ() {
        let a = SeedUuid::generate();
        let b = SeedUuid::generate();
        assert_ne!(a, b);
        assert_eq!(SeedUuid::parse(a.as_str()).unwrap(), a);
        assert!(format!("{a:?}").len() < 20, "Debug must not print the whole UUID");
    }

    #[test]
    fn a_million_generated_uuids_are_distinct_and_well_formed() {
        let mut seen = std::collections::HashSet::with_capacity(1_000_000);
        for _ in 0..1_000_000 {
            let uuid = SeedUuid::generate();
            assert!(uuid.as_str().bytes().all(|b| SEED_UUID_ALPHABET.contains(&b)));
            assert!(seen.insert(uuid.0), "a generated UUID repeated");
        }
    }

    #[test]
    fn uuid_rules() {
        assert!(SeedUuid::parse(&"a".repeat(63)).is_err());
        assert!(SeedUuid::parse(&"a".repeat(65)).is_err());
        assert!(SeedUuid::parse(&format!("{}-", "a".repeat(63))).is_err());
        assert!(SeedUuid::parse(&format!("{}é", "a".repeat(63))).is_err());
        assert!(SeedUuid::parse(&format!("{}+/", "aZ09".repeat(15) + "Z9")).is_ok());
    }

    #[test]
    fn salt_and_security_rules() {
        assert!(Salt::new(vec![b'a'; 20]).is_err());
        assert!(Salt::new(vec![b'a'; 21]).is_ok());
        assert_eq!(
            format!("{:?}", Salt::new(vec![b'x'; 30]).unwrap()),
            "Salt(<30 bytes redacted>)"
        );
        assert!(SecurityLevel::try_from(0).is_err());
        assert!(SecurityLevel::try_from(4).is_err());
        assert_eq!("2".parse::<SecurityLevel>().unwrap(), SecurityLevel::Medium);
        assert!("x".parse::<SecurityLevel>().is_err());
    }

    #[test]
    fn seed_debug_is_redacted() {
        let seed = Seed::from_trytes(&"A".repeat(81)).unwrap();
        assert_eq!(format!("{seed:?}"), "Seed(<redacted>)");
    }

    #[test]
    fn argon2_params_are_checked() {
        assert!(Argon2Params::default().validate().is_ok());
        for bad in [
            Argon2Params {
                t_cost: 0,
                ..Default::default()
            },
            Argon2Params {
                m_cost_kib: 4,
                ..Default::default()
            },
            Argon2Params {
                parallelism: 0,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn zero_bytes_give_zero_trits() {
        assert_eq!(kerl_bytes_to_trits(&[0; 48]), [0; 243]);
    }

    proptest! {
        #[test]
        fn kerl_bytes_last_trit_is_zero(bytes in proptest::array::uniform32(any::<u8>()), tail in proptest::array::uniform16(any::<u8>())) {
            let mut all = [0u8; 48];
            all[..32].copy_from_slice(&bytes);
            all[32..].copy_from_slice(&tail);
            let trits = kerl_bytes_to_trits(&all);
            prop_assert_eq!(trits[242], 0);
            prop_assert!(trits.iter().all(|t| (-1..=1).contains(t)));
        }

        #[test]
        fn uuid_parse_never_panics(s in "\\PC{0,80}") {
            let _ = SeedUuid::parse(&s);
        }
    }
}
