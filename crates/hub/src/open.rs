//! Opening the Hub that resolved settings describe: its seed provider (the
//! salt in this process, or a `hub signer` over mutual TLS) and its store,
//! checked against each other.
//!
//! `hub serve` and `hub admin` both open their Hub here, so an admin command
//! reaches the same database and derives the same addresses as the server;
//! the admin commands that need only the database open just the store.
//!
//! A PostgreSQL database on another host is opened only over TLS: its URL
//! must ask for `sslmode=require`, `verify-ca` or `verify-full`, unless
//! `--database-allow-plaintext` accepts the risk (then a warning is
//! logged). Loopback (`localhost`, 127.0.0.0/8, `::1`) and Unix sockets
//! need none: nothing crosses a network.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hub_core::{Hub, SystemClock};
use hub_node::{Client, ClientConfig};
use hub_signer::{RemoteProvider, RemoteTimeouts, SeedProvider};
use hub_store::Store;

use crate::config::{redact_url, Resolved, Signing};
use crate::secrets::{self, EnvSalt};

/// The seed provider `--signing` asks for, and the line `hub serve` prints
/// about it. `env_salt` is what HUB_SALT held (taken before the runtime started).
pub(crate) async fn seed_provider(
    config: &Resolved,
    env_salt: EnvSalt,
) -> Result<(Arc<dyn SeedProvider>, String), String> {
    let remote = match &config.signing {
        Signing::Local => {
            let (salt, salt_origin) = secrets::serve_salt(
                env_salt,
                config.settings.salt_file.as_deref(),
                &config.settings.data_dir,
            )?;
            let provider = config.derivation.local_provider(salt)?;
            return Ok((Arc::new(provider), format!("  salt:           {salt_origin}")));
        }
        Signing::Remote(remote) => remote,
    };
    if env_salt.is_set() {
        let why = "the signing server holds the salt; keep it off Hub's machine";
        return Err(format!("HUB_SALT: not used with --signing remote ({why}); unset it"));
    }
    for (flag, path) in [
        ("--signer-ca", &remote.tls.ca),
        ("--signer-cert", &remote.tls.cert),
        ("--signer-key", &remote.tls.key),
    ] {
        if !path.is_file() {
            return Err(format!("{flag} {}: no such file", path.display()));
        }
    }
    let timeouts = RemoteTimeouts {
        request: Duration::from_millis(remote.timeout_ms),
        ..RemoteTimeouts::default()
    };
    let provider = RemoteProvider::connect(&remote.url, &remote.tls, timeouts)
        .await
        .map_err(|e| format!("refusing to start: {e}"))?;
    let security = config.derivation.security;
    if provider.security() != security {
        return Err(format!(
            "refusing to start: the signing server at {} derives addresses at security level {}, but Hub is \
             configured with --key-security-level {security}; they must match",
            provider.shown_url(),
            provider.security(),
        ));
    }
    let line = format!(
        "  signer:         {} (security level {}; Hub holds no salt)",
        provider.shown_url(),
        provider.security()
    );
    Ok((Arc::new(provider), line))
}

/// The configured database, migrated, after the check of its transport
/// (all that the token and audit commands need: no salt, no signer, no node).
pub(crate) async fn open_store(config: &Resolved) -> Result<Store, String> {
    check_database_transport(&config.database, config.settings.database_allow_plaintext)?;
    if config.settings.database.is_none() {
        // The default SQLite file lives in the data directory.
        crate::files::create_private_dir(&config.settings.data_dir)?;
    }
    Store::connect(&config.database)
        .await
        .map_err(|e| format!("database {}: {e}", redact_url(&config.database)))
}

/// Hub over the configured database, these nodes and this provider, after
/// the start-up check that a stored address still derives from its UUID.
pub(crate) async fn open_hub(
    config: &Resolved,
    provider: Arc<dyn SeedProvider>,
    endpoints: Vec<String>,
) -> Result<Arc<Hub>, String> {
    let client = Client::new(ClientConfig {
        timeout: Duration::from_millis(config.settings.node_timeout_ms),
        pow_timeout: Duration::from_millis(config.settings.node_pow_timeout_ms),
        tip_selection_timeout: Duration::from_millis(config.settings.node_tip_selection_timeout_ms),
        ..ClientConfig::for_endpoints(endpoints)
    })
    .map_err(|e| e.to_string())?;
    let store = open_store(config).await?;
    let hub = Hub::new(store, client, provider, Arc::new(SystemClock))
        .with_sensitive(config.sensitive.clone())
        .with_deposit_derivation_queue(config.settings.deposit_derivation_queue_max)
        .with_node_quorum(config.settings.node_quorum)
        .with_webhook_policy(hub_core::WebhookPolicy {
            allow_private: config.settings.webhook_allow_private,
            retry_base_ms: config.settings.webhook_retry_base_ms,
            disable_after_ms: config.settings.webhook_disable_after_ms,
            ..hub_core::WebhookPolicy::default()
        });
    hub.verify_derivation()
        .await
        .map_err(|e| format!("refusing to start: {e}"))?;
    Ok(Arc::new(hub))
}

