//! Goal: the store, on its own, on both engines: rows come back in the
//! types they went in as, the ledgers and their cached balances move
//! together, a pooled address is taken once, and a corrupt stored value is
//! an error naming its table and column (never a panic or a default).
//! Method: a fresh database per test; corruption is written with raw SQL
//! past the store's API, as a broken migration or a hand edit would.

use hub_protocol::{Address, Amount, Hash, SeedUuid, Tag};
use hub_store::testing::{Db, TestDb};
use hub_store::{on_both_databases, AccountEntry, AccountReason, NewWithdrawal, Store, StoreError, SweepState};
use sqlx::Executor;

fn address(letter: char) -> Address {
    Address::from_trytes(&format!("{}9", letter.to_string().repeat(80))).unwrap()
}

async fn raw(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    pool.execute(sql).await.unwrap();
    pool.close().await;
}

fn corrupt_at(error: StoreError) -> (&'static str, &'static str) {
    match error {
        StoreError::Corrupt { table, column, .. } => (table, column),
        other => panic!("expected a corrupt-row error, got {other}"),
    }
}

async fn rows_come_back_typed_and_ledgers_move_with_balances(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();
    let uuid = SeedUuid::generate();
    let mut tx = store.begin().await.unwrap();
    let user = tx.insert_user("ada", 1).await.unwrap().unwrap();
    assert_eq!(tx.insert_user("ada", 1).await.unwrap(), None, "identifiers are unique");
    tx.insert_user_address(user, &address('A'), &uuid, 1).await.unwrap();
    let credit = AccountEntry {
        user_id: user,
        amount: Amount::new(700).unwrap().credit(),
        reason: AccountReason::Buy,
        sweep: None,
        withdrawal: None,
    };
    tx.add_account_entries(&[credit], 2).await.unwrap();
    let withdrawal = NewWithdrawal {
        uuid: "0f8fad5b-d9cb-469f-a165-70867728950e",
        user_id: user,
        amount: Amount::new(200).unwrap(),
        payout_address: address('P'),
        tag: Tag::from_trytes_padded("PAY").unwrap(),
        idempotency_key: Some("k1"),
    };
    tx.insert_withdrawal(&withdrawal, 3).await.unwrap();
    tx.commit().await.unwrap();

    let mut read = store.read().await.unwrap();
    let row = read.user_address(&address('A')).await.unwrap().unwrap();
    assert_eq!(
        (row.address, row.seed_uuid.clone(), row.swept, row.quarantined),
        (address('A'), uuid, false, false)
    );
    assert_eq!(
        read.user("ada").await.unwrap().unwrap().balance.get(),
        500,
        "700 bought, 200 reserved"
    );
    let stored = read.withdrawal(withdrawal.uuid).await.unwrap().unwrap();
    assert_eq!(
        (stored.amount.get(), stored.payout_address, stored.tag),
        (200, address('P'), withdrawal.tag)
    );
    let history = read.account_history(user, 0).await.unwrap();
    let reasons: Vec<(AccountReason, i64)> = history.iter().map(|e| (e.reason, e.amount.get())).collect();
    assert_eq!(
        reasons,
        vec![(AccountReason::Buy, 700), (AccountReason::Withdrawal, -200)]
    );
    assert_eq!(read.balance_mismatches().await.unwrap(), Vec::<String>::new());
    drop(read);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.cancel_withdrawal(withdrawal.uuid, 4).await.unwrap());
    assert!(
        !tx.cancel_withdrawal(withdrawal.uuid, 4).await.unwrap(),
        "cancelled once"
    );
    tx.commit().await.unwrap();
    let mut read = store.read().await.unwrap();
    assert_eq!(read.user("ada").await.unwrap().unwrap().balance.get(), 700);
    assert_eq!(read.balance_mismatches().await.unwrap(), Vec::<String>::new());
    drop(read);
    store.close().await;
    test.remove().await;
}
on_both_databases!(typed_rows, rows_come_back_typed_and_ledgers_move_with_balances);

async fn a_pooled_address_is_taken_once(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();
    let uuid = SeedUuid::generate();
    let mut tx = store.begin().await.unwrap();
    tx.add_pooled_address(&uuid, &address('B'), 1).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let taken = tx.take_pooled_address().await.unwrap().unwrap();
    assert_eq!((taken.seed_uuid, taken.address), (uuid, address('B')));
    assert_eq!(tx.take_pooled_address().await.unwrap(), None);
    tx.commit().await.unwrap();
    assert_eq!(store.read().await.unwrap().pool_size().await.unwrap(), 0);
    store.close().await;
    test.remove().await;
}
on_both_databases!(pool, a_pooled_address_is_taken_once);

async fn corrupt_rows_are_errors_naming_table_and_column(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let user = tx.insert_user("bob", 1).await.unwrap().unwrap();
    tx.insert_user_address(user, &address('C'), &SeedUuid::generate(), 1)
        .await
        .unwrap();
    let hub = tx
        .insert_hub_address(&address('H'), &SeedUuid::generate(), 1)
        .await
        .unwrap();
    let hash = Hash::from_trytes(&"S".repeat(81)).unwrap();
    tx.insert_sweep(&hash, "", hub, 1).await.unwrap();
    tx.commit().await.unwrap();

    raw(&test.url, "UPDATE user_address SET address = 'NOT-TRYTES'").await;
    let error = store
        .read()
        .await
        .unwrap()
        .monitored_addresses(0, 10)
        .await
        .unwrap_err();
    assert_eq!(corrupt_at(error), ("user_address", "address"));

    raw(&test.url, "UPDATE user_address SET seed_uuid = 'short'").await;
    let error = store.read().await.unwrap().funded_deposit_addresses(10).await;
    assert!(error.unwrap().is_empty(), "nothing funded yet: nothing parsed");
    raw(&test.url, "UPDATE user_address SET balance = 5").await;
    let error = store
        .read()
        .await
        .unwrap()
        .funded_deposit_addresses(10)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(!message.contains("short"), "a seed UUID is never quoted: {message}");
    assert_eq!(
        corrupt_at(error),
        ("user_address", "address"),
        "the first bad column read"
    );

    raw(&test.url, "UPDATE sweep SET state = 'attached'").await;
    let error = store.read().await.unwrap().sweeps_since(0).await.unwrap_err();
    assert_eq!(corrupt_at(error), ("sweep", "state"));
    assert_eq!(
        store
            .read()
            .await
            .unwrap()
            .sweeps_in_state(SweepState::Planned)
            .await
            .unwrap(),
        vec![],
        "an unknown state is in no state"
    );

    raw(&test.url, "UPDATE hub_address SET is_cold_storage = 7").await;
    let error = store.read().await.unwrap().cold_hub_addresses().await;
    assert!(error.unwrap().is_empty(), "7 is not cold (= 1)");
    let error = store
        .read()
        .await
        .unwrap()
        .hub_address(&address('H'))
        .await
        .unwrap_err();
    assert_eq!(corrupt_at(error), ("hub_address", "is_cold_storage"));
    store.close().await;
    test.remove().await;
}
on_both_databases!(corrupt, corrupt_rows_are_errors_naming_table_and_column);
