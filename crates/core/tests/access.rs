//! Goal: API credentials on SQLite and PostgreSQL: a created token admits
//! its caller with its scopes; anything else, a revoked token (from the
//! very next call) and an expired one are refused; a certificate CN maps to
//! its principal; bad input names its field and writes nothing;
//! `last_used_at` is written at most once a minute; the token itself is
//! never stored.
//! Method: `Access` over a fresh database (from the core test bed), with a
//! clock the test moves; what is stored is read back with raw SQL.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use common::*;
use hub_core::{Access, AuthFailure, Clock, HubError, NewToken, Principal, Scope};
use sha2::{Digest, Sha256};

const START_MS: i64 = 1_700_000_000_000;
const DAY_MS: i64 = 86_400_000;

/// A clock the test sets.
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

fn access_with_clock(ctx: &Ctx) -> (Access, Arc<TestClock>) {
    let clock = Arc::new(TestClock(AtomicI64::new(START_MS)));
    (Access::new(ctx.hub.store().clone(), clock.clone()), clock)
}

fn token(name: &str, scopes: &[Scope]) -> NewToken {
    NewToken {
        name: name.into(),
        scopes: scopes.to_vec(),
        ..NewToken::default()
    }
}

/// The transports box these futures as `Send`; this fails to compile if one is not.
fn sendable<F: std::future::Future + Send>(future: F) -> F {
    future
}

fn is_token_format(token: &str) -> bool {
    token
        .strip_prefix("hub_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

async fn a_token_admits_its_caller_until_it_is_revoked(db: Db) {
    let ctx = start(db).await;
    let access = ctx.hub.access();
    let desk = access
        .create(&token("desk-1", &[Scope::Withdraw, Scope::Read, Scope::Read]))
        .await
        .unwrap()
        .expect("a bearer token");
    assert!(is_token_format(&desk), "hub_ and 64 lowercase hex digits");
    let principal = sendable(access.by_token(&desk)).await.unwrap();
    assert_eq!(
        principal,
        Principal {
            name: "desk-1".into(),
            scopes: vec![Scope::Read, Scope::Withdraw],
        },
        "scopes in order, duplicates removed"
    );
    assert!(principal.allows(Scope::Withdraw) && !principal.allows(Scope::Admin));
    let listed = access.list(false).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|t| (t.name.as_str(), t.client_cn.as_deref(), t.revoked_at_ms))
            .collect::<Vec<_>>(),
        vec![("desk-1", None, None)]
    );

    // Anything but the token is unknown.
    let mut flipped = desk.to_string();
    let last = if flipped.ends_with('0') { "1" } else { "0" };
    flipped.replace_range(flipped.len() - 1.., last);
    let unknown = [
        String::new(),
        "hub_".into(),
        desk.to_uppercase(),
        format!("{}0", &*desk),
        format!("hub_{}", "g".repeat(64)),
        flipped,
    ];
    for presented in &unknown {
        assert_eq!(
            access.by_token(presented).await,
            Err(AuthFailure::Unknown),
            "{presented:?}"
        );
    }

    // Revoked: refused on the very next call; the name may be used again.
    access.revoke("desk-1").await.unwrap();
    assert_eq!(access.by_token(&desk).await, Err(AuthFailure::Revoked));
    assert!(
        matches!(access.revoke("desk-1").await, Err(HubError::InvalidArgument { field: "name", rule }) if rule.contains("desk-1")),
        "revoked once"
    );
    let again = access.create(&token("desk-1", &[Scope::Read])).await.unwrap().unwrap();
    assert_eq!(access.by_token(&again).await.unwrap().scopes, vec![Scope::Read]);
    assert_eq!(access.by_token(&desk).await, Err(AuthFailure::Revoked));
    assert_eq!(access.list(false).await.unwrap().len(), 1);
    assert_eq!(access.list(true).await.unwrap().len(), 2);

    // A malformed token is refused without asking the database; a
    // well-formed one cannot be checked while the database is away.
    ctx.hub.store().close().await;
    assert_eq!(access.by_token("not a token").await, Err(AuthFailure::Unknown));
    let unavailable = sendable(access.by_client_cn("exchange ops")).await.unwrap_err();
    assert!(matches!(unavailable, AuthFailure::Unavailable(_)), "{unavailable}");
    let unavailable = access.by_token(&again).await.unwrap_err();
    assert!(matches!(unavailable, AuthFailure::Unavailable(_)), "{unavailable}");
    assert!(!unavailable.to_string().contains(&*again), "{unavailable}");
    ctx.finish().await;
}
on_both_databases!(tokens, a_token_admits_its_caller_until_it_is_revoked);

