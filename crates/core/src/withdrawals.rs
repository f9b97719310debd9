//! Withdrawals: requesting one reserves the amount at once; it can be
//! cancelled until a sweep picks it up (hub-behaviour.md §2.3.4–2.3.5, §8.1).
//!
//! Fixes over the original: a payout address of any length is checked
//! without crashing, payouts to Hub's own addresses are refused, the node is
//! asked whether the payout address was spent before the database write
//! lock is taken (and the balance is re-checked under it), and an optional
//! idempotency key makes a retried request return the first withdrawal.

use hub_protocol::{Address, Amount, Tag};
use hub_store::NewWithdrawal;
use uuid::Uuid;

use crate::commands::parse_payout_address;
use crate::model::WithdrawRequest;
use crate::{Hub, HubError};

/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 64;

/// Parses a withdrawal UUID the way the original did (32 hex digits, with
/// or without dashes, optionally in braces, any case) into its canonical
/// lowercase hyphenated form.
pub fn parse_withdrawal_uuid(text: &str) -> Option<String> {
    let trimmed = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
    let hex_only = trimmed.len() == 32 && trimmed.bytes().all(|b| b.is_ascii_hexdigit());
    let hyphenated = trimmed.len() == 36
        && trimmed.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    if !(hex_only || hyphenated) {
        return None;
    }
    Uuid::parse_str(trimmed).ok().map(|u| u.hyphenated().to_string())
}

impl Hub {
    /// `UserWithdraw`. Checks in the original's order: amount, payout
    /// address (checksum, format, last trit), tag, user, balance, spent
    /// payout address; then records the withdrawal and reserves the amount.
    pub async fn user_withdraw(&self, request: &WithdrawRequest) -> Result<String, HubError> {
        if request.amount == 0 {
            return Err(HubError::InvalidArgument {
                field: "amount",
                rule: "amount must be greater than zero".into(),
            });
        }
        let amount = Amount::new(request.amount).map_err(|_| HubError::InvalidArgument {
            field: "amount",
            rule: format!("amount must be at most the total supply ({})", hub_protocol::SUPPLY),
        })?;
        let payout = parse_payout_address("payoutAddress", &request.payout_address, request.validate_checksum)?;
        let tag = Tag::from_trytes_padded(&request.tag).map_err(|e| HubError::argument("tag", e))?;
        if let Some(key) = &request.idempotency_key {
            check_idempotency_key(key)?;
        }

        // Read-only checks first, so the node is asked without holding a write lock.
        let hub_owned = {
            let mut tx = self.store.read().await?;
            if let Prior::Retry(uuid) = prior(&mut tx, request, amount, &payout, &tag).await? {
                return Ok(uuid);
            }
            tx.is_hub_owned(&payout).await?
        };
        // A spent address is refused as spent even when it is Hub's (a swept
        // deposit address), as the original did: clients map that code to
        // "ask the user for a fresh address".
        self.ensure_unspent(payout).await?;
        if hub_owned {
            return Err(HubError::InvalidAddress("payoutAddress belongs to this Hub".into()));
        }

        let mut tx = self.store.begin().await?;
        let user = match prior(&mut tx, request, amount, &payout, &tag).await? {
            Prior::Retry(uuid) => return Ok(uuid),
            Prior::New(user) => user,
        };
        let uuid = Uuid::new_v4().hyphenated().to_string();
        let withdrawal = NewWithdrawal {
            uuid: &uuid,
            user_id: user.id,
            amount,
            payout_address: payout,
            tag,
            idempotency_key: request.idempotency_key.as_deref(),
        };
        let inserted = match tx.insert_withdrawal(&withdrawal, self.now_ms()).await {
            Ok(_) => tx.commit().await,
            Err(e) => Err(e),
        };
        match (inserted, &request.idempotency_key) {
            (Ok(()), _) => Ok(uuid),
            // A concurrent retry with the same key won the race: answer with its withdrawal.
            (Err(e), Some(key)) => {
                let mut tx = self.store.read().await?;
                match tx.withdrawal_by_key(user.id, key).await? {
                    Some(existing) => same_request(&existing, amount, &payout, &tag),
                    None => Err(e.into()),
                }
            }
            (Err(e), None) => Err(e.into()),
        }
    }

