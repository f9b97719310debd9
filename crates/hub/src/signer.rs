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
use hub_protocol::Salt;
use hub_signer::{LocalProvider, ServerTls, Signer, SignerConfig};

use crate::config::{argon2_params, max_concurrent_argon2, security_level};
use crate::serve::{read_salt_file, salt_from_env, shutdown_signal};

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
    /// WOTS security level of addresses, 1–3; Hub's --key-security-level must match. [default: 2]
    #[arg(long, visible_alias = "security", env = "HUB_KEY_SECURITY_LEVEL")]
    key_security_level: Option<u8>,
    /// Argon2 variant: `id` or `i` (deployments before mid-2018). [default: id]
    #[arg(long, env = "HUB_ARGON2_MODE")]
    argon2_mode: Option<String>,
    /// Argon2 iterations. [default: 4]
    #[arg(long, env = "HUB_ARGON2_T_COST")]
    argon2_t_cost: Option<u32>,
    /// Argon2 memory, KiB. [default: 131072]
    #[arg(long, env = "HUB_ARGON2_M_COST_KIB")]
    argon2_m_cost_kib: Option<u32>,
    /// Argon2 lanes. [default: 1]
    #[arg(long, env = "HUB_ARGON2_PARALLELISM")]
    argon2_parallelism: Option<u32>,
    /// Argon2 derivations running at once (each takes the Argon2 memory). [default: 2]
    #[arg(long, env = "HUB_MAX_CONCURRENT_ARGON2")]
    max_concurrent_argon2: Option<usize>,
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
            let (salt, salt_origin) = signer_salt(&args)?;
            let params = argon2_params(
                args.argon2_mode.as_deref(),
                args.argon2_t_cost,
                args.argon2_m_cost_kib,
                args.argon2_parallelism,
            )?;
            let security = security_level(args.key_security_level)?;
            let provider = LocalProvider::new(
                salt,
                params,
                security,
                max_concurrent_argon2(args.max_concurrent_argon2),
            )
            .map_err(|e| e.to_string())?;
            crate::init_logging();
            let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
            runtime.block_on(serve(args, provider, salt_origin, out))
        }
    }
}

/// The signer's salt: from exactly one of --salt-file and HUB_SALT.
fn signer_salt(args: &ServeArgs) -> Result<(Salt, String), String> {
    match (&args.salt_file, salt_from_env()) {
        (Some(_), Some(_)) => Err("--salt-file and HUB_SALT are both set; give the salt once".into()),
        (Some(path), None) => Ok((read_salt_file(path, "--salt-file")?, path.display().to_string())),
        (None, Some(salt)) => Ok((salt?, "from the HUB_SALT environment variable".into())),
        (None, None) => Err(
            "--salt-file (or HUB_SALT): required; the signing server never generates a salt (it must be the one \
             the deployment's addresses were derived with)"
                .into(),
        ),
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
    signer.serve(shutdown_signal()).await.map_err(|e| e.to_string())?;
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
