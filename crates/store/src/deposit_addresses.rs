//! Deposit addresses (`user_address`) and their ledger
//! (`user_address_balance`): confirmed deposits credited once per bundle,
//! quarantine, and the SWEEP row that empties an address for good.

use hub_protocol::{Address, Amount, Hash};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::{AddressReason, Code, EventKind};
use crate::events::EventOf;
use crate::rows::{AddressEntryRow, Deposit, FundedAddress, MonitoredAddress, UserAddressRow};
use crate::sql::{after_position, deposit_address_swept, Columns};
use crate::tx::{Result, Tx};

const TABLE: &str = "user_address";

fn monitored_address(r: &AnyRow) -> Result<MonitoredAddress> {
    let c = Columns::new(TABLE, r);
    Ok(MonitoredAddress {
        id: c.int("id")?,
        address: c.address("address")?,
        seed_uuid: c.seed_uuid("seed_uuid")?,
        balance: c.amount("balance")?,
    })
}

/// An address a sweep may empty, from `table` (`user_address`, or
/// `hub_address` with a NULL `user_id`).
pub(crate) fn funded_address(table: &'static str, r: &AnyRow) -> Result<FundedAddress> {
    let c = Columns::new(table, r);
    Ok(FundedAddress {
        id: c.int("id")?,
        address: c.address("address")?,
        seed_uuid: c.seed_uuid("seed_uuid")?,
        balance: c.amount("balance")?,
        user_id: c.opt_int("user_id")?,
    })
}

fn address_entry_row(r: &AnyRow) -> Result<AddressEntryRow> {
    let c = Columns::new("user_address_balance", r);
    Ok(AddressEntryRow {
        identifier: c.text("identifier")?,
        address: c.address("address")?,
        amount: c.value("amount")?,
        reason: c.code("reason")?,
        tail_hash: c.opt_hash("tail_hash")?,
        sweep_bundle_hash: c.opt_hash("bundle_hash")?,
        message: c.opt_text("message")?,
        occured_at: c.int("occured_at")?,
    })
}

/// The changed row's owner and address, for its event.
fn owner(r: &AnyRow) -> Result<(i64, String)> {
    let c = Columns::new(TABLE, r);
    Ok((c.int("user_id")?, c.text("address")?))
}

