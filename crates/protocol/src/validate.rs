//! Checking a bundle the way a node does, reporting every rule.
//!
//! Used by the devnet (to refuse what the real network refuses), by Hub (to
//! check what it is about to sign or has found on the Tangle) and by
//! `hub util validate-bundle`. The report lists each rule checked and every
//! violation found, not just the first.

use std::fmt;

use crate::bundle::bundle_hash;
use crate::transaction::Transaction;
use crate::types::{Fragment, Hash};
use crate::wots::recover_address;
use crate::SUPPLY;

/// A rule a bundle must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// At least one transaction.
    NotEmpty,
    /// `currentIndex` runs 0, 1, …, n-1 without gaps or duplicates.
    Indexes,
    /// Every `lastIndex` is n-1.
    LastIndex,
    /// Every value is within the supply and the running total never leaves it.
    ValueRange,
    /// Values sum to zero.
    ValuesSumToZero,
    /// Addresses moving value end in a zero trit.
    ValueAddresses,
    /// Every `bundle` field equals the Kerl hash of the essences.
    BundleHash,
    /// Every input's signature fragments verify for its address.
    Signatures,
    /// Once attached, transaction i's trunk is the hash of transaction i+1.
    TrunkChain,
    /// Each transaction's hash meets the minimum weight magnitude (when asked).
    ProofOfWork,
}

impl Rule {
    /// Short description for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::NotEmpty => "bundle has at least one transaction",
            Rule::Indexes => "currentIndex runs 0..=lastIndex without gaps or duplicates",
            Rule::LastIndex => "every lastIndex equals the number of transactions minus one",
            Rule::ValueRange => "values and running total stay within the supply",
            Rule::ValuesSumToZero => "values sum to zero",
            Rule::ValueAddresses => "addresses moving value have a zero last trit",
            Rule::BundleHash => "bundle field equals the Kerl hash of the essences",
            Rule::Signatures => "input signatures verify for their addresses",
            Rule::TrunkChain => "each trunk is the hash of the next transaction (once attached)",
            Rule::ProofOfWork => "transaction hashes meet the minimum weight magnitude",
        }
    }
}

/// A broken rule and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub rule: Rule,
    /// Index (position after sorting by currentIndex) of the offending transaction, if one.
    pub transaction: Option<usize>,
    /// What exactly is wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transaction {
            Some(i) => write!(f, "{:?} (transaction {i}): {}", self.rule, self.detail),
            None => write!(f, "{:?}: {}", self.rule, self.detail),
        }
    }
}

/// The outcome of [`validate`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every rule that was checked, in order.
    pub checked: Vec<Rule>,
    /// Every violation found.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether no rule was broken.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether `rule` was broken.
    pub fn broke(&self, rule: Rule) -> bool {
        self.violations.iter().any(|v| v.rule == rule)
    }

    fn fail(&mut self, rule: Rule, transaction: Option<usize>, detail: impl Into<String>) {
        self.violations.push(Violation {
            rule,
            transaction,
            detail: detail.into(),
        });
    }
}

/// What to check beyond the bundle rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also require each transaction hash to end in this many zero trits.
    pub min_weight_magnitude: Option<u8>,
}

