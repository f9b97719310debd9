//! Sweeps (`sweep`) and their attachments (`sweep_tails`): the persisted
//! state machine planned → signed → confirmed (or planned → abandoned). A
//! state only moves forward, and only from the state before it
//! (`UPDATE … WHERE state = previous`).

use hub_protocol::{Amount, Hash, SeedUuid};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::{AddressReason, Code, EventKind, HubAddressReason, SweepState};
use crate::events::EventOf;
use crate::rows::{SweepEntry, SweepInput, SweepRow, SweptDeposit, TailRow};
use crate::sql::{sweep_unconfirmed, Columns};
use crate::tx::{Result, Tx};

const TABLE: &str = "sweep";
const SWEEP_COLUMNS: &str = "s.id, s.bundle_hash, s.trytes, s.state, s.created_at";

fn sweep_row(r: &AnyRow) -> Result<SweepRow> {
    let c = Columns::new(TABLE, r);
    Ok(SweepRow {
        id: c.int("id")?,
        bundle_hash: c.hash("bundle_hash")?,
        trytes: c.text("trytes")?,
        state: c.sweep_state("state")?,
        created_at: c.int("created_at")?,
    })
}

impl Tx {
    /// Records a planned sweep.
    pub async fn insert_sweep(
        &mut self,
        bundle_hash: &Hash,
        trytes: &str,
        into_hub_address: i64,
        now: i64,
    ) -> Result<i64> {
        let sql = format!(
            "INSERT INTO sweep (bundle_hash, trytes, into_hub_address, confirmed, state, created_at) VALUES ($1, $2, $3, 0, '{}', $4) RETURNING id",
            SweepState::Planned.as_str()
        );
        let row = sqlx::query(&sql)
            .bind(bundle_hash.as_str())
            .bind(trytes)
            .bind(into_hub_address)
            .bind(now)
            .fetch_one(&mut *self.inner)
            .await?;
        let id: i64 = row.try_get("id")?;
        self.sweep_event(EventKind::SweepPlanned, bundle_hash.as_str(), now)
            .await?;
        Ok(id)
    }

    async fn sweep_event(&mut self, kind: EventKind, bundle_hash: &str, now: i64) -> Result<()> {
        let of = EventOf {
            reference: Some(bundle_hash),
            ..EventOf::default()
        };
        self.event(kind, of, now).await
    }

    /// Sweeps in a state, oldest first.
    pub async fn sweeps_in_state(&mut self, state: SweepState) -> Result<Vec<SweepRow>> {
        let sql = format!("SELECT {SWEEP_COLUMNS} FROM sweep s WHERE s.state = $1 ORDER BY s.id");
        let rows = sqlx::query(&sql)
            .bind(state.as_str())
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter().map(sweep_row).collect()
    }

    /// Stores a planned sweep's signed trytes; `false` if it was not planned any more.
    pub async fn set_sweep_signed(&mut self, sweep: i64, trytes: &str, now: i64) -> Result<bool> {
        let sql = format!(
            "UPDATE sweep SET trytes = $1, state = '{}' WHERE id = $2 AND state = '{}' RETURNING bundle_hash",
            SweepState::Signed.as_str(),
            SweepState::Planned.as_str()
        );
        let updated = sqlx::query(&sql)
            .bind(trytes)
            .bind(sweep)
            .fetch_optional(&mut *self.inner)
            .await?;
        let Some(row) = updated else { return Ok(false) };
        let hash: String = row.try_get("bundle_hash")?;
        self.sweep_event(EventKind::SweepSigned, &hash, now).await?;
        Ok(true)
    }

