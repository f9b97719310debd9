//! Operations inside one database transaction.
//!
//! Nothing is visible to others until [`Tx::commit`]; dropping a `Tx`
//! without committing rolls everything back, so an error anywhere leaves no
//! partial write.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::rows::*;
use crate::{Backend, StoreError};

/// A transaction on Hub's database.
pub struct Tx {
    inner: Transaction<'static, Any>,
    backend: Backend,
    locking: bool,
}

/// `$1, $2, …, $n` starting at `first`.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type Result<T> = std::result::Result<T, StoreError>;

impl Tx {
    pub(crate) fn new(inner: Transaction<'static, Any>, backend: Backend, locking: bool) -> Self {
        Self {
            inner,
            backend,
            locking,
        }
    }

    /// Makes every change of this transaction durable and visible.
    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
    }

    /// `FOR UPDATE` where the engine has it (SQLite holds the write lock already).
    fn lock_clause(&self) -> &'static str {
        match (self.backend, self.locking) {
            (Backend::Postgres, true) => " FOR UPDATE",
            _ => "",
        }
    }

    async fn event(
        &mut self,
        kind: &str,
        user_id: Option<i64>,
        address: Option<&str>,
        amount: i64,
        reference: Option<&str>,
        now: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO events (kind, user_id, address, amount, reference, occurred_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(kind)
            .bind(user_id)
            .bind(address)
            .bind(amount)
            .bind(reference)
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    // ----- users -------------------------------------------------------

    /// Creates a user; `None` if the identifier is taken.
    pub async fn insert_user(&mut self, identifier: &str, now: i64) -> Result<Option<i64>> {
        let row = sqlx::query("INSERT INTO user_account (identifier, balance, created_at) VALUES ($1, 0, $2) ON CONFLICT (identifier) DO NOTHING RETURNING id")
            .bind(identifier)
            .bind(now)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.map(|r| r.get::<i64, _>(0)))
    }

    /// A user by identifier.
    pub async fn user(&mut self, identifier: &str) -> Result<Option<UserRow>> {
        let sql = format!(
            "SELECT id, identifier, balance FROM user_account WHERE identifier = $1{}",
            self.lock_clause()
        );
        let row = sqlx::query(&sql)
            .bind(identifier)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.map(|r| user_row(&r)))
    }

    /// The users with these identifiers, locked against concurrent changes
    /// until commit (in id order, so concurrent lockers cannot deadlock).
    pub async fn lock_users(&mut self, identifiers: &[String]) -> Result<Vec<UserRow>> {
        let mut users = Vec::with_capacity(identifiers.len());
        for chunk in identifiers.chunks(1000) {
            let sql = format!(
                "SELECT id, identifier, balance FROM user_account WHERE identifier IN ({}) ORDER BY id{}",
                placeholders(1, chunk.len()),
                self.lock_clause()
            );
            let mut query = sqlx::query(&sql);
            for identifier in chunk {
                query = query.bind(identifier.as_str());
            }
            users.extend(query.fetch_all(&mut *self.inner).await?.iter().map(user_row));
        }
        Ok(users)
    }

    /// Appends user-account ledger rows, updates the cached balances and logs
    /// events. The balance CHECK constraint refuses a negative result.
    pub async fn add_account_entries(&mut self, entries: &[AccountEntry], now: i64) -> Result<()> {
        for chunk in entries.chunks(500) {
            let values = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${})",
                        6 * i + 1,
                        6 * i + 2,
                        6 * i + 3,
                        6 * i + 4,
                        6 * i + 5,
                        6 * i + 6
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO user_account_balance (user_id, amount, reason, sweep, withdrawal, occured_at) VALUES {values}");
            let mut query = sqlx::query(&sql);
            for e in chunk {
                query = query
                    .bind(e.user_id)
                    .bind(e.amount)
                    .bind(e.reason)
                    .bind(e.sweep)
                    .bind(e.withdrawal)
                    .bind(now);
            }
            query.execute(&mut *self.inner).await?;
        }
        let mut totals: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
        for e in entries {
            let total = totals.entry(e.user_id).or_default();
            *total = total
                .checked_add(e.amount)
                .ok_or_else(|| StoreError::Corrupt("balance overflow".into()))?;
        }
        let totals: Vec<(i64, i64)> = totals.into_iter().filter(|(_, delta)| *delta != 0).collect();
        for chunk in totals.chunks(400) {
            // One statement per chunk: balance + CASE id WHEN … THEN delta … END.
            let cases: String = (0..chunk.len())
                .map(|i| format!(" WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
                .collect();
            let ids = placeholders(2 * chunk.len() + 1, chunk.len());
            let sql = format!("UPDATE user_account SET balance = balance + CASE id{cases} END WHERE id IN ({ids})");
            let mut query = sqlx::query(&sql);
            for (user_id, delta) in chunk {
                query = query.bind(*user_id).bind(*delta);
            }
            for (user_id, _) in chunk {
                query = query.bind(*user_id);
            }
            query.execute(&mut *self.inner).await?;
        }
        for chunk in entries.chunks(500) {
            let values = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO events (kind, user_id, amount, occurred_at) VALUES {values}");
            let mut query = sqlx::query(&sql);
            for e in chunk {
                let kind = match e.reason {
                    account_reason::SWEEP => "deposit_credited",
                    account_reason::BUY => "buy",
                    account_reason::WITHDRAWAL_CANCEL => "withdrawal_cancelled",
                    account_reason::WITHDRAWAL => "withdrawal",
                    _ => "sell",
                };
                query = query.bind(kind).bind(e.user_id).bind(e.amount).bind(now);
            }
            query.execute(&mut *self.inner).await?;
        }
        Ok(())
    }

    /// Ledger rows of a user at or after `newer_than`, oldest first.
    pub async fn account_history(&mut self, user_id: i64, newer_than: i64) -> Result<Vec<AccountEntryRow>> {
        let rows = sqlx::query(
            "SELECT ua.identifier, b.amount, b.reason, s.bundle_hash, w.uuid, b.occured_at
             FROM user_account_balance b
             JOIN user_account ua ON ua.id = b.user_id
             LEFT JOIN sweep s ON s.id = b.sweep
             LEFT JOIN withdrawal w ON w.id = b.withdrawal
             WHERE b.user_id = $1 AND b.occured_at >= $2
             ORDER BY b.id",
        )
        .bind(user_id)
        .bind(newer_than)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows.iter().map(account_entry_row).collect())
    }

    /// Account rows of the given reasons at or after `newer_than`, by time.
    pub async fn account_events(&mut self, newer_than: i64, reasons: &[i32]) -> Result<Vec<AccountEntryRow>> {
        let sql = format!(
            "SELECT ua.identifier, b.amount, b.reason, s.bundle_hash, w.uuid, b.occured_at
             FROM user_account_balance b
             JOIN user_account ua ON ua.id = b.user_id
             LEFT JOIN sweep s ON s.id = b.sweep
             LEFT JOIN withdrawal w ON w.id = b.withdrawal
             WHERE b.occured_at >= $1 AND b.reason IN ({})
             ORDER BY b.occured_at, b.id",
            placeholders(2, reasons.len())
        );
        let mut query = sqlx::query(&sql).bind(newer_than);
        for r in reasons {
            query = query.bind(*r);
        }
        Ok(query
            .fetch_all(&mut *self.inner)
            .await?
            .iter()
            .map(account_entry_row)
            .collect())
    }

    /// Σ of all users' balances.
    pub async fn total_balance(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM user_account")
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.get::<i64, _>(0))
    }

    // ----- deposit addresses --------------------------------------------

    /// Records a new deposit address.
    pub async fn insert_user_address(&mut self, user_id: i64, address: &str, seed_uuid: &str, now: i64) -> Result<i64> {
        let row = sqlx::query("INSERT INTO user_address (address, user_id, seed_uuid, created_at, balance) VALUES ($1, $2, $3, $4, 0) RETURNING id")
            .bind(address)
            .bind(user_id)
            .bind(seed_uuid)
            .bind(now)
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.get::<i64, _>(0))
    }

    /// A deposit address with its owner and state.
    pub async fn user_address(&mut self, address: &str) -> Result<Option<UserAddressRow>> {
        let row = sqlx::query(
            "SELECT a.id, a.address, a.user_id, u.identifier, a.seed_uuid, a.balance,
                    CASE WHEN EXISTS (SELECT 1 FROM user_address_balance b WHERE b.user_address = a.id AND b.reason = 1) THEN 1 ELSE 0 END,
                    CASE WHEN a.quarantined_at IS NULL THEN 0 ELSE 1 END
             FROM user_address a JOIN user_account u ON u.id = a.user_id
             WHERE a.address = $1",
        )
        .bind(address)
        .fetch_optional(&mut *self.inner)
        .await?;
        Ok(row.map(|r| UserAddressRow {
            id: r.get(0),
            address: r.get(1),
            user_id: r.get(2),
            identifier: r.get(3),
            seed_uuid: r.get(4),
            balance: r.get(5),
            swept: r.get::<i64, _>(6) != 0,
            quarantined: r.get::<i64, _>(7) != 0,
        }))
    }

    /// Σ of the user's deposit-address balances: confirmed, not yet swept.
    pub async fn pending_deposits(&mut self, user_id: i64) -> Result<i64> {
        let row = sqlx::query("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM user_address WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.get::<i64, _>(0))
    }

    /// Up to `limit` never-swept, non-quarantined deposit addresses with id
    /// greater than `after_id`, in id order (keyset pagination).
    pub async fn monitored_addresses(&mut self, after_id: i64, limit: i64) -> Result<Vec<MonitoredAddress>> {
        let rows = sqlx::query(
            "SELECT a.id, a.address, a.balance FROM user_address a
             WHERE a.id > $1 AND a.quarantined_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM user_address_balance b WHERE b.user_address = a.id AND b.reason = 1)
             ORDER BY a.id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows
            .iter()
            .map(|r| MonitoredAddress {
                id: r.get(0),
                address: r.get(1),
                balance: r.get(2),
            })
            .collect())
    }

    /// Locks a deposit address row and returns its balance, or `None` if it
    /// is swept or quarantined (then it must not be credited).
    pub async fn lock_monitored_address(&mut self, address_id: i64) -> Result<Option<i64>> {
        let sql = format!(
            "SELECT a.balance FROM user_address a
             WHERE a.id = $1 AND a.quarantined_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM user_address_balance b WHERE b.user_address = a.id AND b.reason = 1){}",
            self.lock_clause()
        );
        let row = sqlx::query(&sql)
            .bind(address_id)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.map(|r| r.get::<i64, _>(0)))
    }

    /// Bundle hashes already credited to a deposit address.
    pub async fn credited_bundles(&mut self, address_id: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT bundle_hash FROM user_address_balance WHERE user_address = $1 AND reason = 0")
            .bind(address_id)
            .fetch_all(&mut *self.inner)
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    /// Credits a confirmed deposit to its address's ledger (not the user's
    /// account: that happens at sweep time). Returns `false` if this bundle
    /// was already credited to this address.
    pub async fn record_deposit(&mut self, deposit: &Deposit, now: i64) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO user_address_balance (user_address, amount, reason, tail_hash, bundle_hash, message, occured_at)
             VALUES ($1, $2, 0, $3, $4, $5, $6)
             ON CONFLICT (user_address, bundle_hash) WHERE reason = 0 DO NOTHING",
        )
        .bind(deposit.address_id)
        .bind(deposit.amount)
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
                .bind(deposit.amount)
                .bind(deposit.address_id)
                .fetch_one(&mut *self.inner)
                .await?;
        let (user_id, address): (i64, String) = (row.get(0), row.get(1));
        self.event(
            "deposit_confirmed",
            Some(user_id),
            Some(&address),
            deposit.amount,
            Some(&deposit.tail_hash),
            now,
        )
        .await?;
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
            let (user_id, address): (i64, String) = (row.get(0), row.get(1));
            self.event("address_quarantined", Some(user_id), Some(&address), 0, None, now)
                .await?;
        }
        Ok(())
    }

    /// Deposit-address ledger rows at or after `newer_than`, by time.
    pub async fn address_events(&mut self, newer_than: i64) -> Result<Vec<AddressEntryRow>> {
        let rows = sqlx::query(
            "SELECT u.identifier, a.address, b.amount, b.reason, b.tail_hash, s.bundle_hash, b.message, b.occured_at
             FROM user_address_balance b
             JOIN user_address a ON a.id = b.user_address
             JOIN user_account u ON u.id = a.user_id
             LEFT JOIN sweep s ON s.id = b.sweep
             WHERE b.occured_at >= $1
             ORDER BY b.occured_at, b.id",
        )
        .bind(newer_than)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AddressEntryRow {
                identifier: r.get(0),
                address: r.get(1),
                amount: r.get(2),
                reason: r.get::<i32, _>(3),
                tail_hash: r.get(4),
                sweep_bundle_hash: r.get(5),
                message: r.get(6),
                occured_at: r.get(7),
            })
            .collect())
    }

    /// Hub-address ledger rows at or after `newer_than`, by id.
    pub async fn hub_events(&mut self, newer_than: i64) -> Result<Vec<HubEntryRow>> {
        let rows = sqlx::query(
            "SELECT h.address, b.amount, b.reason, s.bundle_hash, b.occured_at
             FROM hub_address_balance b
             JOIN hub_address h ON h.id = b.hub_address
             JOIN sweep s ON s.id = b.sweep
             WHERE b.occured_at >= $1
             ORDER BY b.id",
        )
        .bind(newer_than)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows
            .iter()
            .map(|r| HubEntryRow {
                address: r.get(0),
                amount: r.get(1),
                reason: r.get::<i32, _>(2),
                sweep_bundle_hash: r.get(3),
                occured_at: r.get(4),
            })
            .collect())
    }

    /// Whether `address` is a Hub (remainder) address.
    pub async fn is_hub_address(&mut self, address: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM hub_address WHERE address = $1")
            .bind(address)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.is_some())
    }

    // ----- withdrawals ----------------------------------------------------

    /// Records a pending withdrawal and reserves its amount on the user's
    /// account (a WITHDRAWAL ledger row of −amount) in this transaction.
    pub async fn insert_withdrawal(&mut self, w: &NewWithdrawal<'_>, now: i64) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO withdrawal (uuid, user_id, amount, payout_address, tag, requested_at, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(w.uuid)
        .bind(w.user_id)
        .bind(w.amount)
        .bind(w.payout_address)
        .bind(w.tag)
        .bind(now)
        .bind(w.idempotency_key)
        .fetch_one(&mut *self.inner)
        .await?;
        let id: i64 = row.get(0);
        let entry = AccountEntry {
            user_id: w.user_id,
            amount: -w.amount,
            reason: account_reason::WITHDRAWAL,
            sweep: None,
            withdrawal: Some(id),
        };
        self.add_account_entries(&[entry], now).await?;
        Ok(id)
    }

    fn withdrawal_row(r: &AnyRow) -> WithdrawalRow {
        WithdrawalRow {
            id: r.get(0),
            uuid: r.get(1),
            user_id: r.get(2),
            amount: r.get(3),
            payout_address: r.get(4),
            tag: r.get::<Option<String>, _>(5).unwrap_or_default(),
            sweep: r.get(6),
            requested_at: r.get(7),
            cancelled_at: r.get(8),
            idempotency_key: r.get(9),
        }
    }

    const WITHDRAWAL_COLUMNS: &'static str =
        "id, uuid, user_id, amount, payout_address, tag, sweep, requested_at, cancelled_at, idempotency_key";

    /// A withdrawal by UUID (canonical form).
    pub async fn withdrawal(&mut self, uuid: &str) -> Result<Option<WithdrawalRow>> {
        let sql = format!("SELECT {} FROM withdrawal WHERE uuid = $1", Self::WITHDRAWAL_COLUMNS);
        let row = sqlx::query(&sql).bind(uuid).fetch_optional(&mut *self.inner).await?;
        Ok(row.as_ref().map(Self::withdrawal_row))
    }

    /// A user's withdrawal by the client's idempotency key.
    pub async fn withdrawal_by_key(&mut self, user_id: i64, key: &str) -> Result<Option<WithdrawalRow>> {
        let sql = format!(
            "SELECT {} FROM withdrawal WHERE user_id = $1 AND idempotency_key = $2",
            Self::WITHDRAWAL_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(key)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.as_ref().map(Self::withdrawal_row))
    }

    /// Cancels a pending (not swept, not cancelled) withdrawal and gives its
    /// amount back (a WITHDRAWAL_CANCEL row of +amount). `false` if it is
    /// unknown, swept or already cancelled.
    pub async fn cancel_withdrawal(&mut self, uuid: &str, now: i64) -> Result<bool> {
        let row = sqlx::query(
            "UPDATE withdrawal SET cancelled_at = $1 WHERE uuid = $2 AND sweep IS NULL AND cancelled_at IS NULL RETURNING id, user_id, amount",
        )
        .bind(now)
        .bind(uuid)
        .fetch_optional(&mut *self.inner)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let entry = AccountEntry {
            user_id: row.get(1),
            amount: row.get(2),
            reason: account_reason::WITHDRAWAL_CANCEL,
            sweep: None,
            withdrawal: Some(row.get(0)),
        };
        self.add_account_entries(&[entry], now).await?;
        Ok(true)
    }

    /// Whether `address` belongs to Hub (a deposit address or a Hub address).
    pub async fn is_hub_owned(&mut self, address: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM user_address WHERE address = $1 UNION ALL SELECT 1 FROM hub_address WHERE address = $1",
        )
        .bind(address)
        .fetch_optional(&mut *self.inner)
        .await?;
        Ok(row.is_some())
    }

    // ----- sweeps ---------------------------------------------------------

    /// Pending withdrawals requested at or before `now`, oldest first, locked.
    pub async fn pending_withdrawals(&mut self, now: i64, limit: i64) -> Result<Vec<WithdrawalRow>> {
        let sql = format!(
            "SELECT {} FROM withdrawal WHERE sweep IS NULL AND cancelled_at IS NULL AND requested_at <= $1
             ORDER BY requested_at, id LIMIT $2{}",
            Self::WITHDRAWAL_COLUMNS,
            self.lock_clause()
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        Ok(rows.iter().map(Self::withdrawal_row).collect())
    }

    /// Funded, unswept, non-quarantined deposit addresses, oldest first
    /// deposit first, locked.
    pub async fn funded_deposit_addresses(&mut self, limit: i64) -> Result<Vec<FundedAddress>> {
        let sql = format!(
            "SELECT a.id, a.address, a.seed_uuid, a.balance, a.user_id FROM user_address a
             WHERE a.balance > 0 AND a.quarantined_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM user_address_balance b WHERE b.user_address = a.id AND b.reason = 1)
             ORDER BY (SELECT MIN(d.occured_at) FROM user_address_balance d WHERE d.user_address = a.id AND d.reason = 0), a.id
             LIMIT $1{}",
            self.lock_clause()
        );
        let rows = sqlx::query(&sql).bind(limit).fetch_all(&mut *self.inner).await?;
        Ok(rows.iter().map(funded_address).collect())
    }

    /// Hub addresses a sweep may spend, smallest first: not cold, funded,
    /// never spent, created before `now`, and every sweep into them confirmed.
    pub async fn eligible_hub_inputs(&mut self, now: i64) -> Result<Vec<FundedAddress>> {
        let sql = format!(
            "SELECT h.id, h.address, h.seed_uuid, h.balance, 0 FROM hub_address h
             WHERE h.is_cold_storage = 0 AND h.balance > 0 AND h.created_at < $1
               AND NOT EXISTS (SELECT 1 FROM hub_address_balance b WHERE b.hub_address = h.id AND b.reason = 1)
               AND EXISTS (SELECT 1 FROM sweep s WHERE s.into_hub_address = h.id)
               AND NOT EXISTS (SELECT 1 FROM sweep s WHERE s.into_hub_address = h.id AND s.confirmed = 0)
             ORDER BY h.balance, h.id{}",
            self.lock_clause()
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(&mut *self.inner).await?;
        Ok(rows.iter().map(funded_address).collect())
    }

    /// Records a new Hub address.
    pub async fn insert_hub_address(&mut self, address: &str, seed_uuid: &str, now: i64) -> Result<i64> {
        let row = sqlx::query("INSERT INTO hub_address (address, seed_uuid, is_cold_storage, balance, created_at) VALUES ($1, $2, 0, 0, $3) RETURNING id")
            .bind(address)
            .bind(seed_uuid)
            .bind(now)
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.get::<i64, _>(0))
    }

    /// Records a planned sweep.
    pub async fn insert_sweep(
        &mut self,
        bundle_hash: &str,
        trytes: &str,
        into_hub_address: i64,
        now: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO sweep (bundle_hash, trytes, into_hub_address, confirmed, state, created_at) VALUES ($1, $2, $3, 0, 'planned', $4) RETURNING id",
        )
        .bind(bundle_hash)
        .bind(trytes)
        .bind(into_hub_address)
        .bind(now)
        .fetch_one(&mut *self.inner)
        .await?;
        let id: i64 = row.get(0);
        self.event("sweep_planned", None, None, 0, Some(bundle_hash), now)
            .await?;
        Ok(id)
    }

    /// Appends a Hub-address ledger row (0 inbound, 1 outbound) and updates its balance.
    pub async fn add_hub_entry(
        &mut self,
        hub_address: i64,
        amount: i64,
        reason: i32,
        sweep: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO hub_address_balance (hub_address, amount, reason, sweep, occured_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hub_address)
            .bind(amount)
            .bind(reason)
            .bind(sweep)
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        let row = sqlx::query("UPDATE hub_address SET balance = balance + $1 WHERE id = $2 RETURNING address")
            .bind(amount)
            .bind(hub_address)
            .fetch_one(&mut *self.inner)
            .await?;
        let address: String = row.get(0);
        let kind = if reason == 0 { "hub_inbound" } else { "hub_outbound" };
        self.event(kind, None, Some(&address), amount, None, now).await
    }

    /// Empties a deposit address into a sweep (a SWEEP row of −balance).
    pub async fn sweep_deposit_address(&mut self, address_id: i64, amount: i64, sweep: i64, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO user_address_balance (user_address, amount, reason, sweep, occured_at) VALUES ($1, $2, 1, $3, $4)")
            .bind(address_id)
            .bind(-amount)
            .bind(sweep)
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        let row =
            sqlx::query("UPDATE user_address SET balance = balance - $1 WHERE id = $2 RETURNING user_id, address")
                .bind(amount)
                .bind(address_id)
                .fetch_one(&mut *self.inner)
                .await?;
        let (user_id, address): (i64, String) = (row.get(0), row.get(1));
        self.event("deposit_swept", Some(user_id), Some(&address), -amount, None, now)
            .await
    }

    /// Assigns withdrawals to a sweep; returns how many were still pending
    /// (a caller must abort unless all were).
    pub async fn assign_withdrawals(&mut self, ids: &[i64], sweep: i64) -> Result<u64> {
        let mut assigned = 0;
        for id in ids {
            assigned += sqlx::query(
                "UPDATE withdrawal SET sweep = $1 WHERE id = $2 AND sweep IS NULL AND cancelled_at IS NULL",
            )
            .bind(sweep)
            .bind(*id)
            .execute(&mut *self.inner)
            .await?
            .rows_affected();
        }
        Ok(assigned)
    }

    /// Binds a seed UUID to the one bundle hash it may sign. Returns the
    /// hash it was already bound to, if another.
    pub async fn bind_uuid(&mut self, uuid: &str, bundle_hash: &str) -> Result<Option<String>> {
        let existing = sqlx::query("SELECT bundle_hash FROM signed_uuids WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&mut *self.inner)
            .await?;
        match existing {
            Some(row) => {
                let bound: Option<String> = row.get(0);
                match bound {
                    Some(b) if b == bundle_hash => Ok(None),
                    Some(b) => Ok(Some(b)),
                    // Signed by the original Hub for a bundle it did not record.
                    None => Ok(Some("an unrecorded bundle".into())),
                }
            }
            None => {
                sqlx::query("INSERT INTO signed_uuids (uuid, bundle_hash) VALUES ($1, $2)")
                    .bind(uuid)
                    .bind(bundle_hash)
                    .execute(&mut *self.inner)
                    .await?;
                Ok(None)
            }
        }
    }

    /// The bundle hash a seed UUID is bound to, if any.
    pub async fn uuid_binding(&mut self, uuid: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT bundle_hash FROM signed_uuids WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.and_then(|r| r.get::<Option<String>, _>(0)))
    }

    /// Sweeps in a state, oldest first.
    pub async fn sweeps_in_state(&mut self, state: &str) -> Result<Vec<SweepRow>> {
        let rows =
            sqlx::query("SELECT id, bundle_hash, trytes, state, created_at FROM sweep WHERE state = $1 ORDER BY id")
                .bind(state)
                .fetch_all(&mut *self.inner)
                .await?;
        Ok(rows.iter().map(sweep_row).collect())
    }

    /// Stores a planned sweep's signed trytes; `false` if it was not planned any more.
    pub async fn set_sweep_signed(&mut self, sweep: i64, trytes: &str, now: i64) -> Result<bool> {
        let updated = sqlx::query(
            "UPDATE sweep SET trytes = $1, state = 'signed' WHERE id = $2 AND state = 'planned' RETURNING bundle_hash",
        )
        .bind(trytes)
        .bind(sweep)
        .fetch_optional(&mut *self.inner)
        .await?;
        match updated {
            Some(row) => {
                let hash: String = row.get(0);
                self.event("sweep_signed", None, None, 0, Some(&hash), now).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// (seed UUID, address) of every input of a sweep (a recovery's too).
    pub async fn sweep_inputs(&mut self, sweep: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT a.seed_uuid, a.address FROM user_address_balance b JOIN user_address a ON a.id = b.user_address WHERE b.sweep = $1 AND b.reason = 1
             UNION ALL
             SELECT h.seed_uuid, h.address FROM hub_address_balance b JOIN hub_address h ON h.id = b.hub_address WHERE b.sweep = $1 AND b.reason = 1
             UNION ALL
             SELECT a.seed_uuid, a.address FROM recovery_signature r JOIN user_address a ON a.seed_uuid = r.seed_uuid WHERE r.sweep = $1",
        )
        .bind(sweep)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Tails recorded for a sweep, newest first.
    pub async fn sweep_tails(&mut self, sweep: i64) -> Result<Vec<TailRow>> {
        let rows = sqlx::query(
            "SELECT hash, confirmed, created_at FROM sweep_tails WHERE sweep = $1 ORDER BY created_at DESC, hash",
        )
        .bind(sweep)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows
            .iter()
            .map(|r| TailRow {
                hash: r.get(0),
                confirmed: r.get::<i64, _>(1) != 0,
                created_at: r.get(2),
            })
            .collect())
    }

    /// Records an attachment of a sweep (idempotent).
    pub async fn add_sweep_tail(&mut self, sweep: i64, hash: &str, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO sweep_tails (hash, sweep, confirmed, created_at) VALUES ($1, $2, 0, $3) ON CONFLICT (hash) DO NOTHING")
            .bind(hash)
            .bind(sweep)
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Marks a sweep confirmed through `tail` (recorded if new).
    pub async fn confirm_sweep(&mut self, sweep: i64, tail: &str, now: i64) -> Result<()> {
        self.add_sweep_tail(sweep, tail, now).await?;
        sqlx::query("UPDATE sweep_tails SET confirmed = 1 WHERE hash = $1")
            .bind(tail)
            .execute(&mut *self.inner)
            .await?;
        let row = sqlx::query(
            "UPDATE sweep SET confirmed = 1, state = 'confirmed' WHERE id = $1 AND confirmed = 0 RETURNING bundle_hash",
        )
        .bind(sweep)
        .fetch_optional(&mut *self.inner)
        .await?;
        if let Some(row) = row {
            let hash: String = row.get(0);
            self.event("sweep_confirmed", None, None, 0, Some(&hash), now).await?;
        }
        Ok(())
    }

    /// Sweeps created at or after `newer_than`, by id.
    pub async fn sweeps_since(&mut self, newer_than: i64) -> Result<Vec<SweepRow>> {
        let rows = sqlx::query(
            "SELECT id, bundle_hash, trytes, state, created_at FROM sweep WHERE created_at >= $1 ORDER BY id",
        )
        .bind(newer_than)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows.iter().map(sweep_row).collect())
    }

    /// A sweep by bundle hash.
    pub async fn sweep_by_hash(&mut self, bundle_hash: &str) -> Result<Option<SweepRow>> {
        let row = sqlx::query("SELECT id, bundle_hash, trytes, state, created_at FROM sweep WHERE bundle_hash = $1")
            .bind(bundle_hash)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.as_ref().map(sweep_row))
    }

    /// The sweep that pays a withdrawal (by exact UUID), if swept.
    pub async fn sweep_of_withdrawal(&mut self, uuid: &str) -> Result<Option<SweepRow>> {
        let row = sqlx::query(
            "SELECT s.id, s.bundle_hash, s.trytes, s.state, s.created_at FROM sweep s JOIN withdrawal w ON w.sweep = s.id WHERE w.uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(&mut *self.inner)
        .await?;
        Ok(row.as_ref().map(sweep_row))
    }

    /// UUIDs of the withdrawals a sweep pays, oldest request first.
    pub async fn sweep_withdrawal_uuids(&mut self, sweep: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT uuid FROM withdrawal WHERE sweep = $1 ORDER BY requested_at, id")
            .bind(sweep)
            .fetch_all(&mut *self.inner)
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    // ----- address pool and salt check -----------------------------------

    /// Adds a pre-derived deposit address to the pool.
    pub async fn add_pooled_address(&mut self, seed_uuid: &str, address: &str, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO address_pool (seed_uuid, address, created_at) VALUES ($1, $2, $3)")
            .bind(seed_uuid)
            .bind(address)
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Takes the oldest pooled address out of the pool: (seed UUID, address).
    pub async fn take_pooled_address(&mut self) -> Result<Option<(String, String)>> {
        let skip = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!("SELECT id, seed_uuid, address FROM address_pool ORDER BY id LIMIT 1{skip}");
        let Some(row) = sqlx::query(&sql).fetch_optional(&mut *self.inner).await? else {
            return Ok(None);
        };
        let id: i64 = row.get(0);
        sqlx::query("DELETE FROM address_pool WHERE id = $1")
            .bind(id)
            .execute(&mut *self.inner)
            .await?;
        Ok(Some((row.get(1), row.get(2))))
    }

    /// Addresses waiting in the pool.
    pub async fn pool_size(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM address_pool")
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.get::<i64, _>(0))
    }

    /// One stored (seed UUID, address) pair, to check at start-up that the
    /// salt and Argon2 parameters still derive it.
    pub async fn any_derived_address(&mut self) -> Result<Option<(String, String)>> {
        for (table, condition) in [
            ("user_address", ""),
            ("hub_address", "WHERE seed_exported_at IS NULL"),
            ("address_pool", ""),
        ] {
            let sql = format!("SELECT seed_uuid, address FROM {table} {condition} ORDER BY id LIMIT 1");
            if let Some(row) = sqlx::query(&sql).fetch_optional(&mut *self.inner).await? {
                return Ok(Some((row.get(0), row.get(1))));
            }
        }
        Ok(None)
    }

    // ----- cold storage and recovery ---------------------------------------

    const HUB_ADDRESS_COLUMNS: &'static str = "h.id, h.address, h.seed_uuid, h.is_cold_storage, h.balance,
        CASE WHEN h.seed_exported_at IS NULL THEN 0 ELSE 1 END";

    /// A Hub address, locked.
    pub async fn hub_address(&mut self, address: &str) -> Result<Option<HubAddressRow>> {
        let sql = format!(
            "SELECT {} FROM hub_address h WHERE h.address = $1{}",
            Self::HUB_ADDRESS_COLUMNS,
            self.lock_clause()
        );
        let row = sqlx::query(&sql).bind(address).fetch_optional(&mut *self.inner).await?;
        Ok(row.as_ref().map(hub_address_row))
    }

    /// Hub addresses marked cold, in id order.
    pub async fn cold_hub_addresses(&mut self) -> Result<Vec<HubAddressRow>> {
        let sql = format!(
            "SELECT {} FROM hub_address h WHERE h.is_cold_storage = 1 ORDER BY h.id",
            Self::HUB_ADDRESS_COLUMNS
        );
        let rows = sqlx::query(&sql).fetch_all(&mut *self.inner).await?;
        Ok(rows.iter().map(hub_address_row).collect())
    }

    /// Whether a sweep that spends this Hub address still waits for its signature.
    pub async fn hub_address_awaits_signature(&mut self, hub_address: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM hub_address_balance b JOIN sweep s ON s.id = b.sweep
             WHERE b.hub_address = $1 AND b.reason = 1 AND s.state = 'planned'",
        )
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
        let (address, balance): (String, i64) = (row.get(0), row.get(1));
        let kind = if cold {
            "cold_storage_marked"
        } else {
            "cold_storage_unmarked"
        };
        self.event(kind, None, Some(&address), balance, None, now).await
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
        let (address, balance): (String, i64) = (row.get(0), row.get(1));
        self.event("cold_storage_seed_exported", None, Some(&address), balance, None, now)
            .await
    }

    /// Puts an exported seed UUID back (the caller checked it derives the address).
    pub async fn restore_hub_seed(&mut self, hub_address: i64, seed_uuid: &str, now: i64) -> Result<()> {
        let row = sqlx::query(
            "UPDATE hub_address SET seed_uuid = $1, seed_exported_at = NULL WHERE id = $2 RETURNING address, balance",
        )
        .bind(seed_uuid)
        .bind(hub_address)
        .fetch_one(&mut *self.inner)
        .await?;
        let (address, balance): (String, i64) = (row.get(0), row.get(1));
        self.event("cold_storage_seed_restored", None, Some(&address), balance, None, now)
            .await
    }

    /// Whether a seed UUID is Hub's: a deposit address's, a Hub address's or a pooled one's.
    pub async fn knows_seed_uuid(&mut self, seed_uuid: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM user_address WHERE seed_uuid = $1
             UNION ALL SELECT 1 FROM hub_address WHERE seed_uuid = $1
             UNION ALL SELECT 1 FROM address_pool WHERE seed_uuid = $1",
        )
        .bind(seed_uuid)
        .fetch_optional(&mut *self.inner)
        .await?;
        Ok(row.is_some())
    }

    /// Allows one more signature of an already-spent key, for one recovery bundle.
    pub async fn add_recovery_signature(
        &mut self,
        seed_uuid: &str,
        bundle_hash: &str,
        sweep: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO recovery_signature (seed_uuid, bundle_hash, sweep, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(seed_uuid)
        .bind(bundle_hash)
        .bind(sweep)
        .bind(now)
        .execute(&mut *self.inner)
        .await?;
        self.event("recovery_planned", None, None, 0, Some(bundle_hash), now)
            .await
    }

    /// Bundle hashes of the sweeps and recoveries that spend a deposit
    /// address and are not confirmed yet.
    pub async fn unconfirmed_spends(&mut self, address_id: i64, seed_uuid: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT s.bundle_hash FROM user_address_balance b JOIN sweep s ON s.id = b.sweep
             WHERE b.user_address = $1 AND b.reason = 1 AND s.confirmed = 0
             UNION ALL
             SELECT s.bundle_hash FROM recovery_signature r JOIN sweep s ON s.id = r.sweep
             WHERE r.seed_uuid = $2 AND s.confirmed = 0",
        )
        .bind(address_id)
        .bind(seed_uuid)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Bundle hashes a seed UUID signed or may sign: its sweep binding and its recoveries.
    pub async fn signed_hashes(&mut self, seed_uuid: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT bundle_hash FROM signed_uuids WHERE uuid = $1 AND bundle_hash IS NOT NULL
             UNION ALL SELECT bundle_hash FROM recovery_signature WHERE seed_uuid = $1",
        )
        .bind(seed_uuid)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Whether a recovery allowed `seed_uuid` to sign `bundle_hash`.
    pub async fn recovery_allows(&mut self, seed_uuid: &str, bundle_hash: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM recovery_signature WHERE seed_uuid = $1 AND bundle_hash = $2")
            .bind(seed_uuid)
            .bind(bundle_hash)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.is_some())
    }

    /// Number of rows in the event log (for tests and reports).
    pub async fn event_count(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM events")
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.get::<i64, _>(0))
    }

    /// Events of `kind`, oldest first: (user id, address, amount, reference).
    pub async fn events_of_kind(
        &mut self,
        kind: &str,
    ) -> Result<Vec<(Option<i64>, Option<String>, i64, Option<String>)>> {
        let rows = sqlx::query("SELECT user_id, address, amount, reference FROM events WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(&mut *self.inner)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    }

    /// Checks invariant §3.4.1–2: every cached balance equals the sum of its
    /// ledger. Returns a description of each mismatch.
    pub async fn balance_mismatches(&mut self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        for (table, ledger, key) in [
            ("user_account", "user_account_balance", "user_id"),
            ("user_address", "user_address_balance", "user_address"),
            ("hub_address", "hub_address_balance", "hub_address"),
        ] {
            let sql = format!(
                "SELECT t.id, t.balance, CAST(COALESCE((SELECT SUM(l.amount) FROM {ledger} l WHERE l.{key} = t.id), 0) AS BIGINT)
                 FROM {table} t"
            );
            for row in sqlx::query(&sql).fetch_all(&mut *self.inner).await? {
                let (id, cached, summed): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
                if cached != summed {
                    problems.push(format!("{table} {id}: cached {cached}, ledger {summed}"));
                }
            }
        }
        Ok(problems)
    }
}

fn sweep_row(r: &AnyRow) -> SweepRow {
    SweepRow {
        id: r.get(0),
        bundle_hash: r.get(1),
        trytes: r.get(2),
        state: r.get(3),
        created_at: r.get(4),
    }
}

fn hub_address_row(r: &AnyRow) -> HubAddressRow {
    HubAddressRow {
        id: r.get(0),
        address: r.get(1),
        seed_uuid: (r.get::<i64, _>(5) == 0).then(|| r.get(2)),
        cold: r.get::<i64, _>(3) != 0,
        balance: r.get(4),
    }
}

fn funded_address(r: &AnyRow) -> FundedAddress {
    FundedAddress {
        id: r.get(0),
        address: r.get(1),
        seed_uuid: r.get(2),
        balance: r.get(3),
        user_id: r.get(4),
    }
}

fn user_row(r: &AnyRow) -> UserRow {
    UserRow {
        id: r.get(0),
        identifier: r.get(1),
        balance: r.get(2),
    }
}

fn account_entry_row(r: &AnyRow) -> AccountEntryRow {
    AccountEntryRow {
        identifier: r.get(0),
        amount: r.get(1),
        reason: r.get::<i32, _>(2),
        sweep_bundle_hash: r.get(3),
        withdrawal_uuid: r.get(4),
        occured_at: r.get(5),
    }
}