/// Validates transactions claimed to form one bundle, given in any order
/// (they are sorted by `currentIndex`).
pub fn validate(transactions: &[Transaction], options: &Options) -> Report {
    let mut report = Report::default();
    report.checked.push(Rule::NotEmpty);
    if transactions.is_empty() {
        report.fail(Rule::NotEmpty, None, "no transactions");
        return report;
    }
    let mut txs: Vec<&Transaction> = transactions.iter().collect();
    txs.sort_by_key(|tx| tx.current_index.get());
    let n = txs.len();

    report.checked.push(Rule::Indexes);
    for (i, tx) in txs.iter().enumerate() {
        if tx.current_index.get() != i as i64 {
            report.fail(
                Rule::Indexes,
                Some(i),
                format!("currentIndex is {}, expected {i}", tx.current_index.get()),
            );
        }
    }

    report.checked.push(Rule::LastIndex);
    for (i, tx) in txs.iter().enumerate() {
        if tx.last_index.get() != n as i64 - 1 {
            report.fail(
                Rule::LastIndex,
                Some(i),
                format!("lastIndex is {}, expected {}", tx.last_index.get(), n - 1),
            );
        }
    }

    report.checked.push(Rule::ValueRange);
    report.checked.push(Rule::ValuesSumToZero);
    let mut total: i64 = 0;
    for (i, tx) in txs.iter().enumerate() {
        // Each value is within the supply by construction; the running total may not be.
        total += tx.value.get();
        if total.abs() > SUPPLY {
            report.fail(Rule::ValueRange, Some(i), "running total exceeds the supply");
            break;
        }
    }
    if total != 0 && !report.broke(Rule::ValueRange) {
        report.fail(Rule::ValuesSumToZero, None, format!("values sum to {total}"));
    }

    report.checked.push(Rule::ValueAddresses);
    for (i, tx) in txs.iter().enumerate() {
        if tx.value.get() != 0 && !tx.address.last_trit_is_zero() {
            report.fail(
                Rule::ValueAddresses,
                Some(i),
                "address moving value has a non-zero last trit",
            );
        }
    }

    report.checked.push(Rule::BundleHash);
    let ordered: Vec<Transaction> = txs.iter().map(|tx| (*tx).clone()).collect();
    let expected = bundle_hash(&ordered).expect("the bundle is not empty");
    for (i, tx) in txs.iter().enumerate() {
        if tx.bundle != expected {
            report.fail(
                Rule::BundleHash,
                Some(i),
                format!("bundle is {}, essences hash to {expected}", tx.bundle),
            );
        }
    }

    report.checked.push(Rule::Signatures);
    check_signatures(&txs, &mut report);

    report.checked.push(Rule::TrunkChain);
    let attached = txs
        .iter()
        .any(|tx| !tx.trunk.is_null() || !tx.branch.is_null() || !tx.nonce.is_null());
    if attached {
        for i in 0..n.saturating_sub(1) {
            if txs[i].trunk != txs[i + 1].hash() {
                report.fail(
                    Rule::TrunkChain,
                    Some(i),
                    "trunk is not the hash of the next transaction",
                );
            }
        }
    }

    if let Some(mwm) = options.min_weight_magnitude {
        report.checked.push(Rule::ProofOfWork);
        for (i, tx) in txs.iter().enumerate() {
            if !meets_weight(&tx.hash(), mwm) {
                report.fail(
                    Rule::ProofOfWork,
                    Some(i),
                    format!("hash has fewer than {mwm} trailing zero trits"),
                );
            }
        }
    }
    report
}

/// Whether a hash ends in at least `mwm` zero trits.
pub fn meets_weight(hash: &Hash, mwm: u8) -> bool {
    let trits = hash.to_trits();
    usize::from(mwm) <= trits.len() && trits[trits.len() - usize::from(mwm)..].iter().all(|&t| t == 0)
}

fn check_signatures(txs: &[&Transaction], report: &mut Report) {
    let bundle = txs[0].bundle;
    let mut i = 0;
    while i < txs.len() {
        let tx = txs[i];
        if tx.value.get() >= 0 {
            i += 1;
            continue;
        }
        let mut fragments: Vec<Fragment> = vec![tx.signature_message_fragment.clone()];
        let mut j = i + 1;
        while j < txs.len() && fragments.len() < 3 && txs[j].address == tx.address && txs[j].value.get() == 0 {
            fragments.push(txs[j].signature_message_fragment.clone());
            j += 1;
        }
        match recover_address(&bundle, &fragments) {
            Ok(address) if address == tx.address => {}
            _ => report.fail(
                Rule::Signatures,
                Some(i),
                format!(
                    "signature ({} fragment(s)) does not verify for {}",
                    fragments.len(),
                    tx.address
                ),
            ),
        }
        i = j;
    }
}
