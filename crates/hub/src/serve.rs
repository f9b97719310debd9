//! `hub serve`: the Hub server.
//!
//! With no arguments it runs on embedded defaults: a data directory, SQLite
//! in it, the embedded devnet, a development salt generated into a 0600 file
//! (with a loud warning), gRPC and HTTP on loopback. With `--signing remote`
//! it holds no salt and gets every key from a `hub signer` over mutual TLS,
//! refusing to start unless that signer answers at Hub's security level. It
//! prints where everything is, refuses to start if a stored address does not
//! re-derive from its seed UUID (wrong salt or Argon2 parameters, or the
//! wrong signer), runs the background services, and stops cleanly on Ctrl-C
//! or SIGTERM.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hub_core::monitor::MonitorConfig;
use hub_core::services::{self, ServiceConfig};
use hub_core::{Hub, SystemClock};
use hub_devnet::{Devnet, DevnetConfig};
use hub_node::{Client, ClientConfig};
use hub_protocol::Salt;
use hub_signer::{LocalProvider, RemoteProvider, RemoteTimeouts, SeedProvider};
use hub_store::Store;
use rand::Rng;
use zeroize::Zeroizing;

use crate::config::{redact_url, Resolved, Settings, Signing};

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(settings: Settings, out: &mut dyn Write) -> Result<(), String> {
    let config = settings.resolve()?;
    crate::init_logging();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(config, out))
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("data directory {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("data directory {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// The salt in the HUB_SALT environment variable, if it is set.
pub(crate) fn salt_from_env() -> Option<Result<Salt, String>> {
    let bytes = match std::env::var_os("HUB_SALT")?.into_string() {
        Ok(text) => text.into_bytes(),
        Err(_) => return Some(Err("HUB_SALT: must be valid UTF-8 text".into())),
    };
    Some(Salt::new(bytes).map_err(|e| format!("HUB_SALT: {e}")))
}

/// A secret kept in a file (a salt, an HMAC key): its bytes, one trailing
/// newline (LF or CRLF) ignored. `what` names it in errors.
pub(crate) fn read_secret_file(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut bytes = Zeroizing::new(std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))?);
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    Ok(bytes)
}

