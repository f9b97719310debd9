//! What IRI 1.8.6 accepts in one request, and how Hub's requests are cut
//! to fit.
//!
//! A 1.8.6 node with its default configuration (`conf/BaseIotaConfig.java`)
//! refuses a list parameter of more than [`MAX_REQUEST_LIST`] items and a
//! body of more than [`MAX_BODY_CHARS`] characters. So every batch here is
//! at most that long, and lists of whole transactions (2673 trytes each)
//! go [`TRANSACTIONS_PER_BODY`] at a time, in an order where a chunk never
//! references a transaction of a later one ([`parents_first`]): a node that
//! judges each chunk on arrival finds it solid. [`check`] is the last look
//! at a body before it is sent.

use std::collections::{HashMap, HashSet};

use hub_protocol::transaction::TRANSACTION_TRYTES;
use hub_protocol::{Hash, Transaction};
use serde_json::Value;

/// Most items in one list parameter: IRI's `maxRequestsList` (default
/// 1000; `API.getParameterAsList` refuses more with "Could not complete
/// request").
pub const MAX_REQUEST_LIST: usize = 1000;

/// Most characters in one request body: IRI's `maxBodyLength` (default
/// 1 000 000; `RestEasy.processRequest` refuses more with "Request too
/// long"). IRI counts Java characters; Hub's bodies are ASCII, so bytes.
pub const MAX_BODY_CHARS: usize = 1_000_000;

/// Characters a body may spend besides its transactions: the command, the
/// field names and, for `attachToTangle`, two hashes and the weight take
/// about 250; the rest is margin.
const BODY_OVERHEAD_CHARS: usize = 10_000;

/// One transaction in a JSON list: its trytes, two quotes and a comma.
const TRANSACTION_JSON_CHARS: usize = TRANSACTION_TRYTES + 3;

/// Most transactions in one `storeTransactions`, `broadcastTransactions` or
/// `attachToTangle` body (369).
pub const TRANSACTIONS_PER_BODY: usize = {
    let fit = (MAX_BODY_CHARS - BODY_OVERHEAD_CHARS) / TRANSACTION_JSON_CHARS;
    if fit < MAX_REQUEST_LIST {
        fit
    } else {
        MAX_REQUEST_LIST
    }
};

/// Addresses per `getBalances` (the original client's, hub-behaviour.md §11).
pub const BALANCES_BATCH: usize = 1000;
/// Items of the longest list per `findTransactions` (the original's).
pub const FIND_BATCH: usize = 500;
/// Hashes per `getTrytes` (the original's; IRI's `maxGetTrytes` is 10 000).
pub const TRYTES_BATCH: usize = 500;
/// Transactions per `getInclusionStates` (the original's).
pub const INCLUSION_BATCH: usize = 1000;
/// Addresses per `wereAddressesSpentFrom`.
pub const SPENT_BATCH: usize = MAX_REQUEST_LIST;

const _: () = assert!(BALANCES_BATCH <= MAX_REQUEST_LIST);
const _: () = assert!(FIND_BATCH <= MAX_REQUEST_LIST);
const _: () = assert!(TRYTES_BATCH <= MAX_REQUEST_LIST);
const _: () = assert!(INCLUSION_BATCH <= MAX_REQUEST_LIST);
// A batch of hashes (81 trytes, quotes, comma) is far below the body limit.
const _: () = assert!(MAX_REQUEST_LIST * 84 + BODY_OVERHEAD_CHARS <= MAX_BODY_CHARS);
const _: () = assert!(TRANSACTIONS_PER_BODY * TRANSACTION_JSON_CHARS + BODY_OVERHEAD_CHARS <= MAX_BODY_CHARS);

/// Why a body may not be sent to an IRI 1.8.6 node.
pub fn check(body: &Value, text: &str) -> Result<(), String> {
    if text.len() > MAX_BODY_CHARS {
        return Err(format!(
            "body of {} characters, more than IRI's {MAX_BODY_CHARS}",
            text.len()
        ));
    }
    let lists = body.as_object().into_iter().flat_map(|map| map.iter());
    for (name, value) in lists {
        if let Some(items) = value.as_array().filter(|items| items.len() > MAX_REQUEST_LIST) {
            return Err(format!(
                "{name}: {} items, more than IRI's {MAX_REQUEST_LIST}",
                items.len()
            ));
        }
    }
    Ok(())
}

/// `transactions` reordered so that each comes after every other one of
/// them it references (trunk or branch): within a bundle, higher
/// `currentIndex` first. Order among unrelated transactions is kept as far
/// as this allows; cycles cannot occur (a hash cannot be known before the
/// transaction referencing it).
pub fn parents_first(transactions: &[Transaction]) -> Vec<&Transaction> {
    let position: HashMap<Hash, usize> = transactions.iter().enumerate().map(|(i, tx)| (tx.hash(), i)).collect();
    let mut placed = HashSet::with_capacity(transactions.len());
    let mut order = Vec::with_capacity(transactions.len());
    for start in 0..transactions.len() {
        // Depth-first along the references, placing a transaction once all
        // it references are placed; an explicit stack, as a bundle's trunk
        // chain may be long.
        let mut stack = vec![(start, false)];
        while let Some((i, parents_done)) = stack.pop() {
            if placed.contains(&i) {
                continue;
            }
            if parents_done {
                placed.insert(i);
                order.push(&transactions[i]);
                continue;
            }
            stack.push((i, true));
            let tx = &transactions[i];
            for parent in [tx.branch, tx.trunk] {
                if let Some(&p) = position.get(&parent) {
                    if !placed.contains(&p) {
                        stack.push((p, false));
                    }
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Goal: the per-body transaction count leaves a full body under IRI's
    /// limit and one more transaction would not have been needed to reach it.
    #[test]
    fn a_full_transaction_body_fits_under_the_limit() {
        assert_eq!(TRANSACTIONS_PER_BODY, 369);
        let trytes = vec!["9".repeat(TRANSACTION_TRYTES); TRANSACTIONS_PER_BODY];
        let body = json!({
            "command": "attachToTangle",
            "trunkTransaction": "9".repeat(81),
            "branchTransaction": "9".repeat(81),
            "minWeightMagnitude": 14,
            "trytes": trytes,
        });
        let text = body.to_string();
        assert!(text.len() <= MAX_BODY_CHARS - 9_000, "{}", text.len());
        assert_eq!(check(&body, &text), Ok(()));
    }

    /// Goal: the last look refuses what IRI would refuse, naming why.
    #[test]
    fn a_body_over_either_limit_is_refused() {
        let long = json!({ "addresses": vec!["A"; MAX_REQUEST_LIST + 1] });
        let error = check(&long, &long.to_string()).unwrap_err();
        assert!(error.starts_with("addresses: 1001 items"), "{error}");
        let at_limit = json!({ "addresses": vec!["A"; MAX_REQUEST_LIST] });
        assert_eq!(check(&at_limit, &at_limit.to_string()), Ok(()));
        let big = json!({ "message": "9".repeat(MAX_BODY_CHARS) });
        assert!(check(&big, &big.to_string())
            .unwrap_err()
            .contains("more than IRI's 1000000"));
    }
}
