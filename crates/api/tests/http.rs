//! The HTTP JSON command endpoint driven by a real HTTP client over loopback TCP.

mod common;

use std::sync::Arc;

use common::{sample, start_http, Call, Fake, Running};
use hub_core::{HubError, Transfer};
use proptest::prelude::*;
use reqwest::{Method, StatusCode};

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

struct Endpoint {
    fake: Arc<Fake>,
    server: Running,
    client: reqwest::Client,
}

impl Endpoint {
    async fn start(fake: Fake) -> Self {
        let fake = Arc::new(fake);
        let server = start_http(fake.clone()).await;
        Self {
            fake,
            server,
            client: reqwest::Client::new(),
        }
    }

    async fn request(&self, method: Method, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        let url = format!("http://{}{}", self.server.addr, path);
        let response = self
            .client
            .request(method, url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let body = response.text().await.unwrap();
        Reply {
            status,
            content_type,
            body,
        }
    }

    async fn post(&self, body: &str) -> Reply {
        self.request(Method::POST, "/", body.to_owned()).await
    }

    /// POSTs `body` and expects a 200 JSON reply equal to `expected`.
    async fn expect(&self, body: &str, expected: &str) {
        let reply = self.post(body).await;
        assert_eq!(reply.status, StatusCode::OK, "{body} → {}", reply.body);
        assert_eq!(reply.content_type, "application/json");
        assert_eq!(reply.body, expected, "{body}");
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

#[tokio::test]
async fn transport_quirks_of_the_original() {
    let hub = Endpoint::start(Fake::default()).await;

    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let reply = hub.request(method, "/", r#"{"command":"GetStats"}"#).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::BAD_REQUEST, "Unknown HTTP-method")
        );
    }

    let reply = hub.post("").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "An error occurred: 'Empty request'")
    );