async fn expiry_and_last_use_follow_the_clock(db: Db) {
    let ctx = start(db).await;
    let (access, clock) = access_with_clock(&ctx);
    let new = NewToken {
        expires_in_days: Some(1),
        ..token("nightly", &[Scope::Trade])
    };
    let nightly = access.create(&new).await.unwrap().unwrap();
    let info = access.list(false).await.unwrap().remove(0);
    assert_eq!(
        (info.created_at_ms, info.expires_at_ms, info.last_used_at_ms),
        (START_MS, Some(START_MS + DAY_MS), None)
    );
    let last_used = || async { access.list(false).await.unwrap().remove(0).last_used_at_ms };

    access.by_token(&nightly).await.unwrap();
    assert_eq!(last_used().await, Some(START_MS));
    clock.advance(30_000);
    access.by_token(&nightly).await.unwrap();
    assert_eq!(last_used().await, Some(START_MS), "not written again within a minute");
    clock.advance(31_000);
    access.by_token(&nightly).await.unwrap();
    assert_eq!(last_used().await, Some(START_MS + 61_000));

    clock.advance(DAY_MS - 61_000 - 1);
    assert!(
        access.by_token(&nightly).await.is_ok(),
        "valid until its last millisecond"
    );
    clock.advance(1);
    assert_eq!(access.by_token(&nightly).await, Err(AuthFailure::Expired));
    ctx.finish().await;
}
on_both_databases!(clock, expiry_and_last_use_follow_the_clock);

async fn a_client_certificate_maps_to_its_principal(db: Db) {
    let ctx = start(db).await;
    let access = ctx.hub.access();
    let mapping = |name: &str, cn: &str| NewToken {
        client_cn: Some(cn.into()),
        ..token(name, &[Scope::Deposit, Scope::Read])
    };
    assert_eq!(access.create(&mapping("ops-cert", "exchange ops")).await.unwrap(), None);
    assert_eq!(
        access.by_client_cn("exchange ops").await.unwrap(),
        Principal {
            name: "ops-cert".into(),
            scopes: vec![Scope::Read, Scope::Deposit],
        }
    );
    for unknown in ["exchange", "", "exchange ops\n"] {
        assert_eq!(
            access.by_client_cn(unknown).await,
            Err(AuthFailure::Unknown),
            "{unknown:?}"
        );
    }
    let taken = access.create(&mapping("other", "exchange ops")).await.unwrap_err();
    assert!(
        matches!(&taken, HubError::InvalidArgument { field: "client_cn", rule } if rule.contains("ops-cert")),
        "{taken}"
    );
    let listed = access.list(false).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].client_cn.as_deref(), Some("exchange ops"));
    access.revoke("ops-cert").await.unwrap();
    assert_eq!(access.by_client_cn("exchange ops").await, Err(AuthFailure::Revoked));
    assert_eq!(access.create(&mapping("other", "exchange ops")).await.unwrap(), None);
    assert_eq!(access.by_client_cn("exchange ops").await.unwrap().name, "other");
    ctx.finish().await;
}
on_both_databases!(client_cn, a_client_certificate_maps_to_its_principal);

