//! What a sweep takes and pays: a pure decision over what the database
//! offers (hub-behaviour.md §6.3, with its fix "as many withdrawals as
//! funds allow").
//!
//! Every deposit offered is swept. Of the withdrawals offered (oldest
//! first), the longest prefix the funds (deposits plus the largest
//! [`HUB_INPUTS_MAX`] eligible Hub addresses) can pay is taken; Hub
//! addresses are added only until the payouts are covered, smallest first
//! (consolidating dust), or largest first when the smallest would take
//! more than [`HUB_INPUTS_MAX`]; what is left is the remainder, paid to a
//! new Hub address. Nothing here does I/O, so every rule is table-tested.

use hub_protocol::Amount;
use hub_store::{FundedAddress, WithdrawalRow};

use crate::{invariant, HubError};

/// Hub addresses one sweep spends at most. With the deposit limit (5 by
/// default), security 3 and the withdrawal limit (7), a sweep stays under
/// 90 transactions: one `attachToTangle` body of IRI 1.8.6 (1 000 000
/// characters, about 370 transactions), proof of work in seconds, and a
/// bundle every node validates quickly. Thousands of dust addresses are
/// consolidated over several sweeps instead of one bundle no node takes.
pub const HUB_INPUTS_MAX: usize = 20;

/// What the database offers a sweep.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a> {
    /// Pending withdrawals, oldest first (at most the sweep's limit).
    pub withdrawals: &'a [WithdrawalRow],
    /// Funded, unswept deposit addresses, oldest deposit first (at most the limit).
    pub deposits: &'a [FundedAddress],
    /// Eligible Hub addresses, smallest balance first (any number: at
    /// most [`HUB_INPUTS_MAX`] are taken).
    pub hub_inputs: &'a [FundedAddress],
}

/// What a sweep takes and pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Deposit addresses emptied (every one offered).
    pub deposits: Vec<FundedAddress>,
    /// Hub addresses spent to cover the payouts.
    pub hub_inputs: Vec<FundedAddress>,
    /// Withdrawals paid.
    pub withdrawals: Vec<WithdrawalRow>,
    /// What is left for the new Hub address (possibly zero).
    pub remainder: Amount,
}

impl Selection {
    /// The inputs in bundle order: deposits, then Hub addresses.
    pub fn inputs(&self) -> impl Iterator<Item = &FundedAddress> {
        self.deposits.iter().chain(self.hub_inputs.iter())
    }
}

fn total(what: &str, amounts: impl IntoIterator<Item = Amount>) -> Result<Amount, HubError> {
    Amount::checked_sum(amounts).ok_or_else(|| HubError::broken_invariant(format!("{what} exceed the supply")))
}

/// The sweep to make, or `None` when there is nothing to sweep or pay.
pub fn select(offer: &Candidates<'_>) -> Result<Option<Selection>, HubError> {
    if offer.withdrawals.is_empty() && offer.deposits.is_empty() {
        return Ok(None);
    }
    let deposits_total = total("deposit balances", offer.deposits.iter().map(|d| d.balance))?;
    let largest = offer.hub_inputs.iter().rev().take(HUB_INPUTS_MAX);
    let hub_total = total("Hub address balances", largest.map(|h| h.balance))?;
    let funds = total("funds", [deposits_total, hub_total])?;
    let mut withdrawals = Vec::new();
    let mut payouts = Amount::ZERO;
    for w in offer.withdrawals {
        match payouts.checked_add(w.amount) {
            Some(next) if next <= funds => {
                payouts = next;
                withdrawals.push(w.clone());
            }
            _ => break,
        }
    }
    if offer.deposits.is_empty() && withdrawals.is_empty() {
        return Ok(None);
    }
    let smallest_first = covering(offer.hub_inputs.iter(), deposits_total, payouts)?;
    let (hub_inputs, inputs_total) = if smallest_first.0.len() <= HUB_INPUTS_MAX {
        smallest_first
    } else {
        covering(offer.hub_inputs.iter().rev(), deposits_total, payouts)?
    };
    let remainder = inputs_total
        .checked_sub(payouts)
        .ok_or_else(|| HubError::broken_invariant("a sweep's inputs do not cover its payouts"))?;
    let selection = Selection {
        deposits: offer.deposits.to_vec(),
        hub_inputs,
        withdrawals,
        remainder,
    };
    check_balanced(&selection)?;
    Ok(Some(selection))
}

