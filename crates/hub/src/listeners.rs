//! `hub serve`'s API listeners: where they listen, their TLS, the access
//! gate, their limits, and the start-up refusals that keep an operator from
//! exposing Hub by accident.
//!
//! Refused at start, each with one line naming the setting: a listener on a
//! non-loopback address without TLS (unless `--allow-plaintext-public`,
//! then loudly logged), `--auth off` with any non-loopback listener, half a
//! TLS configuration, both listeners off. With the embedded devnet and
//! `--auth token`, the first start writes a development token with every
//! scope to `<data-dir>/dev-token` (0600) and prints the file's path.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};
use hub_api::http::HeaderValue;
use hub_api::{Gate, HttpPolicy, Limits, RateLimit};
use hub_core::{Hub, NewToken, Scope};
use hub_signer::ListenerTls;

use crate::config::within;

/// A listen setting: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Not listening.
    Off,
    /// Listening here.
    At(SocketAddr),
}

impl FromStr for Listen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(Listen::Off);
        }
        text.parse()
            .map(Listen::At)
            .map_err(|_| format!("expected HOST:PORT (e.g. 127.0.0.1:50051) or `off`, got {text:?}"))
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Off => f.write_str("off"),
            Listen::At(address) => address.fmt(f),
        }
    }
}

/// `--auth`: whether calls need an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthChoice {
    /// Every call needs an API token (or a mapped client certificate) holding the command's scope.
    Token,
    /// No access control; refused unless every listener is on loopback.
    Off,
}

/// Who may reach the API, and how much.
#[derive(Args, Debug, Clone)]
pub struct AccessSettings {
    /// Access control: `token` (every call needs an API token with the command's scope; manage them with
    /// `hub admin token`) or `off` (only when every listener is on loopback).
    #[arg(long, env = "HUB_AUTH", value_enum, default_value_t = AuthChoice::Token)]
    pub auth: AuthChoice,
    /// TLS certificate chain (PEM) of both API listeners (with --tls-key).
    #[arg(long, env = "HUB_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) of both API listeners (with --tls-cert); keep it mode 0600.
    #[arg(long, env = "HUB_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA certificate (PEM): clients must present a certificate it signed (the original's --authMode=ssl).
    /// Map a certificate's subject CN to scopes with `hub admin token create --client-cn`.
    #[arg(long, env = "HUB_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve plaintext on a non-loopback address (refused without it: tokens would cross the network in
    /// the clear).
    #[arg(long, env = "HUB_ALLOW_PLAINTEXT_PUBLIC", action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", default_value_t = false)]
    pub allow_plaintext_public: bool,
    /// Origins whose web pages may call the HTTP API (comma-separated, e.g. `https://ops.example.com`);
    /// a request from any other origin gets 403.
    #[arg(long, env = "HUB_HTTP_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub http_allowed_origins: Vec<String>,
    /// Connections open at once, per listener, 1–1000000.
    #[arg(long, env = "HUB_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Time allowed for a TLS handshake and for each request's headers, ms, 100–600000.
    #[arg(long, env = "HUB_READ_TIMEOUT_MS", default_value_t = Limits::default().read_timeout.as_millis() as u64)]
    pub read_timeout_ms: u64,
    /// A connection idle (nothing read or written) this long is closed, ms, 1000–86400000.
    #[arg(long, env = "HUB_IDLE_TIMEOUT_MS", default_value_t = Limits::default().idle_timeout.as_millis() as u64)]
    pub idle_timeout_ms: u64,
    /// gRPC calls open at once on one connection, 1–10000.
    #[arg(long, env = "HUB_MAX_CONCURRENT_STREAMS", default_value_t = Limits::default().max_concurrent_streams)]
    pub max_concurrent_streams: u32,
    /// Calls per second each token may make, sustained, 1–1000000.
    #[arg(long, env = "HUB_RATE_LIMIT_PER_SECOND", default_value_t = 100)]
    pub rate_limit_per_second: u32,
    /// Calls each token may make at once from a full bucket, 1–1000000.
    #[arg(long, env = "HUB_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,
}

/// Access settings, checked.
#[derive(Debug, Clone)]
pub struct Access {
    pub auth: AuthChoice,
    pub tls: Option<ListenerTls>,
    pub allow_plaintext_public: bool,
    pub allowed_origins: Vec<HeaderValue>,
    pub limits: Limits,
    pub rate: RateLimit,
}

