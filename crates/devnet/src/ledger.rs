//! The confirmed ledger: balances and spent addresses, as IRI 1.8.6 keeps
//! them.
//!
//! Changes arrive as whole bundles (their value changes per address), one
//! per confirmed attachment. The only rule is IRI's: no balance may go
//! negative. So double spends and overdrafts never confirm, but a bundle
//! that was confirmed confirms *again* when another attachment of it is
//! confirmed while its inputs hold the funds (a replay): a late deposit to a
//! spent address lets anyone replay the spend. Balances never exceed the
//! genesis supply, so totals are exact.

use std::collections::{HashMap, HashSet};

use hub_protocol::Address;

/// What confirming one valid bundle does to the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEffect {
    /// Net value change per address (non-zero entries only).
    pub changes: Vec<(Address, i64)>,
    /// Addresses the bundle spends from (their keys are now exposed).
    pub inputs: Vec<Address>,
}

/// Balances and history of the confirmed ledger.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    balances: HashMap<Address, u64>,
    spent: HashSet<Address>,
    supply: u64,
}

impl Ledger {
    /// A ledger holding `allocations` (addresses may repeat; amounts add up).
    pub fn genesis(allocations: &[(Address, u64)]) -> Result<Self, String> {
        let mut ledger = Self::default();
        for (address, amount) in allocations {
            let balance = ledger.balances.entry(*address).or_default();
            *balance = balance.checked_add(*amount).ok_or("genesis allocation overflows")?;
            ledger.supply = ledger
                .supply
                .checked_add(*amount)
                .ok_or("genesis allocation overflows")?;
        }
        if ledger.supply > hub_protocol::SUPPLY as u64 {
            return Err(format!(
                "genesis allocates {} tokens, more than the supply",
                ledger.supply
            ));
        }
        ledger.balances.retain(|_, b| *b > 0);
        Ok(ledger)
    }

    /// Confirmed balance of `address`.
    pub fn balance(&self, address: &Address) -> u64 {
        self.balances.get(address).copied().unwrap_or(0)
    }

    /// The genesis supply.
    pub fn supply(&self) -> u64 {
        self.supply
    }

    /// Sum of all balances (always equals the supply).
    pub fn total(&self) -> u64 {
        self.balances.values().sum()
    }

    /// Whether a confirmed bundle spent from `address`.
    pub fn spent(&self, address: &Address) -> bool {
        self.spent.contains(address)
    }

    /// Checks that `effects` (one per attachment: two attachments of one
    /// bundle count twice) can be applied together; returns the net change
    /// per address, or why not. Only the result counts, not the order: a
    /// spend and the payment that funds it may confirm in one milestone.
    pub fn check(&self, effects: &[&BundleEffect]) -> Result<HashMap<Address, i128>, String> {
        let mut diff: HashMap<Address, i128> = HashMap::new();
        for effect in effects {
            for (address, change) in &effect.changes {
                *diff.entry(*address).or_default() += i128::from(*change);
            }
        }
        self.check_diff(&diff)?;
        Ok(diff)
    }

    /// Checks that the net changes `diff` leave no balance negative.
    pub fn check_diff(&self, diff: &HashMap<Address, i128>) -> Result<(), String> {
        match diff
            .iter()
            .find(|(address, change)| i128::from(self.balance(address)) + *change < 0)
        {
            Some((address, _)) => Err(format!("address {address} would be overdrawn")),
            None => Ok(()),
        }
    }

    /// Applies `effects` together, if [`Ledger::check`] allows it.
    pub fn apply(&mut self, effects: &[&BundleEffect]) -> Result<(), String> {
        let diff = self.check(effects)?;
        for effect in effects {
            self.spent.extend(effect.inputs.iter().copied());
        }
        for (address, change) in diff {
            let new = i128::from(self.balance(&address)) + change;
            // `check` proved new >= 0, and no balance can exceed the supply.
            let new = u64::try_from(new).map_err(|_| format!("address {address} would be overdrawn"))?;
            if new == 0 {
                self.balances.remove(&address);
            } else {
                self.balances.insert(address, new);
            }
        }
        debug_assert_eq!(self.total(), self.supply, "value is conserved");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(c: char) -> Address {
        Address::from_trytes(&c.to_string().repeat(81)).unwrap()
    }

    fn effect(changes: &[(char, i64)]) -> BundleEffect {
        BundleEffect {
            changes: changes.iter().map(|(a, v)| (address(*a), *v)).collect(),
            inputs: changes
                .iter()
                .filter(|(_, v)| *v < 0)
                .map(|(a, _)| address(*a))
                .collect(),
        }
    }

    #[test]
    fn overdrafts_and_double_spends_are_refused_but_funded_replays_confirm() {
        let mut ledger = Ledger::genesis(&[(address('A'), 100)]).unwrap();
        let pay = effect(&[('A', -60), ('B', 60)]);
        let again = effect(&[('A', -60), ('C', 60)]);
        assert!(ledger.check(&[&pay, &again]).is_err(), "double spend");
        assert!(ledger.check(&[&pay, &pay]).is_err(), "two attachments overdraw A");
        ledger.apply(&[&pay]).unwrap();
        assert!(ledger.check(&[&pay]).is_err(), "a replay without funds overdraws A");
        assert!(ledger.check(&[&again]).is_err(), "overdraft");
        assert_eq!(ledger.balance(&address('B')), 60);
        assert!(ledger.spent(&address('A')));
        assert_eq!(ledger.total(), 100);
        // A spend and the payment funding it confirm together, in any order.
        let spend_first = effect(&[('D', -10), ('B', 10)]);
        let fund_d = effect(&[('B', -10), ('D', 10)]);
        ledger.apply(&[&spend_first, &fund_d]).unwrap();
        assert_eq!(ledger.balance(&address('B')), 60);
        let promotion = effect(&[]);
        ledger.apply(&[&promotion, &promotion]).unwrap();
        ledger.apply(&[&promotion]).unwrap();
        // IRI keeps no record of confirmed bundles: refill A, and the
        // confirmed payment confirms a second time.
        let refill = effect(&[('B', -60), ('A', 60)]);
        ledger.apply(&[&refill]).unwrap();
        ledger.apply(&[&pay]).unwrap();
        assert_eq!(ledger.balance(&address('A')), 40);
        assert_eq!(ledger.balance(&address('B')), 60);
        assert_eq!(ledger.total(), 100);
    }

    #[test]
    fn genesis_is_bounded() {
        assert!(Ledger::genesis(&[(address('A'), u64::MAX), (address('B'), 1)]).is_err());
        assert!(Ledger::genesis(&[(address('A'), hub_protocol::SUPPLY as u64 + 1)]).is_err());
    }
}
