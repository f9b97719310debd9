//! Look before signing: what the Tangle says a key has already signed.
//!
//! A one-time-signature key that signs two bundle hashes can be forged.
//! Hub's database records the one hash each key is bound to, but a
//! database can lose committed state (a power cut, a restored backup, a
//! failover to an asynchronous standby, a hand edit), and after that it
//! would plan another bundle for a key that already signed one. So before
//! any key signs (a new or resumed sweep, RecoverFunds, SignBundle), every
//! node configured is asked whether the key's address was spent from and
//! which bundles spend from it with the key's own signature. A spend whose
//! signature does not verify proves nothing and counts for nothing; one
//! that verifies is proof, whichever node shows it. A spend under a bundle
//! hash Hub has no record of signing, or a "spent" from the quorum of
//! nodes with no spend to show for a key Hub recorded no other signature
//! of, means the key must not sign: its address is quarantined, an ALERT
//! is written to the event log and the log, and nothing is signed. A
//! "spent" from fewer nodes than the quorum, or no answer, means no
//! signature now (and no quarantine on one node's word).
//! Hub is then stuck, but safe, and says why.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use hub_node::{Client, FindQuery, NodeError};
use hub_protocol::{wots, Address, Fragment, Hash, SecurityLevel, SeedUuid, Transaction};

use crate::crash::{self, CrashPoint};
use crate::{Cause, Hub, HubError};

/// A key about to sign, by the address it spends.
#[derive(Debug, Clone)]
pub(crate) struct SigningKey {
    /// The key's address.
    pub address: Address,
    /// The key.
    pub seed_uuid: SeedUuid,
}

/// Why one key may not sign.
#[derive(Debug, Clone)]
struct Conflict {
    address: Address,
    /// The bundle the node shows spending the address; `None` when the
    /// node says spent but shows no spend.
    spent_by: Option<Hash>,
}

impl Conflict {
    fn reason(&self) -> String {
        match &self.spent_by {
            Some(bundle) => {
                format!("the node shows this address spent by bundle {bundle}, which Hub has no record of signing")
            }
            None => "the node says this address was spent from, and shows no spend Hub signed".into(),
        }
    }
}

/// Succeeds only if the node shows every key's address unspent, or spent
/// only by bundles Hub recorded the key signing (or `bundle`, the one it
/// is about to sign). Otherwise quarantines each conflicting address,
/// records the alert, and fails with [`Cause::SpentOnChain`].
pub(crate) async fn clear_to_sign(hub: &Hub, keys: &[SigningKey], bundle: &Hash) -> Result<(), HubError> {
    let findings = conflicts(hub, keys, Some(bundle)).await?;
    crash::at(CrashPoint::Checking);
    if !findings.conflicts.is_empty() {
        quarantine(hub, &findings.conflicts, &format!("refusing to sign bundle {bundle}")).await?;
        return Err(HubError::internal(
            Cause::SpentOnChain,
            format!(
                "bundle {bundle} not signed: {} of its keys already signed another bundle on the Tangle",
                findings.conflicts.len()
            ),
        ));
    }
    if let Some(address) = findings.doubtful.first() {
        return Err(HubError::internal(
            Cause::SpentOnChain,
            format!(
                "bundle {bundle} not signed now: fewer nodes than the quorum say {address} was spent from, \
                 and none shows the spend"
            ),
        ));
    }
    Ok(())
}

/// The books against the chain, for keys not about to sign (an unswept
/// deposit address the node says was spent from, an input the node shows
/// holding less than the books): quarantines, with an alert, each whose
/// key the node shows signing a bundle Hub has no record of (a database
/// restored from before a sweep, the key used outside Hub). Returns the
/// addresses quarantined.
pub(crate) async fn quarantine_foreign_spends(hub: &Hub, keys: &[SigningKey]) -> Result<Vec<Address>, HubError> {
    let conflicts = conflicts(hub, keys, None).await?.conflicts;
    if !conflicts.is_empty() {
        quarantine(hub, &conflicts, "comparing the books with the Tangle").await?;
    }
    Ok(conflicts.into_iter().map(|c| c.address).collect())
}

/// What the nodes show of some keys.
#[derive(Debug, Default)]
struct Findings {
    /// Keys the nodes show spent under a bundle hash Hub has no record of
    /// the key signing (other than the one about to be signed), or that the
    /// quorum of nodes calls spent with no spend to show while Hub recorded
    /// no other signature of the key: quarantined.
    conflicts: Vec<Conflict>,
    /// Keys fewer nodes than the quorum call spent, with no spend to show:
    /// not signed now, not quarantined on one node's word.
    doubtful: Vec<Address>,
}

async fn conflicts(hub: &Hub, keys: &[SigningKey], about_to_sign: Option<&Hash>) -> Result<Findings, HubError> {
    let mut findings = Findings::default();
    if keys.is_empty() {
        return Ok(findings);
    }
    let addresses: Vec<Address> = keys.iter().map(|k| k.address).collect();
    let (spent, seen) = ask_every_node(hub, &addresses).await?;
    let mut read = hub.store().read().await?;
    for (key, votes) in keys.iter().zip(spent) {
        let recorded: HashSet<Hash> = read.signed_hashes(&key.seed_uuid).await?.into_iter().collect();
        let shown = seen.get(&key.address);
        let foreign = shown
            .into_iter()
            .flatten()
            .find(|hash| Some(*hash) != about_to_sign && !recorded.contains(hash));
        let unexplained = votes > 0 && shown.is_none() && recorded.iter().all(|hash| Some(hash) == about_to_sign);
        if foreign.is_some() || (unexplained && votes >= hub.node_quorum()) {
            findings.conflicts.push(Conflict {
                address: key.address,
                spent_by: foreign.copied(),
            });
        } else if unexplained {
            findings.doubtful.push(key.address);
        }
    }
    Ok(findings)
}