    /// Abandons a planned sweep (the caller reverses its books in the same
    /// transaction); `false` if it was not planned any more.
    pub async fn set_sweep_abandoned(&mut self, sweep: i64, released: Amount, now: i64) -> Result<bool> {
        let sql = format!(
            "UPDATE sweep SET state = '{}' WHERE id = $1 AND state = '{}' RETURNING bundle_hash",
            SweepState::Abandoned.as_str(),
            SweepState::Planned.as_str()
        );
        let Some(row) = sqlx::query(&sql).bind(sweep).fetch_optional(&mut *self.inner).await? else {
            return Ok(false);
        };
        let hash: String = row.try_get("bundle_hash")?;
        let of = EventOf {
            amount: released.as_i64(),
            reference: Some(&hash),
            ..EventOf::default()
        };
        self.event(EventKind::SweepAbandoned, of, now).await?;
        Ok(true)
    }

    /// A sweep's rows in the Hub-address ledger: its inputs' OUTBOUND and
    /// its remainder's INBOUND, by id.
    pub async fn sweep_hub_entries(&mut self, sweep: i64) -> Result<Vec<SweepEntry>> {
        let rows =
            sqlx::query("SELECT hub_address, amount, reason FROM hub_address_balance WHERE sweep = $1 ORDER BY id")
                .bind(sweep)
                .fetch_all(&mut *self.inner)
                .await?;
        rows.iter()
            .map(|r| {
                let c = Columns::new("hub_address_balance", r);
                Ok(SweepEntry {
                    hub_address: c.int("hub_address")?,
                    amount: c.value("amount")?,
                    reason: c.code("reason")?,
                })
            })
            .collect()
    }

    /// The deposit addresses a sweep emptied (its SWEEP rows), by id.
    pub async fn sweep_deposits(&mut self, sweep: i64) -> Result<Vec<SweptDeposit>> {
        let sql = format!(
            "SELECT a.id, a.address, a.seed_uuid, a.user_id, b.amount,
                    CASE WHEN a.quarantined_at IS NULL THEN 0 ELSE 1 END AS quarantined
             FROM user_address_balance b JOIN user_address a ON a.id = b.user_address
             WHERE b.sweep = $1 AND b.reason = {} ORDER BY b.id",
            AddressReason::Sweep.code()
        );
        let rows = sqlx::query(&sql).bind(sweep).fetch_all(&mut *self.inner).await?;
        rows.iter()
            .map(|r| {
                let c = Columns::new("user_address_balance", r);
                Ok(SweptDeposit {
                    id: c.int("id")?,
                    address: c.address("address")?,
                    seed_uuid: c.seed_uuid("seed_uuid")?,
                    user_id: c.int("user_id")?,
                    amount: c.value("amount")?.magnitude(),
                    quarantined: c.flag("quarantined")?,
                })
            })
            .collect()
    }

    /// The key and address of every input of a sweep (a recovery's too).
    pub async fn sweep_inputs(&mut self, sweep: i64) -> Result<Vec<SweepInput>> {
        let sql = format!(
            "SELECT a.seed_uuid, a.address, {q_a} FROM user_address_balance b JOIN user_address a ON a.id = b.user_address WHERE b.sweep = $1 AND b.reason = {}
             UNION ALL
             SELECT h.seed_uuid, h.address, {q_h} FROM hub_address_balance b JOIN hub_address h ON h.id = b.hub_address WHERE b.sweep = $1 AND b.reason = {}
             UNION ALL
             SELECT a.seed_uuid, a.address, {q_a} FROM recovery_signature r JOIN user_address a ON a.seed_uuid = r.seed_uuid WHERE r.sweep = $1",
            AddressReason::Sweep.code(),
            HubAddressReason::Outbound.code(),
            q_a = "CASE WHEN a.quarantined_at IS NULL THEN 0 ELSE 1 END AS quarantined",
            q_h = "CASE WHEN h.quarantined_at IS NULL THEN 0 ELSE 1 END AS quarantined",
        );
        let rows = sqlx::query(&sql).bind(sweep).fetch_all(&mut *self.inner).await?;
        rows.iter()
            .map(|r| {
                let c = Columns::new("sweep inputs", r);
                Ok(SweepInput {
                    seed_uuid: c.seed_uuid("seed_uuid")?,
                    address: c.address("address")?,
                    quarantined: c.flag("quarantined")?,
                })
            })
            .collect()
    }

