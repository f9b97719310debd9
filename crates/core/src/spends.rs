//! Look before signing: what the Tangle says a key has already signed.
//!
//! A one-time-signature key that signs two bundle hashes can be forged.
//! Hub's database records the one hash each key is bound to, but a
//! database can lose committed state (a power cut, a restored backup, a
//! failover to an asynchronous standby, a hand edit), and after that it
//! would plan another bundle for a key that already signed one. So before
//! any key signs (a new or resumed sweep, RecoverFunds, SignBundle), the
//! node is asked whether the key's address was spent from and which
//! bundles spend from it (every node configured, any saying spent
//! counts). A spend under a bundle hash Hub has no record of
//! signing, or a "spent" with no spend to show for a key Hub recorded no
//! other signature of, means the key must not sign: its address is
//! quarantined, an ALERT is written to the event log and the log, and
//! nothing is signed. No answer from the node means no signature now.
//! Hub is then stuck, but safe, and says why.

use std::collections::{BTreeSet, HashMap, HashSet};

use hub_node::{Client, FindQuery, NodeError};
use hub_protocol::{Address, Hash, SeedUuid};

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
    if keys.is_empty() {
        return Ok(());
    }
    let addresses: Vec<Address> = keys.iter().map(|k| k.address).collect();
    let (spent, seen) = ask_every_node(hub, &addresses).await?;
    crash::at(CrashPoint::Checking);
    let mut conflicts = Vec::new();
    {
        let mut read = hub.store().read().await?;
        for (key, spent) in keys.iter().zip(spent) {
            let recorded: HashSet<Hash> = read.signed_hashes(&key.seed_uuid).await?.into_iter().collect();
            let shown = seen.get(&key.address);
            let foreign = shown
                .into_iter()
                .flatten()
                .find(|hash| *hash != bundle && !recorded.contains(hash));
            let unexplained = spent && shown.is_none() && recorded.iter().all(|hash| hash == bundle);
            if foreign.is_some() || unexplained {
                conflicts.push(Conflict {
                    address: key.address,
                    spent_by: foreign.copied(),
                });
            }
        }
    }
    if conflicts.is_empty() {
        return Ok(());
    }
    let now = hub.now_ms();
    let mut tx = hub.store().begin().await?;
    for conflict in &conflicts {
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
    for conflict in &conflicts {
        tracing::error!(
            address = %conflict.address, bundle = %bundle,
            "ALERT: refusing to sign: {}; the address is quarantined (was Hub's database rolled back, or the key used outside Hub?)",
            conflict.reason()
        );
    }
    Err(HubError::internal(
        Cause::SpentOnChain,
        format!(
            "bundle {bundle} not signed: {} of its keys already signed another bundle on the Tangle",
            conflicts.len()
        ),
    ))
}

/// Asks every node whether each address was spent from and which bundles
/// spend from it; any node saying spent counts as spent, and the spends
/// are all those any node shows. At least the quorum of nodes (one, by
/// default) must answer, or nothing may sign now.
async fn ask_every_node(
    hub: &Hub,
    addresses: &[Address],
) -> Result<(Vec<bool>, HashMap<Address, BTreeSet<Hash>>), HubError> {
    let mut spent = vec![false; addresses.len()];
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
                for (all, one) in spent.iter_mut().zip(node_spent) {
                    *all |= one;
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

/// The bundle hashes under which the node shows each address spending
/// (a transaction of negative value from it), confirmed or not.
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
    let mut spends: HashMap<Address, BTreeSet<Hash>> = HashMap::new();
    for tx in node.get_trytes(&found).await?.into_iter().flatten() {
        if tx.value.is_negative() && wanted.contains(&tx.address) {
            spends.entry(tx.address).or_default().insert(tx.bundle);
        }
    }
    Ok(spends)
}
