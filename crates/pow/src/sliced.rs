//! Bit-sliced Curl-P-81: the state and the transform.
//!
//! # Representation
//!
//! A Curl state is 729 trits. Here every trit is held as two bit planes,
//! `lo` and `hi`, and bit `l` of both planes belongs to candidate `l`: one
//! state value carries [`Lane::LANES`] independent Curl states, and one pass
//! of bitwise operations transforms all of them at once.
//!
//! The encoding of one trit in one lane is
//!
//! | trit | lo | hi |
//! |------|----|----|
//! |  -1  | 1  | 0  |
//! |   0  | 1  | 1  |
//! |   1  | 0  | 1  |
//!
//! (`lo = 0, hi = 0` never occurs). Under this encoding the Curl-P S-box
//! `g(a, b)` (truth table: `g(-1,-1)=1, g(0,-1)=0, g(1,-1)=-1, g(-1,0)=1,
//! g(0,0)=-1, g(1,0)=0, g(-1,1)=-1, g(0,1)=1, g(1,1)=0`) needs only four
//! bitwise operations:
//!
//! ```text
//! lo' = a.hi ^ (a.lo & !b.lo)
//! hi' = a.lo ^ (b.hi & lo')
//! ```
//!
//! This circuit (and the encoding) came from an exhaustive search over all
//! 24 two-bit encodings and all circuits of AND/OR/XOR/AND-NOT gates; no
//! circuit with three gates exists for any encoding, and the tests check it
//! against an independent Curl-P implementation.
//!
//! # The round, in place
//!
//! One Curl-P round computes `new[i] = g(old[t(i)], old[t(i+1)])` for
//! `i in 0..729`, with `t(i) = 364·i mod 729`. Walking `i` upwards, the value
//! `old[t(i+1)]` is read once from memory (as `b`) and then kept in a register
//! (as the next `a`), so its memory slot is free the moment it has been read:
//! the round stores `new[i]` into the slot of `old[t(i+1)]`. The transform
//! therefore needs one buffer, not two (the state of 512 lanes is 91 KiB,
//! so this matters for the cache), and never copies state between rounds.
//!
//! The price is that logical trits move: after a round, logical trit `j` sits
//! in memory slot `α·j + β (mod 729)` for constants that depend only on the
//! round number. [`ROUNDS`] holds, for every round, where the walk starts and
//! its stride; [`layout_before`] says where logical trit `j` sits before a
//! given round.
//!
//! # Shortcuts used by the search
//!
//! - [`State::round_from`] runs a round from one state into another, so a
//!   state that must be kept is never copied first.
//! - [`State::round_output`] computes one output of a round alone: the search
//!   patches the two round-0 outputs a changed counter trit affects instead
//!   of redoing round 0.
//! - [`State::last_two_rounds_zero_lanes`] computes only the hash trits that
//!   are checked (and the round-79 trits they need), and stops as soon as no
//!   lane can succeed.

/// Number of trits in the Curl state.
pub(crate) const STATE_TRITS: usize = 729;
/// Number of trits absorbed or squeezed per transform.
pub(crate) const RATE_TRITS: usize = 243;
/// Number of rounds of Curl-P-81.
pub(crate) const NUM_ROUNDS: usize = 81;
/// `t(i+1) - t(i)` for the natural layout.
const STEP: usize = 364;

/// Where one round of the in-place walk starts and the stride between the
/// slots it visits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RoundWalk {
    /// Memory slot of logical trit `t(0) = 0` at the start of the round.
    pub(crate) start: usize,
    /// Distance between the memory slots of logical `t(i)` and `t(i+1)`.
    pub(crate) stride: usize,
}

/// Memory layout of the state: logical trit `j` is in slot
/// `(scale·j + offset) mod 729`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) scale: usize,
    pub(crate) offset: usize,
}

impl Layout {
    /// Memory slot of logical trit `j`.
    pub(crate) const fn slot(self, j: usize) -> usize {
        (self.scale * j + self.offset) % STATE_TRITS
    }
}

/// The layout before round `round` (round 0 starts from the natural layout).
pub(crate) const fn layout_before(round: usize) -> Layout {
    let mut layout = Layout { scale: 1, offset: 0 };
    let mut r = 0;
    while r < round {
        // Slot visited for logical t(i+1) = 364·(i+1) receives new[i], so the
        // new layout is j ↦ scale·364·(j+1) + offset.
        let stride = (layout.scale * STEP) % STATE_TRITS;
        layout = Layout {
            scale: stride,
            offset: (layout.offset + stride) % STATE_TRITS,
        };
        r += 1;
    }
    layout
}

