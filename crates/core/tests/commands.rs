//! The commands of this issue, on SQLite and PostgreSQL
//! (hub-behaviour.md §13 A, B, D, E).

mod common;

use common::*;
use hub_core::{AccountReason, BalanceEvent, HubError, Transfer};
use hub_protocol::address::ChecksumPolicy;
use hub_protocol::Address;

fn t(user: &str, amount: i64) -> Transfer {
    Transfer {
        user_id: user.into(),
        amount,
    }
}

async fn users_and_balances(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub.create_user("alice").await.unwrap();
    assert_eq!(hub.get_balance("alice").await.unwrap().available, 0);
    assert_eq!(hub.create_user("alice").await, Err(HubError::UserExists));
    for bad in ["", &"x".repeat(65), "tab\there"] {
        assert!(
            matches!(
                hub.create_user(bad).await,
                Err(HubError::InvalidArgument { field: "userId", .. })
            ),
            "{bad:?}"
        );
    }
    hub.create_user(&"ü".repeat(64)).await.unwrap();
    assert_eq!(hub.get_balance("nobody").await, Err(HubError::UserDoesNotExist));
    assert_eq!(
        hub.get_deposit_address("nobody", false).await,
        Err(HubError::UserDoesNotExist)
    );
    assert_eq!(hub.get_user_history("nobody", 0).await, Err(HubError::UserDoesNotExist));
    assert_eq!(hub.get_stats().await.unwrap().total_balance, 0);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(users_and_balances_test, users_and_balances);

async fn deposit_addresses(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub.create_user("bob").await.unwrap();
    let plain = hub.get_deposit_address("bob", false).await.unwrap();
    let with_checksum = hub.get_deposit_address("bob", true).await.unwrap();
    assert_eq!(plain.len(), 81);
    assert_eq!(with_checksum.len(), 90);
    let checked = Address::parse(&with_checksum, ChecksumPolicy::Required).unwrap();
    assert_ne!(checked.as_str(), plain, "every call gives a new address");
    assert_eq!(hub.get_address_info(&plain).await.unwrap(), "bob");
    assert_eq!(hub.get_address_info(checked.as_str()).await.unwrap(), "bob");
    // Stored without checksum; a checksummed or malformed query is an argument error, never a user id.
    assert!(matches!(
        hub.get_address_info(&with_checksum).await,
        Err(HubError::InvalidArgument { .. })
    ));
    assert!(matches!(
        hub.get_address_info("A").await,
        Err(HubError::InvalidArgument { .. })
    ));
    assert_eq!(
        hub.get_address_info(&"9".repeat(81)).await,
        Err(HubError::UnknownAddress)
    );
    // The address derives from its stored seed UUID with the provider.
    assert!(hub.verify_derivation().await.is_ok());
    // The pool serves addresses when filled.
    let added = hub_core::pool::refill(&ctx.hub, 3, 2).await.unwrap();
    assert_eq!(added, 3);
    let pooled = hub.get_deposit_address("bob", false).await.unwrap();
    assert_eq!(hub.get_address_info(&pooled).await.unwrap(), "bob");
    assert_eq!(
        hub_core::pool::refill(&ctx.hub, 3, 2).await.unwrap(),
        1,
        "one was taken"
    );
    ctx.finish().await;
}
on_both_databases!(deposit_addresses_test, deposit_addresses);

async fn wrong_salt_is_detected(db: Db) {
    let ctx = start(db).await;
    ctx.hub.create_user("carol").await.unwrap();
    ctx.hub.get_deposit_address("carol", false).await.unwrap();
    let other_salt = hub_protocol::Salt::new(b"another salt, also long enough".to_vec()).unwrap();
    let provider = std::sync::Arc::new(
        hub_signer::LocalProvider::new(other_salt, test_params(), hub_protocol::SecurityLevel::Medium, 1).unwrap(),
    );
    let store = hub_store::Store::connect(&ctx.db.url).await.unwrap();
    let wrong = hub_core::Hub::new(
        store,
        ctx.client.clone(),
        provider,
        std::sync::Arc::new(hub_core::SystemClock),
    );
    let err = wrong.verify_derivation().await.unwrap_err();
    assert!(err.contains("salt"), "{err}");
    wrong.store().close().await;
    ctx.finish().await;
}
on_both_databases!(wrong_salt_is_detected_test, wrong_salt_is_detected);

async fn transfer_batches(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    for u in ["a", "b", "c"] {
        hub.create_user(u).await.unwrap();
    }
    // Nobody has money yet: any debit is inconsistent.
    assert!(matches!(
        hub.process_transfer_batch(&[t("a", 5), t("b", -5)]).await,
        Err(HubError::BatchInconsistent(_))
    ));
    // Seed balances through the ledger as a sweep would (a buy from nowhere is impossible through the API).
    ctx.sql(
        "INSERT INTO user_account_balance (user_id, amount, reason, occured_at) SELECT id, 100, 1, 0 FROM user_account",
    )
    .await;
    ctx.sql("UPDATE user_account SET balance = 100").await;
    assert!(ctx.mismatches().await.is_empty());
    let before = hub.get_stats().await.unwrap().total_balance;

    // Validation order: unknown user first, then zero, then sum, then balances.
    assert_eq!(
        hub.process_transfer_batch(&[t("a", 5), t("ghost", -1)]).await,
        Err(HubError::UserDoesNotExist)
    );
    assert!(matches!(
        hub.process_transfer_batch(&[t("a", 0), t("b", 0)]).await,
        Err(HubError::BatchInvalid(_))
    ));
    assert_eq!(
        hub.process_transfer_batch(&[t("a", 5), t("b", -4)]).await,
        Err(HubError::BatchAmountNotZero)
    );
    assert!(matches!(
        hub.process_transfer_batch(&[t("a", 150), t("b", -150)]).await,
        Err(HubError::BatchInconsistent(_))
    ));
    assert_eq!(
        hub.process_transfer_batch(&[t("a", i64::MAX), t("b", i64::MAX)]).await,
        Err(HubError::BatchAmountNotZero)
    );
    assert_eq!(hub.process_transfer_batch(&[]).await, Ok(()));
    for u in ["a", "b", "c"] {
        assert_eq!(
            hub.get_balance(u).await.unwrap().available,
            100,
            "failed batches change nothing"
        );
    }
    // A valid zig-zag batch: a user may appear several times; the net counts.
    hub.process_transfer_batch(&[t("a", 30), t("b", -50), t("c", -20), t("b", 140), t("a", -100)])
        .await
        .unwrap();
    assert_eq!(hub.get_balance("a").await.unwrap().available, 30);
    assert_eq!(hub.get_balance("b").await.unwrap().available, 190);
    assert_eq!(hub.get_balance("c").await.unwrap().available, 80);
    assert_eq!(hub.get_stats().await.unwrap().total_balance, before);
    let history = hub.get_user_history("b", 0).await.unwrap();
    let kinds: Vec<(AccountReason, i64)> = history.iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(
        kinds,
        vec![
            (AccountReason::Buy, 100),
            (AccountReason::Sell, -50),
            (AccountReason::Buy, 140)
        ]
    );
    assert!(history
        .iter()
        .all(|e| e.user_id == "b" && e.sweep_bundle_hash.is_empty() && e.withdrawal_uuid.is_empty()));
    // newerThan is inclusive.
    let last = history.last().unwrap().timestamp_ms;
    let newer = hub.get_user_history("b", last).await.unwrap();
    assert!(!newer.is_empty() && newer.iter().all(|e| e.timestamp_ms >= last));
    assert!(hub
        .get_user_history("b", last + 1)
        .await
        .unwrap()
        .iter()
        .all(|e| e.timestamp_ms > last));
    // Buys and sells never appear in the balance subscription.
    let events = hub.balance_subscription(0).await.unwrap();
    assert!(events.iter().all(
        |e| !matches!(e, BalanceEvent::UserAccount(a) if matches!(a.kind, AccountReason::Buy | AccountReason::Sell))
    ));
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(transfer_batches_test, transfer_batches);

/// A batch sent with an idempotency key settles once: retried one after the
/// other or sent several times at once, the same key and transfers succeed
/// and move the money once; the same key with other transfers is refused;
/// a batch that failed leaves its key unused.
async fn transfer_batches_settle_once_per_key(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    for u in ["a", "b"] {
        hub.create_user(u).await.unwrap();
    }
    ctx.sql(
        "INSERT INTO user_account_balance (user_id, amount, reason, occured_at) SELECT id, 100, 1, 0 FROM user_account",
    )
    .await;
    ctx.sql("UPDATE user_account SET balance = 100").await;
    let batch = [t("a", -10), t("b", 10)];
    for _ in 0..2 {
        hub.process_transfer_batch_keyed(&batch, Some("trade-1")).await.unwrap();
    }
    let at_once: Vec<_> = (0..6)
        .map(|_| {
            let hub = ctx.hub.clone();
            tokio::spawn(async move {
                hub.process_transfer_batch_keyed(&[t("a", -5), t("b", 5)], Some("trade-2"))
                    .await
            })
        })
        .collect();
    for sent in at_once {
        sent.await.unwrap().unwrap();
    }
    assert_eq!(
        hub.get_balance("a").await.unwrap().available,
        85,
        "each key settled once"
    );
    assert_eq!(hub.get_balance("b").await.unwrap().available, 115);
    assert!(matches!(
        hub.process_transfer_batch_keyed(&[t("a", -1), t("b", 1)], Some("trade-1"))
            .await,
        Err(HubError::IdempotencyKeyReused(_))
    ));
    assert!(matches!(
        hub.process_transfer_batch_keyed(&[t("a", -1000), t("b", 1000)], Some("trade-3"))
            .await,
        Err(HubError::BatchInconsistent(_))
    ));
    hub.process_transfer_batch_keyed(&[t("a", -1), t("b", 1)], Some("trade-3"))
        .await
        .unwrap();
    assert!(matches!(
        hub.process_transfer_batch_keyed(&batch, Some("")).await,
        Err(HubError::InvalidArgument {
            field: "idempotencyKey",
            ..
        })
    ));
    assert_eq!(hub.get_balance("a").await.unwrap().available, 84);
    let settled = ctx
        .strings("SELECT idempotency_key FROM transfer_batch ORDER BY id")
        .await;
    assert_eq!(settled, ["trade-1", "trade-2", "trade-3"]);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(
    transfer_batches_settle_once_per_key_test,
    transfer_batches_settle_once_per_key
);

/// Histories and subscriptions longer than one query's page (1 000 rows)
/// come back whole, in order, each row once.
async fn long_histories_are_read_in_pages(db: Db) {
    let ctx = start(db).await;
    ctx.hub.create_user("long").await.unwrap();
    // Cancellations of one withdrawal, as many as a long-lived account gathers.
    ctx.sql(&format!(
        "INSERT INTO withdrawal (uuid, user_id, amount, payout_address, tag, requested_at)
         SELECT 'w-long', id, 1, '{}', '{}', 0 FROM user_account WHERE identifier = 'long'",
        "A".repeat(81),
        "9".repeat(27)
    ))
    .await;
    let rows: Vec<String> = (1..=2_500)
        .map(|n| {
            format!(
                "((SELECT id FROM user_account WHERE identifier = 'long'), {n}, 2, \
                 (SELECT id FROM withdrawal WHERE uuid = 'w-long'), {})",
                n / 3
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        ctx.sql(&format!(
            "INSERT INTO user_account_balance (user_id, amount, reason, withdrawal, occured_at) VALUES {}",
            chunk.join(", ")
        ))
        .await;
    }
    let history = ctx.hub.get_user_history("long", 0).await.unwrap();
    let amounts: Vec<i64> = history.iter().map(|e| e.amount).collect();
    assert_eq!(amounts, (1..=2_500).collect::<Vec<i64>>());
    let later = ctx.hub.get_user_history("long", 500).await.unwrap();
    assert_eq!(later.len(), 2_500 - 1_499, "at or after 500 ms");
    let events = ctx.hub.balance_subscription(0).await.unwrap();
    let deposits: Vec<i64> = events
        .iter()
        .filter_map(|e| match e {
            BalanceEvent::UserAccount(e) => Some(e.amount),
            _ => None,
        })
        .collect();
    assert_eq!(
        deposits,
        (1..=2_500).collect::<Vec<i64>>(),
        "by time, then by id, each once"
    );
    ctx.finish().await;
}
on_both_databases!(long_histories_are_read_in_pages_test, long_histories_are_read_in_pages);

/// Several clients send random two-entry batches at once; returns how many applied.
async fn random_interleaving(db: Db, seed: u64, clients: u64, rounds: usize) -> usize {
    let ctx = start(db).await;
    let users: Vec<String> = (0..6).map(|i| format!("user{i}")).collect();
    for u in &users {
        ctx.hub.create_user(u).await.unwrap();
    }
    ctx.sql(
        "INSERT INTO user_account_balance (user_id, amount, reason, occured_at) SELECT id, 50, 1, 0 FROM user_account",
    )
    .await;
    ctx.sql("UPDATE user_account SET balance = 50").await;
    let total = ctx.hub.get_stats().await.unwrap().total_balance;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let hub = ctx.hub.clone();
        let users = users.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(client));
            let mut applied = 0;
            for _ in 0..rounds {
                use rand::Rng;
                let from = &users[rng.gen_range(0..users.len())];
                let to = &users[rng.gen_range(0..users.len())];
                let amount = rng.gen_range(1..=40);
                if from == to {
                    continue;
                }
                match hub.process_transfer_batch(&[t(from, -amount), t(to, amount)]).await {
                    Ok(()) => applied += 1,
                    Err(HubError::BatchInconsistent(_)) => {}
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
            applied
        }));
    }
    let mut applied = 0;
    for task in tasks {
        applied += task.await.unwrap();
    }
    let mut sum = 0u64;
    for u in &users {
        let balance = ctx.hub.get_balance(u).await.unwrap().available;
        assert!(balance >= 0, "{u} went negative");
        sum += balance as u64;
    }
    assert_eq!(sum, total, "the sum is conserved");
    assert_eq!(ctx.hub.get_stats().await.unwrap().total_balance, total);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
    applied
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4))]
    /// Random interleavings of batches from several concurrent clients never
    /// leave a negative balance and always conserve the sum, on both databases.
    #[test]
    fn concurrent_batches_never_overdraw(seed in proptest::prelude::any::<u64>(), clients in 2u64..7) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        for db in [Db::Sqlite, Db::Postgres] {
            let applied = runtime.block_on(random_interleaving(db, seed, clients, 25));
            proptest::prop_assert!(applied > 0);
        }
    }
}

