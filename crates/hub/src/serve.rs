//! `hub serve`: the Hub server.
//!
//! With no arguments it runs on embedded defaults: a data directory, SQLite
//! in it, the embedded devnet, a development salt generated into a 0600 file
//! (with a loud warning), gRPC and HTTP on loopback. With `--signing remote`
//! it holds no salt and gets every key from a `hub signer` over mutual TLS,
//! refusing to start unless that signer answers at Hub's security level.
//! Every API call needs a scoped token (see `listeners` for TLS, limits and
//! the start-up refusals; the embedded defaults write a development token
//! into the data directory). It
//! prints where everything is, refuses to start if a stored address does not
//! re-derive from its seed UUID (wrong salt or Argon2 parameters, or the
//! wrong signer), runs the background services, and stops cleanly on Ctrl-C
//! or SIGTERM.

use std::io::Write;
use std::sync::Arc;

use hub_core::attacher::AttachConfig;
use hub_core::monitor::MonitorConfig;
use hub_core::services::{self, ServiceConfig};
use hub_core::sweeper::SweepConfig;
use hub_devnet::{Devnet, DevnetConfig};

use hub_api::listen::Protocol;

use crate::config::{redact_url, GivenSettings, Resolved};
use crate::listeners::{dev_token_path, ensure_dev_token, Access, AuthChoice, Listen};
use crate::open::{open_hub, seed_provider};
use crate::secrets::{self, EnvSalt};

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(settings: GivenSettings, out: &mut dyn Write) -> Result<(), String> {
    let config = settings.resolve()?;
    // Before the runtime starts any thread: HUB_SALT leaves the environment as it is read.
    let env_salt = secrets::take_env_salt()?;
    crate::init_logging();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(config, env_salt, out))
}

/// Binds one API listener (none when `listen` is off).
async fn bind(
    name: &str,
    listen: Listen,
    access: &Access,
    protocol: Protocol,
) -> Result<Option<hub_api::Listener>, String> {
    let Listen::At(address) = listen else { return Ok(None) };
    let tcp = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen for {name} on {address}: {e}"))?;
    Ok(Some(hub_api::Listener {
        tcp,
        tls: access.tls_config(protocol.alpn())?,
        limits: access.limits,
    }))
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

async fn serve(config: Resolved, env_salt: EnvSalt, out: &mut dyn Write) -> Result<(), String> {
    let settings = &config.settings;
    crate::files::create_private_dir(&settings.data_dir)?;
    let (provider, keys_line) = seed_provider(&config, env_salt).await?;

    let devnet = if settings.node.is_empty() {
        let devnet = Devnet::start(DevnetConfig {
            listen: settings.devnet_listen,
            data_dir: Some(settings.data_dir.join("devnet")),
            milestone_interval_ms: settings.devnet_milestone_interval_ms,
            ..DevnetConfig::default()
        })
        .await
        .map_err(|e| format!("embedded devnet: {e}"))?;
        Some(devnet)
    } else {
        None
    };
    let endpoints = match &devnet {
        None => settings.node.clone(),
        Some(devnet) => vec![devnet.url().to_string()],
    };
    let hub = open_hub(&config, provider, endpoints.clone()).await?;
    hub.check_network()
        .await
        .map_err(|e| format!("refusing to start: {e}"))?;

    let access = &config.access;
    let gate = Arc::new(access.gate(&hub));
    let dev_token = match (&devnet, access.auth) {
        (Some(_), AuthChoice::Token) => {
            let path = dev_token_path(&settings.data_dir);
            ensure_dev_token(&hub, &path).await?;
            Some(path)
        }
        _ => None,
    };
    let grpc = bind("gRPC", settings.grpc_listen, access, Protocol::Http2).await?;
    let http = bind("HTTP", settings.http_listen, access, Protocol::Http1And2).await?;
    let scheme = if access.tls.is_some() { "https" } else { "http" };
    let grpc_line = match &grpc {
        Some(listener) => listener.tcp.local_addr().map_err(|e| e.to_string())?.to_string(),
        None => "off".to_owned(),
    };
    let (http_line, http_loopback) = match &http {
        Some(listener) => {
            let address = listener.tcp.local_addr().map_err(|e| e.to_string())?;
            (format!("{scheme}://{address}/"), address.ip().is_loopback())
        }
        None => ("off".to_owned(), true),
    };

    let node_line = match &devnet {
        Some(devnet) => format!(
            "embedded devnet at {} (data in {})",
            devnet.url(),
            settings.data_dir.join("devnet").display()
        ),
        None => endpoints
            .iter()
            .map(|url| redact_url(url))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut lines = vec![
        "Hub is running.".to_string(),
        format!("  data directory: {}", settings.data_dir.display()),
        format!("  database:       {}", redact_url(&config.database)),
        format!("  node:           {node_line}"),
        keys_line,
        format!("  dangerous:      {}", dangerous_line(&config.sensitive)),
        format!("  access:         {}", access.summary()),
    ];
    if let Some(path) = &dev_token {
        lines.push(format!(
            "  API token:      {} (development token, every scope; `hub admin token` makes scoped ones)",
            path.display()
        ));
    }
    lines.extend([
        format!("  gRPC API:       {grpc_line}"),
        format!("  HTTP API:       {http_line}"),
        "Ctrl-C stops it.".to_string(),
    ]);
    for line in lines {
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let background = services::spawn(
        hub.clone(),
        ServiceConfig {
            monitor_interval_ms: settings.monitor_interval_ms,
            monitor: MonitorConfig {
                fetch_messages: settings.fetch_transaction_messages,
                ..MonitorConfig::default()
            },
            pool_target: settings.address_pool_size,
            pool_interval_ms: settings.address_pool_interval_ms,
            pool_parallelism: config.derivation.max_concurrent_argon2,
            sweep_interval_ms: settings.sweep_interval_ms,
            sweep: SweepConfig {
                max_deposits: settings.sweep_max_deposits,
                max_withdrawals: settings.sweep_max_withdrawals,
            },
            attachment_interval_ms: settings.attachment_interval_ms,
            attach: AttachConfig {
                mwm: settings.mwm,
                pow: settings.pow.into(),
                local_pow_timeout_ms: settings.node_pow_timeout_ms,
                ..AttachConfig::default()
            },
            node_check_interval_ms: settings.node_check_interval_ms,
        },
        stopped.clone(),
    );
    let webhooks = tokio::spawn(hub_webhooks::Deliverer::new(hub.clone())?.run(stopped.clone()));
    let commands: Arc<dyn hub_api::HubCommands> = hub.clone();
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let grpc_task = grpc.map(|listener| {
        tokio::spawn(hub_api::serve_grpc(
            listener,
            commands.clone(),
            gate.clone(),
            wait(stopped.clone()),
        ))
    });
    let http_task = http.map(|listener| {
        tokio::spawn(hub_api::serve_http(
            listener,
            commands.clone(),
            gate.clone(),
            access.http_policy(http_loopback),
            wait(stopped.clone()),
        ))
    });

    crate::shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    for task in background.into_iter().chain([webhooks]) {
        let _ = task.await;
    }
    for (name, task) in [("gRPC", grpc_task), ("HTTP", http_task)] {
        if let Some(Ok(Err(e))) = match task {
            Some(task) => Some(task.await),
            None => None,
        } {
            tracing::error!("{name} server: {e}");
        }
    }
    hub.store().close().await;
    if let Some(devnet) = devnet {
        devnet.stop().await;
    }
    Ok(())
}
