//! Opening the Hub that resolved settings describe: its seed provider (the
//! salt in this process, or a `hub signer` over mutual TLS) and its store,
//! checked against each other.
//!
//! `hub serve` and `hub admin` both open their Hub here, so an admin command
//! reaches the same database and derives the same addresses as the server.

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

/// Hub over the configured database, these nodes and this provider, after
/// the start-up check that a stored address still derives from its UUID.
pub(crate) async fn open_hub(
    config: &Resolved,
    provider: Arc<dyn SeedProvider>,
    endpoints: Vec<String>,
) -> Result<Arc<Hub>, String> {
    let client = Client::new(ClientConfig {
        endpoints,
        timeout: Duration::from_millis(config.settings.node_timeout_ms),
        retries: 2,
        retry_backoff: Duration::from_millis(200),
    })
    .map_err(|e| e.to_string())?;
    let store = Store::connect(&config.database)
        .await
        .map_err(|e| format!("database {}: {e}", redact_url(&config.database)))?;
    let hub = Hub::new(store, client, provider, Arc::new(SystemClock))
        .with_sensitive(config.sensitive.clone())
        .with_deposit_derivation_queue(config.settings.deposit_derivation_queue_max);
    hub.verify_derivation()
        .await
        .map_err(|e| format!("refusing to start: {e}"))?;
    Ok(Arc::new(hub))
}
