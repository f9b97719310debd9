//! Users and their accounts: the user-account ledger
//! (`user_account_balance`) and its cached balance (`user_account.balance`),
//! updated together, in one transaction, with an event per row.

use std::collections::BTreeMap;

use hub_protocol::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::{AccountReason, Code, EventKind};
use crate::events::EventOf;
use crate::rows::{AccountEntry, AccountEntryRow, UserRow};
use crate::sql::{after_position, corrupt, placeholders, Columns, CASE_UPDATE_ROWS_MAX, INSERT_ROWS_MAX, IN_LIST_MAX};
use crate::tx::{Result, Tx};

const USER_COLUMNS: &str = "id, identifier, balance";

fn user_row(r: &AnyRow) -> Result<UserRow> {
    let c = Columns::new("user_account", r);
    Ok(UserRow {
        id: c.int("id")?,
        identifier: c.text("identifier")?,
        balance: c.amount("balance")?,
    })
}

const ENTRY_SELECT: &str = "SELECT b.id, ua.identifier, b.amount, b.reason, s.bundle_hash, w.uuid, b.occured_at
     FROM user_account_balance b
     JOIN user_account ua ON ua.id = b.user_id
     LEFT JOIN sweep s ON s.id = b.sweep
     LEFT JOIN withdrawal w ON w.id = b.withdrawal";

fn account_entry_row(r: &AnyRow) -> Result<AccountEntryRow> {
    let c = Columns::new("user_account_balance", r);
    Ok(AccountEntryRow {
        identifier: c.text("identifier")?,
        amount: c.value("amount")?,
        reason: c.code("reason")?,
        sweep_bundle_hash: c.opt_hash("bundle_hash")?,
        withdrawal_uuid: c.opt_text("uuid")?,
        occured_at: c.int("occured_at")?,
    })
}

impl Tx {
    /// Creates a user; `None` if the identifier is taken.
    pub async fn insert_user(&mut self, identifier: &str, now: i64) -> Result<Option<i64>> {
        let row = sqlx::query("INSERT INTO user_account (identifier, balance, created_at) VALUES ($1, 0, $2) ON CONFLICT (identifier) DO NOTHING RETURNING id")
            .bind(identifier)
            .bind(now)
            .fetch_optional(&mut *self.inner)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let of = EventOf {
            user_id: Some(id),
            ..EventOf::default()
        };
        self.event(EventKind::UserCreated, of, now).await?;
        Ok(Some(id))
    }

