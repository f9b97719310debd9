//! The `hub.rpc.Hub` service driven by a generated tonic client over loopback TCP.

mod common;

use std::sync::Arc;

use common::{sample, start_grpc, Call, Fake, Running, WITHDRAWAL_UUID};
use hub_api::proto::hub as pb;
use hub_api::proto::hub::hub_client::HubClient;
use hub_core::{HubError, Transfer};
use prost::Message;
use tonic::transport::Channel;
use tonic::Code;

async fn connect(fake: Fake) -> (Arc<Fake>, HubClient<Channel>, Running) {
    let fake = Arc::new(fake);
    let server = start_grpc(fake.clone()).await;
    let client = HubClient::connect(format!("http://{}", server.addr)).await.unwrap();
    (fake, client, server)
}

#[tokio::test]
async fn successful_commands_pass_arguments_and_results() {
    let (fake, mut client, server) = connect(Fake::default()).await;

    client
        .create_user(pb::CreateUserRequest {
            user_id: "alice".into(),
        })
        .await
        .unwrap();

    let balance = client
        .get_balance(pb::GetBalanceRequest {
            user_id: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        balance,
        pb::GetBalanceReply {
            available: 1000,
            pending_deposit: 5
        }
    );

    let address = client
        .get_deposit_address(pb::GetDepositAddressRequest {
            user_id: "alice".into(),
            include_checksum: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(address.address, "A".repeat(81));

    // gRPC does not merge entries of the same user.
    let transfers = vec![
        pb::process_transfer_batch_request::Transfer {
            user_id: "a".into(),
            amount: 5,
        },
        pb::process_transfer_batch_request::Transfer {
            user_id: "a".into(),
            amount: -5,
        },
    ];
    client
        .process_transfer_batch(pb::ProcessTransferBatchRequest {
            transfers,
            idempotency_key: "batch-1".into(),
        })
        .await
        .unwrap();

    let stats = client.get_stats(pb::GetStatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.total_balance, 4242);

    let info = client
        .get_address_info(pb::GetAddressInfoRequest { address: "X".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.user_id, "owner");

    let spent = client
        .was_address_spent_from(pb::WasAddressSpentFromRequest {
            address: "Y".into(),
            validate_checksum: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(spent.was_address_spent_from);

    assert_eq!(
        fake.calls(),
        vec![
            Call::CreateUser("alice".into()),
            Call::GetBalance("alice".into()),
            Call::GetDepositAddress("alice".into(), true),
            Call::ProcessTransferBatch(
                vec![
                    Transfer {
                        user_id: "a".into(),
                        amount: 5
                    },
                    Transfer {
                        user_id: "a".into(),
                        amount: -5
                    },
                ],
                Some("batch-1".into())
            ),
            Call::GetStats,
            Call::GetAddressInfo("X".into()),
            Call::WasAddressSpentFrom("Y".into(), true),
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn errors_are_failed_precondition_with_a_hub_rpc_error_in_the_details() {
    let (fake, mut client, server) = connect(Fake::default()).await;
    let cases = [
        (HubError::UserDoesNotExist, pb::ErrorCode::UserDoesNotExist),
        (HubError::UserExists, pb::ErrorCode::UserExists),
        (HubError::BatchAmountNotZero, pb::ErrorCode::BatchAmountZero),
        (HubError::AddressNotKnownToNode, pb::ErrorCode::UnknownAddress),
        (
            HubError::internal(hub_core::Cause::Database, "db down"),
            pb::ErrorCode::EcUnknown,
        ),
    ];
    for (error, code) in cases {
        fake.fail_next(error.clone());
        let status = client
            .get_balance(pb::GetBalanceRequest { user_id: "bob".into() })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{error:?}");
        assert_eq!(status.message(), error.to_string());
        let details = pb::Error::decode(status.details()).unwrap();
        assert_eq!(details.code(), code, "{error:?}");
        assert_eq!(details.code, error.code() as i32);
    }
    // The internal detail of an internal error does not leak.
    fake.fail_next(HubError::internal(hub_core::Cause::Database, "secret path /var/db"));
    let status = client.get_stats(pb::GetStatsRequest {}).await.unwrap_err();
    assert!(!status.message().contains("secret"), "{}", status.message());
    server.stop().await;
}

#[tokio::test]
async fn cancelled_errors_are_cancelled() {
    let (fake, mut client, server) = connect(Fake::default()).await;
    fake.fail_next(HubError::Cancelled("disabled".into()));
    let status = client
        .get_address_info(pb::GetAddressInfoRequest { address: "Z".into() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Cancelled);
    server.stop().await;
}

#[tokio::test]
async fn sensitive_commands_pass_their_fields() {
    let (fake, mut client, server) = connect(Fake::default()).await;
    let reply = client
        .sign_bundle(pb::SignBundleRequest {
            address: "A".into(),
            bundle_hash: "B".into(),
            authentication: "TOKEN".into(),
            validate_checksum: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.signature, "SIGNATURE");
    client
        .recover_funds(pb::RecoverFundsRequest {
            user_id: "u".into(),
            address: "A".into(),
            validate_checksum: true,
            payout_address: "P".into(),
        })
        .await
        .unwrap();
    let seed = client
        .get_seed_for_address(pb::GetSeedForAddressRequest {
            user_id: "u".into(),
            address: "A".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .seed;
    assert_eq!(seed, "SEED");
    let seed = client
        .get_seed_for_uuid(pb::GetSeedForUuidRequest { uuid: "X".into() })
        .await
        .unwrap()
        .into_inner()
        .seed;
    assert_eq!(seed, "SEED");
    assert_eq!(
        fake.calls(),
        vec![
            Call::SignBundle(hub_core::SignBundleRequest {
                address: "A".into(),
                bundle_hash: "B".into(),
                authentication: "TOKEN".into(),
                validate_checksum: true,
            }),
            Call::RecoverFunds(hub_core::RecoverFundsRequest {
                user_id: "u".into(),
                address: "A".into(),
                validate_checksum: true,
                payout_address: "P".into(),
            }),
            Call::GetSeedForAddress("u".into(), "A".into()),
            Call::GetSeedForUuid("X".into()),
        ]
    );
    // Disabled (the default) is CANCELLED.
    fake.fail_next(HubError::Cancelled("SignBundle is disabled on this Hub".into()));
    let status = client.sign_bundle(pb::SignBundleRequest::default()).await.unwrap_err();
    assert_eq!(status.code(), Code::Cancelled);
    server.stop().await;
}

#[tokio::test]
async fn user_history_uses_the_request_fields() {
    let fake = Fake {
        history: vec![sample::deposit(), sample::withdrawal()],
        ..Fake::default()
    };
    let (fake, mut client, server) = connect(fake).await;
    let reply = client
        .get_user_history(pb::GetUserHistoryRequest {
            user_id: "user/1".into(),
            newer_than: 1234,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fake.calls(), vec![Call::GetUserHistory("user/1".into(), 1234)]);
    assert_eq!(
        reply.events,
        vec![
            pb::UserAccountBalanceEvent {
                user_id: "user/1".into(),
                timestamp: 1_500_000_000_000,
                r#type: pb::UserAccountBalanceEventType::Deposit as i32,
                amount: 700,
                sweep_bundle_hash: "B".repeat(81),
                withdrawal_uuid: String::new(),
            },
            pb::UserAccountBalanceEvent {
                user_id: "user/1".into(),
                timestamp: 1_500_000_000_001,
                r#type: pb::UserAccountBalanceEventType::Withdrawal as i32,
                amount: -300,
                sweep_bundle_hash: String::new(),
                withdrawal_uuid: "0b4f6d5e-1c55-4a8e-8f0e-5d1d0a7c1d1e".into(),
            },
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn balance_subscription_streams_every_event_in_order_then_ends() {
    use pb::balance_event::TheEvent;
    let fake = Fake {
        events: sample::balance_events(),
        ..Fake::default()
    };
    let (fake, mut client, server) = connect(fake).await;
    let mut stream = client
        .balance_subscription(pb::BalanceSubscriptionRequest { newer_than: 77 })
        .await
        .unwrap()
        .into_inner();
    let mut received = Vec::new();
    while let Some(event) = stream.message().await.unwrap() {
        received.push(event.the_event.unwrap());
    }
    assert_eq!(fake.calls(), vec![Call::BalanceSubscription(77)]);
    assert_eq!(received.len(), 4);
    match &received[0] {
        TheEvent::UserAccountEvent(e) => {
            assert_eq!(
                (e.r#type, e.amount),
                (pb::UserAccountBalanceEventType::Deposit as i32, 700)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        received[1],
        TheEvent::UserAddressEvent(pb::UserAddressBalanceEvent {
            user_id: "u2".into(),
            user_address: "C".repeat(81),
            amount: 50,
            reason: pb::UserAddressBalanceReason::UaDeposit as i32,
            hash: "D".repeat(81),
            timestamp: 7,
            message: "hi".into(),
        })
    );
    assert_eq!(
        received[2],
        TheEvent::HubAddressEvent(pb::HubAddressBalanceEvent {
            hub_address: "E".repeat(81),
            amount: -20,
            reason: pb::HubAddressBalanceReason::Outbound as i32,
            sweep_bundle_hash: "F".repeat(81),
            timestamp: 9,
        })
    );
    match &received[3] {
        TheEvent::UserAccountEvent(e) => assert_eq!(e.r#type, pb::UserAccountBalanceEventType::Withdrawal as i32),
        other => panic!("{other:?}"),
    }

    // A failing snapshot is an error status, not an empty stream.
    fake.fail_next(HubError::internal(hub_core::Cause::Database, "x"));
    let status = client
        .balance_subscription(pb::BalanceSubscriptionRequest { newer_than: 0 })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    server.stop().await;
}

#[tokio::test]
async fn withdrawals_reach_the_commands() {
    let (fake, mut client, server) = connect(Fake::default()).await;
    let reply = client
        .user_withdraw(pb::UserWithdrawRequest {
            user_id: "u".into(),
            payout_address: "P".into(),
            amount: 7,
            tag: "T".into(),
            validate_checksum: true,
            idempotency_key: "k-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.uuid, WITHDRAWAL_UUID);
    // An empty idempotency key (what old clients send) means none.
    client
        .user_withdraw(pb::UserWithdrawRequest {
            user_id: "u".into(),
            amount: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let cancelled = client
        .user_withdraw_cancel(pb::UserWithdrawCancelRequest {
            uuid: WITHDRAWAL_UUID.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(cancelled.success);
    let was = client
        .was_withdrawal_cancelled(pb::WasWithdrawalCancelledRequest {
            uuid: WITHDRAWAL_UUID.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(was.was_cancelled);
    let calls = fake.calls();
    assert_eq!(
        calls[0],
        Call::UserWithdraw(hub_core::WithdrawRequest {
            user_id: "u".into(),
            payout_address: "P".into(),
            amount: 7,
            tag: "T".into(),
            validate_checksum: true,
            idempotency_key: Some("k-1".into()),
        })
    );
    assert!(matches!(&calls[1], Call::UserWithdraw(r) if r.idempotency_key.is_none()));
    assert_eq!(calls[2], Call::UserWithdrawCancel(WITHDRAWAL_UUID.into()));
    fake.fail_next(HubError::WithdrawalCanNotBeCancelled);
    let status = client
        .user_withdraw_cancel(pb::UserWithdrawCancelRequest {
            uuid: WITHDRAWAL_UUID.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    server.stop().await;
}

#[tokio::test]
async fn sweeps_reach_the_commands() {
    let (fake, mut client, server) = connect(Fake::default()).await;
    let mut stream = client
        .sweep_subscription(pb::SweepSubscriptionRequest { newer_than: 5 })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert!(
        first.withdrawal_uuid.is_empty(),
        "no withdrawals: an empty list, not [\"\"]"
    );
    let second = stream.message().await.unwrap().unwrap();
    assert_eq!(
        second.withdrawal_uuid,
        vec![WITHDRAWAL_UUID.to_string(), "w2".to_string()]
    );
    assert!(stream.message().await.unwrap().is_none());
    use pb::sweep_info_request::RequestBy;
    let info = client
        .sweep_info(pb::SweepInfoRequest {
            request_by: Some(RequestBy::WithdrawalUuid(WITHDRAWAL_UUID.into())),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.withdrawal_uuid, vec![WITHDRAWAL_UUID.to_string()]);
    client
        .sweep_info(pb::SweepInfoRequest {
            request_by: Some(RequestBy::BundleHash("H".into())),
        })
        .await
        .unwrap();
    let missing = client
        .sweep_info(pb::SweepInfoRequest { request_by: None })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::FailedPrecondition);
    let detail = client
        .sweep_detail(pb::SweepDetailRequest {
            bundle_hash: "H".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(detail.confirmed);
    assert_eq!(detail.trytes, vec!["T1", "T2"]);
    assert_eq!(detail.tail_hash, vec!["NEW", "OLD"]);
    assert_eq!(
        fake.calls(),
        vec![
            Call::SweepSubscription(5),
            Call::SweepInfo(hub_core::SweepQuery::WithdrawalUuid(WITHDRAWAL_UUID.into())),
            Call::SweepInfo(hub_core::SweepQuery::BundleHash("H".into())),
            Call::SweepDetail("H".into()),
        ]
    );
    fake.fail_next(HubError::Cancelled("unknown".into()));
    let status = client
        .sweep_detail(pb::SweepDetailRequest {
            bundle_hash: "H".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Cancelled);
    server.stop().await;
}