/// Refuses a PostgreSQL URL that would send the password and the rows to
/// another host in the clear, unless `allow_plaintext`; then warns.
fn check_database_transport(url: &str, allow_plaintext: bool) -> Result<(), String> {
    let Some(host) = plaintext_remote_postgres(url) else {
        return Ok(());
    };
    let shown = redact_url(url);
    if !allow_plaintext {
        return Err(format!(
            "database {shown}: PostgreSQL on another host ({host}) needs TLS: add sslmode=require, verify-ca or \
             verify-full to the URL, or give --database-allow-plaintext true (HUB_DATABASE_ALLOW_PLAINTEXT) to send \
             its password and data in the clear"
        ));
    }
    tracing::warn!(
        "database {shown}: connecting to {host} WITHOUT TLS (--database-allow-plaintext): its password and every \
         row cross the network in the clear"
    );
    Ok(())
}

/// TLS modes that never fall back to plaintext (`prefer` and `allow` do).
const TLS_SSLMODES: [&str; 3] = ["require", "verify-ca", "verify-full"];

/// The host of a PostgreSQL URL that connects over a network without TLS;
/// `None` for other databases, TLS, loopback and Unix sockets. Read as
/// sqlx reads the URL: the `host`, `hostaddr` and `sslmode` query
/// parameters override, the last one winning, and an empty host means
/// PGHOSTADDR, PGHOST or else a local default.
fn plaintext_remote_postgres(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    let authority = before_query
        .split_once('/')
        .map_or(before_query, |(authority, _)| authority);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port);
    let mut host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']').map_or(bracketed, |(ip, _)| ip),
        None => host_port.split_once(':').map_or(host_port, |(host, _)| host),
    }
    .to_string();
    let mut tls = false;
    for (key, value) in query.split('&').filter_map(|pair| pair.split_once('=')) {
        match key {
            "host" | "hostaddr" => host = value.to_string(),
            "sslmode" | "ssl-mode" => tls = TLS_SSLMODES.iter().any(|mode| value.eq_ignore_ascii_case(mode)),
            _ => {}
        }
    }
    if host.is_empty() {
        host = ["PGHOSTADDR", "PGHOST"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok())
            .unwrap_or_default();
    }
    (!tls && !is_local(&host)).then_some(host)
}

/// Whether `host` is this machine: empty (sqlx's local default), a Unix
/// socket directory (also percent-encoded), `localhost`, or a loopback
/// address.
fn is_local(host: &str) -> bool {
    let lower = host.to_ascii_lowercase();
    lower.is_empty()
        || lower.starts_with('/')
        || lower.starts_with("%2f")
        || lower == "localhost"
        || match lower.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
            Ok(ip) => ip.is_loopback(),
            Err(_) => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plaintext_to_another_host_is_refused() {
        for (url, refused_host) in [
            ("postgres://u:secret@db.example.com/hub", Some("db.example.com")),
            (
                "postgresql://db.example.com:5432/hub?sslmode=prefer",
                Some("db.example.com"),
            ),
            ("postgres://u@10.0.0.7/hub?sslmode=disable", Some("10.0.0.7")),
            ("postgres://u@[2001:db8::1]:5432/hub", Some("2001:db8::1")),
            ("postgres://u@127.0.0.1/hub?host=db.example.com", Some("db.example.com")),
            ("postgres://db/hub?sslmode=require&sslmode=disable", Some("db")),
            ("postgres://u:p@ss@db/hub", Some("db")),
            ("postgres://u:secret@db.example.com/hub?sslmode=require", None),
            ("postgres://db.example.com/hub?sslmode=verify-ca", None),
            (
                "postgres://db.example.com/hub?application_name=hub&sslmode=VERIFY-FULL",
                None,
            ),
            ("postgres://u:secret@localhost/hub", None),
            ("postgres://u:secret@LOCALHOST:5432/hub", None),
            ("postgres://u@127.0.0.1:5432/hub", None),
            ("postgres://u@127.1.2.3/hub", None),
            ("postgres://u@[::1]:5432/hub", None),
            ("postgres://u@[::ffff:127.0.0.1]/hub", None),
            ("postgres://u@%2Fvar%2Frun%2Fpostgresql/hub", None),
            ("postgres://u@db.example.com/hub?host=/var/run/postgresql", None),
            ("sqlite://hub.sqlite?mode=rwc", None),
        ] {
            assert_eq!(plaintext_remote_postgres(url).as_deref(), refused_host, "{url}");
        }
    }

    #[test]
    fn the_refusal_names_the_setting_and_hides_the_password() {
        let error = check_database_transport("postgres://u:secret@db.example.com/hub", false).unwrap_err();
        assert!(
            error.starts_with("database postgres://u:***@db.example.com/hub: "),
            "{error}"
        );
        assert!(
            error.contains("--database-allow-plaintext") && !error.contains("secret"),
            "{error}"
        );
        assert!(check_database_transport("postgres://u:secret@db.example.com/hub", true).is_ok());
    }
}
