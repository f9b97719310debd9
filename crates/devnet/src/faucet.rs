//! The devnet's faucet: funds addresses from the genesis allocation, so tests
//! get tokens the way a user would send them.
//!
//! A payment is a real bundle, signed with the genesis seed's keys, attached
//! and stored like any client's; it takes no shortcut into the ledger and
//! counts only once a milestone confirms it. The faucet spends only
//! confirmed balances of its addresses no bundle has spent from yet (a key
//! is never used twice), sends the change to its next key index, and pays
//! one request at a time. It refuses zero or more than the supply, an
//! address that cannot hold value, and more than it has confirmed.

use std::collections::HashMap;

use hub_protocol::bundle::{BundleBuilder, Input, Output, UnsignedBundle};
use hub_protocol::{wots, Address, Hash, SecurityLevel, Seed, Transaction};

use crate::node::{now_ms, Node, State};
use crate::persist::Genesis;

/// Result of a faucet payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundReceipt {
    /// Bundle hash.
    pub bundle: Hash,
    /// Tail transaction hash.
    pub tail: Hash,
}

/// The faucet's keys: the genesis seed and the addresses it has used.
pub(crate) struct FaucetBook {
    seed: Seed,
    security: SecurityLevel,
    /// Faucet addresses by key index, in index order.
    addresses: Vec<(u64, Address)>,
    next_index: u64,
}

/// A faucet input: key index, address, confirmed balance.
type Spend = (u64, Address, u64);

impl Node {
    /// Pays `amount` to `address` from the genesis funds with a real, signed
    /// bundle that goes through `storeTransactions` like any other.
    pub async fn fund(&self, address: Address, amount: u64) -> Result<FundReceipt, String> {
        check_payment(&address, amount)?;
        let _one_at_a_time = self.faucet_lock.lock().await;
        let (signed, latest) = {
            let mut state = self.lock();
            let signed = state.signed_payment(address, amount)?;
            (signed, state.latest().hash)
        };
        let (trunk, branch) = self.transactions_to_approve(3, None).unwrap_or((latest, latest));
        let wire: Vec<Transaction> = signed.into_iter().rev().collect();
        let attached = self.attach(trunk, branch, self.mwm(), wire).await?;
        let receipt = FundReceipt {
            bundle: attached[0].bundle,
            tail: attached[0].hash(),
        };
        self.store(attached)?;
        Ok(receipt)
    }
}

/// Refuses payments no bundle could make.
fn check_payment(address: &Address, amount: u64) -> Result<(), String> {
    if amount == 0 || amount > hub_protocol::SUPPLY as u64 {
        return Err(format!("amount must be between 1 and {}", hub_protocol::SUPPLY));
    }
    if !address.last_trit_is_zero() {
        return Err(format!(
            "address {address} has a non-zero last trit and cannot receive value"
        ));
    }
    Ok(())
}

impl State {
    /// The signed bundle paying `amount` to `address`; its remainder
    /// address, if any, joins the book.
    fn signed_payment(&mut self, address: Address, amount: u64) -> Result<Vec<Transaction>, String> {
        let (inputs, total) = self.faucet_inputs(amount)?;
        let (unsigned, remainder) = self.faucet.unsigned_payment(address, amount, &inputs, total)?;
        let signed = self.faucet.sign(unsigned, &inputs)?;
        if let Some(entry) = remainder {
            self.faucet.register(entry);
        }
        Ok(signed)
    }

    /// Faucet addresses with a confirmed balance and no spend seen, in key
    /// order, until they cover `amount`; and their total.
    fn faucet_inputs(&mut self, amount: u64) -> Result<(Vec<Spend>, u64), String> {
        let mut inputs = Vec::new();
        let mut total = 0u64;
        for (index, candidate) in self.faucet.addresses.clone() {
            if total >= amount {
                break;
            }
            let balance = self.ledger.balance(&candidate);
            if balance == 0 || self.seen_spent(&candidate) {
                continue;
            }
            total += balance;
            inputs.push((index, candidate, balance));
        }
        if total < amount {
            return Err(format!(
                "the faucet has {total} confirmed, unspent tokens, less than {amount}; wait for a milestone"
            ));
        }
        Ok((inputs, total))
    }

    /// Registers faucet remainder addresses already used on the tangle.
    pub(crate) fn extend_faucet_book(&mut self) {
        loop {
            let next = self.faucet.next_address();
            if self.tangle.by_address(&next.1).is_empty() {
                break;
            }
            self.faucet.register(next);
        }
    }
}

impl FaucetBook {
    /// The book of a new node: the genesis addresses, key indexes from 0.
    pub(crate) fn new(genesis: &Genesis, allocations: &[(Address, u64)]) -> Self {
        Self {
            seed: genesis.seed.clone(),
            security: genesis.security,
            addresses: allocations
                .iter()
                .enumerate()
                .map(|(i, (a, _))| (i as u64, *a))
                .collect(),
            next_index: allocations.len() as u64,
        }
    }

    /// The next unused key index and its address.
    fn next_address(&self) -> (u64, Address) {
        (
            self.next_index,
            wots::address(&self.seed, self.next_index, self.security),
        )
    }

    /// Adds `entry` (from [`Self::next_address`]) to the book.
    fn register(&mut self, (index, address): (u64, Address)) {
        self.addresses.push((index, address));
        self.next_index = index + 1;
    }

    /// The unsigned bundle paying `amount` to `address` from `inputs` (worth
    /// `total`), the change going to the next key index; and that remainder
    /// entry, if there is change.
    fn unsigned_payment(
        &self,
        address: Address,
        amount: u64,
        inputs: &[Spend],
        total: u64,
    ) -> Result<(UnsignedBundle, Option<(u64, Address)>), String> {
        let mut builder = BundleBuilder::new(now_ms() / 1000)
            .map_err(|e| e.to_string())?
            .output(Output::new(address, amount));
        for (_, input, balance) in inputs {
            builder = builder.input(Input {
                address: *input,
                amount: *balance,
                security: self.security,
            });
        }
        let remainder = (total > amount).then(|| self.next_address());
        if let Some((_, change)) = remainder {
            builder = builder.output(Output::new(change, total - amount));
        }
        Ok((builder.build().map_err(|e| e.to_string())?, remainder))
    }

    /// Signs `unsigned` with the keys of `inputs`.
    fn sign(&self, unsigned: UnsignedBundle, inputs: &[Spend]) -> Result<Vec<Transaction>, String> {
        let keys: HashMap<Address, u64> = inputs.iter().map(|(i, a, _)| (*a, *i)).collect();
        unsigned
            .sign(|slot, hash| {
                let index = keys.get(&slot.address).ok_or("unknown faucet input")?;
                Ok::<_, &str>(wots::sign(&self.seed, *index, slot.security, hash))
            })
            .map_err(|e| e.to_string())
    }
}
