//! `hub serve` settings: flags override the environment (`HUB_…`), which
//! overrides the TOML file (`--config`), which overrides the defaults. Every
//! setting and its default is listed by `hub serve --help`. Secrets (the
//! salt) come only from a file or the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use hub_protocol::{Argon2Mode, Argon2Params, SecurityLevel};
use serde::Deserialize;

/// Everything `hub serve` can be told. Unset values fall back to the file, then the default.
#[derive(Args, Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Settings {
    /// TOML file with any of these settings (keys as the flag names, e.g. `grpc-listen = "…"`).
    #[arg(long, env = "HUB_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Directory for Hub's files (SQLite database, development salt, embedded devnet). [default: ./hub-data]
    #[arg(long, env = "HUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://user:pass@host/db`. [default: SQLite in the data directory]
    #[arg(long, env = "HUB_DATABASE")]
    pub database: Option<String>,
    /// IOTA node API URL(s), comma-separated or repeated. [default: the embedded devnet]
    #[arg(long, env = "HUB_NODE", value_delimiter = ',')]
    pub node: Option<Vec<String>>,
    /// File holding the Argon2 salt (more than 20 bytes; one trailing newline ignored). The
    /// environment variable HUB_SALT may hold the salt itself instead. [default: a development
    /// salt generated into the data directory]
    #[arg(long, env = "HUB_SALT_FILE")]
    pub salt_file: Option<PathBuf>,
    /// gRPC listen address. [default: 127.0.0.1:50051]
    #[arg(long, env = "HUB_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// HTTP JSON listen address. [default: 127.0.0.1:50052]
    #[arg(long, env = "HUB_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Listen address of the embedded devnet (when no --node is given). [default: 127.0.0.1:14265]
    #[arg(long, env = "HUB_DEVNET_LISTEN")]
    pub devnet_listen: Option<SocketAddr>,
    /// Milestone interval of the embedded devnet, ms (0 = on demand only). [default: 5000]
    #[arg(long, env = "HUB_DEVNET_MILESTONE_INTERVAL_MS")]
    pub devnet_milestone_interval_ms: Option<u64>,
    /// Deposit monitor interval, ms (0 disables it). [default: 10000]
    #[arg(long, env = "HUB_MONITOR_INTERVAL_MS")]
    pub monitor_interval_ms: Option<u64>,
    /// Sweeper interval, ms (0 disables sweeps). [default: 60000]
    #[arg(long, env = "HUB_SWEEP_INTERVAL_MS")]
    pub sweep_interval_ms: Option<u64>,
    /// Attacher interval (attach, promote, reattach, confirm), ms (0 disables it). [default: 30000]
    #[arg(long, env = "HUB_ATTACHMENT_INTERVAL_MS")]
    pub attachment_interval_ms: Option<u64>,
    /// Who does proof of work: `local` (in-process) or `remote` (the node's attachToTangle). [default: local]
    #[arg(long, env = "HUB_POW")]
    pub pow: Option<String>,
    /// Minimum weight magnitude of proof of work. [default: 9]
    #[arg(long, env = "HUB_MWM")]
    pub mwm: Option<u8>,
    /// Deposit addresses per sweep. [default: 5]
    #[arg(long, env = "HUB_SWEEP_MAX_DEPOSITS")]
    pub sweep_max_deposits: Option<i64>,
    /// Withdrawals per sweep. [default: 7]
    #[arg(long, env = "HUB_SWEEP_MAX_WITHDRAWALS")]
    pub sweep_max_withdrawals: Option<i64>,
    /// Keep the message of deposit transactions. [default: false]
    #[arg(long, env = "HUB_FETCH_TRANSACTION_MESSAGES")]
    pub fetch_transaction_messages: Option<bool>,
    /// Pre-derived deposit addresses to keep ready (0 disables the pool). [default: 20]
    #[arg(long, env = "HUB_ADDRESS_POOL_SIZE")]
    pub address_pool_size: Option<usize>,
    /// How often the address pool is topped up, ms. [default: 2000]
    #[arg(long, env = "HUB_ADDRESS_POOL_INTERVAL_MS")]
    pub address_pool_interval_ms: Option<u64>,
    /// Argon2 variant: `id` or `i` (deployments before mid-2018). [default: id]
    #[arg(long, env = "HUB_ARGON2_MODE")]
    pub argon2_mode: Option<String>,
    /// Argon2 iterations. [default: 4]
    #[arg(long, env = "HUB_ARGON2_T_COST")]
    pub argon2_t_cost: Option<u32>,
    /// Argon2 memory, KiB. [default: 131072]
    #[arg(long, env = "HUB_ARGON2_M_COST_KIB")]
    pub argon2_m_cost_kib: Option<u32>,
    /// Argon2 lanes. [default: 1]
    #[arg(long, env = "HUB_ARGON2_PARALLELISM")]
    pub argon2_parallelism: Option<u32>,
    /// Argon2 derivations running at once (each takes the Argon2 memory). [default: 2]
    #[arg(long, env = "HUB_MAX_CONCURRENT_ARGON2")]
    pub max_concurrent_argon2: Option<usize>,
    /// WOTS security level of addresses, 1–3. [default: 2]
    #[arg(long, env = "HUB_KEY_SECURITY_LEVEL")]
    pub key_security_level: Option<u8>,
    /// Timeout of one node request, ms. [default: 30000]
    #[arg(long, env = "HUB_NODE_TIMEOUT_MS")]
    pub node_timeout_ms: Option<u64>,
    /// Who holds the salt and signs: `local` (this process, with --salt-file or HUB_SALT) or `remote` (a
    /// `hub signer` over mutual TLS; Hub then holds no salt and needs --signer-url, --signer-ca, --signer-cert
    /// and --signer-key). [default: local]
    #[arg(long, env = "HUB_SIGNING")]
    pub signing: Option<String>,
    /// Signing server URL, `https://host:port` (with --signing remote).
    #[arg(long, env = "HUB_SIGNER_URL")]
    pub signer_url: Option<String>,
    /// CA certificate (PEM) that signed the signing server's certificate (with --signing remote).
    #[arg(long, env = "HUB_SIGNER_CA")]
    pub signer_ca: Option<PathBuf>,
    /// Hub's client certificate (PEM), signed by the CA the signing server trusts (with --signing remote).
    #[arg(long, env = "HUB_SIGNER_CERT")]
    pub signer_cert: Option<PathBuf>,
    /// Private key (PEM) of Hub's client certificate (with --signing remote).
    #[arg(long, env = "HUB_SIGNER_KEY")]
    pub signer_key: Option<PathBuf>,
    /// Timeout of one signing-server call, ms (each costs the signer an Argon2 derivation). [default: 30000]
    #[arg(long, env = "HUB_SIGNER_TIMEOUT_MS")]
    pub signer_timeout_ms: Option<u64>,
    /// File holding the key (at least 32 bytes) SignBundle tokens are checked against: a token is
    /// hex(HMAC-SHA256(key, bundleHash ‖ address)), see `hub util sign-bundle-token`. Setting it enables
    /// SignBundle, which signs again with the key of an already-swept deposit address. [default: SignBundle off]
    #[arg(long, env = "HUB_SIGN_BUNDLE_KEY_FILE")]
    pub sign_bundle_key_file: Option<PathBuf>,
    /// Enable RecoverFunds: pay funds that reached an already-swept deposit address to a payout address
    /// (the key signs a second time; nobody is credited). [default: false]
    #[arg(long, env = "HUB_RECOVER_FUNDS")]
    pub recover_funds: Option<bool>,
    /// Bundle hashes RecoverFunds tries, to expose the reused key least. [default: 200000]
    #[arg(long, env = "HUB_RECOVER_FUNDS_CANDIDATES")]
    pub recover_funds_candidates: Option<u64>,
    /// Enable GetSeedForAddress (hands out the seed of a user's deposit address). [default: false]
    #[arg(long, env = "HUB_GET_SEED_FOR_ADDRESS")]
    pub get_seed_for_address: Option<bool>,
    /// Enable GetSeedForUUID (hands out the seed of a seed UUID this Hub knows). [default: false]
    #[arg(long, env = "HUB_GET_SEED_FOR_UUID")]
    pub get_seed_for_uuid: Option<bool>,
}

