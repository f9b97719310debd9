//! Goal: the store, on its own, on both engines: rows come back in the
//! types they went in as, the ledgers and their cached balances move
//! together, a pooled address is taken once, and a corrupt stored value is
//! an error naming its table and column (never a panic or a default).
//! API tokens keep one active row per name and per client CN, and every
//! write transaction run on behalf of an actor records who, atomically.
//! Method: a fresh database per test; corruption is written with raw SQL
//! past the store's API, as a broken migration or a hand edit would.

use hub_protocol::{Address, Amount, Hash, SeedUuid, Tag};
use hub_store::testing::{Db, TestDb};
use hub_store::{
    acting, on_both_databases, AccountEntry, AccountReason, Acting, Credential, EventKind, NewTokenRow, NewWithdrawal,
    Scope, Store, StoreError, SweepState,
};
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
    let history: Vec<_> = read
        .account_history(user, 0, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, row)| row)
        .collect();
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
    let error = store.read().await.unwrap().sweeps_since(0, 0, 100).await.unwrap_err();
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

fn hash_of(letter: char) -> String {
    letter.to_string().repeat(64)
}

fn token<'a>(name: &'a str, hash: &'a str, scopes: &'a [Scope]) -> NewTokenRow<'a> {
    NewTokenRow {
        name,
        credential: Credential::TokenHash(hash),
        scopes,
        expires_at: None,
    }
}

async fn tokens_come_back_as_stored_and_only_one_is_active_per_name(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();
    let (a, b, c) = (hash_of('a'), hash_of('b'), hash_of('c'));
    let scopes = [Scope::Read, Scope::Withdraw];
    let mut tx = store.begin().await.unwrap();
    let ops = NewTokenRow {
        expires_at: Some(9_000),
        ..token("ops", &a, &scopes)
    };
    let id = tx.insert_token(&ops, 10).await.unwrap().unwrap();
    assert_eq!(
        tx.insert_token(&token("ops", &b, &[Scope::Admin]), 11).await.unwrap(),
        None,
        "an active name is unique"
    );
    tx.commit().await.unwrap();

    let mut read = store.read().await.unwrap();
    let row = read.token_by_hash(&a).await.unwrap().unwrap();
    assert_eq!(
        (
            row.id,
            row.name.as_str(),
            row.token_hash.as_deref(),
            row.client_cn.as_deref()
        ),
        (id, "ops", Some(a.as_str()), None)
    );
    assert_eq!(row.scopes, scopes);
    assert_eq!(
        (row.created_at, row.expires_at, row.last_used_at, row.revoked_at),
        (10, Some(9_000), None, None)
    );
    assert_eq!(
        read.token_by_hash(&b).await.unwrap(),
        None,
        "the refused insert wrote nothing"
    );
    drop(read);

    let mut tx = store.begin().await.unwrap();
    tx.touch_token(id, 20).await.unwrap();
    tx.touch_token(id, 15).await.unwrap();
    assert!(tx.revoke_token("ops", 30).await.unwrap());
    assert!(!tx.revoke_token("ops", 31).await.unwrap(), "revoked once");
    assert!(!tx.revoke_token("nobody", 31).await.unwrap());
    assert_eq!(
        tx.insert_token(&token("other", &a, &scopes), 32).await.unwrap(),
        None,
        "a revoked token's hash is never reused"
    );
    let reused = tx.insert_token(&token("ops", &c, &[Scope::Trade]), 33).await.unwrap();
    assert!(reused.is_some(), "a name is free again once revoked");
    tx.commit().await.unwrap();

    let mut read = store.read().await.unwrap();
    let old = read.token_by_hash(&a).await.unwrap().unwrap();
    assert_eq!(
        (old.last_used_at, old.revoked_at),
        (Some(20), Some(30)),
        "last use never moves back"
    );
    let active: Vec<(String, Vec<Scope>)> = read
        .tokens(false)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.scopes))
        .collect();
    assert_eq!(active, vec![("ops".to_string(), vec![Scope::Trade])]);
    let all: Vec<Option<i64>> = read.tokens(true).await.unwrap().iter().map(|t| t.revoked_at).collect();
    assert_eq!(all, vec![Some(30), None], "creation order, revoked ones included");
    let created = read.events_of_kind(EventKind::TokenCreated).await.unwrap();
    let revoked = read.events_of_kind(EventKind::TokenRevoked).await.unwrap();
    let references =
        |rows: &[hub_store::EventRow]| -> Vec<Option<String>> { rows.iter().map(|e| e.reference.clone()).collect() };
    assert_eq!(references(&created), vec![Some("ops".into()), Some("ops".into())]);
    assert_eq!(references(&revoked), vec![Some("ops".into())]);
    drop(read);
    store.close().await;
    test.remove().await;
}
on_both_databases!(tokens, tokens_come_back_as_stored_and_only_one_is_active_per_name);