    /// Tails recorded for a sweep, newest first.
    pub async fn sweep_tails(&mut self, sweep: i64) -> Result<Vec<TailRow>> {
        let rows = sqlx::query(
            "SELECT hash, confirmed, created_at FROM sweep_tails WHERE sweep = $1 ORDER BY created_at DESC, hash",
        )
        .bind(sweep)
        .fetch_all(&mut *self.inner)
        .await?;
        rows.iter()
            .map(|r| {
                let c = Columns::new("sweep_tails", r);
                Ok(TailRow {
                    hash: c.hash("hash")?,
                    confirmed: c.flag("confirmed")?,
                    created_at: c.int("created_at")?,
                })
            })
            .collect()
    }

    /// Records an attachment of a sweep (idempotent): a new tail logs
    /// `sweep_broadcast` if it is the sweep's first, `sweep_reattached`
    /// otherwise.
    pub async fn add_sweep_tail(&mut self, sweep: i64, tail: &Hash, now: i64) -> Result<()> {
        let inserted = sqlx::query("INSERT INTO sweep_tails (hash, sweep, confirmed, created_at) VALUES ($1, $2, 0, $3) ON CONFLICT (hash) DO NOTHING")
            .bind(tail.as_str())
            .bind(sweep)
            .bind(now)
            .execute(&mut *self.inner)
            .await?
            .rows_affected();
        if inserted == 0 {
            return Ok(());
        }
        let row = sqlx::query(
            "SELECT s.bundle_hash, CAST(COUNT(t.hash) AS BIGINT) AS tails FROM sweep s JOIN sweep_tails t ON t.sweep = s.id
             WHERE s.id = $1 GROUP BY s.bundle_hash",
        )
        .bind(sweep)
        .fetch_one(&mut *self.inner)
        .await?;
        let c = Columns::new(TABLE, &row);
        let kind = if c.int("tails")? == 1 {
            EventKind::SweepBroadcast
        } else {
            EventKind::SweepReattached
        };
        let hash = c.text("bundle_hash")?;
        let of = EventOf {
            reference: Some(&hash),
            data: Some(serde_json::json!({ "tail": tail.as_str() })),
            ..EventOf::default()
        };
        self.event(kind, of, now).await
    }

    /// Records that the attachment `tail` of the sweep `bundle_hash` was
    /// promoted by the zero-value bundle whose tail is `promotion`.
    pub async fn record_promotion(
        &mut self,
        bundle_hash: &Hash,
        tail: &Hash,
        promotion: &Hash,
        now: i64,
    ) -> Result<()> {
        let of = EventOf {
            reference: Some(bundle_hash.as_str()),
            data: Some(serde_json::json!({ "tail": tail.as_str(), "promotion": promotion.as_str() })),
            ..EventOf::default()
        };
        self.event(EventKind::SweepPromoted, of, now).await
    }

    /// Marks a sweep confirmed through `tail` (recorded if new). The only
    /// writer of `sweep.confirmed`, the original's column, kept equal to
    /// `state = confirmed`.
    pub async fn confirm_sweep(&mut self, sweep: i64, tail: &Hash, now: i64) -> Result<()> {
        self.add_sweep_tail(sweep, tail, now).await?;
        sqlx::query("UPDATE sweep_tails SET confirmed = 1 WHERE hash = $1")
            .bind(tail.as_str())
            .execute(&mut *self.inner)
            .await?;
        let sql = format!(
            "UPDATE sweep SET confirmed = 1, state = '{}' WHERE id = $1 AND {} RETURNING bundle_hash",
            SweepState::Confirmed.as_str(),
            sweep_unconfirmed("sweep")
        );
        let row = sqlx::query(&sql).bind(sweep).fetch_optional(&mut *self.inner).await?;
        let Some(row) = row else { return Ok(()) };
        let hash: String = row.try_get("bundle_hash")?;
        let details = serde_json::json!({ "bundleHash": hash, "tail": tail.as_str() });
        let of = EventOf {
            reference: Some(&hash),
            data: Some(serde_json::json!({ "tail": tail.as_str() })),
            ..EventOf::default()
        };
        self.event(EventKind::SweepConfirmed, of, now).await?;
        let paid =
            sqlx::query("SELECT uuid, user_id, amount, payout_address FROM withdrawal WHERE sweep = $1 ORDER BY id")
                .bind(sweep)
                .fetch_all(&mut *self.inner)
                .await?;
        for row in &paid {
            self.withdrawal_event(EventKind::WithdrawalConfirmed, row, Some(details.clone()), now)
                .await?;
        }
        Ok(())
    }