macro_rules! take_missing {
    ($target:ident, $file:ident, $($field:ident),+) => {
        $( if $target.$field.is_none() { $target.$field = $file.$field.take(); } )+
    };
}

/// Settings with every value decided.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub data_dir: PathBuf,
    pub database: String,
    pub node: Option<Vec<String>>,
    pub salt_file: Option<PathBuf>,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub devnet_listen: SocketAddr,
    pub devnet_milestone_interval_ms: u64,
    pub monitor_interval_ms: u64,
    pub sweep_interval_ms: u64,
    pub attachment_interval_ms: u64,
    pub pow: hub_core::attacher::PowMode,
    pub mwm: u8,
    pub sweep_max_deposits: i64,
    pub sweep_max_withdrawals: i64,
    pub fetch_transaction_messages: bool,
    pub address_pool_size: usize,
    pub address_pool_interval_ms: u64,
    pub argon2: Argon2Params,
    pub max_concurrent_argon2: usize,
    pub security: SecurityLevel,
    pub node_timeout_ms: u64,
    pub signing: Signing,
    pub sensitive: hub_core::SensitiveConfig,
}

/// Where keys come from.
#[derive(Debug, Clone)]
pub enum Signing {
    /// Derived in-process from the salt.
    Local,
    /// Asked of a signing server; Hub holds no salt.
    Remote(RemoteSigning),
}

