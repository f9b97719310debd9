//! The IRI commands Hub uses, as typed methods of [`Client`].
//!
//! Each turns Hub's types into the request IRI 1.8.6 wants, cut into
//! batches within its limits ([`crate::limits`]), and the replies back into
//! protocol types, checking each has one answer per question. The batch
//! sizes are the original client's (hub-behaviour.md §11) where it had one.
//! `attachToTangle` has its own module (`attach`).

use hub_protocol::{Address, Hash, Tag, Transaction};
use serde_json::Value;

use crate::api::{self, command};
use crate::client::{bad_reply, invalid_request, Client, NodeError};
use crate::limits::{self, MAX_REQUEST_LIST};

/// What `getNodeInfo` tells Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Latest milestone.
    pub latest_milestone: Hash,
    /// Its index.
    pub latest_milestone_index: u64,
    /// Latest solid milestone.
    pub latest_solid_milestone: Hash,
    /// Its index.
    pub latest_solid_milestone_index: u64,
    /// Node time, ms since the epoch.
    pub time_ms: u64,
    /// Software name.
    pub app_name: String,
    /// The network's coordinator address, if the node tells it (IRI 1.8.6 does).
    pub coordinator_address: Option<Address>,
}

/// `getBalances` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balances {
    /// Balance per requested address, in order.
    pub balances: Vec<u64>,
    /// Milestone index the balances are at.
    pub milestone_index: u64,
    /// The references the node reported.
    pub references: Vec<Hash>,
}

/// `checkConsistency` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consistency {
    /// Whether the tails are consistent.
    pub state: bool,
    /// Why not.
    pub info: Option<String>,
}

/// `findTransactions` query: lists are intersected, items within a list united.
#[derive(Debug, Clone, Default)]
pub struct FindQuery {
    /// By address.
    pub addresses: Vec<Address>,
    /// By bundle hash.
    pub bundles: Vec<Hash>,
    /// By approved transaction.
    pub approvees: Vec<Hash>,
    /// By tag (27 trytes).
    pub tags: Vec<Tag>,
}

fn hash(command: &'static str, raw: &str) -> Result<Hash, NodeError> {
    Hash::from_trytes(raw).map_err(|e| bad_reply(command, e))
}

fn hashes(command: &'static str, raw: &[String]) -> Result<Vec<Hash>, NodeError> {
    raw.iter().map(|h| hash(command, h)).collect()
}

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// Refuses a reply with another number of answers than questions.
fn one_each(command: &'static str, answers: usize, asked: usize) -> Result<(), NodeError> {
    if answers == asked {
        Ok(())
    } else {
        Err(bad_reply(command, format!("{answers} answers to {asked} items")))
    }
}

impl Client {
    /// `getNodeInfo`.
    pub async fn get_node_info(&self) -> Result<NodeInfo, NodeError> {
        const C: &str = command::GET_NODE_INFO;
        let reply: api::NodeInfoReply = self.call(C, &Value::Null).await?;
        Ok(NodeInfo {
            latest_milestone: hash(C, &reply.latest_milestone)?,
            latest_milestone_index: reply.latest_milestone_index,
            latest_solid_milestone: hash(C, &reply.latest_solid_subtangle_milestone)?,
            latest_solid_milestone_index: reply.latest_solid_subtangle_milestone_index,
            time_ms: reply.time,
            app_name: reply.app_name,
            coordinator_address: reply
                .coordinator_address
                .map(|raw| Address::from_trytes(&raw).map_err(|e| bad_reply(C, e)))
                .transpose()?,
        })
    }

    /// `getTips`.
    pub async fn get_tips(&self) -> Result<Vec<Hash>, NodeError> {
        const C: &str = command::GET_TIPS;
        let reply: api::HashesReply = self.call(C, &Value::Null).await?;
        hashes(C, &reply.hashes)
    }