/// The salt in a file (see [`read_secret_file`]); `what` names the setting in errors.
pub(crate) fn read_salt_file(path: &Path, what: &str) -> Result<Salt, String> {
    let bytes = read_secret_file(path, what)?;
    Salt::new(bytes.to_vec()).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// The salt, and a description of where it came from.
fn load_salt(config: &Resolved) -> Result<(Salt, String), String> {
    if let Some(salt) = salt_from_env() {
        return Ok((salt?, "from the HUB_SALT environment variable".into()));
    }
    let (path, generated) = match &config.salt_file {
        Some(path) => (path.clone(), false),
        None => {
            let path = config.data_dir.join("dev-salt");
            if !path.exists() {
                let salt: String = rand::rngs::OsRng
                    .sample_iter(rand::distributions::Alphanumeric)
                    .take(48)
                    .map(char::from)
                    .collect();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                file.write_all(salt.as_bytes())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            (path, true)
        }
    };
    let salt = read_salt_file(&path, "salt file")?;
    let origin = if generated {
        tracing::warn!(
            "USING A DEVELOPMENT SALT generated into {}. Production must bring its own salt (--salt-file or HUB_SALT), \
             kept apart from the database; with this one, anyone holding the data directory holds every key.",
            path.display()
        );
        format!(
            "{} (DEVELOPMENT SALT, generated: production must bring its own)",
            path.display()
        )
    } else {
        format!("{}", path.display())
    };
    Ok((salt, origin))
}

/// Which dangerous commands are on, for the start-up summary.
fn dangerous_line(sensitive: &hub_core::SensitiveConfig) -> String {
    let on: Vec<&str> = [
        ("SignBundle", sensitive.sign_bundle.is_some()),
        ("RecoverFunds", sensitive.recover_funds),
        ("GetSeedForAddress", sensitive.seed_for_address),
        ("GetSeedForUUID", sensitive.seed_for_uuid),
    ]
    .into_iter()
    .filter_map(|(name, enabled)| enabled.then_some(name))
    .collect();
    if on.is_empty() {
        "none enabled (SignBundle, RecoverFunds, GetSeedForAddress, GetSeedForUUID are off)".into()
    } else {
        let line = format!("ENABLED: {}", on.join(", "));
        tracing::warn!("dangerous commands {line}");
        line
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The seed provider `--signing` asks for, and the line `hub serve` prints about it.
pub(crate) async fn seed_provider(config: &Resolved) -> Result<(Arc<dyn SeedProvider>, String), String> {
    let remote = match &config.signing {
        Signing::Local => {
            let (salt, salt_origin) = load_salt(config)?;
            let provider = LocalProvider::new(salt, config.argon2, config.security, config.max_concurrent_argon2)
                .map_err(|e| e.to_string())?;
            return Ok((Arc::new(provider), format!("  salt:           {salt_origin}")));
        }
        Signing::Remote(remote) => remote,
    };
    if std::env::var_os("HUB_SALT").is_some() {
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
    if provider.security() != config.security {
        return Err(format!(
            "refusing to start: the signing server at {} derives addresses at security level {}, but Hub is \
             configured with --key-security-level {}; they must match",
            remote.url,
            provider.security(),
            config.security
        ));
    }
    let line = format!(
        "  signer:         {} (security level {}; Hub holds no salt)",
        remote.url,
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
        timeout: Duration::from_millis(config.node_timeout_ms),
        retries: 2,
        retry_backoff: Duration::from_millis(200),
    })
    .map_err(|e| e.to_string())?;
    let store = Store::connect(&config.database)
        .await
        .map_err(|e| format!("database {}: {e}", redact_url(&config.database)))?;
    let hub = Hub::new(store, client, provider, Arc::new(SystemClock)).with_sensitive(config.sensitive.clone());
    hub.verify_derivation()
        .await
        .map_err(|e| format!("refusing to start: {e}"))?;
    Ok(Arc::new(hub))
}

async fn serve(config: Resolved, out: &mut dyn Write) -> Result<(), String> {
    create_private_dir(&config.data_dir)?;
    let (provider, keys_line) = seed_provider(&config).await?;

    let devnet = match &config.node {
        Some(_) => None,
        None => Some(
            Devnet::start(DevnetConfig {
                listen: config.devnet_listen,
                data_dir: Some(config.data_dir.join("devnet")),
                milestone_interval_ms: config.devnet_milestone_interval_ms,
                ..DevnetConfig::default()
            })
            .await
            .map_err(|e| format!("embedded devnet: {e}"))?,
        ),
    };
    let endpoints = match (&config.node, &devnet) {
        (Some(nodes), _) => nodes.clone(),
        (None, Some(devnet)) => vec![devnet.url().to_string()],
        (None, None) => unreachable!("a devnet runs when no node is given"),
    };
    let hub = open_hub(&config, provider, endpoints.clone()).await?;

    let grpc = tokio::net::TcpListener::bind(config.grpc_listen)
        .await
        .map_err(|e| format!("cannot listen for gRPC on {}: {e}", config.grpc_listen))?;
    let http = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .map_err(|e| format!("cannot listen for HTTP on {}: {e}", config.http_listen))?;
    let grpc_addr = grpc.local_addr().map_err(|e| e.to_string())?;
    let http_addr = http.local_addr().map_err(|e| e.to_string())?;

    let node_line = match &devnet {
        Some(devnet) => format!(
            "embedded devnet at {} (data in {})",
            devnet.url(),
            config.data_dir.join("devnet").display()
        ),
        None => endpoints.join(", "),
    };
    let lines = [
        "Hub is running.".to_string(),
        format!("  data directory: {}", config.data_dir.display()),
        format!("  database:       {}", redact_url(&config.database)),
        format!("  node:           {node_line}"),
        keys_line,
        format!("  dangerous:      {}", dangerous_line(&config.sensitive)),
        format!("  gRPC API:       {grpc_addr}"),
        format!("  HTTP API:       http://{http_addr}/"),
        "Ctrl-C stops it.".to_string(),
    ];
    for line in lines {
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let background = services::spawn(
        hub.clone(),
        ServiceConfig {
            monitor_interval_ms: config.monitor_interval_ms,
            monitor: MonitorConfig {
                fetch_messages: config.fetch_transaction_messages,
                ..MonitorConfig::default()
            },
            pool_target: config.address_pool_size,
            pool_interval_ms: config.address_pool_interval_ms,
            pool_parallelism: config.max_concurrent_argon2,
            sweep_interval_ms: config.sweep_interval_ms,
            sweep: hub_core::sweeper::SweepConfig {
                max_deposits: config.sweep_max_deposits,
                max_withdrawals: config.sweep_max_withdrawals,
            },
            attachment_interval_ms: config.attachment_interval_ms,
            attach: hub_core::attacher::AttachConfig {
                mwm: config.mwm,
                pow: config.pow,
                ..hub_core::attacher::AttachConfig::default()
            },
        },
        stopped.clone(),
    );
    let commands: Arc<dyn hub_api::HubCommands> = hub.clone();
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let grpc_task = tokio::spawn(hub_api::serve_grpc(grpc, commands.clone(), wait(stopped.clone())));
    let http_task = tokio::spawn(hub_api::serve_http(http, commands, wait(stopped.clone())));

    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    for task in background {
        let _ = task.await;
    }
    if let Ok(Err(e)) = grpc_task.await {
        tracing::error!("gRPC server: {e}");
    }
    if let Ok(Err(e)) = http_task.await {
        tracing::error!("HTTP server: {e}");
    }
    hub.store().close().await;
    if let Some(devnet) = devnet {
        devnet.stop().await;
    }
    Ok(())
}
