//! What the REST API reads that the original commands do not give in one
//! call: a withdrawal's whole status, and pages (keyset, bounded) of a
//! user's history and of the sweeps. Each page is one read transaction
//! and at most its limit of rows; `next` is the cursor of the page after.

use hub_store::{SweepState, WithdrawalRow};

use crate::model::{AccountEvent, SweepEvent};
use crate::withdrawals::parse_withdrawal_uuid;
use crate::{Hub, HubError};

/// The most rows one page holds.
pub const PAGE_MAX: u32 = 1000;

/// Where a withdrawal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalStatus {
    /// Reserved, waiting for a sweep (cancellable).
    Requested,
    /// Cancelled and given back.
    Cancelled,
    /// In a sweep that has not confirmed yet.
    Swept,
    /// Its sweep confirmed: paid.
    Confirmed,
}

impl WithdrawalStatus {
    /// The REST name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Cancelled => "cancelled",
            Self::Swept => "swept",
            Self::Confirmed => "confirmed",
        }
    }
}

/// A withdrawal as the REST API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalView {
    /// Its UUID.
    pub uuid: String,
    /// The user who asked for it.
    pub user_id: String,
    /// How much.
    pub amount: u64,
    /// Where it is paid (81 trytes).
    pub payout_address: String,
    /// The tag of the payout transaction.
    pub tag: String,
    /// Where it is.
    pub status: WithdrawalStatus,
    /// When it was requested (ms).
    pub requested_ms: i64,
    /// When it was cancelled (ms), if it was.
    pub cancelled_ms: Option<i64>,
    /// The bundle hash of the sweep paying it, once swept.
    pub sweep_bundle_hash: Option<String>,
    /// The tail through which that sweep confirmed, once confirmed.
    pub confirmed_tail: Option<String>,
}

/// One page of rows with their ids, and the cursor of the next page
/// (`None` when this one was the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows, oldest first.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page.
    pub next: Option<i64>,
}

/// A page's `limit`: 1 to `max` rows (the rule of every paged read).
pub(crate) fn check_page_limit(limit: u32, max: u32) -> Result<i64, HubError> {
    if (1..=max).contains(&limit) {
        Ok(i64::from(limit))
    } else {
        Err(HubError::InvalidArgument {
            field: "limit",
            rule: format!("limit must be between 1 and {max}, got {limit}"),
        })
    }
}

fn page<T>(items: Vec<(i64, T)>, limit: i64) -> Page<T> {
    let full = i64::try_from(items.len()).unwrap_or(i64::MAX) >= limit;
    let next = items.last().filter(|_| full).map(|(id, _)| *id);
    Page {
        items: items.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}

impl Hub {
    /// A withdrawal by UUID; unknown or malformed UUIDs are INVALID_UUID.
    pub async fn withdrawal_view(&self, uuid: &str) -> Result<WithdrawalView, HubError> {
        let canonical =
            parse_withdrawal_uuid(uuid).ok_or_else(|| HubError::InvalidUuid("malformed withdrawal UUID".into()))?;
        let mut tx = self.store().read().await?;
        let row: WithdrawalRow = tx
            .withdrawal(&canonical)
            .await?
            .ok_or_else(|| HubError::InvalidUuid("unknown withdrawal".into()))?;
        let user_id = tx
            .user_identifier(row.user_id)
            .await?
            .ok_or_else(|| HubError::broken_invariant("a withdrawal of an unknown user"))?;
        let sweep = tx.sweep_of_withdrawal(&canonical).await?;
        let confirmed_tail = match &sweep {
            Some(sweep) if sweep.state == SweepState::Confirmed => tx
                .sweep_tails(sweep.id)
                .await?
                .into_iter()
                .find(|tail| tail.confirmed)
                .map(|tail| tail.hash.to_string()),
            _ => None,
        };
        let status = match (&sweep, row.cancelled_at, &confirmed_tail) {
            (_, Some(_), _) => WithdrawalStatus::Cancelled,
            (None, None, _) => WithdrawalStatus::Requested,
            (Some(_), None, None) => WithdrawalStatus::Swept,
            (Some(_), None, Some(_)) => WithdrawalStatus::Confirmed,
        };
        Ok(WithdrawalView {
            uuid: row.uuid,
            user_id,
            amount: row.amount.get(),
            payout_address: row.payout_address.to_string(),
            tag: row.tag.to_string(),
            status,
            requested_ms: row.requested_at,
            cancelled_ms: row.cancelled_at,
            sweep_bundle_hash: sweep.map(|sweep| sweep.bundle_hash.to_string()),
            confirmed_tail,
        })
    }

    /// Up to `limit` of a user's account-ledger rows after `cursor`, oldest first.
    pub async fn user_history_page(
        &self,
        user_id: &str,
        cursor: Option<i64>,
        limit: u32,
    ) -> Result<Page<AccountEvent>, HubError> {
        let limit = check_page_limit(limit, PAGE_MAX)?;
        let mut tx = self.store().read().await?;
        let user = tx.user(user_id).await?.ok_or(HubError::UserDoesNotExist)?;
        let rows = tx.account_history(user.id, 0, cursor.unwrap_or(0), limit).await?;
        Ok(page(
            rows.into_iter()
                .map(|(id, row)| (id, crate::commands::account_event(row)))
                .collect(),
            limit,
        ))
    }

    /// Up to `limit` sweeps after `cursor` (not abandoned ones), oldest first.
    pub async fn sweeps_page(&self, cursor: Option<i64>, limit: u32) -> Result<Page<SweepEvent>, HubError> {
        let limit = check_page_limit(limit, PAGE_MAX)?;
        let rows = self
            .store()
            .read()
            .await?
            .sweeps_since(0, cursor.unwrap_or(0), limit)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id;
            items.push((id, self.sweep_event(row).await?));
        }
        Ok(page(items, limit))
    }
}
