//! Cold storage on SQLite and PostgreSQL with the devnet: a Hub address
//! marked cold is never spent; its seed UUID can be exported (and leaves
//! the database) and brought back; then it pays withdrawals again.

mod common;

use common::*;
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{HubError, WithdrawRequest};
use hub_protocol::SeedUuid;

async fn cold_storage_round_trip(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub.create_user("olga").await.unwrap();
    let deposit = hub.get_deposit_address("olga", false).await.unwrap();
    ctx.fund(&deposit, 1_000).await;
    ctx.milestone().await;
    run_pass(hub, &MonitorConfig::default()).await.unwrap();
    sweeper::run_tick(hub, &SweepConfig::default()).await.unwrap();
    ctx.confirm_all().await;
    let cold = ctx.strings("SELECT address FROM hub_address").await.remove(0);
    let uuid = ctx
        .strings(&format!("SELECT seed_uuid FROM hub_address WHERE address = '{cold}'"))
        .await
        .remove(0);

    // Only Hub addresses can be cold.
    assert_eq!(hub.set_cold(&deposit, true).await, Err(HubError::UnknownAddress));
    assert!(matches!(
        hub.set_cold("NOT AN ADDRESS", true).await,
        Err(HubError::InvalidArgument { field: "address", .. })
    ));
    assert!(
        matches!(
            hub.export_cold_seed(&cold, |_| Ok(())).await,
            Err(HubError::InvalidAddress(_))
        ),
        "a warm address keeps its UUID"
    );

    let marked = hub.set_cold(&cold, true).await.unwrap();
    assert!(marked.cold && !marked.exported && marked.balance == 1_000);
    assert_eq!(hub.cold_addresses().await.unwrap(), vec![marked.clone()]);

    // A cold address pays nothing: the withdrawal waits.
    let payout = "C".repeat(80) + "9";
    hub.user_withdraw(&WithdrawRequest {
        user_id: "olga".into(),
        payout_address: payout.clone(),
        amount: 300,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        sweeper::run_tick(hub, &SweepConfig::default()).await.unwrap().swept,
        None
    );

    // Export: if the UUID cannot be kept, nothing changes.
    let before = ctx.row_counts().await;
    assert!(matches!(
        hub.export_cold_seed(&cold, |_| Err("disk full".into())).await,
        Err(HubError::Internal(_))
    ));
    assert_eq!(ctx.row_counts().await, before);
    assert_eq!(
        ctx.strings(&format!("SELECT seed_uuid FROM hub_address WHERE address = '{cold}'"))
            .await,
        vec![uuid.clone()]
    );
    let mut kept = None;
    let exported = hub
        .export_cold_seed(&cold, |u| {
            kept = Some(u.as_str().to_string());
            Ok(())
        })
        .await
        .unwrap();
    assert!(exported.exported && exported.cold);
    assert_eq!(kept.as_deref(), Some(uuid.as_str()));
    let stored = ctx
        .strings(&format!("SELECT seed_uuid FROM hub_address WHERE address = '{cold}'"))
        .await;
    assert_ne!(stored, vec![uuid.clone()], "the UUID left the database");
    assert!(SeedUuid::parse(&stored[0]).is_err());
    hub.verify_derivation()
        .await
        .expect("start-up check ignores exported addresses");
    assert!(matches!(
        hub.export_cold_seed(&cold, |_| Ok(())).await,
        Err(HubError::InvalidAddress(_))
    ));
    assert!(matches!(
        hub.set_cold(&cold, false).await,
        Err(HubError::InvalidAddress(_))
    ));
    assert_eq!(
        sweeper::run_tick(hub, &SweepConfig::default()).await.unwrap().swept,
        None
    );

    // Bring it back: only the UUID that derives the address is accepted.
    assert!(matches!(
        hub.restore_cold_seed(&cold, SeedUuid::generate().as_str()).await,
        Err(HubError::InvalidUuid(_))
    ));
    assert!(matches!(
        hub.restore_cold_seed(&cold, "short").await,
        Err(HubError::InvalidUuid(_))
    ));
    let restored = hub.restore_cold_seed(&cold, &uuid).await.unwrap();
    assert!(restored.cold && !restored.exported);
    assert!(matches!(
        hub.restore_cold_seed(&cold, &uuid).await,
        Err(HubError::InvalidAddress(_))
    ));
    assert!(!hub.set_cold(&cold, false).await.unwrap().cold);
    assert!(hub.cold_addresses().await.unwrap().is_empty());

    // Warm again: the withdrawal is paid from it.
    assert!(sweeper::run_tick(hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .is_some());
    ctx.confirm_all().await;
    assert_eq!(
        ctx.client.get_balances(&[address(&payout)]).await.unwrap().balances,
        vec![300]
    );
    let events = ctx
        .strings("SELECT kind FROM events WHERE kind LIKE 'cold_storage%' ORDER BY id")
        .await;
    assert_eq!(
        events,
        vec![
            "cold_storage_marked",
            "cold_storage_seed_exported",
            "cold_storage_seed_restored",
            "cold_storage_unmarked"
        ]
    );
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(cold_storage_mark_export_restore, cold_storage_round_trip);
