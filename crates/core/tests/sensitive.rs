//! The dangerous commands on SQLite and PostgreSQL with the devnet
//! (hub-behaviour.md §13 I): off by default; SignBundle authenticated by a
//! real HMAC, held to RecoverFunds' rules and recording what it signed;
//! RecoverFunds atomic, crediting nobody, paying the late funds on the
//! Tangle, and a recovery its signer refuses given up with `abandon_sweep`;
//! seeds only for known UUIDs.

mod common;

use common::*;
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{AuthKey, HubError, RecoverFundsRequest, SensitiveConfig, SignBundleRequest};
use hub_protocol::validate::{validate, Options};
use hub_protocol::{wots, Hash, SecurityLevel, Seed, SeedUuid};

fn key() -> AuthKey {
    AuthKey::new(b"an hmac key of at least thirty-two bytes".to_vec()).unwrap()
}

fn all_on() -> SensitiveConfig {
    SensitiveConfig {
        sign_bundle: Some(key()),
        recover_funds: true,
        recovery_candidates: 5_000,
        seed_for_address: true,
        seed_for_uuid: true,
    }
}

fn hash(c: char) -> Hash {
    Hash::from_trytes(&c.to_string().repeat(81)).unwrap()
}

/// `user` gets a deposit of `amount`, swept (not yet confirmed); returns the address.
async fn swept_deposit(ctx: &Ctx, user: &str, amount: u64) -> String {
    ctx.hub.create_user(user).await.unwrap();
    let address = ctx.hub.get_deposit_address(user, false).await.unwrap();
    ctx.fund(&address, amount).await;
    ctx.milestone().await;
    run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
    sweeper::run_tick(&ctx.hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .expect("swept");
    address
}

fn seed_derives(seed: &str, address: &str) -> bool {
    wots::address(&Seed::from_trytes(seed).unwrap(), 0, SecurityLevel::Medium).as_str() == address
}

async fn off_by_default(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    let cancelled = |r: Result<String, HubError>| matches!(r, Err(HubError::Cancelled(_)));
    assert!(cancelled(hub.sign_bundle(&SignBundleRequest::default()).await));
    assert!(cancelled(hub.recover_funds(&RecoverFundsRequest::default()).await));
    assert!(cancelled(hub.get_seed_for_address("u", "A").await));
    assert!(cancelled(hub.get_seed_for_uuid(SeedUuid::generate().as_str()).await));
    ctx.finish().await;
}
on_both_databases!(sensitive_commands_are_off_by_default, off_by_default);

async fn sign_bundle_and_seeds(db: Db) {
    let ctx = start(db).await;
    let hub = ctx.with_sensitive(all_on());
    let swept = swept_deposit(&ctx, "olga", 1_000).await;
    let unswept = ctx.hub.get_deposit_address("olga", false).await.unwrap();
    ctx.hub.create_user("pete").await.unwrap();
    let petes = ctx.hub.get_deposit_address("pete", false).await.unwrap();
    let hub_address = ctx.strings("SELECT address FROM hub_address").await.remove(0);
    let before = ctx.row_counts().await;

    let request = |address: &str, bundle: Hash, token: String| SignBundleRequest {
        address: address.to_string(),
        bundle_hash: bundle.to_string(),
        authentication: token,
        validate_checksum: false,
    };
    let token =
        |bundle: Hash, address: &str| key().token(&bundle, &hub_protocol::Address::from_trytes(address).unwrap());

    // The original's checks, in its order.
    assert_eq!(
        hub.sign_bundle(&request(&unswept, hash('A'), token(hash('A'), &unswept)))
            .await
            .unwrap_err()
            .code(),
        hub_core::ErrorCode::IneligibleAddress,
        "an unswept key has never signed: it may not sign out of band"
    );
    assert_eq!(
        hub.sign_bundle(&request(&hub_address, hash('A'), token(hash('A'), &hub_address)))
            .await,
        Err(HubError::UnknownAddress)
    );
    assert!(matches!(
        hub.sign_bundle(&request(&swept[..80], hash('A'), String::new())).await,
        Err(HubError::InvalidArgument { field: "address", .. })
    ));
    let mut with_checksum = request(&swept, hash('A'), token(hash('A'), &swept));
    with_checksum.validate_checksum = true;
    assert!(matches!(
        hub.sign_bundle(&with_checksum).await,
        Err(HubError::InvalidChecksum(_))
    ));
    assert!(matches!(
        hub.sign_bundle(&SignBundleRequest {
            bundle_hash: "SHORT".into(),
            ..request(&swept, hash('A'), String::new())
        })
        .await,
        Err(HubError::InvalidArgument {
            field: "bundleHash",
            ..
        })
    ));

    // A token is good for one (bundle hash, address) only (the original's was a constant).
    assert_eq!(
        hub.sign_bundle(&request(&swept, hash('B'), token(hash('A'), &swept)))
            .await,
        Err(HubError::InvalidAuthentication)
    );
    assert_eq!(
        hub.sign_bundle(&request(&swept, hash('A'), "not hex".into())).await,
        Err(HubError::InvalidAuthentication)
    );
    // RecoverFunds' rules: not while the key's own sweep is unconfirmed,
    // never a hash whose normalised form holds a 13.
    assert!(matches!(
        hub.sign_bundle(&request(&swept, hash('A'), token(hash('A'), &swept))).await,
        Err(HubError::InvalidAddress(rule)) if rule.contains("not confirmed")
    ));
    assert_eq!(ctx.row_counts().await, before, "refusals write nothing");
    ctx.confirm_all().await;
    assert!(wots::normalized_has_m(&hash('M')));
    assert!(matches!(
        hub.sign_bundle(&request(&swept, hash('M'), token(hash('M'), &swept))).await,
        Err(HubError::InvalidArgument { field: "bundleHash", rule }) if rule.contains("13")
    ));
    let before = ctx.row_counts().await;
    let signature = hub
        .sign_bundle(&request(&swept, hash('A'), token(hash('A'), &swept)))
        .await
        .unwrap();
    assert_eq!(signature.len(), 2 * 2187);
    let fragments = wots::Signature::from_trytes(&signature).unwrap();
    assert!(wots::verify(&address(&swept), &hash('A'), &fragments.0));
    // What it signed is recorded, with an event: the check before any later
    // signature of this key knows the spend is Hub's.
    assert_eq!(
        ctx.strings("SELECT bundle_hash FROM sign_bundle_signature").await,
        vec![hash('A').to_string()]
    );
    assert_eq!(
        ctx.strings("SELECT reference FROM events WHERE kind = 'bundle_signed'")
            .await,
        vec![hash('A').to_string()]
    );
    let grew: Vec<_> = ctx
        .row_counts()
        .await
        .into_iter()
        .zip(&before)
        .filter(|(after, before)| after.1 != before.1)
        .map(|(after, _)| after.0)
        .collect();
    assert_eq!(
        grew,
        ["events", "sign_bundle_signature"],
        "SignBundle records its signature only"
    );
    hub.sign_bundle(&request(&swept, hash('A'), token(hash('A'), &swept)))
        .await
        .unwrap();
    assert_eq!(
        ctx.strings("SELECT bundle_hash FROM sign_bundle_signature").await.len(),
        1,
        "asking again for the same hash records nothing new"
    );
    let before = ctx.row_counts().await;

    // Seeds: only the user's own addresses, only UUIDs Hub knows.
    assert_eq!(
        hub.get_seed_for_address("olga", &petes).await,
        Err(HubError::WrongUserAddress)
    );
    assert_eq!(
        hub.get_seed_for_address("nobody", &petes).await,
        Err(HubError::UserDoesNotExist)
    );
    assert_eq!(
        hub.get_seed_for_address("olga", &hub_address).await,
        Err(HubError::UnknownAddress)
    );
    assert!(matches!(
        hub.get_seed_for_address("olga", "SHORT").await,
        Err(HubError::InvalidAddress(_))
    ));
    assert!(seed_derives(
        &hub.get_seed_for_address("olga", &swept).await.unwrap(),
        &swept
    ));
    for bad in ["", "short", &"é".repeat(64), &"A".repeat(65)] {
        assert!(
            matches!(hub.get_seed_for_uuid(bad).await, Err(HubError::InvalidUuid(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        hub.get_seed_for_uuid(SeedUuid::generate().as_str()).await,
        Err(HubError::InvalidUuid(_))
    ));
    let uuid = ctx
        .strings(&format!(
            "SELECT seed_uuid FROM hub_address WHERE address = '{hub_address}'"
        ))
        .await
        .remove(0);
    assert!(seed_derives(&hub.get_seed_for_uuid(&uuid).await.unwrap(), &hub_address));
    assert_eq!(ctx.row_counts().await, before, "seed export writes nothing");
    ctx.finish().await;
}
on_both_databases!(sign_bundle_checks_and_seed_export, sign_bundle_and_seeds);

async fn recover_funds(db: Db) {
    let ctx = start(db).await;
    let hub = ctx.with_sensitive(all_on());
    let swept = swept_deposit(&ctx, "olga", 1_000).await;
    let recover = |user: &str, address: &str, payout: &str| RecoverFundsRequest {
        user_id: user.into(),
        address: address.into(),
        validate_checksum: false,
        payout_address: payout.into(),
    };
    let payout = "R".repeat(80) + "9";

    // Funds arrive after the sweep; nothing may be recovered before the sweep is confirmed.
    let late = ctx.fund(&swept, 700).await;
    ctx.milestone().await;
    assert!(matches!(
        hub.recover_funds(&recover("olga", &swept, &payout)).await,
        Err(HubError::InvalidAddress(_))
    ));
    ctx.confirm_all().await;

    ctx.hub.create_user("pete").await.unwrap();
    let petes = ctx.hub.get_deposit_address("pete", false).await.unwrap();
    let unswept = ctx.hub.get_deposit_address("olga", false).await.unwrap();
    let spent = ctx.spent_by(late).await;
    let before = ctx.row_counts().await;
    assert_eq!(
        hub.recover_funds(&recover("olga", &petes, &payout)).await,
        Err(HubError::WrongUserAddress)
    );
    assert_eq!(
        hub.recover_funds(&recover("nobody", &swept, &payout)).await,
        Err(HubError::UserDoesNotExist)
    );
    assert!(matches!(
        hub.recover_funds(&recover("olga", &unswept, &payout)).await,
        Err(HubError::InvalidAddress(_))
    ));
    assert_eq!(
        hub.recover_funds(&recover("olga", &swept, spent.as_str())).await,
        Err(HubError::AddressWasSpent)
    );
    assert!(
        matches!(
            hub.recover_funds(&recover("olga", &swept, &swept)).await,
            Err(HubError::InvalidAddress(_))
        ),
        "paying a Hub address would hide the funds from the books"
    );
    assert_eq!(ctx.row_counts().await, before, "refusals write nothing");

    // A recovery its signer refuses stays planned and holds the key; given
    // up (nothing of it on the node), it frees the key for the next one.
    let refusing = ctx.refusing_first_bundle().with_sensitive(all_on());
    let held = refusing.recover_funds(&recover("olga", &swept, &payout)).await;
    assert!(matches!(held, Err(HubError::SignatureFailed(_))), "{held:?}");
    let planned = refusing.unconfirmed_sweeps().await.unwrap();
    assert_eq!(planned.len(), 1);
    assert!(matches!(
        hub.recover_funds(&recover("olga", &swept, &payout)).await,
        Err(HubError::InvalidAddress(_))
    ));
    let abandoned = hub.abandon_sweep(&planned[0].bundle_hash).await.unwrap();
    assert_eq!(
        (
            abandoned.withdrawals.len(),
            abandoned.deposits.len(),
            abandoned.hub_inputs
        ),
        (0, 0, 0)
    );
    assert!(hub.unconfirmed_sweeps().await.unwrap().is_empty());
    assert!(ctx.mismatches().await.is_empty());
    // (Mined again within the same second, the bundle would be the abandoned one.)
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;

    // Success: a sweep spending the whole node balance to the payout address, no remainder.
    let bundle = hub.recover_funds(&recover("olga", &swept, &payout)).await.unwrap();
    let stored = ctx
        .strings(&format!("SELECT trytes FROM sweep WHERE bundle_hash = '{bundle}'"))
        .await
        .remove(0);
    let transactions: Vec<_> = (0..stored.len() / 2673)
        .map(|i| hub_protocol::Transaction::from_trytes(&stored[i * 2673..(i + 1) * 2673]).unwrap())
        .collect();
    assert_eq!(transactions.len(), 3, "two signature transactions and the payout");
    assert_eq!(
        (transactions[0].address.as_str(), transactions[0].value.get()),
        (swept.as_str(), -700)
    );
    assert_eq!(
        (transactions[2].address.as_str(), transactions[2].value.get()),
        (payout.as_str(), 700)
    );
    assert!(validate(&transactions, &Options::default()).is_valid());
    assert_eq!(
        ctx.strings(&format!("SELECT bundle_hash FROM recovery_signature WHERE sweep = (SELECT id FROM sweep WHERE bundle_hash = '{bundle}')"))
            .await,
        vec![bundle.clone()]
    );
    // Nobody is credited: the funds never entered Hub's books.
    assert_eq!(ctx.hub.get_balance("olga").await.unwrap().available, 1_000);
    assert!(ctx.mismatches().await.is_empty());

    // The attacher takes it like any sweep; the payout address receives the funds.
    ctx.confirm_all().await;
    let balances = ctx
        .client
        .get_balances(&[address(&payout), address(&swept)])
        .await
        .unwrap()
        .balances;
    assert_eq!(balances, vec![700, 0]);
    assert_eq!(
        hub.recover_funds(&recover("olga", &swept, &payout)).await,
        Err(HubError::AddressBalanceZero)
    );
    assert_eq!(ctx.hub.get_balance("olga").await.unwrap().available, 1_000);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(recover_funds_pays_late_funds_without_crediting, recover_funds);