async fn bad_input_names_its_field_and_writes_nothing(db: Db) {
    let ctx = start(db).await;
    let access = ctx.hub.access();
    access.create(&token("taken", &[Scope::Read])).await.unwrap();
    let before = (ctx.row_counts().await, ctx.strings("SELECT name FROM api_token").await);
    let read = [Scope::Read];
    let cases: Vec<(&str, NewToken, &str)> = vec![
        ("empty name", token("", &read), "name"),
        ("space in name", token("a b", &read), "name"),
        ("non-ASCII name", token("café", &read), "name"),
        ("name of 65", token(&"n".repeat(65), &read), "name"),
        ("active name", token("taken", &read), "name"),
        ("no scope", token("fine", &[]), "scopes"),
        (
            "0 days",
            NewToken {
                expires_in_days: Some(0),
                ..token("fine", &read)
            },
            "expires_in_days",
        ),
        (
            "3651 days",
            NewToken {
                expires_in_days: Some(3651),
                ..token("fine", &read)
            },
            "expires_in_days",
        ),
        (
            "empty CN",
            NewToken {
                client_cn: Some(String::new()),
                ..token("fine", &read)
            },
            "client_cn",
        ),
        (
            "control character in CN",
            NewToken {
                client_cn: Some("a\u{7}b".into()),
                ..token("fine", &read)
            },
            "client_cn",
        ),
        (
            "CN of 256",
            NewToken {
                client_cn: Some("c".repeat(256)),
                ..token("fine", &read)
            },
            "client_cn",
        ),
    ];
    for (case, new, expected) in cases {
        match access.create(&new).await {
            Err(HubError::InvalidArgument { field, rule }) => {
                assert_eq!(field, expected, "{case}");
                assert!(rule.contains(expected), "{case}: the rule names its field: {rule}");
            }
            other => panic!("{case}: expected an argument error, got {other:?}"),
        }
    }
    let after = (ctx.row_counts().await, ctx.strings("SELECT name FROM api_token").await);
    assert_eq!(after, before, "refused input wrote nothing");
    for bad in ["", "a b", "nobody"] {
        assert!(
            matches!(
                access.revoke(bad).await,
                Err(HubError::InvalidArgument { field: "name", .. })
            ),
            "{bad:?}"
        );
    }

    // The bounds themselves are fine.
    let longest = NewToken {
        expires_in_days: Some(3650),
        client_cn: Some("c".repeat(255)),
        ..token(&"n".repeat(64), &read)
    };
    assert_eq!(access.create(&longest).await, Ok(None));
    assert_eq!(access.list(false).await.unwrap().len(), 2);
    ctx.finish().await;
}
on_both_databases!(bad_input, bad_input_names_its_field_and_writes_nothing);

async fn the_token_itself_is_never_stored(db: Db) {
    let ctx = start(db).await;
    let access = ctx.hub.access();
    let secret = access.create(&token("desk", &[Scope::Trade])).await.unwrap().unwrap();
    access.by_token(&secret).await.unwrap();
    access.revoke("desk").await.unwrap();
    access.by_token(&secret).await.unwrap_err();
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    assert_eq!(
        ctx.strings("SELECT token_hash FROM api_token").await,
        vec![hash],
        "only the SHA-256 of the token"
    );
    let body = secret.strip_prefix("hub_").unwrap();
    let stored = ctx
        .strings(
            "SELECT name FROM api_token UNION ALL SELECT COALESCE(token_hash, '') FROM api_token
             UNION ALL SELECT COALESCE(client_cn, '') FROM api_token UNION ALL SELECT scopes FROM api_token
             UNION ALL SELECT kind FROM events UNION ALL SELECT COALESCE(address, '') FROM events
             UNION ALL SELECT COALESCE(reference, '') FROM events UNION ALL SELECT COALESCE(actor, '') FROM events",
        )
        .await;
    assert!(stored.len() > 4, "the token's row and its events were read: {stored:?}");
    for text in stored {
        assert!(!text.contains(body), "the token is stored: {text}");
    }
    ctx.finish().await;
}
on_both_databases!(never_stored, the_token_itself_is_never_stored);
