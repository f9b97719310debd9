//! API access: who may call Hub, and what they may do.
//!
//! An operator creates named credentials with scopes: a bearer token
//! (`hub_` and 64 lowercase hex digits of 32 bytes from the OS), shown once
//! and stored only as its hex SHA-256, or a mapping of a client
//! certificate's CN. The transport asks [`Access::by_token`] or
//! [`Access::by_client_cn`] on every call and gets the [`Principal`] whose
//! name the audit trail records (run the command inside
//! [`crate::acting`]). Validity is never cached, so a revocation or an
//! expiry counts from the very next call; only the `last_used_at` write is
//! spared, to once a minute per credential. Refusals never quote the token.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use hub_store::{Credential, NewTokenRow, Scope, Store, StoreError, TokenRow};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{Clock, Hub, HubError};

/// What every bearer token starts with (so a leaked one is recognisable).
pub const TOKEN_PREFIX: &str = "hub_";
/// Random bytes of a token: 256 bits, beyond guessing.
pub const TOKEN_SECRET_BYTES: usize = 32;
/// Longest credential name (`api_token.name`, `events.actor` are VARCHAR(64)).
pub const NAME_CHARS_MAX: usize = 64;
/// Longest client-certificate CN (`api_token.client_cn` is VARCHAR(255)).
pub const CLIENT_CN_CHARS_MAX: usize = 255;
/// Longest lifetime given at creation: ten years.
pub const EXPIRES_IN_DAYS_MAX: u32 = 3650;
/// `last_used_at` is written at most this often per credential: a minute's
/// precision is enough to spot an unused token, and a busy client does not
/// turn every call into a write.
pub const LAST_USED_WRITE_INTERVAL_MS: i64 = 60_000;
/// Credentials whose last write is remembered; past this the memory is
/// cleared (it costs at most one early write per credential).
const LAST_USED_REMEMBERED_MAX: usize = 10_000;
const DAY_MS: i64 = 86_400_000;

/// A credential to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewToken {
    /// 1–64 characters of `A-Z a-z 0-9 . _ -`; unique among active credentials.
    pub name: String,
    /// At least one; duplicates are removed.
    pub scopes: Vec<Scope>,
    /// Lifetime, 1–3650 days; `None`: until revoked.
    pub expires_in_days: Option<u32>,
    /// With a CN, a client-certificate mapping instead of a bearer token.
    pub client_cn: Option<String>,
}

/// A credential as listed (never its token or hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// The client certificate's CN; `None` for a bearer token.
    pub client_cn: Option<String>,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When created, ms since the epoch.
    pub created_at_ms: i64,
    /// When last used (to the minute), ms.
    pub last_used_at_ms: Option<i64>,
    /// When it stops working, ms.
    pub expires_at_ms: Option<i64>,
    /// When revoked, ms.
    pub revoked_at_ms: Option<i64>,
}

impl From<TokenRow> for TokenInfo {
    fn from(row: TokenRow) -> Self {
        Self {
            name: row.name,
            client_cn: row.client_cn,
            scopes: row.scopes,
            created_at_ms: row.created_at,
            last_used_at_ms: row.last_used_at,
            expires_at_ms: row.expires_at,
            revoked_at_ms: row.revoked_at,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The credential's name: what the audit trail records as the actor.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Whether it holds `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Why a caller was refused. The message never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No such credential (or not of the token format at all).
    #[error("unknown API token or client certificate")]
    Unknown,
    /// The credential was revoked.
    #[error("the API token or client certificate was revoked")]
    Revoked,
    /// The credential has expired.
    #[error("the API token or client certificate has expired")]
    Expired,
    /// The database could not be asked.
    #[error("credentials cannot be checked now: {0}")]
    Unavailable(HubError),
}

/// Creates, lists, revokes and checks API credentials.
///
/// Cheap to clone; clones share the memory of `last_used_at` writes, so a
/// server builds one and shares it.
#[derive(Clone)]
pub struct Access {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Credential id → when its `last_used_at` was last written, ms.
    last_used_written: Arc<Mutex<HashMap<i64, i64>>>,
}

impl Hub {
    /// API access over this Hub's store and clock. Each call builds a new
    /// one: build it once and share it.
    pub fn access(&self) -> Access {
        Access::new(self.store.clone(), self.clock.clone())
    }
}

impl Access {
    /// Access over `store`, with time from `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            last_used_written: Arc::default(),
        }
    }