async fn was_address_spent_from(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    let fresh = "A".repeat(80) + "9";
    assert_eq!(hub.was_address_spent_from(&fresh, false).await, Ok(false));
    let with_checksum = address(&fresh).with_checksum();
    assert_eq!(hub.was_address_spent_from(&with_checksum, true).await, Ok(false));
    assert!(matches!(
        hub.was_address_spent_from(&fresh, true).await,
        Err(HubError::InvalidChecksum(_))
    ));
    assert!(matches!(
        hub.was_address_spent_from("AB", true).await,
        Err(HubError::InvalidChecksum(_))
    ));
    assert!(matches!(
        hub.was_address_spent_from(&with_checksum, false).await,
        Err(HubError::InvalidArgument { .. })
    ));
    assert!(matches!(
        hub.was_address_spent_from(&("A".repeat(80) + "M"), false).await,
        Err(HubError::InvalidAddress(_))
    ));
    // A faucet payment spends a genesis address: the node says so.
    let tail = ctx.fund(&fresh, 10).await;
    let spent = ctx.spent_by(tail).await;
    assert_eq!(hub.was_address_spent_from(spent.as_str(), false).await, Ok(true));
    // Node down: IOTA_NODE_UNAVAILABLE.
    ctx.client
        .call_raw(
            "setFaults",
            &serde_json::json!({"command": "setFaults", "failRate": 1.0}),
        )
        .await
        .unwrap();
    assert!(matches!(
        hub.was_address_spent_from(&fresh, false).await,
        Err(HubError::IotaNodeUnavailable(_))
    ));
    ctx.finish().await;
}
on_both_databases!(was_address_spent_from_test, was_address_spent_from);

use rand::SeedableRng;