impl Tx {
    /// Records a new deposit address.
    pub async fn insert_user_address(
        &mut self,
        user_id: i64,
        address: &Address,
        seed_uuid: &hub_protocol::SeedUuid,
        now: i64,
    ) -> Result<i64> {
        let row = sqlx::query("INSERT INTO user_address (address, user_id, seed_uuid, created_at, balance) VALUES ($1, $2, $3, $4, 0) RETURNING id")
            .bind(address.as_str())
            .bind(user_id)
            .bind(seed_uuid.as_str())
            .bind(now)
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.try_get("id")?)
    }

    /// A deposit address with its owner and state; in a write transaction
    /// the address row stays locked until it ends (PostgreSQL), so two
    /// callers deciding about one key take turns.
    pub async fn user_address(&mut self, address: &Address) -> Result<Option<UserAddressRow>> {
        let lock = if self.lock_clause().is_empty() {
            ""
        } else {
            " FOR UPDATE OF a"
        };
        let sql = format!(
            "SELECT a.id, a.address, a.user_id, u.identifier, a.seed_uuid, a.balance,
                    CASE WHEN {} THEN 1 ELSE 0 END AS swept,
                    CASE WHEN a.quarantined_at IS NULL THEN 0 ELSE 1 END AS quarantined
             FROM user_address a JOIN user_account u ON u.id = a.user_id
             WHERE a.address = $1{lock}",
            deposit_address_swept("a")
        );
        let row = sqlx::query(&sql)
            .bind(address.as_str())
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref()
            .map(|r| {
                let c = Columns::new(TABLE, r);
                Ok(UserAddressRow {
                    id: c.int("id")?,
                    address: c.address("address")?,
                    user_id: c.int("user_id")?,
                    identifier: c.text("identifier")?,
                    seed_uuid: c.seed_uuid("seed_uuid")?,
                    balance: c.amount("balance")?,
                    swept: c.flag("swept")?,
                    quarantined: c.flag("quarantined")?,
                })
            })
            .transpose()
    }

    /// Σ of the user's deposit-address balances: confirmed, not yet swept.
    pub async fn pending_deposits(&mut self, user_id: i64) -> Result<Amount> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM user_address WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(&mut *self.inner)
        .await?;
        Columns::new(TABLE, &row).amount("total")
    }

    /// Up to `limit` never-swept, non-quarantined deposit addresses with id
    /// greater than `after_id`, in id order (keyset pagination).
    pub async fn monitored_addresses(&mut self, after_id: i64, limit: i64) -> Result<Vec<MonitoredAddress>> {
        let sql = format!(
            "SELECT a.id, a.address, a.seed_uuid, a.balance FROM user_address a
             WHERE a.id > $1 AND a.quarantined_at IS NULL AND NOT {}
             ORDER BY a.id LIMIT $2",
            deposit_address_swept("a")
        );
        let rows = sqlx::query(&sql)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter().map(monitored_address).collect()
    }

    /// Locks a deposit address row and returns its balance, or `None` if it
    /// is swept or quarantined (then it must not be credited).
    pub async fn lock_monitored_address(&mut self, address_id: i64) -> Result<Option<Amount>> {
        let sql = format!(
            "SELECT a.balance FROM user_address a
             WHERE a.id = $1 AND a.quarantined_at IS NULL AND NOT {}{}",
            deposit_address_swept("a"),
            self.lock_clause()
        );
        let row = sqlx::query(&sql)
            .bind(address_id)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref()
            .map(|r| Columns::new(TABLE, r).amount("balance"))
            .transpose()
    }

    /// Bundle hashes already credited to a deposit address.
    pub async fn credited_bundles(&mut self, address_id: i64) -> Result<Vec<hub_protocol::Hash>> {
        let sql = format!(
            "SELECT bundle_hash FROM user_address_balance WHERE user_address = $1 AND reason = {}",
            AddressReason::Deposit.code()
        );
        let rows = sqlx::query(&sql).bind(address_id).fetch_all(&mut *self.inner).await?;
        rows.iter()
            .map(|r| Columns::new("user_address_balance", r).hash("bundle_hash"))
            .collect()
    }

    /// Credits a confirmed deposit to its address's ledger (not the user's
    /// account: that happens at sweep time). Returns `false` if this bundle
    /// was already credited to this address.
    pub async fn record_deposit(&mut self, deposit: &Deposit, now: i64) -> Result<bool> {
        let deposit_code = AddressReason::Deposit.code();
        let sql = format!(
            "INSERT INTO user_address_balance (user_address, amount, reason, tail_hash, bundle_hash, message, occured_at)
             VALUES ($1, $2, {deposit_code}, $3, $4, $5, $6)
             ON CONFLICT (user_address, bundle_hash) WHERE reason = {deposit_code} DO NOTHING"
        );
        let inserted = sqlx::query(&sql)
            .bind(deposit.address_id)
            .bind(deposit.amount.as_i64())
            .bind(deposit.tail_hash.as_str())
            .bind(deposit.bundle_hash.as_str())
            .bind(deposit.message.as_deref())
            .bind(now)
            .execute(&mut *self.inner)
            .await?
            .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        let row =
            sqlx::query("UPDATE user_address SET balance = balance + $1 WHERE id = $2 RETURNING user_id, address")
                .bind(deposit.amount.as_i64())
                .bind(deposit.address_id)
                .fetch_one(&mut *self.inner)
                .await?;
        let (user_id, address) = owner(&row)?;
        let of = EventOf {
            user_id: Some(user_id),
            address: Some(&address),
            amount: deposit.amount.as_i64(),
            reference: Some(deposit.tail_hash.as_str()),
            ..EventOf::default()
        };
        self.event(EventKind::DepositConfirmed, of, now).await?;
        Ok(true)
    }

    /// Takes a deposit address out of monitoring and sweeping, for a person to look at.
    pub async fn quarantine_address(&mut self, address_id: i64, reason: &str, now: i64) -> Result<()> {
        let row = sqlx::query(
            "UPDATE user_address SET quarantined_at = $1, quarantine_reason = $2 WHERE id = $3 AND quarantined_at IS NULL RETURNING user_id, address",
        )
        .bind(now)
        .bind(reason)
        .bind(address_id)
        .fetch_optional(&mut *self.inner)
        .await?;
        if let Some(row) = row {
            let (user_id, address) = owner(&row)?;
            let of = EventOf {
                user_id: Some(user_id),
                address: Some(&address),
                ..EventOf::default()
            };
            self.event(EventKind::AddressQuarantined, of, now).await?;
        }
        Ok(())
    }

    /// Up to `limit` deposit-address ledger rows at or after
    /// `newer_than`, by time, past the position `after` (time, id), each
    /// with its position (keyset pagination).
    pub async fn address_events(
        &mut self,
        newer_than: i64,
        after: (i64, i64),
        limit: i64,
    ) -> Result<Vec<((i64, i64), AddressEntryRow)>> {
        let sql = format!(
            "SELECT b.id, u.identifier, a.address, b.amount, b.reason, b.tail_hash, s.bundle_hash, b.message, b.occured_at
             FROM user_address_balance b
             JOIN user_address a ON a.id = b.user_address
             JOIN user_account u ON u.id = a.user_id
             LEFT JOIN sweep s ON s.id = b.sweep
             WHERE b.occured_at >= $1 AND {}
             ORDER BY b.occured_at, b.id LIMIT $4",
            after_position("b", 2, 3)
        );
        let rows = sqlx::query(&sql)
            .bind(newer_than)
            .bind(after.0)
            .bind(after.1)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter()
            .map(|r| {
                let row = address_entry_row(r)?;
                let id = Columns::new("user_address_balance", r).int("id")?;
                Ok(((row.occured_at, id), row))
            })
            .collect()
    }

    /// Funded, unswept, non-quarantined deposit addresses, oldest first
    /// deposit first, locked.
    pub async fn funded_deposit_addresses(&mut self, limit: i64) -> Result<Vec<FundedAddress>> {
        let sql = format!(
            "SELECT a.id, a.address, a.seed_uuid, a.balance, a.user_id FROM user_address a
             WHERE a.balance > 0 AND a.quarantined_at IS NULL AND NOT {}
             ORDER BY (SELECT MIN(d.occured_at) FROM user_address_balance d WHERE d.user_address = a.id AND d.reason = {}), a.id
             LIMIT $1{}",
            deposit_address_swept("a"),
            AddressReason::Deposit.code(),
            self.lock_clause()
        );
        let rows = sqlx::query(&sql).bind(limit).fetch_all(&mut *self.inner).await?;
        rows.iter().map(|r| funded_address(TABLE, r)).collect()
    }

    /// Empties a deposit address into a sweep (a SWEEP row of −balance),
    /// logging the deposit credited (the caller credits the owner).
    pub async fn sweep_deposit_address(
        &mut self,
        address_id: i64,
        amount: Amount,
        sweep: (i64, &Hash),
        now: i64,
    ) -> Result<()> {
        let (sweep, bundle_hash) = sweep;
        let sql = format!(
            "INSERT INTO user_address_balance (user_address, amount, reason, sweep, occured_at) VALUES ($1, $2, {}, $3, $4)",
            AddressReason::Sweep.code()
        );
        sqlx::query(&sql)
            .bind(address_id)
            .bind(amount.debit().get())
            .bind(sweep)
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        let row =
            sqlx::query("UPDATE user_address SET balance = balance - $1 WHERE id = $2 RETURNING user_id, address")
                .bind(amount.as_i64())
                .bind(address_id)
                .fetch_one(&mut *self.inner)
                .await?;
        let (user_id, address) = owner(&row)?;
        let of = EventOf {
            user_id: Some(user_id),
            address: Some(&address),
            amount: amount.as_i64(),
            reference: Some(bundle_hash.as_str()),
            ..EventOf::default()
        };
        self.event(EventKind::DepositCredited, of, now).await
    }
}