    /// A bearer token (returned once, `Some`; only its hash is kept) or,
    /// with `client_cn` set, a certificate mapping (`None`).
    pub async fn create(&self, new: &NewToken) -> Result<Option<Zeroizing<String>>, HubError> {
        check_name(&new.name)?;
        let scopes = checked_scopes(&new.scopes)?;
        if let Some(cn) = &new.client_cn {
            check_client_cn(cn)?;
        }
        let now = self.clock.now_ms();
        let expires_at = expiry(now, new.expires_in_days)?;
        let row = |credential| NewTokenRow {
            name: &new.name,
            credential,
            scopes: &scopes,
            expires_at,
        };
        match &new.client_cn {
            Some(cn) => {
                self.insert(&row(Credential::ClientCn(cn)), now).await?;
                Ok(None)
            }
            None => {
                let token = new_token();
                let hash = token_hash(&token);
                self.insert(&row(Credential::TokenHash(&hash)), now).await?;
                Ok(Some(token))
            }
        }
    }

    /// Records a credential, or says which active one holds its name or CN.
    async fn insert(&self, row: &NewTokenRow<'_>, now: i64) -> Result<(), HubError> {
        let mut tx = self.store.begin().await?;
        if tx.insert_token(row, now).await?.is_some() {
            tx.commit().await?;
            return Ok(());
        }
        if let Credential::ClientCn(cn) = row.credential {
            let holder = tx.token_by_client_cn(cn).await?;
            if let Some(holder) = holder.filter(|h| h.revoked_at.is_none() && h.name != row.name) {
                let rule = format!(
                    "client_cn '{cn}' is already mapped to '{}'; revoke that first",
                    holder.name
                );
                return Err(invalid("client_cn", rule));
            }
        }
        let rule = format!(
            "name '{}' is already used by an active credential; revoke it first",
            row.name
        );
        Err(invalid("name", rule))
    }

    /// Credentials in creation order: the active ones, or all.
    pub async fn list(&self, include_revoked: bool) -> Result<Vec<TokenInfo>, HubError> {
        let rows = self.store.read().await?.tokens(include_revoked).await?;
        Ok(rows.into_iter().map(TokenInfo::from).collect())
    }