    /// Up to `limit` sweeps created at or after `newer_than` with ids above
    /// `after_id`, by id (keyset pagination); not the abandoned ones,
    /// which moved nothing.
    pub async fn sweeps_since(&mut self, newer_than: i64, after_id: i64, limit: i64) -> Result<Vec<SweepRow>> {
        let sql = format!(
            "SELECT {SWEEP_COLUMNS} FROM sweep s WHERE s.created_at >= $1 AND s.id > $2 AND s.state <> '{}'
             ORDER BY s.id LIMIT $3",
            SweepState::Abandoned.as_str()
        );
        let rows = sqlx::query(&sql)
            .bind(newer_than)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter().map(sweep_row).collect()
    }

    /// A sweep by bundle hash.
    pub async fn sweep_by_hash(&mut self, bundle_hash: &Hash) -> Result<Option<SweepRow>> {
        let sql = format!("SELECT {SWEEP_COLUMNS} FROM sweep s WHERE s.bundle_hash = $1");
        let row = sqlx::query(&sql)
            .bind(bundle_hash.as_str())
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref().map(sweep_row).transpose()
    }

    /// The sweep that pays a withdrawal (by exact UUID), if swept.
    pub async fn sweep_of_withdrawal(&mut self, uuid: &str) -> Result<Option<SweepRow>> {
        let sql = format!("SELECT {SWEEP_COLUMNS} FROM sweep s JOIN withdrawal w ON w.sweep = s.id WHERE w.uuid = $1");
        let row = sqlx::query(&sql).bind(uuid).fetch_optional(&mut *self.inner).await?;
        row.as_ref().map(sweep_row).transpose()
    }

    /// UUIDs of the withdrawals a sweep pays, oldest request first.
    pub async fn sweep_withdrawal_uuids(&mut self, sweep: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT uuid FROM withdrawal WHERE sweep = $1 ORDER BY requested_at, id")
            .bind(sweep)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter()
            .map(|r| Columns::new("withdrawal", r).text("uuid"))
            .collect()
    }

    /// Bundle hashes of the sweeps and recoveries that spend a deposit
    /// address and are not confirmed yet.
    pub async fn unconfirmed_spends(&mut self, address_id: i64, seed_uuid: &SeedUuid) -> Result<Vec<Hash>> {
        let sql = format!(
            "SELECT s.bundle_hash FROM user_address_balance b JOIN sweep s ON s.id = b.sweep
             WHERE b.user_address = $1 AND b.reason = {} AND {unconfirmed}
             UNION ALL
             SELECT s.bundle_hash FROM recovery_signature r JOIN sweep s ON s.id = r.sweep
             WHERE r.seed_uuid = $2 AND {unconfirmed}",
            AddressReason::Sweep.code(),
            unconfirmed = sweep_unconfirmed("s")
        );
        let rows = sqlx::query(&sql)
            .bind(address_id)
            .bind(seed_uuid.as_str())
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter()
            .map(|r| Columns::new(TABLE, r).hash("bundle_hash"))
            .collect()
    }
}