    for bad in ["{", "not json", "[1,2]", "\"CreateUser\"", "42", " "] {
        let reply = hub.post(bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.body, r#"{"result":"Wrong request format"}"#, "{bad}");
        assert_eq!(reply.content_type, "application/json");
    }

    // The original crashed here; we answer, and keep answering.
    for no_command in [
        r#"{}"#,
        r#"{"userId":"a"}"#,
        r#"{"command":null}"#,
        r#"{"command":{"a":1}}"#,
    ] {
        let reply = hub.post(no_command).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{no_command}");
        assert_eq!(reply.body, r#"{"result":"Wrong request format"}"#);
    }
    hub.expect(r#"{"command":"GetStats"}"#, r#"{"totalBalance":"4242"}"#)
        .await;

    for unknown in [
        r#"{"command":"Nope"}"#,
        r#"{"command":"getstats"}"#,
        r#"{"command":12}"#,
    ] {
        let reply = hub.post(unknown).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{unknown}");
        assert_eq!(reply.body, r#"{"result":"Unknown command"}"#);
    }

    // Any path.
    let reply = hub
        .request(Method::POST, "/some/path?x=1", r#"{"command":"GetStats"}"#)
        .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, r#"{"totalBalance":"4242"}"#)
    );

    assert_eq!(hub.fake.take_calls(), vec![Call::GetStats, Call::GetStats]);

    // The sensitive commands: their keys (SignBundle's token is `authenticationToken`).
    let reply = hub
        .post(r#"{"command":"SignBundle","address":"A","bundleHash":"B","authenticationToken":"T","validateChecksum":true}"#)
        .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, r#"{"signature":"SIGNATURE"}"#)
    );
    let reply = hub
        .post(r#"{"command":"RecoverFunds","userId":"u","address":"A","payoutAddress":"P"}"#)
        .await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "{}"));
    let reply = hub
        .post(r#"{"command":"GetSeedForAddress","userId":"u","address":"A"}"#)
        .await;
    assert_eq!(reply.body, r#"{"seed":"SEED"}"#);
    let reply = hub.post(r#"{"command":"GetSeedForUUID","uuid":"X"}"#).await;
    assert_eq!(reply.body, r#"{"seed":"SEED"}"#);
    assert_eq!(
        hub.fake.take_calls(),
        vec![
            Call::SignBundle(hub_core::SignBundleRequest {
                address: "A".into(),
                bundle_hash: "B".into(),
                authentication: "T".into(),
                validate_checksum: true,
            }),
            Call::RecoverFunds(hub_core::RecoverFundsRequest {
                user_id: "u".into(),
                address: "A".into(),
                validate_checksum: false,
                payout_address: "P".into(),
            }),
            Call::GetSeedForAddress("u".into(), "A".into()),
            Call::GetSeedForUuid("X".into()),
        ]
    );
    // Required keys.
    for body in [
        r#"{"command":"SignBundle","bundleHash":"B"}"#,
        r#"{"command":"SignBundle","address":"A"}"#,
        r#"{"command":"RecoverFunds","userId":"u","address":"A"}"#,
        r#"{"command":"GetSeedForUUID"}"#,
    ] {
        let reply = hub.post(body).await;
        assert_eq!(reply.body, r#"{"error":"Missing argument"}"#, "{body}");
    }
    assert!(hub.fake.take_calls().is_empty());
    hub.stop().await;
}

#[tokio::test]
async fn body_limit_is_one_mebibyte() {
    let hub = Endpoint::start(Fake::default()).await;
    // A 1000-entry batch fits (the original's 10 000-byte limit did not).
    let entries: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                r#"{{"userId":"user-{i:04}","amount":"{}"}}"#,
                if i % 2 == 0 { 1 } else { -1 }
            )
        })
        .collect();
    let body = format!(
        r#"{{"command":"ProcessTransferBatch","transfers":[{}]}}"#,
        entries.join(",")
    );
    assert!(body.len() > 10_000);
    hub.expect(&body, "{}").await;
    match hub.fake.take_calls().as_slice() {
        [Call::ProcessTransferBatch(transfers, None)] => assert_eq!(transfers.len(), 1000),
        other => panic!("{other:?}"),
    }

    let padding = " ".repeat(hub_api::http::MAX_BODY_BYTES);
    let reply = hub.post(&format!(r#"{{"command":"GetStats"}}{padding}"#)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(hub.fake.calls().is_empty());
    hub.stop().await;
}

#[tokio::test]
async fn arguments_and_replies() {
    let hub = Endpoint::start(Fake::default()).await;

    hub.expect(r#"{"command":"CreateUser","userId":"alice"}"#, "{}").await;
    // Any scalar is read as its string form.
    hub.expect(r#"{"command":"CreateUser","userId":123}"#, "{}").await;
    hub.expect(r#"{"command":"CreateUser","userId":true}"#, "{}").await;
    hub.expect(
        r#"{"command":"GetBalance","userId":"alice"}"#,
        r#"{"available":"1000","pendingDeposit":"5"}"#,
    )
    .await;
    hub.expect(
        r#"{"command":"GetAddressInfo","address":"XYZ"}"#,
        r#"{"userId":"owner"}"#,
    )
    .await;
    hub.expect(
        r#"{"command":"GetStats","ignored":"extra"}"#,
        r#"{"totalBalance":"4242"}"#,
    )
    .await;
    assert_eq!(
        hub.fake.take_calls(),
        vec![
            Call::CreateUser("alice".into()),
            Call::CreateUser("123".into()),
            Call::CreateUser("true".into()),
            Call::GetBalance("alice".into()),
            Call::GetAddressInfo("XYZ".into()),
            Call::GetStats,
        ]
    );

    // Missing arguments never reach the command.
    for body in [
        r#"{"command":"CreateUser"}"#,
        r#"{"command":"CreateUser","userId":null}"#,
        r#"{"command":"GetBalance"}"#,
        r#"{"command":"GetDepositAddress","includeChecksum":true}"#,
        r#"{"command":"GetUserHistory","newerThan":"1"}"#,
        r#"{"command":"GetAddressInfo"}"#,
        r#"{"command":"WasAddressSpentFrom"}"#,
        r#"{"command":"ProcessTransferBatch"}"#,
        r#"{"command":"ProcessTransferBatch","transfers":[{"amount":"1"}]}"#,
        r#"{"command":"ProcessTransferBatch","transfers":[{"userId":"a"}]}"#,
    ] {
        hub.expect(body, r#"{"error":"Missing argument"}"#).await;
    }
    assert!(hub.fake.calls().is_empty());

    // Objects where a scalar belongs: an error naming the field.
    let reply = hub.post(r#"{"command":"CreateUser","userId":{"a":1}}"#).await;
    assert!(reply.body.contains("userId"), "{}", reply.body);
    assert!(hub.fake.calls().is_empty());
    hub.stop().await;
}

#[tokio::test]
async fn booleans_are_true_only_for_true() {
    let hub = Endpoint::start(Fake::default()).await;
    let address = "A".repeat(81);
    let cases = [
        (r#""includeChecksum":true"#, true),
        (r#""includeChecksum":"true""#, true),
        (r#""includeChecksum":"TRUE""#, false),
        (r#""includeChecksum":"yes""#, false),
        (r#""includeChecksum":1"#, false),
        (r#""includeChecksum":false"#, false),
        (r#""x":0"#, false),
    ];
    for (field, _) in cases {
        let body = format!(r#"{{"command":"GetDepositAddress","userId":"u",{field}}}"#);
        hub.expect(&body, &format!(r#"{{"address":"{address}"}}"#)).await;
    }
    let expected: Vec<Call> = cases
        .iter()
        .map(|(_, flag)| Call::GetDepositAddress("u".into(), *flag))
        .collect();
    assert_eq!(hub.fake.take_calls(), expected);

    hub.expect(
        r#"{"command":"WasAddressSpentFrom","address":"Q","validateChecksum":"true"}"#,
        r#"{"wasAddressSpentFrom":"true"}"#,
    )
    .await;
    hub.expect(
        r#"{"command":"WasAddressSpentFrom","address":"Q"}"#,
        r#"{"wasAddressSpentFrom":"true"}"#,
    )
    .await;
    assert_eq!(
        hub.fake.take_calls(),
        vec![
            Call::WasAddressSpentFrom("Q".into(), true),
            Call::WasAddressSpentFrom("Q".into(), false)
        ]
    );
    hub.stop().await;
}

#[tokio::test]
async fn integers_parse_or_name_the_field() {
    let hub = Endpoint::start(Fake::default()).await;
    hub.expect(r#"{"command":"GetUserHistory","userId":"u"}"#, "{}").await;
    hub.expect(r#"{"command":"GetUserHistory","userId":"u","newerThan":"42"}"#, "{}")
        .await;
    hub.expect(r#"{"command":"BalanceSubscription","newerThan":43}"#, "{}")
        .await;
    hub.expect(r#"{"command":"BalanceSubscription"}"#, "{}").await;
    assert_eq!(
        hub.fake.take_calls(),
        vec![
            Call::GetUserHistory("u".into(), 0),
            Call::GetUserHistory("u".into(), 42),
            Call::BalanceSubscription(43),
            Call::BalanceSubscription(0),
        ]
    );
    for bad in [r#""abc""#, r#""-1""#, "-1", "1.5", r#""""#, "18446744073709551616"] {
        let reply = hub
            .post(&format!(r#"{{"command":"BalanceSubscription","newerThan":{bad}}}"#))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let error = json["error"].as_str().unwrap();
        assert!(error.contains("newerThan"), "{bad}: {error}");
    }
    let reply = hub
        .post(r#"{"command":"ProcessTransferBatch","transfers":[{"userId":"a","amount":"ten"}]}"#)
        .await;
    assert!(reply.body.contains("transfers[0].amount"), "{}", reply.body);
    assert!(hub.fake.calls().is_empty());
    hub.stop().await;
}

#[tokio::test]
async fn command_errors_are_200_with_the_legacy_text() {
    let hub = Endpoint::start(Fake::default()).await;
    let cases = [
        (HubError::UserDoesNotExist, "User does not exist"),
        (HubError::UserExists, "User exist"),
        (HubError::BatchAmountNotZero, "Batch amount is not zero (unbalanced)"),
        (HubError::Cancelled("off".into()), "Cancelled"),
        (
            HubError::internal(hub_core::Cause::Database, "db /var/lib"),
            "Unknown error",
        ),
    ];
    for (error, text) in cases {
        hub.fake.fail_next(error);
        hub.expect(
            r#"{"command":"GetBalance","userId":"u"}"#,
            &format!(r#"{{"error":"{text}"}}"#),
        )
        .await;
    }
    hub.stop().await;
}

#[tokio::test]
async fn events_are_event_n_objects_with_escaped_slashes() {
    let fake = Fake {
        history: vec![sample::deposit(), sample::withdrawal()],
        events: sample::balance_events(),
        ..Fake::default()
    };
    let hub = Endpoint::start(fake).await;
    let (b, c, d, e, f) = (
        "B".repeat(81),
        "C".repeat(81),
        "D".repeat(81),
        "E".repeat(81),
        "F".repeat(81),
    );
    let uuid = "0b4f6d5e-1c55-4a8e-8f0e-5d1d0a7c1d1e";

    let history = format!(
        concat!(
            r#"{{"event_0":{{"userID":"user\/1","timestamp":"1500000000000","amount":"700","reason":"DEPOSIT","#,
            r#""sweepBundleHash":"{b}","withdrawalUUID":""}},"#,
            r#""event_1":{{"userID":"user\/1","timestamp":"1500000000001","amount":"-300","reason":"WITHDRAWAL","#,
            r#""sweepBundleHash":"","withdrawalUUID":"{uuid}"}}}}"#
        ),
        b = b,
        uuid = uuid
    );
    hub.expect(
        r#"{"command":"GetUserHistory","userId":"user/1","newerThan":"5"}"#,
        &history,
    )
    .await;

    let subscription = format!(
        concat!(
            r#"{{"event_0":{{"type":"USER_ACCOUNT","reason":"DEPOSIT","userId":"user\/1","timestamp":"1500000000000","#,
            r#""sweepBundleHash":"{b}","withdrawalUuid":"","amount":"700"}},"#,
            r#""event_1":{{"type":"USER_ADDRESS","reason":"UA_DEPOSIT","userId":"u2","timestamp":"7","#,
            r#""userAddress":"{c}","hash":"{d}","message":"hi","amount":"50"}},"#,
            r#""event_2":{{"type":"HUB_ADDRESS","hubAddress":"{e}","reason":"OUTBOUND","timestamp":"9","#,
            r#""sweepBundleHash":"{f}","amount":"-20"}},"#,
            r#""event_3":{{"type":"USER_ACCOUNT","reason":"WITHDRAWAL","userId":"user\/1","timestamp":"1500000000001","#,
            r#""sweepBundleHash":"","withdrawalUuid":"{uuid}","amount":"-300"}}}}"#
        ),
        b = b,
        c = c,
        d = d,
        e = e,
        f = f,
        uuid = uuid
    );
    hub.expect(r#"{"command":"BalanceSubscription","newerThan":"6"}"#, &subscription)
        .await;
    // The escaped form is still the same JSON.
    let parsed: serde_json::Value = serde_json::from_str(&subscription).unwrap();
    assert_eq!(parsed["event_0"]["userId"], "user/1");

    assert_eq!(
        hub.fake.take_calls(),
        vec![Call::GetUserHistory("user/1".into(), 5), Call::BalanceSubscription(6)]
    );
    hub.stop().await;
}

#[tokio::test]
async fn transfer_batches_merge_users_with_checked_sums() {
    let hub = Endpoint::start(Fake::default()).await;
    let body = r#"{"command":"ProcessTransferBatch","transfers":[
        {"userId":"a","amount":"5"},{"userId":"b","amount":-3},{"userId":"c","amount":"3"},
        {"userId":"a","amount":-5},{"userId":"b","amount":"-2"},{"userId":"c","amount":2}]}"#;
    hub.expect(body, "{}").await;
    hub.expect(r#"{"command":"ProcessTransferBatch","transfers":[]}"#, "{}")
        .await;
    assert_eq!(
        hub.fake.take_calls(),
        vec![
            Call::ProcessTransferBatch(
                vec![
                    // +5 and −5 merge into a zero transfer, which the command must see.
                    Transfer {
                        user_id: "a".into(),
                        amount: 0
                    },
                    Transfer {
                        user_id: "b".into(),
                        amount: -5
                    },
                    Transfer {
                        user_id: "c".into(),
                        amount: 5
                    },
                ],
                None
            ),
            Call::ProcessTransferBatch(Vec::new(), None),
        ]
    );

    // The command's verdict on the merged batch is passed on.
    hub.fake.fail_next(HubError::BatchInvalid("zero transfer".into()));
    hub.expect(
        r#"{"command":"ProcessTransferBatch","transfers":[{"userId":"a","amount":1},{"userId":"a","amount":-1}]}"#,
        r#"{"error":"Batch is invalid"}"#,
    )
    .await;
    assert_eq!(
        hub.fake.take_calls(),
        vec![Call::ProcessTransferBatch(
            vec![Transfer {
                user_id: "a".into(),
                amount: 0
            }],
            None
        )]
    );

    // A sum beyond i64 is an error, never a wrap, and never reaches the command.
    for (first, second) in [(i64::MAX, 1), (i64::MIN, -1)] {
        let body = format!(
            r#"{{"command":"ProcessTransferBatch","transfers":[{{"userId":"a","amount":"{first}"}},{{"userId":"a","amount":"{second}"}}]}}"#
        );
        let reply = hub.post(&body).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.body.starts_with(r#"{"error":"#), "{}", reply.body);
        assert!(reply.body.contains("transfers[1].amount"), "{}", reply.body);
    }
    // Not an array.
    let reply = hub
        .post(r#"{"command":"ProcessTransferBatch","transfers":"a:1"}"#)
        .await;
    assert!(reply.body.contains("transfers"), "{}", reply.body);
    assert!(hub.fake.calls().is_empty());
    hub.stop().await;
}

const COMMANDS: [&str; 20] = [
    "CreateUser",
    "GetBalance",
    "GetDepositAddress",
    "UserWithdraw",
    "UserWithdrawCancel",
    "GetUserHistory",
    "ProcessTransferBatch",
    "BalanceSubscription",
    "GetStats",
    "SweepSubscription",
    "GetAddressInfo",
    "SweepInfo",
    "SignBundle",
    "SweepDetail",
    "WasWithdrawalCancelled",
    "WasAddressSpentFrom",
    "RecoverFunds",
    "GetSeedForAddress",
    "GetSeedForUUID",
    "Bogus",
];

const FIELDS: [&str; 8] = [
    "userId",
    "includeChecksum",
    "newerThan",
    "transfers",
    "amount",
    "address",
    "validateChecksum",
    "uuid",
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        "-?[0-9]{1,20}".prop_map(Value::String),
        Just(Value::String("true".into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&FIELDS[..]), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn request_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (
            prop::sample::select(&COMMANDS[..]),
            prop::collection::vec((prop::sample::select(&FIELDS[..]), json_value()), 0..5)
        )
            .prop_map(|(command, fields)| {
                let mut object = serde_json::Map::new();
                object.insert("command".into(), command.into());
                for (key, value) in fields {
                    object.insert(key.to_owned(), value);
                }
                serde_json::Value::Object(object).to_string().into_bytes()
            }),
    ]
}

#[test]
fn random_bodies_always_get_an_answer() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let hub = runtime.block_on(Endpoint::start(Fake::default()));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    });
    let result = runner.run(&request_body(), |body| {
        let reply = runtime.block_on(hub.request(Method::POST, "/", body.clone()));
        let allowed = [
            StatusCode::OK,
            StatusCode::BAD_REQUEST,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::NOT_IMPLEMENTED,
        ];
        prop_assert!(allowed.contains(&reply.status), "{}: {}", reply.status, reply.body);
        if reply.status != StatusCode::INTERNAL_SERVER_ERROR {
            let parsed = serde_json::from_str::<serde_json::Value>(&reply.body);
            prop_assert!(matches!(parsed, Ok(serde_json::Value::Object(_))), "{}", reply.body);
        }
        Ok(())
    });
    // The server still answers after all that.
    let reply = runtime.block_on(hub.post(r#"{"command":"GetStats"}"#));
    assert_eq!(reply.body, r#"{"totalBalance":"4242"}"#);
    runtime.block_on(hub.stop());
    result.unwrap();
}

#[tokio::test]
async fn withdrawals() {
    let hub = Endpoint::start(Fake::default()).await;
    hub.expect(
        r#"{"command":"UserWithdraw","userId":"u","payoutAddress":"P","amount":"12","tag":"T","validateChecksum":true,"idempotencyKey":"k"}"#,
        &format!(r#"{{"uuid":"{}"}}"#, common::WITHDRAWAL_UUID),
    )
    .await;
    // Only userId and amount are required; a missing amount is no longer garbage.
    hub.expect(
        r#"{"command":"UserWithdraw","userId":"u","amount":5}"#,
        &format!(r#"{{"uuid":"{}"}}"#, common::WITHDRAWAL_UUID),
    )
    .await;
    hub.expect(
        r#"{"command":"UserWithdraw","userId":"u"}"#,
        r#"{"error":"Missing argument"}"#,
    )
    .await;
    let reply = hub
        .post(r#"{"command":"UserWithdraw","userId":"u","amount":"-5"}"#)
        .await;
    assert!(reply.body.contains("amount"), "{}", reply.body);
    hub.expect(
        r#"{"command":"UserWithdrawCancel","uuid":"x"}"#,
        r#"{"success":"true"}"#,
    )
    .await;
    hub.expect(r#"{"command":"UserWithdrawCancel"}"#, r#"{"error":"Missing argument"}"#)
        .await;
    hub.expect(
        r#"{"command":"WasWithdrawalCancelled","uuid":"x"}"#,
        r#"{"wasCancelled":"true"}"#,
    )
    .await;
    let calls = hub.fake.take_calls();
    assert_eq!(
        calls[0],
        Call::UserWithdraw(hub_core::WithdrawRequest {
            user_id: "u".into(),
            payout_address: "P".into(),
            amount: 12,
            tag: "T".into(),
            validate_checksum: true,
            idempotency_key: Some("k".into()),
        })
    );
    assert!(
        matches!(&calls[1], Call::UserWithdraw(r) if r.payout_address.is_empty() && r.tag.is_empty() && !r.validate_checksum)
    );
    assert_eq!(calls[2], Call::UserWithdrawCancel("x".into()));
    assert_eq!(calls[3], Call::WasWithdrawalCancelled("x".into()));
    hub.fake.fail_next(HubError::WithdrawalCanNotBeCancelled);
    hub.expect(
        r#"{"command":"UserWithdrawCancel","uuid":"x"}"#,
        r#"{"error":"Withdrawal can not be cancelled"}"#,
    )
    .await;
    hub.stop().await;
}

#[tokio::test]
async fn sweeps() {
    let hub = Endpoint::start(Fake::default()).await;
    let b = "B".repeat(81);
    hub.expect(
        r#"{"command":"SweepSubscription"}"#,
        &format!(
            r#"{{"event_0":{{"bundleHash":"{b}","timestamp":"1700000000000"}},"event_1":{{"bundleHash":"{b}","timestamp":"1700000000000","withdrawalUuid":"{}","withdrawalUuid":"w2"}}}}"#,
            common::WITHDRAWAL_UUID
        ),
    )
    .await;
    hub.expect(
        r#"{"command":"SweepInfo","withdrawalUuid":"x"}"#,
        r#"{"error":"Missing argument"}"#,
    )
    .await;
    hub.expect(
        r#"{"command":"SweepInfo","requestByUuid":"true","withdrawalUuid":"x"}"#,
        &format!(
            r#"{{"bundleHash":"{b}","timestamp":"1700000000000","withdrawalUuid":"{}"}}"#,
            common::WITHDRAWAL_UUID
        ),
    )
    .await;
    hub.expect(
        r#"{"command":"SweepInfo","requestByUuid":false,"bundleHash":"H"}"#,
        &format!(
            r#"{{"bundleHash":"{b}","timestamp":"1700000000000","withdrawalUuid":"{}"}}"#,
            common::WITHDRAWAL_UUID
        ),
    )
    .await;
    hub.expect(
        r#"{"command":"SweepDetail","bundleHash":"H"}"#,
        r#"{"confirmed":"true","trytes":"T1","trytes":"T2","tailHash":"NEW","tailHash":"OLD"}"#,
    )
    .await;
    let calls = hub.fake.take_calls();
    assert_eq!(calls[0], Call::SweepSubscription(0));
    assert_eq!(
        calls[1],
        Call::SweepInfo(hub_core::SweepQuery::WithdrawalUuid("x".into()))
    );
    assert_eq!(calls[2], Call::SweepInfo(hub_core::SweepQuery::BundleHash("H".into())));
    assert_eq!(calls[3], Call::SweepDetail("H".into()));
    hub.fake.fail_next(HubError::Cancelled("unknown".into()));
    hub.expect(
        r#"{"command":"SweepDetail","bundleHash":"H"}"#,
        r#"{"error":"Cancelled"}"#,
    )
    .await;
    hub.stop().await;
}