    /// `UserWithdrawCancel`: gives the amount back while no sweep has taken
    /// the withdrawal.
    pub async fn user_withdraw_cancel(&self, uuid: &str) -> Result<(), HubError> {
        let uuid = parse_withdrawal_uuid(uuid).ok_or_else(|| HubError::InvalidArgument {
            field: "uuid",
            rule: "uuid must be 32 hexadecimal digits, optionally with dashes and braces".into(),
        })?;
        let mut tx = self.store.begin().await?;
        if !tx.cancel_withdrawal(&uuid, self.now_ms()).await? {
            return Err(HubError::WithdrawalCanNotBeCancelled);
        }
        Ok(tx.commit().await?)
    }

    /// `WasWithdrawalCancelled`: malformed or unknown UUIDs are INVALID_UUID.
    pub async fn was_withdrawal_cancelled(&self, uuid: &str) -> Result<bool, HubError> {
        let canonical =
            parse_withdrawal_uuid(uuid).ok_or_else(|| HubError::InvalidUuid("malformed withdrawal UUID".into()))?;
        let mut tx = self.store.read().await?;
        let withdrawal = tx
            .withdrawal(&canonical)
            .await?
            .ok_or_else(|| HubError::InvalidUuid("unknown withdrawal".into()))?;
        Ok(withdrawal.cancelled_at.is_some())
    }
}

/// What the database says about a withdrawal request before it is made.
enum Prior {
    /// A retry of a request already made: its withdrawal's UUID.
    Retry(String),
    /// A new request by this user, whose balance covers it.
    New(hub_store::UserRow),
}

/// A client's idempotency key (a withdrawal's, a transfer batch's): 1 to
/// [`MAX_IDEMPOTENCY_KEY_CHARS`] printable characters.
pub fn check_idempotency_key(key: &str) -> Result<(), HubError> {
    if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(HubError::InvalidArgument {
            field: "idempotencyKey",
            rule: format!("idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable characters"),
        });
    }
    Ok(())
}

/// Checks the user, a reused idempotency key and the balance, in that order.
async fn prior(
    tx: &mut hub_store::Tx,
    request: &WithdrawRequest,
    amount: Amount,
    payout: &Address,
    tag: &Tag,
) -> Result<Prior, HubError> {
    let user = tx.user(&request.user_id).await?.ok_or(HubError::UserDoesNotExist)?;
    if let Some(key) = &request.idempotency_key {
        if let Some(existing) = tx.withdrawal_by_key(user.id, key).await? {
            return same_request(&existing, amount, payout, tag).map(Prior::Retry);
        }
    }
    if user.balance < amount {
        return Err(HubError::InsufficientBalance);
    }
    Ok(Prior::New(user))
}

/// A retry with an idempotency key already used: the same request gets the
/// same withdrawal; a different one is refused.
fn same_request(
    existing: &hub_store::WithdrawalRow,
    amount: Amount,
    payout: &Address,
    tag: &Tag,
) -> Result<String, HubError> {
    if existing.amount == amount && existing.payout_address == *payout && existing.tag == *tag {
        Ok(existing.uuid.clone())
    } else {
        Err(HubError::IdempotencyKeyReused("a different withdrawal".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_forms_like_the_original() {
        let canonical = "0f8fad5b-d9cb-469f-a165-70867728950e";
        for form in [
            canonical,
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "0f8fad5bd9cb469fa16570867728950e",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
        ] {
            assert_eq!(parse_withdrawal_uuid(form).as_deref(), Some(canonical), "{form}");
        }
        for bad in [
            "",
            "0f8fad5b",
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "{0f8fad5bd9cb469fa16570867728950e",
            "zf8fad5bd9cb469fa16570867728950e",
        ] {
            assert_eq!(parse_withdrawal_uuid(bad), None, "{bad}");
        }
    }
}