/// How to reach the signing server.
#[derive(Debug, Clone)]
pub struct RemoteSigning {
    pub url: String,
    pub tls: hub_signer::ClientTls,
    pub timeout_ms: u64,
}

impl Settings {
    /// Fills what flags and environment left unset from the file, then the defaults.
    pub fn resolve(mut self) -> Result<Resolved, String> {
        if let Some(path) = self.config.clone() {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("--config {}: {e}", path.display()))?;
            let mut file: Settings = toml::from_str(&text).map_err(|e| format!("--config {}: {e}", path.display()))?;
            take_missing!(
                self,
                file,
                data_dir,
                database,
                node,
                salt_file,
                grpc_listen,
                http_listen,
                devnet_listen,
                devnet_milestone_interval_ms,
                monitor_interval_ms,
                sweep_interval_ms,
                attachment_interval_ms,
                pow,
                mwm,
                sweep_max_deposits,
                sweep_max_withdrawals,
                fetch_transaction_messages,
                address_pool_size,
                address_pool_interval_ms,
                argon2_mode,
                argon2_t_cost,
                argon2_m_cost_kib,
                argon2_parallelism,
                max_concurrent_argon2,
                key_security_level,
                node_timeout_ms,
                signing,
                signer_url,
                signer_ca,
                signer_cert,
                signer_key,
                signer_timeout_ms,
                sign_bundle_key_file,
                recover_funds,
                recover_funds_candidates,
                get_seed_for_address,
                get_seed_for_uuid
            );
        }
        let signing = self.signing()?;
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("hub-data"));
        let database = self
            .database
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("hub.sqlite").display()));
        let argon2 = argon2_params(
            self.argon2_mode.as_deref(),
            self.argon2_t_cost,
            self.argon2_m_cost_kib,
            self.argon2_parallelism,
        )?;
        let security = security_level(self.key_security_level)?;
        let node = self.node.filter(|n| !n.is_empty());
        let sensitive = hub_core::SensitiveConfig {
            sign_bundle: self.sign_bundle_key_file.as_deref().map(sign_bundle_key).transpose()?,
            recover_funds: self.recover_funds.unwrap_or(false),
            recovery_candidates: match self
                .recover_funds_candidates
                .unwrap_or(hub_core::sensitive::DEFAULT_RECOVERY_CANDIDATES)
            {
                n @ 1..=100_000_000 => n,
                other => {
                    return Err(format!(
                        "--recover-funds-candidates: must be between 1 and 100000000, got {other}"
                    ))
                }
            },
            seed_for_address: self.get_seed_for_address.unwrap_or(false),
            seed_for_uuid: self.get_seed_for_uuid.unwrap_or(false),
        };
        Ok(Resolved {
            data_dir,
            database,
            node,
            salt_file: self.salt_file,
            grpc_listen: self
                .grpc_listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 50051))),
            http_listen: self
                .http_listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 50052))),
            devnet_listen: self
                .devnet_listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 14265))),
            devnet_milestone_interval_ms: self.devnet_milestone_interval_ms.unwrap_or(5_000),
            monitor_interval_ms: self.monitor_interval_ms.unwrap_or(10_000),
            sweep_interval_ms: self.sweep_interval_ms.unwrap_or(60_000),
            attachment_interval_ms: self.attachment_interval_ms.unwrap_or(30_000),
            pow: match self.pow.as_deref() {
                None | Some("local") => hub_core::attacher::PowMode::Local,
                Some("remote") => hub_core::attacher::PowMode::Remote,
                Some(other) => return Err(format!("--pow: must be `local` or `remote`, got {other:?}")),
            },
            mwm: match self.mwm.unwrap_or(9) {
                mwm @ 1..=81 => mwm,
                other => return Err(format!("--mwm: must be between 1 and 81, got {other}")),
            },
            sweep_max_deposits: positive("--sweep-max-deposits", self.sweep_max_deposits.unwrap_or(5))?,
            sweep_max_withdrawals: positive("--sweep-max-withdrawals", self.sweep_max_withdrawals.unwrap_or(7))?,
            fetch_transaction_messages: self.fetch_transaction_messages.unwrap_or(false),
            address_pool_size: self.address_pool_size.unwrap_or(20),
            address_pool_interval_ms: self.address_pool_interval_ms.unwrap_or(2_000),
            argon2,
            max_concurrent_argon2: max_concurrent_argon2(self.max_concurrent_argon2),
            security,
            node_timeout_ms: self.node_timeout_ms.unwrap_or(30_000),
            signing,
            sensitive,
        })
    }

    /// `--signing` and the `--signer-*` settings it needs.
    fn signing(&self) -> Result<Signing, String> {
        let remote_settings = [
            ("--signer-url", self.signer_url.is_some()),
            ("--signer-ca", self.signer_ca.is_some()),
            ("--signer-cert", self.signer_cert.is_some()),
            ("--signer-key", self.signer_key.is_some()),
            ("--signer-timeout-ms", self.signer_timeout_ms.is_some()),
        ];
        match self.signing.as_deref() {
            None | Some("local") => match remote_settings.iter().find(|(_, set)| *set) {
                Some((flag, _)) => Err(format!(
                    "{flag}: only used with --signing remote, but signing is local; set --signing remote or remove it"
                )),
                None => Ok(Signing::Local),
            },
            Some("remote") => {
                if self.salt_file.is_some() {
                    let why = "the signing server holds the salt; keep it off Hub's machine";
                    return Err(format!("--salt-file: not used with --signing remote ({why})"));
                }
                let required = |flag: &str, env: &str| format!("{flag} (or {env}): required with --signing remote");
                let path =
                    |value: &Option<PathBuf>, flag: &str, env: &str| value.clone().ok_or_else(|| required(flag, env));
                let url = self
                    .signer_url
                    .clone()
                    .ok_or_else(|| required("--signer-url", "HUB_SIGNER_URL"))?;
                if !url.starts_with("https://") {
                    return Err(format!(
                        "--signer-url: must start with https:// (the signing server only speaks mutual TLS), got {url:?}"
                    ));
                }
                Ok(Signing::Remote(RemoteSigning {
                    url,
                    tls: hub_signer::ClientTls {
                        ca: path(&self.signer_ca, "--signer-ca", "HUB_SIGNER_CA")?,
                        cert: path(&self.signer_cert, "--signer-cert", "HUB_SIGNER_CERT")?,
                        key: path(&self.signer_key, "--signer-key", "HUB_SIGNER_KEY")?,
                    },
                    timeout_ms: match self.signer_timeout_ms.unwrap_or(30_000) {
                        0 => return Err("--signer-timeout-ms: must be more than 0".into()),
                        ms => ms,
                    },
                }))
            }
            Some(other) => Err(format!("--signing: must be `local` or `remote`, got {other:?}")),
        }
    }
}

