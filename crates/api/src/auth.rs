//! Who may call what: the gate every API call passes before it runs.
//!
//! Both transports hand the gate the same three things: the [`Command`],
//! the `authorization` header (if any) and the client certificate's subject
//! CN (if the connection was mutual TLS). The gate finds the caller (a
//! bearer token, else a certificate mapping), checks that the caller holds
//! the scope the command needs, and takes one unit from the caller's rate
//! bucket. Each transport only maps a [`Refusal`] to its own status codes
//! (gRPC `UNAUTHENTICATED` / `PERMISSION_DENIED` / `RESOURCE_EXHAUSTED`,
//! HTTP 401 / 403 / 429), so the rules are written once, here.
//!
//! The token itself never appears in a refusal, a log line or the audit
//! trail: callers are named by their token's name.

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hub_core::{Acting, AuthFailure, Principal, Scope};

use crate::command::Command;

/// The future an [`Authenticator`] returns: boxed so the trait stays object safe.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, AuthFailure>> + Send + 'a>>;

/// Finds the caller behind a credential (`hub_core::Access` in the server;
/// a fake in transport tests).
pub trait Authenticator: Send + Sync + 'static {
    /// The holder of a bearer token.
    fn by_token<'a>(&'a self, token: &'a str) -> AuthFuture<'a>;
    /// The caller a client certificate's subject CN is mapped to.
    fn by_client_cn<'a>(&'a self, cn: &'a str) -> AuthFuture<'a>;
}

impl Authenticator for hub_core::Access {
    fn by_token<'a>(&'a self, token: &'a str) -> AuthFuture<'a> {
        Box::pin(hub_core::Access::by_token(self, token))
    }

    fn by_client_cn<'a>(&'a self, cn: &'a str) -> AuthFuture<'a> {
        Box::pin(hub_core::Access::by_client_cn(self, cn))
    }
}

/// What a request presents.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// The `authorization` header's value, if any.
    pub authorization: Option<&'a str>,
    /// The verified client certificate's subject CN, if any.
    pub client_cn: Option<&'a str>,
}

/// Why a call was refused before it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No usable credential: gRPC `UNAUTHENTICATED`, HTTP 401.
    Unauthenticated(String),
    /// The caller lacks the command's scope: `PERMISSION_DENIED`, 403.
    PermissionDenied(String),
    /// The caller's rate bucket is empty: `RESOURCE_EXHAUSTED`, 429.
    RateLimited {
        /// What to tell the caller.
        message: String,
        /// When a call would be admitted again.
        retry_after: Duration,
    },
    /// The credential could not be checked (database down): `UNAVAILABLE`, 503.
    Unavailable(String),
}

impl Refusal {
    /// The message for the caller (names the scope needed, never the token).
    pub fn message(&self) -> &str {
        match self {
            Refusal::Unauthenticated(message)
            | Refusal::PermissionDenied(message)
            | Refusal::Unavailable(message)
            | Refusal::RateLimited { message, .. } => message,
        }
    }
}

/// Per-caller rate limit: a token bucket of `burst` calls refilled at
/// `per_second` calls a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained calls per second.
    pub per_second: NonZeroU32,
    /// Calls allowed at once from a full bucket.
    pub burst: NonZeroU32,
}

/// The caller of an admitted call, as the audit trail names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The token's (or certificate mapping's) name; `anonymous` with access control off.
    pub actor: String,
}

impl Admitted {
    /// The audit context a state-changing call runs in.
    pub fn acting(&self, command: Command) -> Acting {
        Acting {
            actor: self.actor.clone(),
            command: command.name().to_owned(),
        }
    }
}

/// The gate (see the module documentation).
pub struct Gate {
    authenticator: Option<Arc<dyn Authenticator>>,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("authenticated", &self.authenticator.is_some())
            .field("rate_limited", &self.limiter.is_some())
            .finish()
    }
}

/// The name callers get when access control is off.
pub const ANONYMOUS: &str = "anonymous";

impl Gate {
    /// Every call needs a credential holding the command's scope, within `rate` per caller.
    pub fn new(authenticator: Arc<dyn Authenticator>, rate: Option<RateLimit>) -> Self {
        Self {
            authenticator: Some(authenticator),
            limiter: rate.map(|rate| RateLimiter::keyed(Quota::per_second(rate.per_second).allow_burst(rate.burst))),
        }
    }

    /// Access control off: every call is admitted as [`ANONYMOUS`]. Only for
    /// listeners that are all on loopback (`hub serve --auth off` enforces it).
    pub fn open() -> Self {
        Self {
            authenticator: None,
            limiter: None,
        }
    }

    /// Admits `command` for the caller behind `credentials`, or says why not.
    pub async fn admit(&self, command: Command, credentials: Credentials<'_>) -> Result<Admitted, Refusal> {
        self.admit_to(command.name(), command.scope(), credentials).await
    }

    /// Admits the operation `name` (a command, or a call of the newer APIs
    /// such as `GET /v1/events`) that needs `scope`, or says why not.
    pub async fn admit_to(&self, name: &str, scope: Scope, credentials: Credentials<'_>) -> Result<Admitted, Refusal> {
        let Some(authenticator) = &self.authenticator else {
            return Ok(Admitted {
                actor: ANONYMOUS.to_owned(),
            });
        };
        let needs = || format!("{} needs scope `{scope}`", name);
        let principal = match (credentials.authorization, credentials.client_cn) {
            (Some(header), _) => {
                let token = bearer_token(header).ok_or_else(|| {
                    Refusal::Unauthenticated(format!("the authorization header must be `Bearer TOKEN` ({})", needs()))
                })?;
                authenticator.by_token(token).await
            }
            (None, Some(cn)) => authenticator.by_client_cn(cn).await,
            (None, None) => {
                return Err(Refusal::Unauthenticated(format!(
                    "an API token is required: send `authorization: Bearer TOKEN` ({})",
                    needs()
                )))
            }
        };
        let principal = principal.map_err(|failure| {
            tracing::info!(command = name, %failure, "call refused: bad credentials");
            match failure {
                AuthFailure::Unavailable(error) => {
                    tracing::warn!(%error, "credentials could not be checked");
                    Refusal::Unavailable("credentials could not be checked; retry later".to_owned())
                }
                AuthFailure::Unknown if credentials.authorization.is_none() => Refusal::Unauthenticated(format!(
                    "the client certificate is not mapped to any scopes ({})",
                    needs()
                )),
                failure => Refusal::Unauthenticated(format!("{failure} ({})", needs())),
            }
        })?;
        if !principal.allows(scope) {
            return Err(Refusal::PermissionDenied(format!(
                "token '{}' lacks scope `{scope}`: {}",
                principal.name,
                needs()
            )));
        }
        if let Some(limiter) = &self.limiter {
            if let Err(not_until) = limiter.check_key(&principal.name) {
                let retry_after = not_until.wait_time_from(DefaultClock::default().now());
                return Err(Refusal::RateLimited {
                    message: format!(
                        "token '{}' exceeded its rate limit; retry in {} ms",
                        principal.name,
                        retry_after.as_millis().max(1)
                    ),
                    retry_after,
                });
            }
        }
        if scope != Scope::Read {
            tracing::info!(actor = %principal.name, command = name, "state-changing call admitted");
        }
        Ok(Admitted { actor: principal.name })
    }
}

/// The token of an `authorization: Bearer TOKEN` header (scheme case-insensitive).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
