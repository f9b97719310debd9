//! `hub signer`: the signing server, and development certificates for it.
//!
//! The signing server holds the salt so that Hub's machine does not: Hub
//! (`hub serve --signing remote`) keeps the seed UUIDs, the signer derives
//! keys from them, and neither alone can spend. It only speaks mutual TLS,
//! lets every key sign one bundle, and audits what it does (see the
//! `hub_signer` crate). Its salt and Argon2 settings are read exactly as
//! `hub serve` reads them, except that a salt is mandatory: a signer never
//! invents one.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use hub_signer::{LocalProvider, ServerTls, Signer, SignerConfig};

use crate::config::DerivationSettings;
use crate::secrets;

/// `hub signer serve …` or `hub signer dev-certs …`.
#[derive(Args)]
pub struct SignerArgs {
    #[command(subcommand)]
    command: SignerCommand,
}

#[derive(Subcommand)]
enum SignerCommand {
    /// Run the signing server (mutual TLS only; holds the salt).
    Serve(Box<ServeArgs>),
    /// Write a development CA with server and client certificates (NOT for production).
    DevCerts(DevCertsArgs),
}

/// Settings of `hub signer serve`. The salt comes from --salt-file or HUB_SALT, never from a flag value.
#[derive(Args)]
struct ServeArgs {
    /// Listen address.
    #[arg(long, env = "HUB_SIGNER_LISTEN", default_value = "127.0.0.1:50060")]
    listen: SocketAddr,
    /// Directory for the signed-key registry (signed-uuids.log) and the audit log (audit.log).
    #[arg(long, env = "HUB_SIGNER_DATA_DIR", default_value = "signer-data")]
    data_dir: PathBuf,
    /// The server's certificate chain (PEM).
    #[arg(long, env = "HUB_SIGNER_TLS_CERT")]
    tls_cert: PathBuf,
    /// The server's private key (PEM).
    #[arg(long, env = "HUB_SIGNER_TLS_KEY")]
    tls_key: PathBuf,
    /// CA certificate (PEM); only clients with a certificate it signed may connect.
    #[arg(long, env = "HUB_SIGNER_TLS_CLIENT_CA")]
    tls_client_ca: PathBuf,
    /// File holding the Argon2 salt (more than 20 bytes; one trailing newline ignored). The environment
    /// variable HUB_SALT may hold the salt itself instead. One of the two is required.
    #[arg(long, env = "HUB_SIGNER_SALT_FILE")]
    salt_file: Option<PathBuf>,
    #[command(flatten)]
    derivation: DerivationSettings,
    /// Let GetSeedForUUID return seeds (recovery only; every export is audited). Off unless given here.
    #[arg(long)]
    allow_seed_export: bool,
}

/// Settings of `hub signer dev-certs`.
#[derive(Args)]
struct DevCertsArgs {
    /// Directory to write ca.pem, ca-key.pem, server.pem, server-key.pem, client.pem and client-key.pem
    /// into (created if missing; existing files are never overwritten).
    #[arg(long)]
    out: PathBuf,
    /// A DNS name or IP address the server certificate is valid for (repeatable). [default: localhost and
    /// 127.0.0.1]
    #[arg(long = "server-name")]
    server_names: Vec<String>,
}

/// Runs `hub signer …`.
pub fn run(args: SignerArgs, out: &mut dyn Write) -> Result<(), String> {
    match args.command {
        SignerCommand::DevCerts(args) => dev_certs(args, out),
        SignerCommand::Serve(args) => {
            let args = *args;
            // Everything that can be checked without I/O is checked before starting anything.
            // Before the runtime starts any thread: HUB_SALT leaves the environment as it is read.
            let (salt, salt_origin) = secrets::signer_salt(secrets::take_env_salt()?, args.salt_file.as_deref())?;
            let provider = args.derivation.resolve()?.local_provider(salt)?;
            crate::init_logging();
            let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
            runtime.block_on(serve(args, provider, salt_origin, out))
        }
    }
}

async fn serve(
    args: ServeArgs,
    provider: LocalProvider,
    salt_origin: String,
    out: &mut dyn Write,
) -> Result<(), String> {
    let security = provider.security();
    let signer = Signer::bind(
        provider,
        SignerConfig {
            listen: args.listen,
            data_dir: args.data_dir,
            tls: ServerTls {
                cert: args.tls_cert,
                key: args.tls_key,
                client_ca: args.tls_client_ca,
            },
            allow_seed_export: args.allow_seed_export,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let export = if args.allow_seed_export {
        "ALLOWED (--allow-seed-export): GetSeedForUUID returns seeds"
    } else {
        "disabled"
    };
    let lines = [
        "Hub signing server is running.".to_string(),
        format!("  listening on:   {} (mutual TLS)", signer.local_addr()),
        format!("  data directory: {}", signer.data_dir().display()),
        format!("  salt:           {salt_origin}"),
        format!("  security level: {security}"),
        format!("  seed export:    {export}"),
        "Ctrl-C stops it.".to_string(),
    ];
    for line in lines {
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    signer
        .serve(crate::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("signing server stopped");
    Ok(())
}

fn dev_certs(args: DevCertsArgs, out: &mut dyn Write) -> Result<(), String> {
    let names: Vec<&str> = args.server_names.iter().map(String::as_str).collect();
    let certs = hub_signer::generate_dev_certs(&args.out, &names).map_err(|e| e.to_string())?;
    let lines = [
        format!("Development certificates written to {}:", args.out.display()),
        format!("  CA:     {} (key {})", certs.ca.display(), certs.ca_key.display()),
        format!(
            "  server: {} (key {})",
            certs.server.display(),
            certs.server_key.display()
        ),
        format!(
            "  client: {} (key {})",
            certs.client.display(),
            certs.client_key.display()
        ),
        "For development only: production should issue certificates from its own CA.".to_string(),
        format!(
            "Signer: hub signer serve --tls-cert {} --tls-key {} --tls-client-ca {} --salt-file FILE",
            certs.server.display(),
            certs.server_key.display(),
            certs.ca.display()
        ),
        format!(
            "Hub:    hub serve --signing remote --signer-url https://127.0.0.1:50060 --signer-ca {} --signer-cert {} \
             --signer-key {}",
            certs.ca.display(),
            certs.client.display(),
            certs.client_key.display()
        ),
    ];
    for line in lines {
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    Ok(())
}