/// Start and stride of every round's walk.
pub(crate) const ROUNDS: [RoundWalk; NUM_ROUNDS] = {
    let mut rounds = [RoundWalk { start: 0, stride: 0 }; NUM_ROUNDS];
    let mut r = 0;
    while r < NUM_ROUNDS {
        let layout = layout_before(r);
        rounds[r] = RoundWalk {
            start: layout.offset,
            stride: (layout.scale * STEP) % STATE_TRITS,
        };
        r += 1;
    }
    rounds
};

/// Layout of the state after a full transform of 81 rounds.
#[cfg(test)]
pub(crate) const HASH_LAYOUT: Layout = layout_before(NUM_ROUNDS);

/// A bundle of independent bits, one per candidate: the unit of bit slicing.
///
/// Implementations must be plain bitwise operations on fixed-size data so the
/// compiler can keep them in vector registers.
pub(crate) trait Lane: Copy {
    /// Number of candidates carried by one value.
    const LANES: usize;
    /// All bits clear.
    const ZERO: Self;
    /// All bits set.
    const ONES: Self;
    /// Bitwise AND.
    fn and(self, other: Self) -> Self;
    /// Bitwise XOR.
    fn xor(self, other: Self) -> Self;
    /// `self & !other`.
    fn and_not(self, other: Self) -> Self;
    /// Is any bit set?
    fn any(self) -> bool;
    /// Index of the lowest set bit, if any.
    fn first_set(self) -> Option<usize>;
    /// Value of bit `lane`.
    fn bit(self, lane: usize) -> bool;
    /// Returns `self` with bit `lane` set to `value`.
    fn with_bit(self, lane: usize, value: bool) -> Self;
}

/// `N` 64-bit words side by side. Every operation is a loop over the words,
/// which the compiler turns into SSE/AVX2 (or NEON, ...) instructions when the
/// calling function is compiled with those features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Words<const N: usize>(pub(crate) [u64; N]);

impl<const N: usize> Lane for Words<N> {
    const LANES: usize = 64 * N;
    const ZERO: Self = Words([0; N]);
    const ONES: Self = Words([u64::MAX; N]);

    #[inline(always)]
    fn and(self, other: Self) -> Self {
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(other.0) {
            *o &= b;
        }
        Words(out)
    }

    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(other.0) {
            *o ^= b;
        }
        Words(out)
    }

    #[inline(always)]
    fn and_not(self, other: Self) -> Self {
        let mut out = self.0;
        for (o, b) in out.iter_mut().zip(other.0) {
            *o &= !b;
        }
        Words(out)
    }

    #[inline(always)]
    fn any(self) -> bool {
        self.0.iter().fold(0, |acc, w| acc | w) != 0
    }

    fn first_set(self) -> Option<usize> {
        self.0
            .iter()
            .enumerate()
            .find(|(_, w)| **w != 0)
            .map(|(i, w)| 64 * i + w.trailing_zeros() as usize)
    }

    fn bit(self, lane: usize) -> bool {
        (self.0[lane / 64] >> (lane % 64)) & 1 == 1
    }

    fn with_bit(self, lane: usize, value: bool) -> Self {
        let mut out = self.0;
        let mask = 1u64 << (lane % 64);
        if value {
            out[lane / 64] |= mask;
        } else {
            out[lane / 64] &= !mask;
        }
        Words(out)
    }
}

/// One trit of every lane: two bit planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlicedTrit<L> {
    pub(crate) lo: L,
    pub(crate) hi: L,
}

impl<L: Lane> SlicedTrit<L> {
    /// The trit 0 in every lane (the initial Curl state).
    pub(crate) const ZERO: Self = SlicedTrit {
        lo: L::ONES,
        hi: L::ONES,
    };

    /// The same trit in every lane. `trit` must be -1, 0 or 1.
    #[inline]
    pub(crate) fn splat(trit: i8) -> Self {
        debug_assert!((-1..=1).contains(&trit));
        SlicedTrit {
            lo: if trit == 1 { L::ZERO } else { L::ONES },
            hi: if trit == -1 { L::ZERO } else { L::ONES },
        }
    }

    /// The trit of lane `lane`.
    pub(crate) fn get(self, lane: usize) -> i8 {
        match (self.lo.bit(lane), self.hi.bit(lane)) {
            (true, true) => 0,
            (false, true) => 1,
            (true, false) => -1,
            // Unreachable for states built by this module (and g never
            // produces it from valid inputs); read it as 0 rather than panic.
            (false, false) => 0,
        }
    }

