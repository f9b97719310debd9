//! Every field of every command given bad input gets its error code and
//! writes nothing, on SQLite and PostgreSQL.

mod common;

use common::*;
use hub_core::{ErrorCode, HubError, Transfer};

async fn bad_input_changes_nothing(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub.create_user("ivy").await.unwrap();
    hub.create_user("jon").await.unwrap();
    let deposit = hub.get_deposit_address("ivy", false).await.unwrap();
    let before = ctx.row_counts().await;

    let long = "x".repeat(65);
    let long_trytes = "A".repeat(200);
    let with_checksum = address(&deposit).with_checksum();
    let wrong_checksum = format!("{}AAAAAAAAA", &deposit);
    let not_trytes = format!("{}a", "A".repeat(80));
    let cases: Vec<(&str, Result<(), HubError>, ErrorCode)> = vec![
        ("CreateUser empty", hub.create_user("").await, ErrorCode::Unknown),
        ("CreateUser too long", hub.create_user(&long).await, ErrorCode::Unknown),
        (
            "CreateUser control char",
            hub.create_user("a\nb").await,
            ErrorCode::Unknown,
        ),
        (
            "CreateUser existing",
            hub.create_user("ivy").await,
            ErrorCode::UserExists,
        ),
        (
            "GetBalance unknown",
            hub.get_balance("nobody").await.map(drop),
            ErrorCode::UserDoesNotExist,
        ),
        (
            "GetBalance empty",
            hub.get_balance("").await.map(drop),
            ErrorCode::UserDoesNotExist,
        ),
        (
            "GetDepositAddress unknown",
            hub.get_deposit_address(&long, true).await.map(drop),
            ErrorCode::UserDoesNotExist,
        ),
        (
            "GetUserHistory unknown",
            hub.get_user_history("nobody", u64::MAX).await.map(drop),
            ErrorCode::UserDoesNotExist,
        ),
        (
            "GetAddressInfo empty",
            hub.get_address_info("").await.map(drop),
            ErrorCode::Unknown,
        ),
        (
            "GetAddressInfo too long",
            hub.get_address_info(&long_trytes).await.map(drop),
            ErrorCode::Unknown,
        ),
        (
            "GetAddressInfo alphabet",
            hub.get_address_info(&not_trytes).await.map(drop),
            ErrorCode::Unknown,
        ),
        (
            "GetAddressInfo checksum form",
            hub.get_address_info(&with_checksum).await.map(drop),
            ErrorCode::Unknown,
        ),
        (
            "GetAddressInfo unknown",
            hub.get_address_info(&"B".repeat(81)).await.map(drop),
            ErrorCode::UnknownAddress,
        ),
        (
            "WasAddressSpentFrom wrong checksum",
            hub.was_address_spent_from(&wrong_checksum, true).await.map(drop),
            ErrorCode::ChecksumInvalid,
        ),
        (
            "WasAddressSpentFrom short with checksum",
            hub.was_address_spent_from("ABC", true).await.map(drop),
            ErrorCode::ChecksumInvalid,
        ),
        (
            "WasAddressSpentFrom alphabet",
            hub.was_address_spent_from(&not_trytes, false).await.map(drop),
            ErrorCode::Unknown,
        ),
        (
            "WasAddressSpentFrom last trit",
            hub.was_address_spent_from(&("A".repeat(80) + "E"), false)
                .await
                .map(drop),
            ErrorCode::IneligibleAddress,
        ),
        (
            "ProcessTransferBatch unknown user",
            hub.process_transfer_batch(&[t("ivy", 1), t("nobody", -1)]).await,
            ErrorCode::UserDoesNotExist,
        ),
        (
            "ProcessTransferBatch zero",
            hub.process_transfer_batch(&[t("ivy", 0)]).await,
            ErrorCode::BatchInvalid,
        ),
        (
            "ProcessTransferBatch unbalanced",
            hub.process_transfer_batch(&[t("ivy", 1), t("jon", -2)]).await,
            ErrorCode::BatchAmountZero,
        ),
        (
            "ProcessTransferBatch overflow",
            hub.process_transfer_batch(&[t("ivy", i64::MIN), t("jon", i64::MIN)])
                .await,
            ErrorCode::BatchAmountZero,
        ),
        (
            "ProcessTransferBatch overdraw",
            hub.process_transfer_batch(&[t("ivy", -1), t("jon", 1)]).await,
            ErrorCode::BatchInconsistent,
        ),
        (
            "ProcessTransferBatch negative max",
            hub.process_transfer_batch(&[t("ivy", i64::MIN + 1), t("jon", i64::MAX)])
                .await,
            ErrorCode::BatchInconsistent,
        ),
        (
            "ProcessTransferBatch too many",
            hub.process_transfer_batch(&vec![t("ivy", 1); 10_001]).await,
            ErrorCode::Unknown,
        ),
    ];
    for (name, result, code) in cases {
        match result {
            Err(error) => assert_eq!(error.code(), code, "{name}: {error}"),
            Ok(()) => panic!("{name} should have failed"),
        }
    }
    assert_eq!(ctx.row_counts().await, before, "failed commands wrote nothing");
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(bad_input_changes_nothing_test, bad_input_changes_nothing);

fn t(user: &str, amount: i64) -> Transfer {
    Transfer {
        user_id: user.into(),
        amount,
    }
}

async fn hub_addresses_are_not_user_addresses(db: Db) {
    let ctx = start(db).await;
    // A Hub (remainder) address, as a sweep creates one.
    let hub_address = "H".repeat(80) + "9";
    ctx.sql(&format!(
        "INSERT INTO hub_address (address, seed_uuid, is_cold_storage, balance, created_at) VALUES ('{hub_address}', '{}', 0, 0, 0)",
        "u".repeat(64)
    ))
    .await;
    assert_eq!(
        ctx.hub.get_address_info(&hub_address).await,
        Err(HubError::UnknownAddress)
    );
    ctx.finish().await;
}
on_both_databases!(
    hub_addresses_are_not_user_addresses_test,
    hub_addresses_are_not_user_addresses
);