/// The Hub inputs, taken in `order` until `deposits` and they cover
/// `payouts`, and the inputs' total with the deposits.
fn covering<'a>(
    order: impl Iterator<Item = &'a FundedAddress>,
    deposits: Amount,
    payouts: Amount,
) -> Result<(Vec<FundedAddress>, Amount), HubError> {
    let mut taken = Vec::new();
    let mut inputs_total = deposits;
    for h in order {
        if inputs_total >= payouts {
            break;
        }
        inputs_total = total("inputs", [inputs_total, h.balance])?;
        taken.push(h.clone());
    }
    Ok((taken, inputs_total))
}

/// Invariant §3.4.6: Σ inputs = Σ payouts + remainder.
pub(crate) fn check_balanced(selection: &Selection) -> Result<(), HubError> {
    let inputs = total("inputs", selection.inputs().map(|i| i.balance))?;
    let payouts = total("payouts", selection.withdrawals.iter().map(|w| w.amount))?;
    let outputs = total("outputs", [payouts, selection.remainder])?;
    invariant!(
        inputs == outputs,
        "a sweep's inputs ({inputs}) differ from its payouts and remainder ({outputs})"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Goal: every selection rule of §13 G (55, 57, 60, 61 as fixed) holds
    //! for a table of offers. Method: pure calls, amounts chosen so each
    //! rule decides the case.

    use hub_protocol::{Address, SeedUuid, Tag};

    use super::*;

    fn amount(tokens: u64) -> Amount {
        Amount::new(tokens).unwrap()
    }

    /// A distinct address for every `n`.
    fn address(n: u8) -> Address {
        let tryte = |i: u8| char::from(hub_protocol::ternary::TRYTE_ALPHABET[usize::from(i % 27)]);
        Address::from_trytes(&format!("{}{}9", tryte(n).to_string().repeat(79), tryte(n / 27))).unwrap()
    }

    fn funded(id: i64, tokens: u64, user: Option<i64>) -> FundedAddress {
        FundedAddress {
            id,
            address: address(u8::try_from(id).unwrap()),
            seed_uuid: SeedUuid::generate(),
            balance: amount(tokens),
            user_id: user,
        }
    }

    fn deposit(id: i64, tokens: u64) -> FundedAddress {
        funded(id, tokens, Some(1))
    }

    fn hub(id: i64, tokens: u64) -> FundedAddress {
        funded(id, tokens, None)
    }

    fn withdrawal(id: i64, tokens: u64) -> WithdrawalRow {
        WithdrawalRow {
            id,
            uuid: format!("w{id}"),
            user_id: 1,
            amount: amount(tokens),
            payout_address: address(20),
            tag: Tag::NULL,
            sweep: None,
            requested_at: id,
            cancelled_at: None,
            idempotency_key: None,
        }
    }

    /// (deposit ids, hub ids, withdrawal ids, remainder) of a selection.
    fn shape(selection: &Selection) -> (Vec<i64>, Vec<i64>, Vec<i64>, u64) {
        (
            selection.deposits.iter().map(|d| d.id).collect(),
            selection.hub_inputs.iter().map(|h| h.id).collect(),
            selection.withdrawals.iter().map(|w| w.id).collect(),
            selection.remainder.get(),
        )
    }

    #[test]
    fn nothing_offered_or_nothing_payable_makes_no_sweep() {
        let none = Candidates {
            withdrawals: &[],
            deposits: &[],
            hub_inputs: &[hub(9, 100)],
        };
        assert_eq!(select(&none).unwrap(), None, "G55: no withdrawal, no deposit");
        let unpayable = [withdrawal(1, 500)];
        let offer = Candidates {
            withdrawals: &unpayable,
            deposits: &[],
            hub_inputs: &[hub(9, 100)],
        };
        assert_eq!(select(&offer).unwrap(), None, "funds cannot pay the only withdrawal");
    }

    #[test]
    fn selection_rules_over_a_table_of_offers() {
        type Case = (
            &'static str,
            Vec<FundedAddress>,
            Vec<FundedAddress>,
            Vec<WithdrawalRow>,
            (Vec<i64>, Vec<i64>, Vec<i64>, u64),
        );
        let cases: Vec<Case> = vec![
            (
                "deposits alone are swept into the remainder",
                vec![deposit(1, 300), deposit(2, 200)],
                vec![hub(9, 1_000)],
                vec![],
                (vec![1, 2], vec![], vec![], 500),
            ),
            (
                "deposits cover the withdrawal: no Hub input (G60)",
                vec![deposit(1, 300)],
                vec![hub(9, 1_000)],
                vec![withdrawal(1, 250)],
                (vec![1], vec![], vec![1], 50),
            ),
            (
                "Hub inputs smallest first, stopping once covered (G60)",
                vec![deposit(1, 100)],
                vec![hub(7, 50), hub(8, 100), hub(9, 1_000)],
                vec![withdrawal(1, 200)],
                (vec![1], vec![7, 8], vec![1], 50),
            ),
            (
                "an exact payout leaves a zero remainder (G59)",
                vec![],
                vec![hub(7, 40), hub(8, 60)],
                vec![withdrawal(1, 100)],
                (vec![], vec![7, 8], vec![1], 0),
            ),
            (
                "as many of the oldest withdrawals as funds allow, in order (G61 fixed)",
                vec![deposit(1, 100)],
                vec![hub(9, 100)],
                vec![
                    withdrawal(1, 120),
                    withdrawal(2, 50),
                    withdrawal(3, 10),
                    withdrawal(4, 30),
                ],
                (vec![1], vec![9], vec![1, 2, 3], 20),
            ),
            (
                "a younger small withdrawal never jumps an older large one",
                vec![deposit(1, 100)],
                vec![],
                vec![withdrawal(1, 500), withdrawal(2, 10)],
                (vec![1], vec![], vec![], 100),
            ),
            (
                "withdrawals paid from Hub funds alone",
                vec![],
                vec![hub(9, 1_000)],
                vec![withdrawal(1, 400), withdrawal(2, 100)],
                (vec![], vec![9], vec![1, 2], 500),
            ),
        ];
        for (name, deposits, hubs, withdrawals, expected) in cases {
            let offer = Candidates {
                withdrawals: &withdrawals,
                deposits: &deposits,
                hub_inputs: &hubs,
            };
            let selection = select(&offer).unwrap().unwrap_or_else(|| panic!("{name}: no sweep"));
            assert_eq!(shape(&selection), expected, "{name}");
            check_balanced(&selection).unwrap();
        }
    }

    #[test]
    fn a_sweep_spends_at_most_hub_inputs_max_hub_addresses() {
        let max = HUB_INPUTS_MAX as i64;
        // Dust, then one large address: smallest first would take them all.
        let mut hubs: Vec<FundedAddress> = (1..=max + 10).map(|id| hub(id, 1)).collect();
        hubs.push(hub(100, 1_000));
        let withdrawals = [withdrawal(1, 50)];
        let offer = Candidates {
            withdrawals: &withdrawals,
            deposits: &[],
            hub_inputs: &hubs,
        };
        let selection = select(&offer).unwrap().unwrap();
        assert_eq!(shape(&selection), (vec![], vec![100], vec![1], 950), "largest first");

        // Dust that covers within the bound is consolidated, smallest first.
        let withdrawals = [withdrawal(1, 5)];
        let offer = Candidates {
            withdrawals: &withdrawals,
            ..offer
        };
        let selection = select(&offer).unwrap().unwrap();
        assert_eq!(shape(&selection).1, vec![1, 2, 3, 4, 5]);

        // Funds beyond the largest HUB_INPUTS_MAX addresses pay nothing now.
        let hubs: Vec<FundedAddress> = (1..=max + 5).map(|id| hub(id, 10)).collect();
        let withdrawals = [withdrawal(1, 10 * u64::try_from(max).unwrap() + 1)];
        let offer = Candidates {
            withdrawals: &withdrawals,
            deposits: &[],
            hub_inputs: &hubs,
        };
        assert_eq!(select(&offer).unwrap(), None, "the withdrawal waits");
    }

    #[test]
    fn the_whole_supply_balances() {
        let deposits = [deposit(1, Amount::MAX.get())];
        let withdrawals = [withdrawal(1, Amount::MAX.get())];
        let offer = Candidates {
            withdrawals: &withdrawals,
            deposits: &deposits,
            hub_inputs: &[],
        };
        let selection = select(&offer).unwrap().unwrap();
        assert_eq!(shape(&selection), (vec![1], vec![], vec![1], 0));
    }
}