    /// `getTransactionsToApprove`: (trunk, branch). Waits up to the tip
    /// selection deadline.
    pub async fn get_transactions_to_approve(
        &self,
        depth: u32,
        reference: Option<Hash>,
    ) -> Result<(Hash, Hash), NodeError> {
        const C: &str = command::GET_TRANSACTIONS_TO_APPROVE;
        let body = api::GetTransactionsToApprove {
            depth,
            reference: reference.map(|r| r.to_string()),
        };
        let reply: api::TipsReply = self.call(C, &body).await?;
        Ok((hash(C, &reply.trunk_transaction)?, hash(C, &reply.branch_transaction)?))
    }

    /// `storeTransactions`, in bodies IRI accepts, parents first
    /// ([`limits::parents_first`]). A failure leaves the chunks before it
    /// stored; storing them again is harmless.
    pub async fn store_transactions(&self, txs: &[Transaction]) -> Result<(), NodeError> {
        self.send_transactions(command::STORE_TRANSACTIONS, txs).await
    }

    /// `broadcastTransactions`, in bodies IRI accepts, parents first.
    pub async fn broadcast_transactions(&self, txs: &[Transaction]) -> Result<(), NodeError> {
        self.send_transactions(command::BROADCAST_TRANSACTIONS, txs).await
    }

    async fn send_transactions(&self, command: &'static str, txs: &[Transaction]) -> Result<(), NodeError> {
        let ordered = limits::parents_first(txs);
        for chunk in ordered.chunks(limits::TRANSACTIONS_PER_BODY) {
            let body = api::Trytes {
                trytes: chunk.iter().map(|tx| tx.to_trytes()).collect(),
            };
            self.call::<_, Value>(command, &body).await?;
        }
        Ok(())
    }

