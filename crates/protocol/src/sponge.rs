//! Kerl and Curl-P-81 over plain trit slices.
//!
//! Thin adapters over `iota-crypto`, so the rest of the crate works with
//! `&[i8]` trits and our own error type, and no other module touches the
//! library's buffer types.

// Kerl and its WOTS are marked deprecated upstream because the legacy network
// is; Hub must keep speaking them so existing deployments' funds stay reachable.
#![allow(deprecated)]

use crypto::encoding::ternary::{Trits, T1B1};
use crypto::hashes::ternary::curl_p::CurlP;
use crypto::hashes::ternary::kerl::Kerl as LibKerl;
use crypto::hashes::ternary::Sponge;

use crate::ternary::check_trits;
use crate::Error;

/// Trits in a hash (and in one sponge chunk).
pub const HASH_TRITS: usize = 243;

fn view<'a>(field: &'static str, trits: &'a [i8]) -> Result<&'a Trits<T1B1>, Error> {
    check_trits(field, trits)?;
    Trits::<T1B1>::try_from_raw(trits, trits.len()).map_err(|_| Error::Rule {
        field,
        rule: "not a trit sequence",
    })
}

fn view_mut(trits: &mut [i8]) -> &mut Trits<T1B1> {
    let len = trits.len();
    // Output buffers are initialised with zeros by callers in this module.
    Trits::<T1B1>::try_from_raw_mut(trits, len).expect("output buffers hold trits")
}

fn check_chunked(field: &'static str, trits: &[i8]) -> Result<(), Error> {
    if trits.len() % HASH_TRITS != 0 || trits.is_empty() {
        return Err(Error::Length {
            field,
            expected: format!("a non-zero multiple of {HASH_TRITS} trits"),
            actual: trits.len(),
        });
    }
    Ok(())
}

/// A Kerl sponge: absorb any number of 243-trit chunks, squeeze any number.
#[derive(Clone, Default)]
pub struct Kerl(LibKerl);

impl Kerl {
    /// A fresh sponge.
    pub fn new() -> Self {
        Self::default()
    }

    /// Absorbs a non-zero multiple of 243 trits.
    pub fn absorb(&mut self, trits: &[i8]) -> Result<(), Error> {
        check_chunked("kerl input", trits)?;
        let input = view("kerl input", trits)?;
        self.0.absorb(input).map_err(|_| Error::Rule {
            field: "kerl input",
            rule: "cannot be absorbed",
        })
    }

    /// Squeezes `out.len()` trits (a non-zero multiple of 243).
    pub fn squeeze_into(&mut self, out: &mut [i8]) -> Result<(), Error> {
        check_chunked("kerl output", out)?;
        out.fill(0);
        self.0.squeeze_into(view_mut(out)).map_err(|_| Error::Rule {
            field: "kerl output",
            rule: "cannot be squeezed",
        })
    }

    /// Squeezes one 243-trit hash.
    pub fn squeeze(&mut self) -> [i8; HASH_TRITS] {
        let mut out = [0i8; HASH_TRITS];
        self.squeeze_into(&mut out).expect("one chunk is a valid length");
        out
    }
}

/// Kerl digest of a non-zero multiple of 243 trits.
pub fn kerl(trits: &[i8]) -> Result<[i8; HASH_TRITS], Error> {
    let mut sponge = Kerl::new();
    sponge.absorb(trits)?;
    Ok(sponge.squeeze())
}

/// Curl-P-81 digest of a non-zero multiple of 243 trits (transaction hashes).
pub fn curl_p81(trits: &[i8]) -> Result<[i8; HASH_TRITS], Error> {
    check_chunked("curl input", trits)?;
    let input = view("curl input", trits)?;
    let mut out = [0i8; HASH_TRITS];
    CurlP::new().digest_into(input, view_mut(&mut out));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ternary::{parse_trits, trits_to_trytes};

    #[test]
    fn kerl_of_known_address_gives_known_checksum() {
        // Address checksum vector from ../shared/vectors/addresses.txt: the
        // checksum is the last 9 trytes of Kerl(address).
        let address = "WLVZXWARPSYCWJMBZJGXHUOVYBVCEKMNQDMXHCAEJZFLFLMHFYYQQSSLVYWAZWESKXZOROLU9OQFRVDEW";
        let hash = kerl(&parse_trits("address", address).unwrap()).unwrap();
        assert_eq!(&trits_to_trytes(&hash).unwrap()[72..], "CHKKXPWGY");
    }

    #[test]
    fn lengths_are_checked() {
        assert!(kerl(&[]).is_err());
        assert!(kerl(&[0; 242]).is_err());
        assert!(curl_p81(&[0; 244]).is_err());
        assert!(matches!(kerl(&[2; 243]), Err(Error::NotTrit { .. })));
        assert!(Kerl::new().squeeze_into(&mut [0; 10]).is_err());
    }
}