async fn a_client_cn_maps_to_one_active_row_and_a_bad_scope_is_corrupt(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();
    let mapping = |name| NewTokenRow {
        name,
        credential: Credential::ClientCn("exchange ops"),
        scopes: &[Scope::Deposit],
        expires_at: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_token(&mapping("cert"), 1).await.unwrap().unwrap();
    assert_eq!(
        tx.insert_token(&mapping("cert-2"), 2).await.unwrap(),
        None,
        "an active CN is unique"
    );
    tx.commit().await.unwrap();
    let row = store
        .read()
        .await
        .unwrap()
        .token_by_client_cn("exchange ops")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.name.as_str(), row.token_hash, row.client_cn.as_deref(), row.scopes),
        ("cert", None, Some("exchange ops"), vec![Scope::Deposit])
    );

    let mut tx = store.begin().await.unwrap();
    assert!(tx.revoke_token("cert", 3).await.unwrap());
    tx.commit().await.unwrap();
    let revoked = store
        .read()
        .await
        .unwrap()
        .token_by_client_cn("exchange ops")
        .await
        .unwrap();
    assert_eq!(
        revoked.unwrap().revoked_at,
        Some(3),
        "the revoked mapping is still found"
    );
    let mut tx = store.begin().await.unwrap();
    tx.insert_token(&mapping("cert-2"), 4).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let active = store
        .read()
        .await
        .unwrap()
        .token_by_client_cn("exchange ops")
        .await
        .unwrap();
    assert_eq!(
        active.map(|r| r.name),
        Some("cert-2".to_string()),
        "the active one first"
    );
    assert_eq!(
        store.read().await.unwrap().token_by_client_cn("nobody").await.unwrap(),
        None
    );

    raw(&test.url, "UPDATE api_token SET scopes = 'read,sideways'").await;
    let error = store.read().await.unwrap().tokens(true).await.unwrap_err();
    assert_eq!(corrupt_at(error), ("api_token", "scopes"));
    raw(&test.url, "UPDATE api_token SET scopes = ''").await;
    let error = store.read().await.unwrap().tokens(true).await.unwrap_err();
    assert_eq!(corrupt_at(error), ("api_token", "scopes"), "no scope at all");
    store.close().await;
    test.remove().await;
}
on_both_databases!(client_cn, a_client_cn_maps_to_one_active_row_and_a_bad_scope_is_corrupt);

fn as_actor(actor: &str, command: &str) -> Acting {
    Acting {
        actor: actor.into(),
        command: command.into(),
    }
}

