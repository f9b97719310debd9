//! API access (`api_token`): named bearer tokens, stored only as the hex
//! SHA-256 of the token, and client-certificate CN mappings, each with its
//! scopes. A row is never deleted: revoking it sets `revoked_at`, and its
//! name may then be used again. Creation and revocation each append an
//! event whose reference is the name (never the token or its hash).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::{EventKind, Scope};
use crate::events::EventOf;
use crate::rows::{Credential, NewTokenRow, TokenRow};
use crate::sql::Columns;
use crate::tx::{Result, Tx};

const TABLE: &str = "api_token";

const TOKEN_COLUMNS: &str = "id, name, token_hash, client_cn, scopes, created_at, expires_at, last_used_at, revoked_at";

fn token_row(r: &AnyRow) -> Result<TokenRow> {
    let c = Columns::new(TABLE, r);
    Ok(TokenRow {
        id: c.int("id")?,
        name: c.text("name")?,
        token_hash: c.opt_text("token_hash")?,
        client_cn: c.opt_text("client_cn")?,
        scopes: c.scopes("scopes")?,
        created_at: c.int("created_at")?,
        expires_at: c.opt_int("expires_at")?,
        last_used_at: c.opt_int("last_used_at")?,
        revoked_at: c.opt_int("revoked_at")?,
    })
}

/// What `api_token.scopes` holds: the codes, comma-separated.
fn scope_codes(scopes: &[Scope]) -> String {
    scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(",")
}

impl Tx {
    /// Records a token or certificate mapping; `None` (nothing written) if
    /// an active row already has its name, its CN or its hash.
    pub async fn insert_token(&mut self, new: &NewTokenRow<'_>, now: i64) -> Result<Option<i64>> {
        let (token_hash, client_cn) = match new.credential {
            Credential::TokenHash(hash) => (Some(hash), None),
            Credential::ClientCn(cn) => (None, Some(cn)),
        };
        let row = sqlx::query(
            "INSERT INTO api_token (name, token_hash, client_cn, scopes, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(new.name)
        .bind(token_hash)
        .bind(client_cn)
        .bind(scope_codes(new.scopes))
        .bind(now)
        .bind(new.expires_at)
        .fetch_optional(&mut *self.inner)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        self.token_event(EventKind::TokenCreated, new.name, now).await?;
        Ok(Some(id))
    }

    /// The token whose hash this is, revoked or not (hashes are unique).
    pub async fn token_by_hash(&mut self, token_hash: &str) -> Result<Option<TokenRow>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token WHERE token_hash = $1");
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref().map(token_row).transpose()
    }

    /// The mapping of a client certificate's CN: the active one, else the
    /// latest revoked one (so a caller can be told it was revoked).
    pub async fn token_by_client_cn(&mut self, client_cn: &str) -> Result<Option<TokenRow>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_token WHERE client_cn = $1
             ORDER BY CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(client_cn)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref().map(token_row).transpose()
    }

    /// Tokens and mappings in creation order: the active ones, or all.
    pub async fn tokens(&mut self, include_revoked: bool) -> Result<Vec<TokenRow>> {
        let filter = if include_revoked {
            ""
        } else {
            "WHERE revoked_at IS NULL"
        };
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token {filter} ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&mut *self.inner).await?;
        rows.iter().map(token_row).collect()
    }

    /// Revokes the active token or mapping named `name`; whether there was one.
    pub async fn revoke_token(&mut self, name: &str, now: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(name)
            .execute(&mut *self.inner)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.token_event(EventKind::TokenRevoked, name, now).await?;
        Ok(true)
    }

    /// Records that token `id` was used at `now` (never moves backwards).
    pub async fn touch_token(&mut self, id: i64, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE api_token SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    async fn token_event(&mut self, kind: EventKind, name: &str, now: i64) -> Result<()> {
        let of = EventOf {
            reference: Some(name),
            ..EventOf::default()
        };
        self.event(kind, of, now).await
    }
}