/// Argon2 parameters from the `--argon2-*` settings, defaults filled in and
/// checked (shared by `hub serve` and `hub signer serve`).
pub(crate) fn argon2_params(
    mode: Option<&str>,
    t_cost: Option<u32>,
    m_cost_kib: Option<u32>,
    parallelism: Option<u32>,
) -> Result<Argon2Params, String> {
    let defaults = Argon2Params::default();
    let argon2 = Argon2Params {
        mode: match mode {
            None => defaults.mode,
            Some(mode) => mode
                .parse::<Argon2Mode>()
                .map_err(|e| e.for_field("--argon2-mode").to_string())?,
        },
        t_cost: t_cost.unwrap_or(defaults.t_cost),
        m_cost_kib: m_cost_kib.unwrap_or(defaults.m_cost_kib),
        parallelism: parallelism.unwrap_or(defaults.parallelism),
    };
    argon2.validate().map_err(|e| e.to_string())?;
    Ok(argon2)
}

/// The SignBundle HMAC key in `path` (see `read_secret_file`).
pub(crate) fn sign_bundle_key(path: &std::path::Path) -> Result<hub_core::AuthKey, String> {
    let bytes = crate::serve::read_secret_file(path, "--sign-bundle-key-file")?;
    hub_core::AuthKey::new(bytes.to_vec()).map_err(|e| format!("--sign-bundle-key-file {}: {e}", path.display()))
}