    /// Revokes the active credential named `name`, from the next call on.
    pub async fn revoke(&self, name: &str) -> Result<(), HubError> {
        check_name(name)?;
        let mut tx = self.store.begin().await?;
        if !tx.revoke_token(name, self.clock.now_ms()).await? {
            return Err(invalid("name", format!("name '{name}' is not an active credential")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The caller presenting bearer `token`. Call it before entering
    /// [`crate::acting`] (its `last_used_at` write is not the caller's).
    pub async fn by_token(&self, token: &str) -> Result<Principal, AuthFailure> {
        if !is_token_format(token) {
            return Err(AuthFailure::Unknown);
        }
        let hash = token_hash(token);
        let found: Result<_, StoreError> = async { self.store.read().await?.token_by_hash(&hash).await }.await;
        let row = found.map_err(unavailable)?;
        let matching = row.filter(|row| {
            row.token_hash
                .as_deref()
                .is_some_and(|stored| bool::from(stored.as_bytes().ct_eq(hash.as_bytes())))
        });
        self.admit(matching).await
    }

    /// The caller presenting a client certificate with subject CN `cn`
    /// (the transport has verified the certificate).
    pub async fn by_client_cn(&self, cn: &str) -> Result<Principal, AuthFailure> {
        if client_cn_rule(cn).is_some() {
            return Err(AuthFailure::Unknown);
        }
        let found: Result<_, StoreError> = async { self.store.read().await?.token_by_client_cn(cn).await }.await;
        self.admit(found.map_err(unavailable)?).await
    }

    /// The principal of a found credential, unless it is revoked or expired.
    async fn admit(&self, row: Option<TokenRow>) -> Result<Principal, AuthFailure> {
        let Some(row) = row else {
            return Err(AuthFailure::Unknown);
        };
        if row.revoked_at.is_some() {
            tracing::info!(name = %row.name, "refused a revoked API credential");
            return Err(AuthFailure::Revoked);
        }
        let now = self.clock.now_ms();
        if row.expires_at.is_some_and(|at| at <= now) {
            tracing::info!(name = %row.name, "refused an expired API credential");
            return Err(AuthFailure::Expired);
        }
        if self.last_use_due(row.id, now) {
            if let Err(e) = self.touch(row.id, now).await {
                tracing::warn!(name = %row.name, "the last use of an API credential was not recorded: {e}");
            }
        }
        Ok(Principal {
            name: row.name,
            scopes: row.scopes,
        })
    }

    /// Whether `last_used_at` of credential `id` is to be written now; if
    /// so, it counts as written (concurrent calls do not all write).
    fn last_use_due(&self, id: i64, now: i64) -> bool {
        let mut written = self.last_used_written.lock().unwrap_or_else(PoisonError::into_inner);
        if written
            .get(&id)
            .is_some_and(|&at| now.saturating_sub(at) < LAST_USED_WRITE_INTERVAL_MS)
        {
            return false;
        }
        if written.len() >= LAST_USED_REMEMBERED_MAX {
            written.clear();
        }
        written.insert(id, now);
        true
    }

    /// Writes `last_used_at` in a small transaction of its own.
    async fn touch(&self, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        tx.touch_token(id, now).await?;
        tx.commit().await
    }
}

/// A lookup that could not be made (the database is down, or a row is corrupt).
fn unavailable(error: StoreError) -> AuthFailure {
    AuthFailure::Unavailable(error.into())
}

fn invalid(field: &'static str, rule: String) -> HubError {
    HubError::InvalidArgument { field, rule }
}

fn check_name(name: &str) -> Result<(), HubError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() {
        return Err(invalid("name", "name must not be empty".into()));
    }
    if !name.chars().all(allowed) {
        return Err(invalid(
            "name",
            "name may hold only A-Z, a-z, 0-9, '.', '_' and '-'".into(),
        ));
    }
    if name.len() > NAME_CHARS_MAX {
        return Err(invalid(
            "name",
            format!("name must be at most {NAME_CHARS_MAX} characters, got {}", name.len()),
        ));
    }
    Ok(())
}

/// The scopes in their canonical order, without duplicates; at least one.
fn checked_scopes(scopes: &[Scope]) -> Result<Vec<Scope>, HubError> {
    if scopes.is_empty() {
        let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        return Err(invalid(
            "scopes",
            format!("scopes must hold at least one of {}", known.join(", ")),
        ));
    }
    let mut scopes = scopes.to_vec();
    scopes.sort_unstable();
    scopes.dedup();
    Ok(scopes)
}

/// What is wrong with a client CN, if anything.
fn client_cn_rule(cn: &str) -> Option<String> {
    if cn.is_empty() {
        Some("client_cn must not be empty".into())
    } else if cn.chars().count() > CLIENT_CN_CHARS_MAX {
        Some(format!("client_cn must be at most {CLIENT_CN_CHARS_MAX} characters"))
    } else if cn.chars().any(char::is_control) {
        Some("client_cn must not contain control characters".into())
    } else {
        None
    }
}

fn check_client_cn(cn: &str) -> Result<(), HubError> {
    client_cn_rule(cn).map_or(Ok(()), |rule| Err(invalid("client_cn", rule)))
}

/// When a credential created at `now` for `days` expires.
fn expiry(now: i64, days: Option<u32>) -> Result<Option<i64>, HubError> {
    let Some(days) = days else {
        return Ok(None);
    };
    if !(1..=EXPIRES_IN_DAYS_MAX).contains(&days) {
        return Err(invalid(
            "expires_in_days",
            format!("expires_in_days must be 1 to {EXPIRES_IN_DAYS_MAX}, got {days}"),
        ));
    }
    i64::from(days)
        .checked_mul(DAY_MS)
        .and_then(|lifetime| now.checked_add(lifetime))
        .map(Some)
        .ok_or_else(|| {
            invalid(
                "expires_in_days",
                "expires_in_days ends beyond the clock's range".into(),
            )
        })
}

/// A new bearer token: the prefix and 32 bytes from the OS, in lowercase hex.
fn new_token() -> Zeroizing<String> {
    let mut secret = Zeroizing::new([0u8; TOKEN_SECRET_BYTES]);
    OsRng.fill_bytes(secret.as_mut());
    // Sized once, so no reallocation leaves a copy behind.
    let mut token = Zeroizing::new(String::with_capacity(TOKEN_PREFIX.len() + 2 * TOKEN_SECRET_BYTES));
    token.push_str(TOKEN_PREFIX);
    for byte in secret.iter() {
        // Writing to a String cannot fail.
        let _ = write!(token, "{byte:02x}");
    }
    token
}

/// Whether `text` is of the token format (checked before any lookup).
fn is_token_format(text: &str) -> bool {
    text.strip_prefix(TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == 2 * TOKEN_SECRET_BYTES && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// What is stored of a token: its SHA-256, in lowercase hex.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_is_of_the_token_format_and_never_repeats() {
        let (a, b) = (new_token(), new_token());
        assert!(is_token_format(&a) && is_token_format(&b));
        assert_ne!(*a, *b);
        assert_eq!(token_hash(&a).len(), 64);
        for bad in [
            "",
            "hub_",
            "hub_ABC",
            &a.to_uppercase(),
            &format!("{}0", &*a),
            &a.replace("hub_", "bub_"),
        ] {
            assert!(!is_token_format(bad), "{bad:?}");
        }
    }

    #[test]
    fn scopes_are_sorted_and_deduplicated() {
        let given = [Scope::Withdraw, Scope::Read, Scope::Withdraw];
        assert_eq!(checked_scopes(&given).unwrap(), vec![Scope::Read, Scope::Withdraw]);
    }
}