    /// `findTransactions`, batched by [`limits::FIND_BATCH`] items of the
    /// longest list; the other lists go whole with each batch, so none may
    /// be longer than IRI's [`MAX_REQUEST_LIST`].
    pub async fn find_transactions(&self, query: &FindQuery) -> Result<Vec<Hash>, NodeError> {
        const C: &str = command::FIND_TRANSACTIONS;
        let lists = [
            strings(&query.addresses),
            strings(&query.bundles),
            strings(&query.approvees),
            strings(&query.tags),
        ];
        let Some(longest) = (0..lists.len())
            .filter(|&i| !lists[i].is_empty())
            .max_by_key(|&i| lists[i].len())
        else {
            return Ok(Vec::new());
        };
        if let Some(other) = (0..lists.len()).find(|&i| i != longest && lists[i].len() > MAX_REQUEST_LIST) {
            let reason = format!(
                "two lists longer than IRI's {MAX_REQUEST_LIST} items ({} and {})",
                lists[longest].len(),
                lists[other].len()
            );
            return Err(invalid_request(C, reason));
        }
        let given = |list: &Vec<String>| (!list.is_empty()).then(|| list.clone());
        let mut out = Vec::new();
        for batch in lists[longest].chunks(limits::FIND_BATCH) {
            let pick = |i: usize| {
                if i == longest {
                    Some(batch.to_vec())
                } else {
                    given(&lists[i])
                }
            };
            let body = api::FindTransactions {
                addresses: pick(0),
                bundles: pick(1),
                approvees: pick(2),
                tags: pick(3),
            };
            let reply: api::HashesReply = self.call(C, &body).await?;
            out.extend(hashes(C, &reply.hashes)?);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// `getTrytes`, batched by [`limits::TRYTES_BATCH`]: `None` for hashes
    /// the node does not know (it answers all-`9` trytes for them). Every
    /// transaction returned must hash to the hash asked for (the original
    /// checked this too), so nothing a node or the link in between invents
    /// passes for a transaction of the Tangle.
    pub async fn get_trytes(&self, wanted: &[Hash]) -> Result<Vec<Option<Transaction>>, NodeError> {
        const C: &str = command::GET_TRYTES;
        let mut out = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(limits::TRYTES_BATCH) {
            let body = api::GetTrytes { hashes: strings(chunk) };
            let reply: api::TrytesReply = self.call(C, &body).await?;
            one_each(C, reply.trytes.len(), chunk.len())?;
            for (asked, trytes) in chunk.iter().zip(reply.trytes) {
                if trytes.bytes().all(|b| b == b'9') {
                    out.push(None);
                    continue;
                }
                let tx = Transaction::from_trytes(&trytes).map_err(|e| bad_reply(C, e))?;
                let hash = tx.hash();
                if hash != *asked {
                    let reason = format!("answered for {asked} a transaction whose hash is {hash}");
                    return Err(bad_reply(C, reason));
                }
                out.push(Some(tx));
            }
        }
        Ok(out)
    }

    /// `getBalances`, batched by [`limits::BALANCES_BATCH`] addresses;
    /// confirmed balances at the latest solid milestone.
    pub async fn get_balances(&self, addresses: &[Address]) -> Result<Balances, NodeError> {
        const C: &str = command::GET_BALANCES;
        let mut result = Balances {
            balances: Vec::with_capacity(addresses.len()),
            milestone_index: 0,
            references: Vec::new(),
        };
        for chunk in addresses.chunks(limits::BALANCES_BATCH) {
            let body = api::GetBalances {
                addresses: strings(chunk),
                threshold: Some(100),
                tips: None,
            };
            let reply: api::BalancesReply = self.call(C, &body).await?;
            one_each(C, reply.balances.len(), chunk.len())?;
            for b in &reply.balances {
                result
                    .balances
                    .push(b.parse().map_err(|_| bad_reply(C, format!("balance {b:?}")))?);
            }
            // Batches taken across a milestone would mix ledger states: refuse.
            if !result.references.is_empty() && result.milestone_index != reply.milestone_index {
                return Err(bad_reply(C, "a milestone arrived between batches; retry"));
            }
            result.milestone_index = reply.milestone_index;
            result.references = hashes(C, &reply.references)?;
        }
        Ok(result)
    }

    /// `getInclusionStates`, batched by [`limits::INCLUSION_BATCH`]: whether
    /// each transaction is confirmed, i.e. referenced by a milestone the
    /// node has applied (its latest solid milestone or an earlier one). IRI
    /// 1.8.6 answers this without tips (`getInclusionStatesStatement`: a
    /// transaction's snapshot index is set) and ignores any sent; none are.
    pub async fn get_inclusion_states(&self, transactions: &[Hash]) -> Result<Vec<bool>, NodeError> {
        const C: &str = command::GET_INCLUSION_STATES;
        let mut out = Vec::with_capacity(transactions.len());
        for chunk in transactions.chunks(limits::INCLUSION_BATCH) {
            let body = api::GetInclusionStates {
                transactions: strings(chunk),
                tips: None,
            };
            let reply: api::StatesReply = self.call(C, &body).await?;
            one_each(C, reply.states.len(), chunk.len())?;
            out.extend(reply.states);
        }
        Ok(out)
    }

    /// `wereAddressesSpentFrom`, batched by [`limits::SPENT_BATCH`].
    pub async fn were_addresses_spent_from(&self, addresses: &[Address]) -> Result<Vec<bool>, NodeError> {
        const C: &str = command::WERE_ADDRESSES_SPENT_FROM;
        let mut out = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(limits::SPENT_BATCH) {
            let body = api::Addresses {
                addresses: strings(chunk),
            };
            let reply: api::StatesReply = self.call(C, &body).await?;
            one_each(C, reply.states.len(), chunk.len())?;
            out.extend(reply.states);
        }
        Ok(out)
    }

    /// `checkConsistency` of tails taken together. They cannot be split
    /// (each half may be consistent and the whole not), so more than IRI's
    /// [`MAX_REQUEST_LIST`] is refused unsent.
    pub async fn check_consistency(&self, tails: &[Hash]) -> Result<Consistency, NodeError> {
        const C: &str = command::CHECK_CONSISTENCY;
        if tails.len() > MAX_REQUEST_LIST {
            let reason = format!(
                "{} tails, more than IRI's {MAX_REQUEST_LIST} in one request",
                tails.len()
            );
            return Err(invalid_request(C, reason));
        }
        let body = api::CheckConsistency { tails: strings(tails) };
        let reply: api::ConsistencyReply = self.call(C, &body).await?;
        Ok(Consistency {
            state: reply.state,
            // IRI 1.8.6 sends `"info": ""` for consistent tails.
            info: reply.info.filter(|info| !info.is_empty()),
        })
    }
}
