//! What Hub asks the node, composed from IRI calls (hub-behaviour.md §1.5.1):
//! whether the node is synced (and which of several is), which confirmed
//! bundles touch a set of addresses, and which confirmations enough nodes
//! agree on. Used by the deposit monitor (and by the sweeper and attacher).
//! Transactions are checked against their hashes by the client; bundles
//! are validated here before anything is believed of them.
//! "Confirmed" is IRI 1.8.6's `getInclusionStates`: referenced by a
//! milestone the node has applied, whatever tips one names.

use std::collections::{HashMap, HashSet};

use hub_node::{Client, FindQuery, NodeError, NodeInfo};
use hub_protocol::validate::{validate, Options};
use hub_protocol::{Address, Hash, Transaction};

/// A milestone is stale when older than this: the node is then not synced.
pub const MAX_MILESTONE_AGE_MS: i64 = 300_000;

/// The node's state if it is synced: the latest milestone equals the latest
/// solid milestone and is no older than [`MAX_MILESTONE_AGE_MS`]; `None`
/// when it is not synced.
pub async fn synced_node(node: &Client, now_ms: i64) -> Result<Option<NodeInfo>, NodeError> {
    let info = node.get_node_info().await?;
    if info.latest_milestone_index != info.latest_solid_milestone_index {
        return Ok(None);
    }
    let milestone = node.get_trytes(&[info.latest_milestone]).await?;
    let Some(Some(milestone)) = milestone.into_iter().next() else {
        return Ok(None);
    };
    let age_ms = now_ms - milestone.timestamp.get().saturating_mul(1000);
    Ok((age_ms <= MAX_MILESTONE_AGE_MS).then_some(info))
}

/// The first of `nodes` (in the order configured) that is synced, with
/// its state: a pass that asks several questions asks them all of this
/// one node, so its answers fit together. `None` if none is synced; the
/// last failure if none answered.
pub async fn first_synced(nodes: &[Client], now_ms: i64) -> Result<Option<(Client, NodeInfo)>, NodeError> {
    let mut failure = None;
    let mut answered = false;
    for node in nodes {
        match synced_node(node, now_ms).await {
            Ok(Some(info)) => return Ok(Some((node.clone(), info))),
            Ok(None) => answered = true,
            Err(e) => failure = Some(e),
        }
    }
    match failure {
        Some(e) if !answered => Err(e),
        _ => Ok(None),
    }
}

/// Of `tails`, those at least `quorum` of `nodes` call confirmed. Each
/// node is asked once for all of them; a node that fails to answer agrees
/// with nothing.
pub async fn agreed_confirmed(nodes: &[Client], quorum: usize, tails: &[Hash]) -> HashSet<Hash> {
    let mut votes: HashMap<Hash, usize> = HashMap::new();
    if tails.is_empty() {
        return HashSet::new();
    }
    for node in nodes {
        match node.get_inclusion_states(tails).await {
            Ok(states) => {
                for (tail, included) in tails.iter().zip(states) {
                    if included {
                        *votes.entry(*tail).or_default() += 1;
                    }
                }
            }
            Err(e) => tracing::warn!("a node did not answer whether tails are confirmed: {e}"),
        }
    }
    votes
        .into_iter()
        .filter(|(_, n)| *n >= quorum)
        .map(|(tail, _)| tail)
        .collect()
}

/// A bundle whose tail is confirmed.
#[derive(Debug, Clone)]
pub struct ConfirmedBundle {
    /// Its tail transaction's hash.
    pub tail: Hash,
    /// Its transactions in index order.
    pub transactions: Vec<Transaction>,
}

impl ConfirmedBundle {
    /// The bundle hash.
    pub fn hash(&self) -> Hash {
        self.transactions[0].bundle
    }
}

/// What [`confirmed_bundles`] found.
#[derive(Debug, Clone, Default)]
pub struct Confirmed {
    /// The confirmed bundles that pass the protocol validator.
    pub bundles: Vec<ConfirmedBundle>,
    /// Tails the node calls confirmed whose bundle does not validate (bad
    /// signature, sum or bundle hash): a lying or broken node. Never
    /// believed; the caller raises the alert.
    pub rejected: Vec<Hash>,
}

/// Every bundle confirmed by the node's milestones so far (up to its latest
/// solid one) in which any of `addresses` appears, as input or output, and
/// which passes the full protocol validator (signatures, sum, bundle hash):
/// what a node says is verified before it moves money. Reattachments of one
/// bundle appear once per confirmed tail (at most one, on a sound network).
pub async fn confirmed_bundles(node: &Client, addresses: &[Address]) -> Result<Confirmed, NodeError> {
    if addresses.is_empty() {
        return Ok(Confirmed::default());
    }
    let touching = node
        .find_transactions(&FindQuery {
            addresses: addresses.to_vec(),
            ..FindQuery::default()
        })
        .await?;
    let mut bundles: Vec<Hash> = node
        .get_trytes(&touching)
        .await?
        .into_iter()
        .flatten()
        .map(|tx| tx.bundle)
        .collect();
    bundles.sort();
    bundles.dedup();
    if bundles.is_empty() {
        return Ok(Confirmed::default());
    }
    let members = node
        .find_transactions(&FindQuery {
            bundles,
            ..FindQuery::default()
        })
        .await?;
    let by_hash: HashMap<Hash, Transaction> = members
        .iter()
        .copied()
        .zip(node.get_trytes(&members).await?)
        .filter_map(|(hash, tx)| tx.map(|tx| (hash, tx)))
        .collect();
    let tails: Vec<Hash> = by_hash.iter().filter(|(_, tx)| tx.is_tail()).map(|(h, _)| *h).collect();
    let states = node.get_inclusion_states(&tails).await?;
    let wanted: HashSet<Address> = addresses.iter().copied().collect();
    let mut confirmed = Vec::new();
    let mut rejected = Vec::new();
    for (tail, included) in tails.into_iter().zip(states) {
        if !included {
            continue;
        }
        let Some(transactions) = follow_trunks(&by_hash, tail) else {
            continue;
        };
        if !transactions.iter().any(|tx| wanted.contains(&tx.address)) {
            continue;
        }
        let report = validate(&transactions, &Options::default());
        if report.is_valid() {
            confirmed.push(ConfirmedBundle { tail, transactions });
        } else {
            let why = report
                .violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            tracing::error!(%tail, "ALERT: the node reports a confirmed bundle that is not valid ({why}); not believed");
            rejected.push(tail);
        }
    }
    Ok(Confirmed {
        bundles: confirmed,
        rejected,
    })
}

/// The bundle of `tail`, following trunks, if complete in `by_hash`.
pub(crate) fn follow_trunks(by_hash: &HashMap<Hash, Transaction>, tail: Hash) -> Option<Vec<Transaction>> {
    let first = by_hash.get(&tail)?;
    let mut transactions = vec![first.clone()];
    let mut current = first;
    while current.current_index.get() < current.last_index.get() {
        let next = by_hash.get(&current.trunk)?;
        if next.bundle != first.bundle || next.current_index.get() != current.current_index.get() + 1 {
            return None;
        }
        transactions.push(next.clone());
        current = next;
    }
    Some(transactions)
}