    /// Returns `self` with the trit of lane `lane` set to `trit`.
    pub(crate) fn with(self, lane: usize, trit: i8) -> Self {
        debug_assert!((-1..=1).contains(&trit));
        SlicedTrit {
            lo: self.lo.with_bit(lane, trit != 1),
            hi: self.hi.with_bit(lane, trit != -1),
        }
    }

    /// Lanes in which this trit is 0.
    #[inline(always)]
    pub(crate) fn zero_lanes(self) -> L {
        self.lo.and(self.hi)
    }
}

/// The Curl-P S-box on every lane: the trit at `t(i)` is `a`, the one at
/// `t(i+1)` is `b`.
#[inline(always)]
pub(crate) fn sbox<L: Lane>(a: SlicedTrit<L>, b: SlicedTrit<L>) -> SlicedTrit<L> {
    let lo = a.hi.xor(a.lo.and_not(b.lo));
    let hi = a.lo.xor(b.hi.and(lo));
    SlicedTrit { lo, hi }
}

/// A full Curl state for every lane, in some [`Layout`].
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub(crate) struct State<L>(pub(crate) [SlicedTrit<L>; STATE_TRITS]);

impl<L: Lane> State<L> {
    /// The all-zero state in natural layout.
    pub(crate) fn zero() -> Self {
        State([SlicedTrit::ZERO; STATE_TRITS])
    }

    /// One round, in place: reads the state in the layout described by
    /// `walk` and leaves it in the layout of the next round.
    #[inline(always)]
    pub(crate) fn round(&mut self, walk: RoundWalk) {
        let trits = self.0.as_mut_ptr();
        // SAFETY: both pointers come from the same `&mut` to the whole array.
        unsafe { walk_round(trits, trits, walk) }
    }

    /// One round from `source` into `self`: afterwards `self` holds what
    /// `source.round(walk)` would have left in `source`, which is unchanged.
    /// Saves copying a state that must be kept.
    #[inline(always)]
    pub(crate) fn round_from(&mut self, source: &State<L>, walk: RoundWalk) {
        // SAFETY: `source` is borrowed shared and `self` exclusively, so the
        // two arrays are distinct and each pointer covers its whole array.
        unsafe { walk_round(source.0.as_ptr(), self.0.as_mut_ptr(), walk) }
    }

    /// Rounds `rounds` of the transform, in place; the state must be in
    /// `layout_before(rounds.start)` and is left in
    /// `layout_before(rounds.end)`.
    #[inline(always)]
    pub(crate) fn rounds(&mut self, rounds: std::ops::Range<usize>) {
        for walk in &ROUNDS[rounds] {
            self.round(*walk);
        }
    }

    /// Output `i` (logical index) of the round described by `walk`, computed
    /// alone and not stored.
    #[inline(always)]
    pub(crate) fn round_output(&self, walk: RoundWalk, i: usize) -> SlicedTrit<L> {
        // Output i combines logical t(i) and t(i+1), which sit at
        // start + stride·i and start + stride·(i+1).
        let slot = |i: usize| (walk.start + walk.stride * (i % STATE_TRITS)) % STATE_TRITS;
        sbox(self.0[slot(i)], self.0[slot(i + 1)])
    }

    /// The full 81-round transform, natural layout in and natural layout out.
    /// Not for hot loops: it reorders the state after the rounds. (Tests
    /// only: hashing one input is `packed`'s job.)
    #[cfg(test)]
    pub(crate) fn transform(&mut self) {
        self.rounds(0..NUM_ROUNDS);
        let permuted = self.0;
        for (j, trit) in self.0.iter_mut().enumerate() {
            *trit = permuted[HASH_LAYOUT.slot(j)];
        }
    }

    /// Copies a 243-trit chunk into the first third of a natural-layout state
    /// (same value in every lane) and transforms: one absorb step.
    #[cfg(test)]
    pub(crate) fn absorb_chunk(&mut self, chunk: &[i8]) {
        debug_assert_eq!(chunk.len(), RATE_TRITS);
        for (slot, trit) in self.0.iter_mut().zip(chunk) {
            *slot = SlicedTrit::splat(*trit);
        }
        self.transform();
    }