impl AccessSettings {
    /// Checks the settings against the listen addresses.
    pub fn resolve(&self, grpc: Listen, http: Listen) -> Result<Access, String> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(ListenerTls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            }),
            (None, None) if self.tls_client_ca.is_some() => {
                return Err(
                    "--tls-client-ca: needs --tls-cert and --tls-key (client certificates are a TLS feature)".into(),
                )
            }
            (None, None) => None,
            (Some(_), None) => return Err("--tls-cert: needs --tls-key, the certificate's private key".into()),
            (None, Some(_)) => return Err("--tls-key: needs --tls-cert, the key's certificate chain".into()),
        };
        let listeners = [("--grpc-listen", grpc), ("--http-listen", http)];
        if listeners.iter().all(|(_, listen)| *listen == Listen::Off) {
            return Err("--grpc-listen and --http-listen are both off: nothing would serve the API".into());
        }
        for (flag, listen) in listeners {
            let Listen::At(address) = listen else { continue };
            if address.ip().is_loopback() {
                continue;
            }
            if self.auth == AuthChoice::Off {
                return Err(format!(
                    "--auth off: refused because {flag} {address} is not a loopback address; anyone who can reach \
                     it could move every user's funds (keep --auth token, or listen on 127.0.0.1)"
                ));
            }
            if tls.is_none() && !self.allow_plaintext_public {
                return Err(format!(
                    "{flag} {address}: not a loopback address and TLS is off, so API tokens would cross the network \
                     in the clear; give --tls-cert and --tls-key (or --allow-plaintext-public to override)"
                ));
            }
        }
        let allowed_origins = self
            .http_allowed_origins
            .iter()
            .map(|origin| origin_value(origin))
            .collect::<Result<_, _>>()?;
        within("--max-connections", self.max_connections, 1..=1_000_000)?;
        within("--read-timeout-ms", self.read_timeout_ms, 100..=600_000)?;
        within("--idle-timeout-ms", self.idle_timeout_ms, 1_000..=86_400_000)?;
        within("--max-concurrent-streams", self.max_concurrent_streams, 1..=10_000)?;
        within("--rate-limit-per-second", self.rate_limit_per_second, 1..=1_000_000)?;
        within("--rate-limit-burst", self.rate_limit_burst, 1..=1_000_000)?;
        let nonzero = |value: u32| NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN);
        Ok(Access {
            auth: self.auth,
            tls,
            allow_plaintext_public: self.allow_plaintext_public,
            allowed_origins,
            limits: Limits {
                max_connections: self.max_connections,
                read_timeout: Duration::from_millis(self.read_timeout_ms),
                idle_timeout: Duration::from_millis(self.idle_timeout_ms),
                max_concurrent_streams: self.max_concurrent_streams,
            },
            rate: RateLimit {
                per_second: nonzero(self.rate_limit_per_second),
                burst: nonzero(self.rate_limit_burst),
            },
        })
    }
}

/// An `--http-allowed-origins` entry: `scheme://host[:port]`, as browsers send it.
fn origin_value(origin: &str) -> Result<HeaderValue, String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .filter(|rest| !rest.is_empty() && !rest.contains('/'));
    match rest {
        Some(_) => HeaderValue::from_str(origin)
            .map_err(|_| format!("--http-allowed-origins: {origin:?} is not a valid header value")),
        None => Err(format!(
            "--http-allowed-origins: {origin:?} must be scheme://host[:port] (http or https, no path)"
        )),
    }
}

impl Access {
    /// The gate every call passes.
    pub fn gate(&self, hub: &Hub) -> Gate {
        match self.auth {
            AuthChoice::Token => Gate::new(Arc::new(hub.access()), Some(self.rate)),
            AuthChoice::Off => {
                tracing::warn!("--auth off: API calls are not authenticated (every listener is on loopback)");
                Gate::open()
            }
        }
    }

    /// The rustls configuration of a listener speaking `alpn`, if TLS is on.
    pub fn tls_config(&self, alpn: Vec<Vec<u8>>) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
        self.tls
            .as_ref()
            .map(|tls| {
                hub_signer::listener_tls_config(tls, alpn)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .transpose()
    }

    /// The HTTP listener's browser rules (`loopback`: whether it is bound to loopback).
    pub fn http_policy(&self, loopback: bool) -> HttpPolicy {
        HttpPolicy {
            allowed_origins: self.allowed_origins.clone(),
            loopback_host_only: loopback,
        }
    }

    /// How the start-up summary describes access.
    pub fn summary(&self) -> String {
        let auth = match self.auth {
            AuthChoice::Token => format!(
                "API tokens with scopes ({} calls/s per token, burst {})",
                self.rate.per_second, self.rate.burst
            ),
            AuthChoice::Off => "OFF (no access control; loopback only)".to_owned(),
        };
        let tls = match &self.tls {
            None if self.allow_plaintext_public => "TLS off, PLAINTEXT ALLOWED ON PUBLIC ADDRESSES".to_owned(),
            None => "TLS off (loopback only)".to_owned(),
            Some(ListenerTls { client_ca: None, .. }) => "TLS".to_owned(),
            Some(ListenerTls { client_ca: Some(_), .. }) => "TLS, client certificates required".to_owned(),
        };
        if self.allow_plaintext_public && self.tls.is_none() {
            tracing::warn!("--allow-plaintext-public: API tokens may cross the network in the clear");
        }
        format!("{auth}; {tls}")
    }
}

/// The development token's file in the data directory.
pub fn dev_token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dev-token")
}

/// The name of the development token.
const DEV_TOKEN_NAME: &str = "dev";

/// Writes a development token with every scope to `path` unless the file
/// exists. A `dev` token whose file was deleted is revoked first (its secret
/// is lost). Whether a token was created.
pub async fn ensure_dev_token(hub: &Hub, path: &Path) -> Result<bool, String> {
    if path.exists() {
        return Ok(false);
    }
    let access = hub.access();
    let failed = |e: hub_core::HubError| format!("development token: {e}");
    let active = access.list(false).await.map_err(failed)?;
    if active.iter().any(|token| token.name == DEV_TOKEN_NAME) {
        access.revoke(DEV_TOKEN_NAME).await.map_err(failed)?;
    }
    let token = access
        .create(&NewToken {
            name: DEV_TOKEN_NAME.to_owned(),
            scopes: Scope::ALL.to_vec(),
            expires_in_days: None,
            client_cn: None,
        })
        .await
        .map_err(failed)?
        .ok_or_else(|| "development token: no token was issued".to_owned())?;
    crate::files::write_new_private_file(path, token.as_str())?;
    tracing::warn!(
        "created a development API token with every scope in {}; create scoped tokens with `hub admin token create` \
         for anything but development",
        path.display()
    );
    Ok(true)
}
