//! Hub-owned addresses (`hub_address`) and their ledger
//! (`hub_address_balance`): sweep remainders in, sweep inputs out, and cold
//! storage (marked cold, seed UUID exported and restored).

use hub_protocol::{Address, SeedUuid, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::{Code, EventKind, HubAddressReason, SweepState};
use crate::deposit_addresses::funded_address;
use crate::events::EventOf;
use crate::rows::{FundedAddress, HubAddressRow, HubEntryRow};
use crate::sql::{hub_address_spent, sweep_unconfirmed, Columns};
use crate::tx::{Result, Tx};

const TABLE: &str = "hub_address";

const HUB_ADDRESS_COLUMNS: &str = "h.id, h.address, h.seed_uuid, h.is_cold_storage, h.balance,
    CASE WHEN h.seed_exported_at IS NULL THEN 0 ELSE 1 END AS exported";

fn hub_address_row(r: &AnyRow) -> Result<HubAddressRow> {
    let c = Columns::new(TABLE, r);
    Ok(HubAddressRow {
        id: c.int("id")?,
        address: c.address("address")?,
        seed_uuid: if c.flag("exported")? {
            None
        } else {
            Some(c.seed_uuid("seed_uuid")?)
        },
        cold: c.flag("is_cold_storage")?,
        balance: c.amount("balance")?,
    })
}

/// The changed row's address and balance, for its event.
fn changed(r: &AnyRow) -> Result<(String, i64)> {
    let c = Columns::new(TABLE, r);
    Ok((c.text("address")?, c.int("balance")?))
}

impl Tx {
    /// Records a new Hub address.
    pub async fn insert_hub_address(&mut self, address: &Address, seed_uuid: &SeedUuid, now: i64) -> Result<i64> {
        let row = sqlx::query("INSERT INTO hub_address (address, seed_uuid, is_cold_storage, balance, created_at) VALUES ($1, $2, 0, 0, $3) RETURNING id")
            .bind(address.as_str())
            .bind(seed_uuid.as_str())
            .bind(now)
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.try_get("id")?)
    }

    /// Appends a Hub-address ledger row and updates its balance.
    pub async fn add_hub_entry(
        &mut self,
        hub_address: i64,
        amount: Value,
        reason: HubAddressReason,
        sweep: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO hub_address_balance (hub_address, amount, reason, sweep, occured_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hub_address)
            .bind(amount.get())
            .bind(reason.code())
            .bind(sweep)
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        let row = sqlx::query("UPDATE hub_address SET balance = balance + $1 WHERE id = $2 RETURNING address, balance")
            .bind(amount.get())
            .bind(hub_address)
            .fetch_one(&mut *self.inner)
            .await?;
        let (address, _) = changed(&row)?;
        let kind = match reason {
            HubAddressReason::Inbound => EventKind::HubInbound,
            HubAddressReason::Outbound => EventKind::HubOutbound,
        };
        let of = EventOf {
            address: Some(&address),
            amount: amount.get(),
            ..EventOf::default()
        };
        self.event(kind, of, now).await
    }

    /// Takes a Hub address out of sweeping, for a person to look at;
    /// `false` if it is no Hub address or was quarantined already.
    pub async fn quarantine_hub_address(&mut self, address: &Address, reason: &str, now: i64) -> Result<bool> {
        let row = sqlx::query(
            "UPDATE hub_address SET quarantined_at = $1, quarantine_reason = $2 WHERE address = $3 AND quarantined_at IS NULL RETURNING address",
        )
        .bind(now)
        .bind(reason)
        .bind(address.as_str())
        .fetch_optional(&mut *self.inner)
        .await?;
        if row.is_none() {
            return Ok(false);
        }
        let of = EventOf {
            address: Some(address.as_str()),
            ..EventOf::default()
        };
        self.event(EventKind::HubAddressQuarantined, of, now).await?;
        Ok(true)
    }

    /// Hub addresses a sweep may spend, smallest first: not cold, not quarantined, funded,
    /// never spent, created before `now`, and every sweep into them confirmed
    /// (a deposit address an abandoned sweep gave to Hub had its funds confirmed already).
    pub async fn eligible_hub_inputs(&mut self, now: i64) -> Result<Vec<FundedAddress>> {
        let sql = format!(
            "SELECT h.id, h.address, h.seed_uuid, h.balance, CAST(NULL AS BIGINT) AS user_id FROM hub_address h
             WHERE h.is_cold_storage = 0 AND h.quarantined_at IS NULL AND h.balance > 0 AND h.created_at < $1 AND NOT {}
               AND NOT EXISTS (SELECT 1 FROM sweep s WHERE s.into_hub_address = h.id AND {})
             ORDER BY h.balance, h.id{}",
            hub_address_spent("h"),
            sweep_unconfirmed("s"),
            self.lock_clause()
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(&mut *self.inner).await?;
        rows.iter().map(|r| funded_address(TABLE, r)).collect()
    }

    /// Up to `limit` Hub-address ledger rows at or after `newer_than` with
    /// ids above `after_id`, by id, each with its id (keyset pagination).
    pub async fn hub_events(&mut self, newer_than: i64, after_id: i64, limit: i64) -> Result<Vec<(i64, HubEntryRow)>> {
        let rows = sqlx::query(
            "SELECT b.id, h.address, b.amount, b.reason, s.bundle_hash, b.occured_at
             FROM hub_address_balance b
             JOIN hub_address h ON h.id = b.hub_address
             JOIN sweep s ON s.id = b.sweep
             WHERE b.occured_at >= $1 AND b.id > $2
             ORDER BY b.id LIMIT $3",
        )
        .bind(newer_than)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self.inner)
        .await?;
        rows.iter()
            .map(|r| {
                let c = Columns::new("hub_address_balance", r);
                let row = HubEntryRow {
                    address: c.address("address")?,
                    amount: c.value("amount")?,
                    reason: c.code("reason")?,
                    sweep_bundle_hash: c.hash("bundle_hash")?,
                    occured_at: c.int("occured_at")?,
                };
                Ok((c.int("id")?, row))
            })
            .collect()
    }

    /// Whether `address` belongs to Hub (a deposit address or a Hub address).
    pub async fn is_hub_owned(&mut self, address: &Address) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM user_address WHERE address = $1 UNION ALL SELECT 1 FROM hub_address WHERE address = $1",
        )
        .bind(address.as_str())
        .fetch_optional(&mut *self.inner)
        .await?;
        Ok(row.is_some())
    }

    /// A Hub address, locked.
    pub async fn hub_address(&mut self, address: &Address) -> Result<Option<HubAddressRow>> {
        let sql = format!(
            "SELECT {HUB_ADDRESS_COLUMNS} FROM hub_address h WHERE h.address = $1{}",
            self.lock_clause()
        );
        let row = sqlx::query(&sql)
            .bind(address.as_str())
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref().map(hub_address_row).transpose()
    }

    /// Hub addresses marked cold, in id order.
    pub async fn cold_hub_addresses(&mut self) -> Result<Vec<HubAddressRow>> {
        let sql = format!("SELECT {HUB_ADDRESS_COLUMNS} FROM hub_address h WHERE h.is_cold_storage = 1 ORDER BY h.id");
        let rows = sqlx::query(&sql).fetch_all(&mut *self.inner).await?;
        rows.iter().map(hub_address_row).collect()
    }

    /// Whether a sweep that spends this Hub address still waits for its signature.
    pub async fn hub_address_awaits_signature(&mut self, hub_address: i64) -> Result<bool> {
        let sql = format!(
            "SELECT 1 FROM hub_address_balance b JOIN sweep s ON s.id = b.sweep
             WHERE b.hub_address = $1 AND b.reason = {} AND s.state = '{}'",
            HubAddressReason::Outbound.code(),
            SweepState::Planned.as_str()
        );
        let row = sqlx::query(&sql)
            .bind(hub_address)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.is_some())
    }

    /// Marks a Hub address cold (excluded from sweeps) or warm again.
    pub async fn set_cold_storage(&mut self, hub_address: i64, cold: bool, now: i64) -> Result<()> {
        let row = sqlx::query("UPDATE hub_address SET is_cold_storage = $1 WHERE id = $2 RETURNING address, balance")
            .bind(i32::from(cold))
            .bind(hub_address)
            .fetch_one(&mut *self.inner)
            .await?;
        let kind = if cold {
            EventKind::ColdStorageMarked
        } else {
            EventKind::ColdStorageUnmarked
        };
        self.hub_address_event(kind, &row, now).await
    }

    /// Removes a cold Hub address's seed UUID (the operator keeps it
    /// offline): it is replaced by a marker that is not a UUID.
    pub async fn export_hub_seed(&mut self, hub_address: i64, now: i64) -> Result<()> {
        let row = sqlx::query(
            "UPDATE hub_address SET seed_uuid = $1, seed_exported_at = $2 WHERE id = $3 RETURNING address, balance",
        )
        .bind(format!("exported-{hub_address}"))
        .bind(now)
        .bind(hub_address)
        .fetch_one(&mut *self.inner)
        .await?;
        self.hub_address_event(EventKind::ColdStorageSeedExported, &row, now)
            .await
    }

    /// Puts an exported seed UUID back (the caller checked it derives the address).
    pub async fn restore_hub_seed(&mut self, hub_address: i64, seed_uuid: &SeedUuid, now: i64) -> Result<()> {
        let row = sqlx::query(
            "UPDATE hub_address SET seed_uuid = $1, seed_exported_at = NULL WHERE id = $2 RETURNING address, balance",
        )
        .bind(seed_uuid.as_str())
        .bind(hub_address)
        .fetch_one(&mut *self.inner)
        .await?;
        self.hub_address_event(EventKind::ColdStorageSeedRestored, &row, now)
            .await
    }

    async fn hub_address_event(&mut self, kind: EventKind, changed_row: &AnyRow, now: i64) -> Result<()> {
        let (address, balance) = changed(changed_row)?;
        let of = EventOf {
            address: Some(&address),
            amount: balance,
            ..EventOf::default()
        };
        self.event(kind, of, now).await
    }
}