    /// A user by identifier.
    pub async fn user(&mut self, identifier: &str) -> Result<Option<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM user_account WHERE identifier = $1{}",
            self.lock_clause()
        );
        let row = sqlx::query(&sql)
            .bind(identifier)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    /// The users with these identifiers, locked against concurrent changes
    /// until commit (in id order, so concurrent lockers cannot deadlock).
    pub async fn lock_users(&mut self, identifiers: &[String]) -> Result<Vec<UserRow>> {
        let mut users = Vec::with_capacity(identifiers.len());
        for chunk in identifiers.chunks(IN_LIST_MAX) {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM user_account WHERE identifier IN ({}) ORDER BY id{}",
                placeholders(1, chunk.len()),
                self.lock_clause()
            );
            let mut query = sqlx::query(&sql);
            for identifier in chunk {
                query = query.bind(identifier.as_str());
            }
            for row in query.fetch_all(&mut *self.inner).await? {
                users.push(user_row(&row)?);
            }
        }
        Ok(users)
    }

    /// Appends user-account ledger rows, updates the cached balances and logs
    /// a `balance_changed` event per row (with its reason and the balance it
    /// left). The balance CHECK constraint refuses a negative result.
    pub async fn add_account_entries(&mut self, entries: &[AccountEntry], now: i64) -> Result<()> {
        for chunk in entries.chunks(INSERT_ROWS_MAX) {
            let values = (0..chunk.len())
                .map(|i| format!("({})", placeholders(6 * i + 1, 6)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO user_account_balance (user_id, amount, reason, sweep, withdrawal, occured_at) VALUES {values}");
            let mut query = sqlx::query(&sql);
            for e in chunk {
                query = query
                    .bind(e.user_id)
                    .bind(e.amount.get())
                    .bind(e.reason.code())
                    .bind(e.sweep)
                    .bind(e.withdrawal)
                    .bind(now);
            }
            query.execute(&mut *self.inner).await?;
        }
        let mut balances = self.apply_balance_changes(entries).await?;
        // Each row's event carries the balance it left: walk the rows back
        // from the balances the batch ended with.
        let mut left = Vec::with_capacity(entries.len());
        for e in entries.iter().rev() {
            let balance = balances
                .get_mut(&e.user_id)
                .ok_or_else(|| corrupt("user_account", "balance", "a ledger row of an unknown user"))?;
            left.push(*balance);
            *balance = balance
                .checked_sub(e.amount.get())
                .ok_or_else(|| corrupt("user_account", "balance", "a change beyond the supply"))?;
        }
        for (e, balance) in entries.iter().zip(left.into_iter().rev()) {
            let of = EventOf {
                user_id: Some(e.user_id),
                amount: e.amount.get(),
                data: Some(serde_json::json!({ "reason": e.reason.code(), "balance": balance })),
                ..EventOf::default()
            };
            self.event(EventKind::BalanceChanged, of, now).await?;
        }
        Ok(())
    }

    /// Adds each user's net change to the cached balance, one statement per
    /// chunk (`balance + CASE id WHEN … THEN delta … END`); returns the
    /// balances the changes left, by user.
    async fn apply_balance_changes(&mut self, entries: &[AccountEntry]) -> Result<BTreeMap<i64, i64>> {
        let mut totals: BTreeMap<i64, Value> = BTreeMap::new();
        for e in entries {
            let total = totals.entry(e.user_id).or_default();
            *total = total
                .checked_add(e.amount)
                .ok_or_else(|| corrupt("user_account", "balance", "a change beyond the supply"))?;
        }
        let totals: Vec<(i64, Value)> = totals.into_iter().collect();
        let mut balances = BTreeMap::new();
        for chunk in totals.chunks(CASE_UPDATE_ROWS_MAX) {
            let cases: String = (0..chunk.len())
                .map(|i| format!(" WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
                .collect();
            let ids = placeholders(2 * chunk.len() + 1, chunk.len());
            let sql = format!(
                "UPDATE user_account SET balance = balance + CASE id{cases} END WHERE id IN ({ids}) RETURNING id, balance"
            );
            let mut query = sqlx::query(&sql);
            for (user_id, delta) in chunk {
                query = query.bind(*user_id).bind(delta.get());
            }
            for (user_id, _) in chunk {
                query = query.bind(*user_id);
            }
            for row in query.fetch_all(&mut *self.inner).await? {
                let c = Columns::new("user_account", &row);
                balances.insert(c.int("id")?, c.amount("balance")?.as_i64());
            }
        }
        Ok(balances)
    }

    /// The identifier of the user with internal id `id`.
    pub async fn user_identifier(&mut self, id: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT identifier FROM user_account WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.map(|r| Columns::new("user_account", &r).text("identifier"))
            .transpose()
    }

    /// Up to `limit` ledger rows of a user at or after `newer_than` with
    /// ids above `after_id`, by id, each with its id (keyset pagination:
    /// every query is bounded, however long the history).
    pub async fn account_history(
        &mut self,
        user_id: i64,
        newer_than: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, AccountEntryRow)>> {
        let sql =
            format!("{ENTRY_SELECT} WHERE b.user_id = $1 AND b.occured_at >= $2 AND b.id > $3 ORDER BY b.id LIMIT $4");
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(newer_than)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    Columns::new("user_account_balance", r).int("id")?,
                    account_entry_row(r)?,
                ))
            })
            .collect()
    }

    /// Up to `limit` account rows of the given reasons at or after
    /// `newer_than`, by time, past the position `after` (time, id), each
    /// with its position (keyset pagination).
    pub async fn account_events(
        &mut self,
        newer_than: i64,
        reasons: &[AccountReason],
        after: (i64, i64),
        limit: i64,
    ) -> Result<Vec<((i64, i64), AccountEntryRow)>> {
        if reasons.is_empty() {
            return Ok(Vec::new());
        }
        let codes: Vec<String> = reasons.iter().map(|r| r.code().to_string()).collect();
        let sql = format!(
            "{ENTRY_SELECT} WHERE b.occured_at >= $1 AND b.reason IN ({}) AND {} ORDER BY b.occured_at, b.id LIMIT $4",
            codes.join(", "),
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
                let row = account_entry_row(r)?;
                let id = Columns::new("user_account_balance", r).int("id")?;
                Ok(((row.occured_at, id), row))
            })
            .collect()
    }

    /// Claims an idempotency key for a transfer batch whose transfers hash
    /// to `request_hash`: `None` if this transaction claimed it (it is
    /// released if the transaction rolls back), else the hash of the batch
    /// that used it first. A concurrent claim of the same key waits for the
    /// first to commit or roll back.
    pub async fn claim_batch_key(
        &mut self,
        key: &str,
        request_hash: &str,
        transfers: usize,
        now: i64,
    ) -> Result<Option<String>> {
        let claimed = sqlx::query(
            "INSERT INTO transfer_batch (idempotency_key, request_hash, transfers, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(key)
        .bind(request_hash)
        .bind(i64::try_from(transfers).unwrap_or(i64::MAX))
        .bind(now)
        .execute(&mut *self.inner)
        .await?
        .rows_affected();
        if claimed == 1 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT request_hash FROM transfer_batch WHERE idempotency_key = $1")
            .bind(key)
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(Some(Columns::new("transfer_batch", &row).text("request_hash")?))
    }

    /// Σ of all users' balances.
    pub async fn total_balance(&mut self) -> Result<hub_protocol::Amount> {
        let row = sqlx::query("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM user_account")
            .fetch_one(&mut *self.inner)
            .await?;
        Columns::new("user_account", &row).amount("total")
    }
}