    /// The last two rounds of the transform, for the nonce search. Starting
    /// from the layout before round 79, computes only the hash trits
    /// `[243 - weight, 243)` (and the few round-79 outputs they need) and
    /// returns the lanes in which all of them are 0. Nothing is stored.
    /// `weight` must be at most 243.
    #[inline(always)]
    pub(crate) fn last_two_rounds_zero_lanes(&self, weight: usize) -> L {
        debug_assert!(weight <= RATE_TRITS);
        // Hash trit k is g(x[t(k)], x[t(k+1)]) where x is the output of
        // round 79, itself computed from this state one trit at a time.
        let second_last = ROUNDS[NUM_ROUNDS - 2];
        let middle = |k: usize| self.round_output(second_last, (STEP * k) % STATE_TRITS);
        let mut zero = L::ONES;
        let mut b = middle(RATE_TRITS);
        for k in (RATE_TRITS - weight..RATE_TRITS).rev() {
            let a = middle(k);
            zero = zero.and(sbox(a, b).zero_lanes());
            if !zero.any() {
                break;
            }
            b = a;
        }
        zero
    }
}

/// One round of the walk described in the module documentation, reading
/// `source` and writing `target` (which may be equal: then it runs in place).
///
/// # Safety
///
/// `source` and `target` must each point to an array of [`STATE_TRITS`]
/// elements, readable and (for `target`) writable for the whole call, and
/// either be equal or not overlap.
#[inline(always)]
unsafe fn walk_round<L: Lane>(source: *const SlicedTrit<L>, target: *mut SlicedTrit<L>, walk: RoundWalk) {
    // This loop is the whole cost of the search. With safe indexing every
    // step pays for a bounds check and an index-to-address shift, about a
    // third of its instructions, so it walks byte offsets instead.
    assert!(walk.start < STATE_TRITS && walk.stride < STATE_TRITS);
    let size = std::mem::size_of::<SlicedTrit<L>>();
    let end = STATE_TRITS * size;
    let stride = walk.stride * size;
    let mut offset = walk.start * size;
    // SAFETY (for every access below): `offset < end` always holds. It
    // starts below `end` (asserted above) and each step adds `stride < end`
    // and then subtracts `end` if the sum reached it, so it stays in
    // `0..end`, and it is a multiple of `size`. So `source + offset` and
    // `target + offset` address elements of the caller's arrays, which are
    // aligned for `SlicedTrit<L>`. In place, slot `offset` is read before it
    // is written and never read again in this round (the in-place argument
    // in the module documentation); out of place the arrays are disjoint.
    let mut a = unsafe { source.byte_add(offset).read() };
    for _ in 0..STATE_TRITS {
        offset += stride;
        if offset >= end {
            offset -= end;
        }
        debug_assert!(offset < end);
        // SAFETY: see above.
        unsafe {
            let b = source.byte_add(offset).read();
            target.byte_add(offset).write(sbox(a, b));
            a = b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Curl-P truth table as published: index `a + 4·b + 5`.
    fn truth_table(a: i8, b: i8) -> i8 {
        const TABLE: [i8; 11] = [1, 0, -1, 2, 1, -1, 0, 2, -1, 1, 0];
        TABLE[(a + 4 * b + 5) as usize]
    }

    #[test]
    fn sbox_matches_truth_table() {
        for a in -1..=1 {
            for b in -1..=1 {
                let out = sbox::<Words<1>>(SlicedTrit::splat(a), SlicedTrit::splat(b));
                assert_eq!(out, SlicedTrit::splat(truth_table(a, b)), "g({a}, {b})");
            }
        }
    }

    /// Straightforward scalar round from the definition, as a second opinion
    /// on the in-place walk and the layout bookkeeping.
    fn scalar_transform(state: &mut [i8; STATE_TRITS]) {
        for _ in 0..NUM_ROUNDS {
            let old = *state;
            for (i, out) in state.iter_mut().enumerate() {
                let a = old[(STEP * i) % STATE_TRITS];
                let b = old[(STEP * (i + 1)) % STATE_TRITS];
                *out = truth_table(a, b);
            }
        }
    }

    #[test]
    fn in_place_rounds_match_scalar_rounds() {
        let mut scalar = [0i8; STATE_TRITS];
        let mut x: u32 = 12345;
        for t in scalar.iter_mut() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *t = ((x >> 16) % 3) as i8 - 1;
        }
        let mut sliced = State::<Words<2>>::zero();
        for (s, t) in sliced.0.iter_mut().zip(scalar) {
            *s = SlicedTrit::splat(t);
        }
        scalar_transform(&mut scalar);
        sliced.transform();
        for lane in [0, 77, 127] {
            let got: Vec<i8> = sliced.0.iter().map(|t| t.get(lane)).collect();
            assert_eq!(got, scalar.to_vec());
        }
    }

    #[test]
    fn layouts_are_permutations() {
        for r in 0..=NUM_ROUNDS {
            let layout = layout_before(r);
            let mut seen = [false; STATE_TRITS];
            for j in 0..STATE_TRITS {
                seen[layout.slot(j)] = true;
            }
            assert!(seen.iter().all(|s| *s), "round {r}");
        }
    }

    #[test]
    fn lanes_round_trip() {
        let mut t = SlicedTrit::<Words<4>>::ZERO;
        for lane in 0..256 {
            t = t.with(lane, (lane % 3) as i8 - 1);
        }
        for lane in 0..256 {
            assert_eq!(t.get(lane), (lane % 3) as i8 - 1);
        }
    }

    use crypto::encoding::ternary::{T1B1Buf, TritBuf, Trits, T1B1};
    use crypto::hashes::ternary::curl_p::CurlP;
    use proptest::prelude::*;

    /// Curl-P-81 of `trits` by iota-crypto, an implementation independent of
    /// this module.
    fn reference_hash(trits: &[i8]) -> Vec<i8> {
        let input = Trits::<T1B1>::try_from_raw(trits, trits.len()).expect("valid trits");
        let hash: TritBuf<T1B1Buf> = CurlP::new().digest(input);
        hash.as_i8_slice().to_vec()
    }

    /// A multi-lane state whose lane `l` holds `states[l]` (natural layout).
    fn lanes_state<L: Lane>(states: &[Vec<i8>]) -> State<L> {
        let mut state = State::<L>::zero();
        for (lane, trits) in states.iter().enumerate() {
            for (slot, trit) in state.0.iter_mut().zip(trits) {
                *slot = slot.with(lane, *trit);
            }
        }
        state
    }

    fn trit() -> impl Strategy<Value = i8> {
        -1i8..=1
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Every lane of a 512-lane transform equals iota-crypto's Curl-P-81
        /// of that lane's input: 512 different one-chunk inputs at once.
        #[test]
        fn every_lane_matches_iota_crypto(seed in any::<u64>()) {
            let mut x = seed;
            let chunks: Vec<Vec<i8>> = (0..Words::<8>::LANES)
                .map(|_| {
                    (0..RATE_TRITS)
                        .map(|_| {
                            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                            ((x >> 33) % 3) as i8 - 1
                        })
                        .collect()
                })
                .collect();
            let mut state = lanes_state::<Words<8>>(&chunks);
            state.transform();
            for (lane, chunk) in chunks.iter().enumerate() {
                let ours: Vec<i8> = state.0[..RATE_TRITS].iter().map(|t| t.get(lane)).collect();
                prop_assert_eq!(ours, reference_hash(chunk), "lane {}", lane);
            }
        }

        /// Absorbing several chunks on one lane equals iota-crypto.
        #[test]
        fn absorb_matches_iota_crypto(input in (1usize..=4).prop_flat_map(|chunks| {
            proptest::collection::vec(trit(), chunks * RATE_TRITS)
        })) {
            let mut state = State::<Words<1>>::zero();
            for chunk in input.chunks(RATE_TRITS) {
                state.absorb_chunk(chunk);
            }
            let ours: Vec<i8> = state.0[..RATE_TRITS].iter().map(|t| t.get(0)).collect();
            prop_assert_eq!(ours, reference_hash(&input));
        }

        /// The shortcuts of the search agree with full rounds: a single
        /// output, an out-of-place round, and the sparse last two rounds.
        #[test]
        fn shortcuts_match_full_rounds(
            states in proptest::collection::vec(proptest::collection::vec(trit(), STATE_TRITS), 64),
            weight in 1usize..=4,
        ) {
            let start = lanes_state::<Words<1>>(&states);

            let mut in_place = start.clone();
            in_place.round(ROUNDS[0]);
            let mut out_of_place = State::<Words<1>>::zero();
            out_of_place.round_from(&start, ROUNDS[0]);
            prop_assert_eq!(&in_place.0[..], &out_of_place.0[..]);
            let after = layout_before(1);
            for i in [0, 1, 364, 727, 728] {
                prop_assert_eq!(start.round_output(ROUNDS[0], i), in_place.0[after.slot(i)]);
            }

            let mut tail = start.clone();
            tail.rounds(0..NUM_ROUNDS - 2);
            let sparse = tail.last_two_rounds_zero_lanes(weight);
            let mut full = start;
            full.rounds(0..NUM_ROUNDS);
            let mut expected = Words::<1>::ONES;
            for k in RATE_TRITS - weight..RATE_TRITS {
                expected = expected.and(full.0[HASH_LAYOUT.slot(k)].zero_lanes());
            }
            prop_assert_eq!(sparse, expected);
        }
    }
}