/// `--key-security-level`, default 2.
pub(crate) fn security_level(level: Option<u8>) -> Result<SecurityLevel, String> {
    SecurityLevel::try_from(level.unwrap_or(2)).map_err(|e| e.for_field("--key-security-level").to_string())
}

/// `--max-concurrent-argon2`, default 2, at least 1.
pub(crate) fn max_concurrent_argon2(value: Option<usize>) -> usize {
    value.unwrap_or(2).max(1)
}

fn positive(flag: &str, value: i64) -> Result<i64, String> {
    if (1..=1000).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{flag}: must be between 1 and 1000, got {value}"))
    }
}

/// The database URL without its password, for printing.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://hub:secret@db:5432/hub"),
            "postgres://hub:***@db:5432/hub"
        );
        assert_eq!(redact_url("postgres://hub@db/hub"), "postgres://hub@db/hub");
        assert_eq!(redact_url("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
    }

    #[test]
    fn file_fills_what_flags_leave_unset() {
        let dir = std::env::temp_dir().join(format!("hub-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hub.toml");
        std::fs::write(
            &file,
            "monitor-interval-ms = 7\ngrpc-listen = \"127.0.0.1:6000\"\nnode = [\"http://a:14265\"]\n",
        )
        .unwrap();
        let settings = Settings {
            config: Some(file.clone()),
            monitor_interval_ms: Some(9),
            ..Settings::default()
        };
        let resolved = settings.resolve().unwrap();
        assert_eq!(resolved.monitor_interval_ms, 9, "flags win");
        assert_eq!(resolved.grpc_listen.port(), 6000, "the file fills the rest");
        assert_eq!(resolved.node, Some(vec!["http://a:14265".to_string()]));
        std::fs::write(&file, "no-such-setting = 1\n").unwrap();
        let bad = Settings {
            config: Some(file),
            ..Settings::default()
        };
        assert!(bad.resolve().unwrap_err().contains("no-such-setting"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = Settings {
            key_security_level: Some(4),
            ..Settings::default()
        };
        assert!(bad.resolve().unwrap_err().contains("--key-security-level"));
        let bad = Settings {
            argon2_mode: Some("x".into()),
            ..Settings::default()
        };
        assert!(bad.resolve().unwrap_err().contains("--argon2-mode"));
    }

    #[test]
    fn remote_signing_needs_its_settings_and_no_salt() {
        let remote = || Settings {
            signing: Some("remote".into()),
            signer_url: Some("https://signer:50060".into()),
            signer_ca: Some("ca.pem".into()),
            signer_cert: Some("client.pem".into()),
            signer_key: Some("client-key.pem".into()),
            ..Settings::default()
        };
        assert!(matches!(remote().resolve().unwrap().signing, Signing::Remote(_)));
        assert!(matches!(Settings::default().resolve().unwrap().signing, Signing::Local));
        let missing = Settings {
            signer_key: None,
            ..remote()
        };
        assert!(missing.resolve().unwrap_err().contains("--signer-key"));
        let plain = Settings {
            signer_url: Some("http://signer:50060".into()),
            ..remote()
        };
        assert!(plain.resolve().unwrap_err().contains("https://"));
        let salted = Settings {
            salt_file: Some("salt".into()),
            ..remote()
        };
        assert!(salted.resolve().unwrap_err().contains("--salt-file"));
        let stray = Settings {
            signing: None,
            ..remote()
        };
        assert!(stray.resolve().unwrap_err().contains("--signer-url"));
        let unknown = Settings {
            signing: Some("hsm".into()),
            ..remote()
        };
        assert!(unknown.resolve().unwrap_err().contains("--signing"));
    }
}
