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
        for table in ["user_address", "hub_address", "address_pool"] {
            let sql = format!("SELECT seed_uuid, address FROM {table} ORDER BY id LIMIT 1");
            if let Some(row) = sqlx::query(&sql).fetch_optional(&mut *self.inner).await? {
                return Ok(Some((row.get(0), row.get(1))));
            }
        }
        Ok(None)
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
