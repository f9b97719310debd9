//! Withdrawals on SQLite and PostgreSQL (hub-behaviour.md §13 C).

mod common;

use common::*;
use hub_core::{AccountReason, HubError, WithdrawRequest};
use serde_json::json;

fn payout() -> String {
    "P".repeat(80) + "A"
}

fn request(user: &str, amount: u64) -> WithdrawRequest {
    WithdrawRequest {
        user_id: user.into(),
        payout_address: payout(),
        amount,
        ..WithdrawRequest::default()
    }
}

/// A user with `balance` on their account (through the ledger, as a swept deposit would).
async fn user_with(ctx: &Ctx, user: &str, balance: i64) {
    ctx.hub.create_user(user).await.unwrap();
    ctx.sql(&format!(
        "INSERT INTO user_account_balance (user_id, amount, reason, occured_at) SELECT id, {balance}, 1, 0 FROM user_account WHERE identifier = '{user}'"
    ))
    .await;
    ctx.sql(&format!(
        "UPDATE user_account SET balance = {balance} WHERE identifier = '{user}'"
    ))
    .await;
}

async fn withdraw_and_cancel(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    user_with(&ctx, "kim", 100).await;
    let before = ctx.row_counts().await;

    // Validation order: amount → payout → last trit → tag → user → balance → spent.
    assert!(matches!(
        hub.user_withdraw(&request("kim", 0)).await,
        Err(HubError::InvalidArgument { field: "amount", .. })
    ));
    assert!(matches!(
        hub.user_withdraw(&request("nobody", 0)).await,
        Err(HubError::InvalidArgument { field: "amount", .. })
    ));
    assert_eq!(
        hub.user_withdraw(&request("kim", 101)).await,
        Err(HubError::InsufficientBalance)
    );
    assert!(matches!(
        hub.user_withdraw(&request("kim", u64::MAX)).await,
        Err(HubError::InvalidArgument { field: "amount", .. })
    ));
    let wrong_checksum = WithdrawRequest {
        payout_address: format!("{}AAAAAAAAA", payout()),
        validate_checksum: true,
        ..request("kim", 5)
    };
    assert!(matches!(
        hub.user_withdraw(&wrong_checksum).await,
        Err(HubError::InvalidChecksum(_))
    ));
    for short in ["", "A", &"A".repeat(80), &"A".repeat(91)] {
        let r = WithdrawRequest {
            payout_address: short.to_string(),
            validate_checksum: true,
            ..request("kim", 5)
        };
        assert!(
            matches!(hub.user_withdraw(&r).await, Err(HubError::InvalidChecksum(_))),
            "{} chars",
            short.len()
        );
    }
    let ninety = WithdrawRequest {
        payout_address: hub_protocol::Address::from_trytes(&payout()).unwrap().with_checksum(),
        ..request("kim", 5)
    };
    assert!(
        matches!(hub.user_withdraw(&ninety).await, Err(HubError::InvalidArgument { .. })),
        "not silently stripped"
    );
    let last_trit = WithdrawRequest {
        payout_address: "P".repeat(80) + "F",
        ..request("nobody", 5)
    };
    assert!(
        matches!(hub.user_withdraw(&last_trit).await, Err(HubError::InvalidAddress(_))),
        "payout before user"
    );
    for bad_tag in ["lowercase", &"A".repeat(28), "WITH SPACE"] {
        let r = WithdrawRequest {
            tag: bad_tag.to_string(),
            ..request("kim", 5)
        };
        assert!(
            matches!(
                hub.user_withdraw(&r).await,
                Err(HubError::InvalidArgument { field: "tag", .. })
            ),
            "{bad_tag}"
        );
    }
    assert_eq!(
        hub.user_withdraw(&request("nobody", 5)).await,
        Err(HubError::UserDoesNotExist)
    );
    // Payouts to Hub's own addresses are refused.
    let own = hub.get_deposit_address("kim", false).await.unwrap();
    let to_self = WithdrawRequest {
        payout_address: own,
        ..request("kim", 5)
    };
    assert!(matches!(
        hub.user_withdraw(&to_self).await,
        Err(HubError::InvalidAddress(_))
    ));
    let before = {
        let mut b = before;
        b = b
            .into_iter()
            .map(|(t, n)| if t == "user_address" { (t, n + 1) } else { (t, n) })
            .collect();
        b
    };
    assert_eq!(
        ctx.row_counts()
            .await
            .into_iter()
            .filter(|(t, _)| t != "address_pool")
            .collect::<Vec<_>>(),
        before
            .into_iter()
            .filter(|(t, _)| t != "address_pool")
            .collect::<Vec<_>>(),
        "failed requests wrote nothing"
    );

    // A good one: balance reserved at once, one pending row, one WITHDRAWAL ledger row.
    let tagged = WithdrawRequest {
        tag: "EXCHANGE".into(),
        ..request("kim", 40)
    };
    let uuid = hub.user_withdraw(&tagged).await.unwrap();
    assert_eq!(uuid.len(), 36);
    assert_eq!(uuid, uuid.to_lowercase());
    assert_eq!(uuid::Uuid::parse_str(&uuid).unwrap().get_version_num(), 4);
    assert_eq!(hub.get_balance("kim").await.unwrap().available, 60);
    let history = hub.get_user_history("kim", 0).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.kind, last.amount, last.withdrawal_uuid.as_str()),
        (AccountReason::Withdrawal, -40, uuid.as_str())
    );
    assert!(!hub.was_withdrawal_cancelled(&uuid).await.unwrap());

    // Cancel: in any of the original's UUID forms; a second cancel fails.
    let braced_upper = format!("{{{}}}", uuid.to_uppercase());
    hub.user_withdraw_cancel(&braced_upper).await.unwrap();
    assert_eq!(hub.get_balance("kim").await.unwrap().available, 100);
    assert_eq!(
        hub.user_withdraw_cancel(&uuid.replace('-', "")).await,
        Err(HubError::WithdrawalCanNotBeCancelled)
    );
    assert!(hub.was_withdrawal_cancelled(&uuid.to_uppercase()).await.unwrap());
    let history = hub.get_user_history("kim", 0).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.kind, last.amount, last.withdrawal_uuid.as_str()),
        (AccountReason::WithdrawalCancel, 40, uuid.as_str())
    );
    let unknown = "0f8fad5b-d9cb-469f-a165-70867728950e";
    assert_eq!(
        hub.user_withdraw_cancel(unknown).await,
        Err(HubError::WithdrawalCanNotBeCancelled)
    );
    assert!(matches!(
        hub.user_withdraw_cancel("not-a-uuid").await,
        Err(HubError::InvalidArgument { field: "uuid", .. })
    ));
    assert!(matches!(
        hub.was_withdrawal_cancelled(unknown).await,
        Err(HubError::InvalidUuid(_))
    ));
    assert!(matches!(
        hub.was_withdrawal_cancelled("garbage").await,
        Err(HubError::InvalidUuid(_))
    ));

    // A withdrawal a sweep has taken can no longer be cancelled, and was not cancelled.
    let swept = hub.user_withdraw(&request("kim", 10)).await.unwrap();
    ctx.sql(&format!(
        "INSERT INTO hub_address (address, seed_uuid, balance, created_at) VALUES ('{}', '{}', 0, 0)",
        "H".repeat(80) + "9",
        "h".repeat(64)
    ))
    .await;
    ctx.sql(
        "INSERT INTO sweep (bundle_hash, trytes, into_hub_address, created_at) SELECT 'B', '', id, 0 FROM hub_address",
    )
    .await;
    ctx.sql(&format!(
        "UPDATE withdrawal SET sweep = (SELECT id FROM sweep) WHERE uuid = '{swept}'"
    ))
    .await;
    assert_eq!(
        hub.user_withdraw_cancel(&swept).await,
        Err(HubError::WithdrawalCanNotBeCancelled)
    );
    assert!(!hub.was_withdrawal_cancelled(&swept).await.unwrap());
    assert_eq!(hub.get_balance("kim").await.unwrap().available, 90);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(withdraw_and_cancel_test, withdraw_and_cancel);

