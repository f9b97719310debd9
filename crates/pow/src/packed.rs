//! Curl-P-81 of one input: the state packed along trits.
//!
//! The search hashes 512 candidates at once with one bit per candidate (see
//! `sliced`). Hashing a single input that way wastes all but one lane, and it
//! is needed once per search (the 32 chunks before the nonce) and by
//! [`crate::curl_p81`]. Here instead the 729 trits of one state are packed
//! into two 768-bit planes (bit `m` of a plane belongs to state slot `m`), so
//! one bitwise operation works on 64 trits.
//!
//! A round computes `new[i] = g(old[t(i)], old[t(i+1)])` with
//! `t(i) = 364·i mod 729`. Relabel the slots every round: if slot `m` holds
//! logical trit `j = a·m` (mod 729), then choosing the next labelling
//! `a' = a / 364` gives
//!
//! ```text
//! new slot m = g(slot m, slot m + d)      with d = 364 / a = 1 / a'
//! ```
//!
//! for every `m` at once: the state combined with itself rotated by `d`. The
//! packed state keeps `1 / a` (called `inverse_scale`) to find logical trits.

use crate::sliced::{Lane, SlicedTrit, Words, RATE_TRITS, STATE_TRITS};

/// 64-bit words per plane: 729 bits need 12 (the top 39 bits stay zero).
const WORDS: usize = STATE_TRITS.div_ceil(64);
/// Valid bits of the last word.
const LAST_WORD_MASK: u64 = (1 << (STATE_TRITS % 64)) - 1;
const STEP: usize = 364;

/// One Curl state, packed along trits, with the trit encoding of `sliced`
/// (`-1 = (lo 1, hi 0)`, `0 = (1, 1)`, `1 = (0, 1)`).
#[derive(Clone, Debug)]
pub(crate) struct Packed {
    lo: [u64; WORDS],
    hi: [u64; WORDS],
    /// Logical trit `j` is in slot `j · inverse_scale mod 729`.
    inverse_scale: usize,
}

impl Packed {
    /// The all-zero state.
    pub(crate) fn new() -> Packed {
        let mut ones = [u64::MAX; WORDS];
        ones[WORDS - 1] = LAST_WORD_MASK;
        Packed {
            lo: ones,
            hi: ones,
            inverse_scale: 1,
        }
    }

    fn slot(&self, j: usize) -> usize {
        (j * self.inverse_scale) % STATE_TRITS
    }

    /// Logical trit `j`.
    pub(crate) fn get(&self, j: usize) -> i8 {
        let m = self.slot(j);
        let trit = SlicedTrit {
            lo: Words([self.lo[m / 64] >> (m % 64)]),
            hi: Words([self.hi[m / 64] >> (m % 64)]),
        };
        trit.get(0)
    }

    /// Sets logical trit `j` to `trit` (-1, 0 or 1).
    pub(crate) fn set(&mut self, j: usize, trit: i8) {
        let m = self.slot(j);
        let bit = 1u64 << (m % 64);
        let encoded = SlicedTrit::<Words<1>>::splat(trit);
        for (plane, value) in [(&mut self.lo, encoded.lo), (&mut self.hi, encoded.hi)] {
            if value.any() {
                plane[m / 64] |= bit;
            } else {
                plane[m / 64] &= !bit;
            }
        }
    }

    /// Absorbs one 243-trit chunk: copies it over the first third of the
    /// state and transforms.
    pub(crate) fn absorb_chunk(&mut self, chunk: &[i8]) {
        debug_assert_eq!(chunk.len(), RATE_TRITS);
        for (j, trit) in chunk.iter().enumerate() {
            self.set(j, *trit);
        }
        self.transform();
    }

    /// The 81 rounds.
    fn transform(&mut self) {
        for _ in 0..crate::sliced::NUM_ROUNDS {
            // a' = a / 364, so 1/a' = 364 / a; and d = 1/a'.
            self.inverse_scale = (self.inverse_scale * STEP) % STATE_TRITS;
            let d = self.inverse_scale;
            let lo_rotated = rotate(&self.lo, d);
            let hi_rotated = rotate(&self.hi, d);
            for w in 0..WORDS {
                let out = crate::sliced::sbox(
                    SlicedTrit {
                        lo: Words([self.lo[w]]),
                        hi: Words([self.hi[w]]),
                    },
                    SlicedTrit {
                        lo: Words([lo_rotated[w]]),
                        hi: Words([hi_rotated[w]]),
                    },
                );
                self.lo[w] = out.lo.0[0];
                self.hi[w] = out.hi.0[0];
            }
            // g of the zero padding is not zero; keep the padding clear.
            self.lo[WORDS - 1] &= LAST_WORD_MASK;
            self.hi[WORDS - 1] &= LAST_WORD_MASK;
        }
    }
}

/// Bit `m` of the result is bit `(m + d) mod 729` of `plane`, for a plane
/// whose bits at and above 729 are zero (and so are the result's).
fn rotate(plane: &[u64; WORDS], d: usize) -> [u64; WORDS] {
    debug_assert!(d < STATE_TRITS);
    let mut out = shift_down(plane, d);
    let wrapped = shift_up(plane, STATE_TRITS - d);
    for (o, w) in out.iter_mut().zip(wrapped) {
        *o |= w;
    }
    out[WORDS - 1] &= LAST_WORD_MASK;
    out
}

/// Bit `m` of the result is bit `m + n` of `plane` (zero beyond the end).
fn shift_down(plane: &[u64; WORDS], n: usize) -> [u64; WORDS] {
    let (words, bits) = (n / 64, n % 64);
    let word = |i: usize| plane.get(i).copied().unwrap_or(0);
    std::array::from_fn(|i| {
        let low = word(i + words) >> bits;
        let high = if bits == 0 {
            0
        } else {
            word(i + words + 1) << (64 - bits)
        };
        low | high
    })
}

/// Bit `m` of the result is bit `m - n` of `plane` (zero below the start).
fn shift_up(plane: &[u64; WORDS], n: usize) -> [u64; WORDS] {
    let (words, bits) = (n / 64, n % 64);
    let word = |i: usize| i.checked_sub(words).map_or(0, |j| plane.get(j).copied().unwrap_or(0));
    std::array::from_fn(|i| {
        let high = word(i) << bits;
        let low = if bits == 0 || i == 0 {
            0
        } else {
            word(i - 1) >> (64 - bits)
        };
        high | low
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bits(plane: &[u64; WORDS]) -> Vec<bool> {
        (0..STATE_TRITS).map(|m| (plane[m / 64] >> (m % 64)) & 1 == 1).collect()
    }

    proptest! {
        #[test]
        fn rotate_moves_every_bit(seed in proptest::array::uniform12(any::<u64>()), d in 0usize..STATE_TRITS) {
            let mut plane = seed;
            plane[WORDS - 1] &= LAST_WORD_MASK;
            let before = bits(&plane);
            let after = bits(&rotate(&plane, d));
            for m in 0..STATE_TRITS {
                prop_assert_eq!(after[m], before[(m + d) % STATE_TRITS]);
            }
        }

        #[test]
        fn packed_equals_sliced(chunks in proptest::collection::vec(-1i8..=1, RATE_TRITS * 2)) {
            let mut packed = Packed::new();
            let mut sliced = crate::sliced::State::<Words<1>>::zero();
            for chunk in chunks.chunks(RATE_TRITS) {
                packed.absorb_chunk(chunk);
                sliced.absorb_chunk(chunk);
            }
            for j in 0..STATE_TRITS {
                prop_assert_eq!(packed.get(j), sliced.0[j].get(0), "trit {}", j);
            }
        }
    }
}
