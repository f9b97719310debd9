//! `hub admin token …` and `hub admin audit`: who may call Hub's API, and
//! what was done on whose behalf.
//!
//! These open only the database (no salt, no signer, no node), so an
//! operator can manage tokens where the salt is not. A new token is printed
//! once, alone on stdout (so `TOKEN=$(hub admin token create …)` captures
//! exactly it), and never again: lists show names, never a token or its
//! hash. Confirmations go to stderr.

use std::io::Write;
use std::sync::Arc;

use clap::{Args, Subcommand};
use hub_core::{Access, NewToken, Scope, SystemClock, TokenInfo};
use hub_store::{AuditRow, Store};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Events `hub admin audit` shows by default.
const AUDIT_LIMIT_DEFAULT: i64 = 100;
/// Most events one `hub admin audit` shows (a bound on one query and its output).
const AUDIT_LIMIT_MAX: i64 = 10_000;

/// The commands on API access.
#[derive(Subcommand)]
pub enum AccessCommand {
    /// API tokens and client-certificate mappings, with their scopes (needs only the database).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit trail: the latest changes made for an API caller or by `hub admin`, newest first.
    Audit(AuditArgs),
}

/// `hub admin token …`.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a bearer token (printed once, alone on stdout) or, with --client-cn, a client-certificate mapping.
    Create {
        /// Its name, 1–64 characters of A-Z a-z 0-9 . _ - (what the audit trail records as the actor).
        #[arg(long)]
        name: String,
        /// A scope it may use: read, deposit, trade, withdraw or admin; repeat for several.
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<Scope>,
        /// Days until it stops working, 1–3650. Unset: until revoked.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Map the client certificate with this subject CN instead of making a bearer token.
        #[arg(long)]
        client_cn: Option<String>,
    },
    /// List the active tokens and mappings (never a token or its hash).
    List {
        /// Include the revoked ones.
        #[arg(long)]
        all: bool,
    },
    /// Revoke the active token or mapping with this name; it is refused from its next call.
    Revoke {
        /// Its name.
        name: String,
    },
}

/// `hub admin audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// How many events to show, newest first, 1–10000.
    #[arg(long, default_value_t = AUDIT_LIMIT_DEFAULT,
          value_parser = clap::value_parser!(i64).range(1..=AUDIT_LIMIT_MAX))]
    limit: i64,
}

impl AccessCommand {
    /// The command's name, as the audit trail records it.
    pub fn name(&self) -> String {
        let token = |what: &str| format!("token {what}");
        match self {
            AccessCommand::Token(TokenCommand::Create { .. }) => token("create"),
            AccessCommand::Token(TokenCommand::List { .. }) => token("list"),
            AccessCommand::Token(TokenCommand::Revoke { .. }) => token("revoke"),
            AccessCommand::Audit(_) => "audit".into(),
        }
    }
}

/// Runs one command on `store`.
pub async fn run(store: &Store, command: AccessCommand, out: &mut dyn Write) -> Result<(), String> {
    let access = Access::new(store.clone(), Arc::new(SystemClock));
    let failed = |e: hub_core::HubError| e.to_string();
    match command {
        AccessCommand::Token(TokenCommand::Create {
            name,
            scopes,
            expires_in_days,
            client_cn,
        }) => {
            let new = NewToken {
                name,
                scopes,
                expires_in_days,
                client_cn,
            };
            create(&access, &new, out).await
        }
        AccessCommand::Token(TokenCommand::List { all }) => {
            for token in access.list(all).await.map_err(failed)? {
                writeln!(out, "{}", token_line(&token, all)).map_err(writing)?;
            }
            Ok(())
        }
        AccessCommand::Token(TokenCommand::Revoke { name }) => {
            access.revoke(&name).await.map_err(failed)?;
            eprintln!("'{name}' revoked; it is refused from its next call");
            Ok(())
        }
        AccessCommand::Audit(AuditArgs { limit }) => {
            let events = store.read().await.map_err(|e| e.to_string())?.audit_events(limit).await;
            for event in events.map_err(|e| e.to_string())? {
                writeln!(out, "{}", audit_line(&event)).map_err(writing)?;
            }
            Ok(())
        }
    }
}

/// Creates the credential; a token goes to `out` (and nowhere else), the
/// confirmation with the scopes as stored to stderr.
async fn create(access: &Access, new: &NewToken, out: &mut dyn Write) -> Result<(), String> {
    let token = access.create(new).await.map_err(|e| e.to_string())?;
    if let Some(token) = &token {
        writeln!(out, "{}", token.as_str())
            .and_then(|()| out.flush())
            .map_err(writing)?;
    }
    let stored = access
        .list(false)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|t| t.name == new.name)
        .map_or_else(String::new, |t| scope_list(&t.scopes, ", "));
    match &new.client_cn {
        None => eprintln!(
            "token '{}' created with scopes {stored}; it is shown only once",
            new.name
        ),
        Some(cn) => eprintln!(
            "client certificate CN '{cn}' mapped as '{}' with scopes {stored}",
            new.name
        ),
    }
    Ok(())
}

fn writing(e: std::io::Error) -> String {
    format!("writing output: {e}")
}

fn scope_list(scopes: &[Scope], separator: &str) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(separator)
}

/// `NAME token|cn:CN SCOPES created T last-used T|never expires T|never
/// [revoked T|-]`.
fn token_line(token: &TokenInfo, with_revoked: bool) -> String {
    let credential = token
        .client_cn
        .as_ref()
        .map_or_else(|| "token".to_string(), |cn| format!("cn:{cn}"));
    let mut line = format!(
        "{} {credential} {} created {} last-used {} expires {}",
        token.name,
        scope_list(&token.scopes, ","),
        rfc3339(token.created_at_ms),
        token.last_used_at_ms.map_or_else(|| "never".into(), rfc3339),
        token.expires_at_ms.map_or_else(|| "never".into(), rfc3339),
    );
    if with_revoked {
        let revoked = token.revoked_at_ms.map_or_else(|| "-".into(), rfc3339);
        line.push_str(&format!(" revoked {revoked}"));
    }
    line
}

/// `TIME ACTOR KIND REFERENCE USER AMOUNT`, `-` where there is none.
fn audit_line(event: &AuditRow) -> String {
    let or_dash = |text: &Option<String>| text.clone().unwrap_or_else(|| "-".into());
    format!(
        "{} {} {} {} {} {}",
        rfc3339(event.occurred_at),
        event.actor,
        event.kind,
        or_dash(&event.reference),
        or_dash(&event.identifier),
        event.amount
    )
}

/// A stored time (ms since the epoch) in RFC 3339, to the second, UTC.
fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ms} ms since the epoch"))
}