async fn spent_payout_and_node_down(db: Db) {
    let ctx = start(db).await;
    user_with(&ctx, "lea", 100).await;
    // The genesis faucet address spent by a payment is a spent address.
    let tail = ctx.fund(&payout(), 1).await;
    let spent = ctx.spent_by(tail).await;
    let to_spent = WithdrawRequest {
        payout_address: spent.to_string(),
        ..request("lea", 5)
    };
    assert_eq!(ctx.hub.user_withdraw(&to_spent).await, Err(HubError::AddressWasSpent));
    ctx.client
        .call_raw("setFaults", &json!({"command": "setFaults", "failRate": 1.0}))
        .await
        .unwrap();
    assert!(matches!(
        ctx.hub.user_withdraw(&request("lea", 5)).await,
        Err(HubError::IotaNodeUnavailable(_))
    ));
    ctx.client
        .call_raw("setFaults", &json!({"command": "setFaults"}))
        .await
        .unwrap();
    assert_eq!(
        ctx.hub.get_balance("lea").await.unwrap().available,
        100,
        "nothing reserved"
    );
    ctx.finish().await;
}
on_both_databases!(spent_payout_and_node_down_test, spent_payout_and_node_down);

async fn retries_with_an_idempotency_key_make_one_withdrawal(db: Db) {
    let ctx = start(db).await;
    user_with(&ctx, "max", 100).await;
    let keyed = WithdrawRequest {
        idempotency_key: Some("order-7781".into()),
        ..request("max", 30)
    };
    let first = ctx.hub.user_withdraw(&keyed).await.unwrap();
    let again = ctx.hub.user_withdraw(&keyed).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(ctx.hub.get_balance("max").await.unwrap().available, 70);
    let different = WithdrawRequest {
        amount: 31,
        ..keyed.clone()
    };
    assert!(matches!(
        ctx.hub.user_withdraw(&different).await,
        Err(HubError::IdempotencyKeyReused(_))
    ));
    // Concurrent retries still make one withdrawal.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let hub = ctx.hub.clone();
        let r = WithdrawRequest {
            idempotency_key: Some("order-7782".into()),
            ..request("max", 10)
        };
        tasks.push(tokio::spawn(async move { hub.user_withdraw(&r).await }));
    }
    let mut uuids = Vec::new();
    for task in tasks {
        uuids.push(task.await.unwrap().expect("every retry gets the withdrawal"));
    }
    uuids.dedup();
    assert_eq!(uuids.len(), 1);
    assert_eq!(ctx.hub.get_balance("max").await.unwrap().available, 60);
    let bad_key = WithdrawRequest {
        idempotency_key: Some(String::new()),
        ..request("max", 1)
    };
    assert!(matches!(
        ctx.hub.user_withdraw(&bad_key).await,
        Err(HubError::InvalidArgument {
            field: "idempotencyKey",
            ..
        })
    ));
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(
    retries_with_an_idempotency_key_make_one_withdrawal_test,
    retries_with_an_idempotency_key_make_one_withdrawal
);

async fn concurrent_withdrawals_never_overdraw(db: Db) {
    let ctx = start(db).await;
    user_with(&ctx, "ned", 100).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let hub = ctx.hub.clone();
        tasks.push(tokio::spawn(
            async move { hub.user_withdraw(&request("ned", 30)).await },
        ));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(HubError::InsufficientBalance) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 3);
    assert_eq!(ctx.hub.get_balance("ned").await.unwrap().available, 10);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(
    concurrent_withdrawals_never_overdraw_test,
    concurrent_withdrawals_never_overdraw
);
