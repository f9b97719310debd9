//! Property: whatever happens (payments, spends with wrong amounts, double
//! spends, reattachments, milestones), the sum of all balances stays the
//! genesis supply and no balance goes negative.

mod common;

use std::sync::Arc;

use common::{address, now_s, seed};
use hub_devnet::{Genesis, Node, NodeConfig};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::{wots, Address, SecurityLevel, Seed, Transaction};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Fund {
        to: usize,
        amount: u64,
    },
    Spend {
        from: usize,
        claimed: u64,
        to: usize,
        pay: u64,
        on_milestone: bool,
    },
    Reattach {
        which: usize,
    },
    Milestone,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..6, 1u64..5_000).prop_map(|(to, amount)| Op::Fund { to, amount }),
        (0usize..6, 1u64..6_000, 0usize..6, 0u64..6_000, any::<bool>()).prop_map(
            |(from, claimed, to, pay, on_milestone)| Op::Spend {
                from,
                claimed,
                to,
                pay,
                on_milestone
            }
        ),
        (0usize..8).prop_map(|which| Op::Reattach { which }),
        Just(Op::Milestone),
    ]
}

fn node() -> Arc<Node> {
    Node::open(NodeConfig {
        mwm: 5,
        genesis: Genesis {
            addresses: 3,
            supply: 1_000_000,
            ..Genesis::default()
        },
        ..NodeConfig::default()
    })
    .unwrap()
}

fn signed_spend(
    s: &Seed,
    from: usize,
    claimed: u64,
    to: Address,
    pay: u64,
    remainder: Address,
) -> Option<Vec<Transaction>> {
    let pay = pay.min(claimed);
    let mut builder = BundleBuilder::new(now_s()).ok()?.input(Input {
        address: address(s, from as u64),
        amount: claimed,
        security: SecurityLevel::Medium,
    });
    builder = builder.output(Output::new(to, pay));
    if claimed > pay {
        builder = builder.output(Output::new(remainder, claimed - pay));
    }
    builder
        .build()
        .ok()?
        .sign(|slot, hash| Ok::<_, ()>(wots::sign(s, from as u64, slot.security, hash)))
        .ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn funds_are_conserved(ops in proptest::collection::vec(op(), 1..24)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let node = node();
            let s = seed("CONSERVATION");
            let pool: Vec<Address> = (0..6).map(|i| address(&s, i)).collect();
            let mut bundles: Vec<Vec<Transaction>> = Vec::new();
            for op in ops {
                match op {
                    Op::Fund { to, amount } => {
                        let _ = node.fund(pool[to], amount).await;
                    }
                    Op::Spend { from, claimed, to, pay, on_milestone } => {
                        let remainder = pool[(from + 1) % pool.len()];
                        if let Some(bundle) = signed_spend(&s, from, claimed, pool[to], pay, remainder) {
                            let (trunk, branch) = if on_milestone {
                                let m = node.info().latest.hash;
                                (m, m)
                            } else {
                                node.transactions_to_approve(3, None).unwrap()
                            };
                            let wire: Vec<Transaction> = bundle.iter().rev().cloned().collect();
                            let attached = node.attach(trunk, branch, 5, wire).await.unwrap();
                            node.store(attached).unwrap();
                            bundles.push(bundle);
                        }
                    }
                    Op::Reattach { which } => {
                        if let Some(bundle) = bundles.get(which) {
                            let m = node.info().latest.hash;
                            let wire: Vec<Transaction> = bundle.iter().rev().cloned().collect();
                            let attached = node.attach(m, m, 5, wire).await.unwrap();
                            node.store(attached).unwrap();
                        }
                    }
                    Op::Milestone => {
                        node.issue_milestone().unwrap();
                    }
                }
                let (total, supply) = node.ledger_totals();
                prop_assert_eq!(total, supply);
            }
            node.issue_milestone().unwrap();
            let (total, supply) = node.ledger_totals();
            prop_assert_eq!(total, 1_000_000);
            prop_assert_eq!(supply, 1_000_000);
            Ok(())
        })?;
    }
}
