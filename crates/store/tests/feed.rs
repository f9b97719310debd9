//! Goal: the event log can be read by cursor without ever missing an
//! event: ids increase in commit order, also when many transactions write
//! events at once and commit in another order than they began, on both
//! engines; a rolled-back transaction leaves no event; a ledger row's
//! event carries the balance it left.
//! Method: writers that hold their transactions open for random moments
//! while a reader follows the feed by cursor; afterwards the reader's ids
//! must be exactly the log's, in order.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hub_store::testing::{Db, TestDb};
use hub_store::{on_both_databases, AccountEntry, AccountReason, EventKind, Store};

const WRITERS: usize = 6;
const TRANSACTIONS_PER_WRITER: usize = 25;

async fn a_reader_by_cursor_never_skips_an_event(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = store.read().await.unwrap().feed(after, 7, &[]).await.unwrap();
                if page.is_empty() && finished {
                    return seen;
                }
                for row in page {
                    assert!(
                        row.id > after,
                        "an id at or below the cursor appeared: {} ≤ {after}",
                        row.id
                    );
                    after = row.id;
                    seen.push(row.id);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..TRANSACTIONS_PER_WRITER {
                let mut tx = store.begin().await.unwrap();
                tx.insert_user(&format!("user-{writer}-{n}"), 1).await.unwrap();
                // Held open a while: others begin later and commit first.
                tokio::time::sleep(Duration::from_millis(((writer * 7 + n * 3) % 5) as u64)).await;
                if n % 5 == 4 {
                    drop(tx); // rolled back: its event must never appear
                } else {
                    tx.commit().await.unwrap();
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let logged: Vec<i64> = store
        .read()
        .await
        .unwrap()
        .feed(0, 1000, &[EventKind::UserCreated])
        .await
        .unwrap()
        .iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(
        logged.len(),
        WRITERS * TRANSACTIONS_PER_WRITER * 4 / 5,
        "rolled back users left no event"
    );
    assert_eq!(seen, logged, "the reader saw every committed event, in id order, once");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), seen.len());
    store.close().await;
    test.remove().await;
}
on_both_databases!(
    a_reader_by_cursor_never_skips_an_event_on,
    a_reader_by_cursor_never_skips_an_event
);

async fn a_ledger_row_logs_the_balance_it_left(db: Db) {
    let test = TestDb::new(db).await;
    let store = Store::connect(&test.url).await.unwrap();
    let changes = store.feed_changes();
    let mut tx = store.begin().await.unwrap();
    let ann = tx.insert_user("ann", 1).await.unwrap().unwrap();
    let entry = |amount: i64, reason| AccountEntry {
        user_id: ann,
        amount: hub_protocol::Value::new(amount).unwrap(),
        reason,
        sweep: None,
        withdrawal: None,
    };
    tx.add_account_entries(
        &[
            entry(500, AccountReason::Buy),
            entry(-200, AccountReason::Sell),
            entry(50, AccountReason::Buy),
        ],
        2,
    )
    .await
    .unwrap();
    assert!(!changes.has_changed().unwrap(), "nothing is told before the commit");
    tx.commit().await.unwrap();
    assert!(changes.has_changed().unwrap(), "readers are woken by the commit");
    let rows = store
        .read()
        .await
        .unwrap()
        .feed(0, 100, &[EventKind::BalanceChanged])
        .await
        .unwrap();
    let told: Vec<(i64, serde_json::Value)> = rows
        .iter()
        .map(|row| (row.amount, serde_json::from_str(row.data.as_deref().unwrap()).unwrap()))
        .collect();
    let expect = |amount: i64, reason: AccountReason, balance: i64| {
        use hub_store::Code;
        (
            amount,
            serde_json::json!({ "reason": reason.code(), "balance": balance }),
        )
    };
    assert_eq!(
        told,
        [
            expect(500, AccountReason::Buy, 500),
            expect(-200, AccountReason::Sell, 300),
            expect(50, AccountReason::Buy, 350)
        ]
    );
    assert!(rows.iter().all(|row| row.user.as_deref() == Some("ann")));
    store.close().await;
    test.remove().await;
}
on_both_databases!(
    a_ledger_row_logs_the_balance_it_left_on,
    a_ledger_row_logs_the_balance_it_left
);