async fn each_committed_write_made_for_an_actor_records_it_once(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();

    // Outside `acting`: no actor, no call.
    let mut tx = store.begin().await.unwrap();
    let ada = tx.insert_user("ada", 1).await.unwrap().unwrap();
    tx.add_account_entries(&[buy(ada, 5)], 1).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.read().await.unwrap().audit_events(100).await.unwrap(), vec![]);
    let logged = store.read().await.unwrap().event_count().await.unwrap();
    assert_eq!(logged, 2, "the user created and the buy, without an actor");

    acting(as_actor("desk-1", "ProcessTransferBatch"), async {
        // Committed writes: each event carries the actor, then one call.
        let mut tx = store.begin().await.unwrap();
        tx.add_account_entries(&[buy(ada, 7)], 2).await.unwrap();
        tx.insert_token(&token("ops", &hash_of('d'), &[Scope::Read]), 2)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.add_account_entries(&[buy(ada, 1)], 3).await.unwrap();
        tx.commit().await.unwrap();

        // A dropped write and a read (even committed) record nothing.
        let mut tx = store.begin().await.unwrap();
        tx.add_account_entries(&[buy(ada, 100)], 4).await.unwrap();
        drop(tx);
        let mut read = store.read().await.unwrap();
        read.user("ada").await.unwrap();
        read.commit().await.unwrap();
    })
    .await;

    // Nested work for another actor is that actor's.
    acting(as_actor("desk-1", "outer"), async {
        acting(as_actor("desk-2", "UserWithdrawCancel"), async {
            store.begin().await.unwrap().commit().await.unwrap();
        })
        .await;
    })
    .await;

    let audit = store.read().await.unwrap().audit_events(100).await.unwrap();
    let seen: Vec<String> = audit
        .iter()
        .map(|e| {
            let or_dash = |text: &Option<String>| text.clone().unwrap_or_else(|| "-".into());
            let (reference, user) = (or_dash(&e.reference), or_dash(&e.identifier));
            format!("{} {} {reference} {user} {}", e.actor, e.kind, e.amount)
        })
        .collect();
    assert_eq!(
        seen,
        [
            "desk-2 call UserWithdrawCancel - 0",
            "desk-1 call ProcessTransferBatch - 0",
            "desk-1 balance_changed - ada 1",
            "desk-1 call ProcessTransferBatch - 0",
            "desk-1 token_created ops - 0",
            "desk-1 balance_changed - ada 7",
        ],
        "newest first; one call per committed write transaction"
    );
    assert_eq!(store.read().await.unwrap().audit_events(2).await.unwrap().len(), 2);
    let logged = store.read().await.unwrap().event_count().await.unwrap();
    assert_eq!(logged, 8, "the six audited, the user created and the first buy");
    assert_eq!(
        store
            .read()
            .await
            .unwrap()
            .user("ada")
            .await
            .unwrap()
            .unwrap()
            .balance
            .get(),
        13,
        "the dropped buy of 100 left nothing"
    );
    store.close().await;
    test.remove().await;
}
on_both_databases!(audit, each_committed_write_made_for_an_actor_records_it_once);

fn buy(user_id: i64, amount: u64) -> AccountEntry {
    AccountEntry {
        user_id,
        amount: Amount::new(amount).unwrap().credit(),
        reason: AccountReason::Buy,
        sweep: None,
        withdrawal: None,
    }
}

/// Goal: a commit is on disk before it returns (a broadcast sweep must
/// never be rolled back by a power cut), and a PostgreSQL session that
/// would not keep commits through a crash is refused with the reason.
async fn commits_are_durable(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();
    let expected = match db {
        Db::Sqlite => "synchronous=FULL",
        Db::Postgres => "synchronous_commit=on",
    };
    assert_eq!(store.durability().await.unwrap(), expected);
    store.close().await;
    if db == Db::Postgres {
        let unsafe_url = format!("{}?options=-c%20synchronous_commit%3Doff", test.url);
        match Store::connect(&unsafe_url).await {
            Err(StoreError::NotDurable(reason)) => {
                assert!(reason.contains("synchronous_commit = off"), "{reason}");
                assert!(reason.contains("sign twice"), "{reason}");
            }
            other => panic!("synchronous_commit = off must be refused: {other:?}"),
        }
    }
    test.remove().await;
}
on_both_databases!(durable_commits, commits_are_durable);