/// Quarantines each conflicting address (deposit or Hub address) and
/// records the alert, in one transaction; then logs it.
async fn quarantine(hub: &Hub, conflicts: &[Conflict], context: &str) -> Result<(), HubError> {
    let now = hub.now_ms();
    let mut tx = hub.store().begin().await?;
    for conflict in conflicts {
        let reason = conflict.reason();
        match tx.user_address(&conflict.address).await? {
            Some(row) => tx.quarantine_address(row.id, &reason, now).await?,
            None => {
                tx.quarantine_hub_address(&conflict.address, &reason, now).await?;
            }
        }
        tx.report_key_spent_elsewhere(&conflict.address, conflict.spent_by.as_ref(), now)
            .await?;
    }
    tx.commit().await?;
    for conflict in conflicts {
        tracing::error!(
            address = %conflict.address,
            "ALERT: {context}: {}; the address is quarantined (was Hub's database rolled back, or the key used outside Hub?)",
            conflict.reason()
        );
    }
    Ok(())
}

/// Asks every node whether each address was spent from (how many nodes
/// say so) and which bundles spend from it with the key's signature (all
/// those any node shows: a verified signature is proof whoever shows it).
/// At least the quorum of nodes (one, by default) must answer, or nothing
/// may sign now.
async fn ask_every_node(
    hub: &Hub,
    addresses: &[Address],
) -> Result<(Vec<usize>, HashMap<Address, BTreeSet<Hash>>), HubError> {
    let mut spent = vec![0; addresses.len()];
    let mut seen: HashMap<Address, BTreeSet<Hash>> = HashMap::new();
    let mut answers = 0;
    let mut failure = None;
    for node in hub.nodes() {
        let answer = async {
            let spent = node.were_addresses_spent_from(addresses).await?;
            Ok::<_, NodeError>((spent, spends_seen(node, addresses).await?))
        };
        match answer.await {
            Ok((node_spent, node_seen)) => {
                answers += 1;
                for (votes, one) in spent.iter_mut().zip(node_spent) {
                    *votes += usize::from(one);
                }
                for (address, hashes) in node_seen {
                    seen.entry(address).or_default().extend(hashes);
                }
            }
            Err(e) => failure = Some(e),
        }
    }
    match failure {
        Some(e) if answers < hub.node_quorum() => Err(e.into()),
        _ => Ok((spent, seen)),
    }
}

/// The bundle hashes each address's key is shown to have signed: a
/// transaction of negative value from the address whose signature (its
/// fragments, in that bundle) verifies for the bundle hash, confirmed or
/// not. A spend whose signature does not verify is no evidence of the key
/// signing anything (anyone can post one, to get an address quarantined or
/// a recovery mined against it) and is left out, with a warning.
pub(crate) async fn spends_seen(
    node: &Client,
    addresses: &[Address],
) -> Result<HashMap<Address, BTreeSet<Hash>>, NodeError> {
    let found = node
        .find_transactions(&FindQuery {
            addresses: addresses.to_vec(),
            ..FindQuery::default()
        })
        .await?;
    let wanted: HashSet<&Address> = addresses.iter().collect();
    let claimed: BTreeSet<Hash> = node
        .get_trytes(&found)
        .await?
        .into_iter()
        .flatten()
        .filter(|tx| tx.value.is_negative() && wanted.contains(&tx.address))
        .map(|tx| tx.bundle)
        .collect();
    if claimed.is_empty() {
        return Ok(HashMap::new());
    }
    let members = node
        .find_transactions(&FindQuery {
            bundles: claimed.iter().copied().collect(),
            ..FindQuery::default()
        })
        .await?;
    // Each bundle's transactions of our addresses, by index (reattachments
    // of one bundle carry the same ones).
    let mut by_bundle: BTreeMap<Hash, BTreeMap<i64, Transaction>> = BTreeMap::new();
    for tx in node.get_trytes(&members).await?.into_iter().flatten() {
        if claimed.contains(&tx.bundle) && wanted.contains(&tx.address) {
            by_bundle
                .entry(tx.bundle)
                .or_default()
                .insert(tx.current_index.get(), tx);
        }
    }
    let mut spends: HashMap<Address, BTreeSet<Hash>> = HashMap::new();
    for (bundle, transactions) in &by_bundle {
        for (address, fragments) in signatures(transactions) {
            if wots::verify(&address, bundle, &fragments) {
                spends.entry(address).or_default().insert(*bundle);
            } else {
                tracing::warn!(
                    %address, %bundle,
                    "the node shows a spend from this address that its key did not sign; not counted"
                );
            }
        }
    }
    Ok(spends)
}

/// The signatures in one bundle's transactions of our addresses (by
/// index): each input's fragment and those of the zero-value transactions
/// of the same address right after it (a key's security level, at most 3).
fn signatures(transactions: &BTreeMap<i64, Transaction>) -> Vec<(Address, Vec<Fragment>)> {
    let mut found = Vec::new();
    for (index, input) in transactions.iter().filter(|(_, tx)| tx.value.is_negative()) {
        let mut fragments = vec![input.signature_message_fragment.clone()];
        for next in (index + 1..).take(SecurityLevel::High as usize - 1) {
            match transactions.get(&next) {
                Some(tx) if tx.address == input.address && tx.value.get() == 0 => {
                    fragments.push(tx.signature_message_fragment.clone())
                }
                _ => break,
            }
        }
        found.push((input.address, fragments));
    }
    found
}
