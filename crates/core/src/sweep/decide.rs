//! What the attacher does with a signed sweep, decided from what the node
//! was seen to say (hub-behaviour.md §7.2, with its fixes). Pure: the
//! attacher observes, calls [`decide`], then acts, so every rule here is
//! table-tested without a node.
//!
//! The rules, in order: any attachment (ours or a third party's) that is
//! confirmed confirms the sweep; else the newest consistent attachment
//! younger than the promotion age is promoted; else the sweep is
//! reattached. Third-party attachments that are consistent are recorded as
//! ours.

use hub_protocol::Hash;

/// One attachment (tail) of a sweep, as observed this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservedTail {
    /// The tail transaction.
    pub hash: Hash,
    /// When Hub recorded it, ms; `None` for a third party's, not recorded yet.
    pub recorded_at_ms: Option<i64>,
    /// Included in the latest milestone.
    pub confirmed: bool,
    /// Whether the node judges it consistent; `None` when not asked (too old to promote).
    pub consistent: Option<bool>,
}

/// Everything observed of one sweep: its recorded tails newest first, then
/// third parties' tails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The tails.
    pub tails: Vec<ObservedTail>,
}

/// What to do with a sweep this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// This tail is confirmed: mark the sweep confirmed, attach nothing more.
    Confirm(Hash),
    /// Promote this young, consistent tail.
    Promote(Hash),
    /// Attach the sweep again on fresh tips.
    Reattach,
}

impl ObservedTail {
    fn young(&self, now_ms: i64, max_promotion_age_ms: i64) -> bool {
        self.recorded_at_ms
            .is_none_or(|recorded| now_ms.saturating_sub(recorded) < max_promotion_age_ms)
    }
}

/// Tails recorded per sweep, at most: third parties' copies beyond it are
/// not recorded, so however many copies someone attaches, each attacher
/// tick asks the node about a bounded number of tails.
pub const TRACKED_TAILS_MAX: usize = 64;

impl Observation {
    /// Third parties' tails to record: the consistent ones, as long as the
    /// sweep tracks fewer than [`TRACKED_TAILS_MAX`].
    pub fn to_record(&self) -> Vec<Hash> {
        let tracked = self.tails.iter().filter(|t| t.recorded_at_ms.is_some()).count();
        self.tails
            .iter()
            .filter(|t| t.recorded_at_ms.is_none() && t.consistent == Some(true))
            .map(|t| t.hash)
            .take(TRACKED_TAILS_MAX.saturating_sub(tracked))
            .collect()
    }
}

/// The attacher's decision for one sweep.
pub fn decide(observed: &Observation, now_ms: i64, max_promotion_age_ms: i64) -> Decision {
    if let Some(tail) = observed.tails.iter().find(|t| t.confirmed) {
        return Decision::Confirm(tail.hash);
    }
    // Newest first: third parties' tails (recorded now), then ours, newest first.
    let third_party = observed.tails.iter().filter(|t| t.recorded_at_ms.is_none());
    let ours = observed.tails.iter().filter(|t| t.recorded_at_ms.is_some());
    third_party
        .chain(ours)
        .find(|t| t.consistent == Some(true) && t.young(now_ms, max_promotion_age_ms))
        .map_or(Decision::Reattach, |t| Decision::Promote(t.hash))
}

#[cfg(test)]
mod tests {
    //! Goal: the attacher's policy (§13 H 69–74, the original's situations
    //! and our fixes) over a table of observed states. Method: pure calls.

    use super::*;

    const NOW: i64 = 10_000_000;
    const AGE: i64 = 30 * 60 * 1000;

    fn hash(n: u8) -> Hash {
        const TRYTES: &[u8; 27] = b"9ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let (high, low) = (TRYTES[usize::from(n) / 27], TRYTES[usize::from(n) % 27]);
        Hash::from_trytes(&format!("{}{}{}", char::from(high), char::from(low), "9".repeat(79))).unwrap()
    }

    fn ours(n: u8, age_ms: i64, confirmed: bool, consistent: Option<bool>) -> ObservedTail {
        ObservedTail {
            hash: hash(n),
            recorded_at_ms: Some(NOW - age_ms),
            confirmed,
            consistent,
        }
    }

    fn theirs(n: u8, confirmed: bool, consistent: bool) -> ObservedTail {
        ObservedTail {
            hash: hash(n),
            recorded_at_ms: None,
            confirmed,
            consistent: Some(consistent),
        }
    }

    #[test]
    fn decisions_over_a_table_of_observed_states() {
        let cases: Vec<(&str, Vec<ObservedTail>, Decision)> = vec![
            ("H69: a new sweep has no tail: attach it", vec![], Decision::Reattach),
            (
                "H71: a confirmed tail confirms, even beside consistent young ones",
                vec![ours(1, 0, false, Some(true)), ours(2, 1_000, true, Some(true))],
                Decision::Confirm(hash(2)),
            ),
            (
                "H72: the newest consistent young tail is promoted",
                vec![
                    ours(1, 1_000, false, Some(false)),
                    ours(2, 5_000, false, Some(true)),
                    ours(3, 9_000, false, Some(true)),
                ],
                Decision::Promote(hash(2)),
            ),
            (
                "H73: no tail consistent: reattach",
                vec![ours(1, 1_000, false, Some(false)), ours(2, 2_000, false, Some(false))],
                Decision::Reattach,
            ),
            (
                "H73: consistent tails all older than the promotion age: reattach",
                vec![ours(1, AGE, false, None), ours(2, AGE + 1, false, Some(true))],
                Decision::Reattach,
            ),
            (
                "H74: a confirmed third-party attachment confirms the sweep",
                vec![ours(1, 1_000, false, Some(false)), theirs(2, true, true)],
                Decision::Confirm(hash(2)),
            ),
            (
                "H74: a consistent third-party attachment is the newest: promoted",
                vec![ours(1, 1_000, false, Some(true)), theirs(2, false, true)],
                Decision::Promote(hash(2)),
            ),
            (
                "an inconsistent third-party attachment is ignored",
                vec![ours(1, 1_000, false, Some(true)), theirs(2, false, false)],
                Decision::Promote(hash(1)),
            ),
            (
                "a tail the node would not judge (not asked) is never promoted",
                vec![ours(1, 1_000, false, None)],
                Decision::Reattach,
            ),
        ];
        for (name, tails, expected) in cases {
            let observed = Observation { tails };
            assert_eq!(decide(&observed, NOW, AGE), expected, "{name}");
        }
    }

    #[test]
    fn only_consistent_third_party_tails_are_recorded() {
        let observed = Observation {
            tails: vec![
                ours(1, 0, false, Some(true)),
                theirs(2, false, true),
                theirs(3, false, false),
            ],
        };
        assert_eq!(observed.to_record(), vec![hash(2)]);
    }

    #[test]
    fn third_party_tails_are_recorded_up_to_the_bound() {
        let mut tails: Vec<ObservedTail> = (0..TRACKED_TAILS_MAX as u8 - 2)
            .map(|i| ours(i, 0, false, Some(true)))
            .collect();
        tails.extend((100..110).map(|i| theirs(i, false, true)));
        let observed = Observation { tails };
        assert_eq!(observed.to_record(), vec![hash(100), hash(101)]);
    }
}
