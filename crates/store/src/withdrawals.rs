//! Withdrawals (`withdrawal`): requested (the amount reserved on the
//! account in the same transaction), cancelled (given back) or assigned to
//! the one sweep that pays them (given back to the queue if that sweep is
//! abandoned).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::{AccountReason, EventKind};
use crate::events::EventOf;
use crate::rows::{AccountEntry, NewWithdrawal, WithdrawalRow};
use crate::sql::Columns;
use crate::tx::{Result, Tx};

const WITHDRAWAL_COLUMNS: &str =
    "id, uuid, user_id, amount, payout_address, tag, sweep, requested_at, cancelled_at, idempotency_key";

fn withdrawal_row(r: &AnyRow) -> Result<WithdrawalRow> {
    let c = Columns::new("withdrawal", r);
    Ok(WithdrawalRow {
        id: c.int("id")?,
        uuid: c.text("uuid")?,
        user_id: c.int("user_id")?,
        amount: c.amount("amount")?,
        payout_address: c.address("payout_address")?,
        tag: c.tag("tag")?,
        sweep: c.opt_int("sweep")?,
        requested_at: c.int("requested_at")?,
        cancelled_at: c.opt_int("cancelled_at")?,
        idempotency_key: c.opt_text("idempotency_key")?,
    })
}

impl Tx {
    /// Records a pending withdrawal and reserves its amount on the user's
    /// account (a WITHDRAWAL ledger row of −amount) in this transaction.
    pub async fn insert_withdrawal(&mut self, w: &NewWithdrawal<'_>, now: i64) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO withdrawal (uuid, user_id, amount, payout_address, tag, requested_at, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(w.uuid)
        .bind(w.user_id)
        .bind(w.amount.as_i64())
        .bind(w.payout_address.as_str())
        .bind(w.tag.as_str())
        .bind(now)
        .bind(w.idempotency_key)
        .fetch_one(&mut *self.inner)
        .await?;
        let id: i64 = row.try_get("id")?;
        let of = EventOf {
            user_id: Some(w.user_id),
            address: Some(w.payout_address.as_str()),
            amount: w.amount.as_i64(),
            reference: Some(w.uuid),
            data: Some(serde_json::json!({ "tag": w.tag.as_str() })),
        };
        self.event(EventKind::WithdrawalRequested, of, now).await?;
        let entry = AccountEntry {
            user_id: w.user_id,
            amount: w.amount.debit(),
            reason: AccountReason::Withdrawal,
            sweep: None,
            withdrawal: Some(id),
        };
        self.add_account_entries(&[entry], now).await?;
        Ok(id)
    }

    /// A withdrawal by UUID (canonical form).
    pub async fn withdrawal(&mut self, uuid: &str) -> Result<Option<WithdrawalRow>> {
        let sql = format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal WHERE uuid = $1");
        let row = sqlx::query(&sql).bind(uuid).fetch_optional(&mut *self.inner).await?;
        row.as_ref().map(withdrawal_row).transpose()
    }

    /// A user's withdrawal by the client's idempotency key.
    pub async fn withdrawal_by_key(&mut self, user_id: i64, key: &str) -> Result<Option<WithdrawalRow>> {
        let sql = format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal WHERE user_id = $1 AND idempotency_key = $2");
        let row = sqlx::query(&sql)
            .bind(user_id)
            .bind(key)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref().map(withdrawal_row).transpose()
    }

    /// Cancels a pending (not swept, not cancelled) withdrawal and gives its
    /// amount back (a WITHDRAWAL_CANCEL row of +amount). `false` if it is
    /// unknown, swept or already cancelled.
    pub async fn cancel_withdrawal(&mut self, uuid: &str, now: i64) -> Result<bool> {
        let sql = format!(
            "UPDATE withdrawal SET cancelled_at = $1 WHERE uuid = $2 AND sweep IS NULL AND cancelled_at IS NULL RETURNING {WITHDRAWAL_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(uuid)
            .fetch_optional(&mut *self.inner)
            .await?;
        let Some(row) = row else { return Ok(false) };
        self.withdrawal_event(EventKind::WithdrawalCancelled, &row, None, now)
            .await?;
        let withdrawal = withdrawal_row(&row)?;
        let entry = AccountEntry {
            user_id: withdrawal.user_id,
            amount: withdrawal.amount.credit(),
            reason: AccountReason::WithdrawalCancel,
            sweep: None,
            withdrawal: Some(withdrawal.id),
        };
        self.add_account_entries(&[entry], now).await?;
        Ok(true)
    }

    /// Pending withdrawals requested at or before `now`, oldest first, locked.
    pub async fn pending_withdrawals(&mut self, now: i64, limit: i64) -> Result<Vec<WithdrawalRow>> {
        let sql = format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal WHERE sweep IS NULL AND cancelled_at IS NULL AND requested_at <= $1
             ORDER BY requested_at, id LIMIT $2{}",
            self.lock_clause()
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter().map(withdrawal_row).collect()
    }

    /// Gives an abandoned sweep's withdrawals back to the queue (pending
    /// again, cancellable again; the user's reservation stays); returns
    /// their UUIDs.
    pub async fn release_withdrawals(&mut self, sweep: i64, now: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "UPDATE withdrawal SET sweep = NULL WHERE sweep = $1 RETURNING uuid, user_id, amount, payout_address",
        )
        .bind(sweep)
        .fetch_all(&mut *self.inner)
        .await?;
        let mut uuids = Vec::with_capacity(rows.len());
        for row in &rows {
            uuids.push(
                self.withdrawal_event(EventKind::WithdrawalReleased, row, None, now)
                    .await?,
            );
        }
        uuids.sort();
        Ok(uuids)
    }

    /// Assigns withdrawals to a sweep; returns how many were still pending
    /// (a caller must abort unless all were).
    pub async fn assign_withdrawals(&mut self, ids: &[i64], sweep: i64, now: i64) -> Result<u64> {
        let row = sqlx::query("SELECT bundle_hash FROM sweep WHERE id = $1")
            .bind(sweep)
            .fetch_one(&mut *self.inner)
            .await?;
        let details = serde_json::json!({ "bundleHash": Columns::new("sweep", &row).text("bundle_hash")? });
        let mut assigned = 0;
        for id in ids {
            let row = sqlx::query(
                "UPDATE withdrawal SET sweep = $1 WHERE id = $2 AND sweep IS NULL AND cancelled_at IS NULL
                 RETURNING uuid, user_id, amount, payout_address",
            )
            .bind(sweep)
            .bind(*id)
            .fetch_optional(&mut *self.inner)
            .await?;
            if let Some(row) = row {
                self.withdrawal_event(EventKind::WithdrawalSwept, &row, Some(details.clone()), now)
                    .await?;
                assigned += 1;
            }
        }
        Ok(assigned)
    }

    /// Logs `kind` for the withdrawal `row` (uuid, user_id, amount,
    /// payout_address); returns its UUID.
    pub(crate) async fn withdrawal_event(
        &mut self,
        kind: EventKind,
        row: &AnyRow,
        data: Option<serde_json::Value>,
        now: i64,
    ) -> Result<String> {
        let c = Columns::new("withdrawal", row);
        let uuid = c.text("uuid")?;
        let address = c.address("payout_address")?;
        let of = EventOf {
            user_id: Some(c.int("user_id")?),
            address: Some(address.as_str()),
            amount: c.amount("amount")?.as_i64(),
            reference: Some(&uuid),
            data,
        };
        self.event(kind, of, now).await?;
        Ok(uuid)
    }
}
