//! `hub serve` and `hub admin` settings, each declared once.
//!
//! One field of [`Settings`] is one setting: its doc comment is the help,
//! its `#[arg]` gives the flag (`--name`), the environment variable
//! (`HUB_…`) and the default (`hub serve --help` prints it), and its flag
//! name is its key in the `--config` TOML file. Flags override the
//! environment, which overrides the file, which overrides the defaults:
//! clap layers the first and the last, [`GivenSettings`] puts the file in
//! between. [`GivenSettings::resolve`] then checks the values (errors name
//! the flag) and builds what the commands need. Defaults that the library
//! crates already define are taken from them rather than written again.
//! Secrets are never values here, only the files holding them (see
//! `secrets`).

use std::collections::BTreeSet;
use std::fmt::Display;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args, Command, FromArgMatches, ValueEnum};
use hub_core::attacher::{AttachConfig, PowMode};
use hub_core::monitor::MonitorConfig;
use hub_core::sweeper::SweepConfig;
use hub_core::{Hub, SensitiveConfig};
use hub_devnet::DevnetConfig;
use hub_node::ClientConfig;
use hub_protocol::{Argon2Mode, Argon2Params, Salt, SecurityLevel};
use hub_signer::{LocalProvider, RemoteTimeouts};

use crate::listeners::{Access, AccessSettings, Listen};
use crate::secrets;

/// Everything `hub serve` can be told (and `hub admin`, to reach the same
/// database and derive the same addresses).
#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// TOML file with any of these settings, keys as the flag names (`grpc-listen = "127.0.0.1:50051"`).
    #[arg(long, env = "HUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for Hub's files (SQLite database, development salt, embedded devnet).
    #[arg(long, env = "HUB_DATA_DIR", default_value = "hub-data")]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://user:pass@host/db`. Unset: SQLite in the data
    /// directory.
    #[arg(long, env = "HUB_DATABASE")]
    pub database: Option<String>,
    /// IOTA node API URL(s), comma-separated or repeated. Unset: the embedded devnet.
    #[arg(long, env = "HUB_NODE", value_delimiter = ',')]
    pub node: Vec<String>,
    /// How many of the --node nodes must call a transaction confirmed before Hub credits a deposit,
    /// quarantines an address or marks a sweep confirmed (1 to the number of nodes). Any node saying an
    /// address is spent counts as spent.
    #[arg(long, env = "HUB_NODE_QUORUM", default_value_t = 1)]
    pub node_quorum: usize,
    /// File holding the Argon2 salt (more than 20 bytes; one trailing newline ignored). The environment
    /// variable HUB_SALT may hold the salt itself instead. Unset: a development salt generated into the
    /// data directory.
    #[arg(long, env = "HUB_SALT_FILE")]
    pub salt_file: Option<PathBuf>,
    /// gRPC listen address, or `off`. A non-loopback address needs TLS (see --tls-cert).
    #[arg(long, env = "HUB_GRPC_LISTEN", default_value = "127.0.0.1:50051")]
    pub grpc_listen: Listen,
    /// HTTP JSON listen address, or `off`. A non-loopback address needs TLS (see --tls-cert).
    #[arg(long, env = "HUB_HTTP_LISTEN", default_value = "127.0.0.1:50052")]
    pub http_listen: Listen,
    #[command(flatten)]
    pub access: AccessSettings,
    /// Listen address of the embedded devnet (when no --node is given).
    #[arg(long, env = "HUB_DEVNET_LISTEN", default_value_t = DevnetConfig::default().listen)]
    pub devnet_listen: SocketAddr,
    /// Milestone interval of the embedded devnet, ms (0 = on demand only).
    #[arg(long, env = "HUB_DEVNET_MILESTONE_INTERVAL_MS", default_value_t = DevnetConfig::default().milestone_interval_ms)]
    pub devnet_milestone_interval_ms: u64,
    /// Deposit monitor interval, ms (0 disables it).
    #[arg(long, env = "HUB_MONITOR_INTERVAL_MS", default_value_t = 10_000)]
    pub monitor_interval_ms: u64,
    /// Sweeper interval, ms (0 disables sweeps).
    #[arg(long, env = "HUB_SWEEP_INTERVAL_MS", default_value_t = 60_000)]
    pub sweep_interval_ms: u64,
    /// Attacher interval (attach, promote, reattach, confirm), ms (0 disables it).
    #[arg(long, env = "HUB_ATTACHMENT_INTERVAL_MS", default_value_t = 30_000)]
    pub attachment_interval_ms: u64,
    /// How often every node is asked whether it is synced (the
    /// `node.synced` / `node.unsynced` events), ms (0 disables it).
    #[arg(long, env = "HUB_NODE_CHECK_INTERVAL_MS", default_value_t = 10_000)]
    pub node_check_interval_ms: u64,
    /// Deliver webhooks to loopback, private and local addresses too (a
    /// receiver inside the exchange's own network). Off: only public
    /// addresses, checked again after every name resolution.
    #[arg(long, env = "HUB_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// The first webhook retry's delay, ms; each next one doubles, up to an hour.
    #[arg(long, env = "HUB_WEBHOOK_RETRY_BASE_MS", default_value_t = hub_core::WebhookPolicy::default().retry_base_ms)]
    pub webhook_retry_base_ms: u64,
    /// A webhook endpoint failing this long is disabled (with a
    /// `webhook.disabled` event), ms.
    #[arg(long, env = "HUB_WEBHOOK_DISABLE_AFTER_MS", default_value_t = hub_core::WebhookPolicy::default().disable_after_ms)]
    pub webhook_disable_after_ms: u64,
    /// Who does proof of work.
    #[arg(long, env = "HUB_POW", value_enum, default_value_t = AttachConfig::default().pow.into())]
    pub pow: PowChoice,
    /// Minimum weight magnitude of proof of work, 1–81.
    #[arg(long, env = "HUB_MWM", default_value_t = AttachConfig::default().mwm)]
    pub mwm: u8,
    /// Deposit addresses per sweep, 1–1000.
    #[arg(long, env = "HUB_SWEEP_MAX_DEPOSITS", default_value_t = SweepConfig::default().max_deposits)]
    pub sweep_max_deposits: i64,
    /// Withdrawals per sweep, 1–1000.
    #[arg(long, env = "HUB_SWEEP_MAX_WITHDRAWALS", default_value_t = SweepConfig::default().max_withdrawals)]
    pub sweep_max_withdrawals: i64,
    /// Keep the message of deposit transactions.
    #[arg(long, env = "HUB_FETCH_TRANSACTION_MESSAGES", action = ArgAction::Set,
          default_value_t = MonitorConfig::default().fetch_messages)]
    pub fetch_transaction_messages: bool,
    /// Pre-derived deposit addresses to keep ready (0 disables the pool).
    #[arg(long, env = "HUB_ADDRESS_POOL_SIZE", default_value_t = 20)]
    pub address_pool_size: usize,
    /// How often the address pool is topped up, ms.
    #[arg(long, env = "HUB_ADDRESS_POOL_INTERVAL_MS", default_value_t = 2_000)]
    pub address_pool_interval_ms: u64,
    #[command(flatten)]
    pub derivation: DerivationSettings,
    /// GetDepositAddress calls that may wait for or run an address derivation when the address pool is empty
    /// (at least 1); one more is refused at once, to retry later.
    #[arg(long, env = "HUB_DEPOSIT_DERIVATION_QUEUE_MAX", default_value_t = Hub::DEPOSIT_DERIVATION_QUEUE_MAX_DEFAULT)]
    pub deposit_derivation_queue_max: usize,
    /// Allow a PostgreSQL database on another host without TLS (no sslmode=require, verify-ca or verify-full in
    /// --database): its password and every row then cross the network in the clear.
    #[arg(long, env = "HUB_DATABASE_ALLOW_PLAINTEXT", action = ArgAction::Set, default_value_t = false)]
    pub database_allow_plaintext: bool,
    /// Timeout of one node request, ms (unless one of the two below applies).
    #[arg(long, env = "HUB_NODE_TIMEOUT_MS", default_value_t = ClientConfig::TIMEOUT_DEFAULT.as_millis() as u64)]
    pub node_timeout_ms: u64,
    /// Longest proof of work for one attachment, ms: one attachToTangle
    /// request (--pow remote), or the local search, then cancelled (--pow local).
    #[arg(long, env = "HUB_NODE_POW_TIMEOUT_MS",
          default_value_t = ClientConfig::POW_TIMEOUT_DEFAULT.as_millis() as u64)]
    pub node_pow_timeout_ms: u64,
    /// Timeout of one getTransactionsToApprove request (tip selection, which IRI gives up after 60 s), ms.
    #[arg(long, env = "HUB_NODE_TIP_SELECTION_TIMEOUT_MS",
          default_value_t = ClientConfig::TIP_SELECTION_TIMEOUT_DEFAULT.as_millis() as u64)]
    pub node_tip_selection_timeout_ms: u64,
    /// Who holds the salt and signs. With `remote`, Hub holds no salt and needs --signer-url, --signer-ca,
    /// --signer-cert and --signer-key.
    #[arg(long, env = "HUB_SIGNING", value_enum, default_value_t = SigningChoice::Local)]
    pub signing: SigningChoice,
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
    /// Timeout of one signing-server call, ms (each costs the signer an Argon2 derivation; with --signing
    /// remote).
    #[arg(long, env = "HUB_SIGNER_TIMEOUT_MS", default_value_t = RemoteTimeouts::default().request.as_millis() as u64)]
    pub signer_timeout_ms: u64,
    /// File holding the key (at least 32 bytes) SignBundle tokens are checked against: a token is
    /// hex(HMAC-SHA256(key, bundleHash ‖ address)), see `hub util sign-bundle-token`. Setting it enables
    /// SignBundle, which signs again with the key of an already-swept deposit address. Unset: SignBundle off.
    #[arg(long, env = "HUB_SIGN_BUNDLE_KEY_FILE")]
    pub sign_bundle_key_file: Option<PathBuf>,
    /// Enable RecoverFunds: pay funds that reached an already-swept deposit address to a payout address
    /// (the key signs a second time; nobody is credited).
    #[arg(long, env = "HUB_RECOVER_FUNDS", action = ArgAction::Set,
          default_value_t = SensitiveConfig::default().recover_funds)]
    pub recover_funds: bool,
    /// Bundle hashes RecoverFunds tries, to expose the reused key least; 1–100000000.
    #[arg(long, env = "HUB_RECOVER_FUNDS_CANDIDATES", default_value_t = SensitiveConfig::default().recovery_candidates)]
    pub recover_funds_candidates: u64,
    /// Enable GetSeedForAddress (hands out the seed of a user's deposit address).
    #[arg(long, env = "HUB_GET_SEED_FOR_ADDRESS", action = ArgAction::Set,
          default_value_t = SensitiveConfig::default().seed_for_address)]
    pub get_seed_for_address: bool,
    /// Enable GetSeedForUUID (hands out the seed of a seed UUID this Hub knows).
    #[arg(long, env = "HUB_GET_SEED_FOR_UUID", action = ArgAction::Set,
          default_value_t = SensitiveConfig::default().seed_for_uuid)]
    pub get_seed_for_uuid: bool,
}

/// How keys are derived: Argon2 over the salt and the seed UUID, then WOTS.
/// `hub serve` and `hub signer serve` both take these settings, and a Hub
/// and its signing server must agree on them.
#[derive(Args, Debug, Clone)]
pub struct DerivationSettings {
    /// Argon2 variant.
    #[arg(long, env = "HUB_ARGON2_MODE", value_enum, default_value_t = Argon2Params::default().mode.into())]
    pub argon2_mode: Argon2Choice,
    /// Argon2 iterations.
    #[arg(long, env = "HUB_ARGON2_T_COST", default_value_t = Argon2Params::default().t_cost)]
    pub argon2_t_cost: u32,
    /// Argon2 memory, KiB.
    #[arg(long, env = "HUB_ARGON2_M_COST_KIB", default_value_t = Argon2Params::default().m_cost_kib)]
    pub argon2_m_cost_kib: u32,
    /// Argon2 lanes.
    #[arg(long, env = "HUB_ARGON2_PARALLELISM", default_value_t = Argon2Params::default().parallelism)]
    pub argon2_parallelism: u32,
    /// Argon2 address derivations running at once (signing has one more slot of its own; each takes the Argon2
    /// memory; 0 counts as 1).
    #[arg(long, env = "HUB_MAX_CONCURRENT_ARGON2", default_value_t = 2)]
    pub max_concurrent_argon2: usize,
    /// WOTS security level of addresses, 1–3 (a Hub and its signing server must agree).
    #[arg(long, visible_alias = "security", env = "HUB_KEY_SECURITY_LEVEL",
          default_value_t = SecurityLevel::Medium.as_u8())]
    pub key_security_level: u8,
}

/// Declares the closed choice of a flag that mirrors a library enum variant
/// for variant, with conversions both ways (the library's default is then the
/// flag's default, and a variant added to one side is a compile error until
/// the other has it).
macro_rules! choice_mirroring {
    ($(#[$meta:meta])* $choice:ident => $library:ident { $($(#[$variant_meta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
        pub enum $choice {
            $($(#[$variant_meta])* $variant),+
        }

        impl From<$choice> for $library {
            fn from(choice: $choice) -> Self {
                match choice {
                    $($choice::$variant => Self::$variant),+
                }
            }
        }

        impl From<$library> for $choice {
            fn from(value: $library) -> Self {
                match value {
                    $($library::$variant => Self::$variant),+
                }
            }
        }
    };
}

choice_mirroring! {
    /// `--pow`: who does proof of work.
    PowChoice => PowMode {
        /// In-process.
        Local,
        /// The node's attachToTangle.
        Remote,
    }
}

choice_mirroring! {
    /// `--argon2-mode`: the Argon2 variant.
    Argon2Choice => Argon2Mode {
        /// argon2id, the default since mid-2018.
        #[value(alias = "argon2id")]
        Id,
        /// argon2i, deployments created before mid-2018.
        #[value(alias = "argon2i")]
        I,
    }
}

/// `--signing`: who holds the salt and signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SigningChoice {
    /// This process, with --salt-file or HUB_SALT.
    Local,
    /// A `hub signer serve` over mutual TLS.
    Remote,
}

/// The settings as given on the command line and in the environment, and
/// which of them were given there; `--config` and the checks are applied by
/// [`GivenSettings::resolve`].
#[derive(Debug, Clone)]
pub struct GivenSettings {
    settings: Settings,
    /// Ids of the settings a flag, the environment or the file set; the
    /// others hold their default.
    set: BTreeSet<String>,
}

impl FromArgMatches for GivenSettings {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self {
            settings: Settings::from_arg_matches(matches)?,
            set: given_ids(matches).collect(),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.settings.update_from_arg_matches(matches)?;
        self.set.extend(given_ids(matches));
        Ok(())
    }
}

/// The ids of the arguments a flag or the environment gave.
fn given_ids(matches: &ArgMatches) -> impl Iterator<Item = String> + '_ {
    matches
        .ids()
        .map(|id| id.as_str())
        .filter(|id| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        })
        .map(String::from)
}

impl Args for GivenSettings {
    fn augment_args(command: Command) -> Command {
        Settings::augment_args(command)
    }

    fn augment_args_for_update(command: Command) -> Command {
        Settings::augment_args_for_update(command)
    }
}

/// Settings with every value decided and checked.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The values, layered and checked.
    pub settings: Settings,
    /// `--database`, or SQLite in the data directory.
    pub database: String,
    pub derivation: Derivation,
    pub signing: Signing,
    pub sensitive: SensitiveConfig,
    /// Who may reach the API, and how much.
    pub access: Access,
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

/// Checked key-derivation settings.
#[derive(Debug, Clone, Copy)]
pub struct Derivation {
    pub argon2: Argon2Params,
    pub security: SecurityLevel,
    pub max_concurrent_argon2: usize,
}

impl GivenSettings {
    /// Fills what flags and environment left unset from the `--config` file,
    /// then checks everything.
    pub fn resolve(mut self) -> Result<Resolved, String> {
        if let Some(path) = self.settings.config.clone() {
            self.take_from_file(&path)
                .map_err(|e| format!("--config {}: {e}", path.display()))?;
        }
        let signing = self.signing()?;
        let settings = self.settings;
        let database = settings
            .database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", settings.data_dir.join("hub.sqlite").display()));
        let derivation = settings.derivation.resolve()?;
        let access = settings.access.resolve(settings.grpc_listen, settings.http_listen)?;
        let sensitive = SensitiveConfig {
            sign_bundle: settings
                .sign_bundle_key_file
                .as_deref()
                .map(secrets::sign_bundle_key)
                .transpose()?,
            recover_funds: settings.recover_funds,
            recovery_candidates: settings.recover_funds_candidates,
            seed_for_address: settings.get_seed_for_address,
            seed_for_uuid: settings.get_seed_for_uuid,
        };
        within(
            "--recover-funds-candidates",
            settings.recover_funds_candidates,
            1..=100_000_000,
        )?;
        // 27 trits of weight are past any real network's (mainnet: 14); more
        // would never finish on Hub's own proof of work.
        within("--mwm", settings.mwm, 1..=27)?;
        within("--node-quorum", settings.node_quorum, 1..=settings.node.len().max(1))?;
        within("--sweep-max-deposits", settings.sweep_max_deposits, 1..=1000)?;
        within("--sweep-max-withdrawals", settings.sweep_max_withdrawals, 1..=1000)?;
        if settings.deposit_derivation_queue_max == 0 {
            return Err("--deposit-derivation-queue-max: must be at least 1, got 0".into());
        }
        let node_timeouts = [
            ("--node-timeout-ms", settings.node_timeout_ms),
            ("--node-pow-timeout-ms", settings.node_pow_timeout_ms),
            (
                "--node-tip-selection-timeout-ms",
                settings.node_tip_selection_timeout_ms,
            ),
        ];
        if let Some((flag, _)) = node_timeouts.iter().find(|(_, ms)| *ms == 0) {
            return Err(format!("{flag}: must be more than 0"));
        }
        Ok(Resolved {
            settings,
            database,
            derivation,
            signing,
            sensitive,
            access,
        })
    }

    /// Takes from the TOML file at `path` the settings that no flag or
    /// environment variable set. Its values go through the same parsers as
    /// flags: each is passed as `--key=value` to the settings' command
    /// stripped of defaults and environment, so the matches hold only what
    /// the file says and updating from them changes only that.
    fn take_from_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let file: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let command = Settings::augment_args_for_update(Command::new("hub serve --config"))
            .no_binary_name(true)
            .disable_help_flag(true)
            .mut_args(|arg| arg.default_value(None).env(None));
        let mut flags = Vec::new();
        for (key, value) in &file {
            let id = command
                .get_arguments()
                .find(|arg| arg.get_long() == Some(key.as_str()) && key != "config")
                .map(|arg| arg.get_id().to_string())
                .ok_or_else(|| format!("unknown setting `{key}`"))?;
            let texts = toml_texts(value).ok_or_else(|| format!("`{key}`: not a string, number, boolean or array"))?;
            // Counts only where no flag or environment variable gave the setting.
            if self.set.insert(id) {
                flags.extend(texts.into_iter().map(|text| format!("--{key}={text}")));
            }
        }
        let matches = command.try_get_matches_from(flags).map_err(|e| one_line(&e))?;
        self.settings
            .update_from_arg_matches(&matches)
            .map_err(|e| one_line(&e))
    }

    /// `--signing` and the `--signer-*` settings it needs.
    fn signing(&self) -> Result<Signing, String> {
        let settings = &self.settings;
        match settings.signing {
            SigningChoice::Local => {
                let remote_only = [
                    "signer_url",
                    "signer_ca",
                    "signer_cert",
                    "signer_key",
                    "signer_timeout_ms",
                ];
                match remote_only.into_iter().find(|id| self.set.contains(*id)) {
                    Some(id) => Err(format!(
                        "--{}: only used with --signing remote, but signing is local; set --signing remote or remove it",
                        id.replace('_', "-")
                    )),
                    None => Ok(Signing::Local),
                }
            }
            SigningChoice::Remote => {
                if settings.salt_file.is_some() {
                    let why = "the signing server holds the salt; keep it off Hub's machine";
                    return Err(format!("--salt-file: not used with --signing remote ({why})"));
                }
                let required = |flag: &str, env: &str| format!("{flag} (or {env}): required with --signing remote");
                let path =
                    |value: &Option<PathBuf>, flag: &str, env: &str| value.clone().ok_or_else(|| required(flag, env));
                let url = settings
                    .signer_url
                    .clone()
                    .ok_or_else(|| required("--signer-url", "HUB_SIGNER_URL"))?;
                if !url.starts_with("https://") {
                    return Err(format!(
                        "--signer-url: must start with https:// (the signing server only speaks mutual TLS), got {:?}",
                        redact_url(&url)
                    ));
                }
                if settings.signer_timeout_ms == 0 {
                    return Err("--signer-timeout-ms: must be more than 0".into());
                }
                Ok(Signing::Remote(RemoteSigning {
                    url,
                    tls: hub_signer::ClientTls {
                        ca: path(&settings.signer_ca, "--signer-ca", "HUB_SIGNER_CA")?,
                        cert: path(&settings.signer_cert, "--signer-cert", "HUB_SIGNER_CERT")?,
                        key: path(&settings.signer_key, "--signer-key", "HUB_SIGNER_KEY")?,
                    },
                    timeout_ms: settings.signer_timeout_ms,
                }))
            }
        }
    }
}

impl DerivationSettings {
    /// The Argon2 parameters and security level, checked.
    pub fn resolve(&self) -> Result<Derivation, String> {
        let argon2 = Argon2Params {
            mode: self.argon2_mode.into(),
            t_cost: self.argon2_t_cost,
            m_cost_kib: self.argon2_m_cost_kib,
            parallelism: self.argon2_parallelism,
        };
        argon2.validate().map_err(|e| e.to_string())?;
        let security = SecurityLevel::try_from(self.key_security_level)
            .map_err(|e| e.for_field("--key-security-level").to_string())?;
        Ok(Derivation {
            argon2,
            security,
            max_concurrent_argon2: self.max_concurrent_argon2.max(1),
        })
    }
}

impl Derivation {
    /// A provider deriving keys in this process from `salt`.
    pub fn local_provider(&self, salt: Salt) -> Result<LocalProvider, String> {
        LocalProvider::new(salt, self.argon2, self.security, self.max_concurrent_argon2).map_err(|e| e.to_string())
    }
}

/// Refuses `value` outside `range`, naming `flag`.
pub(crate) fn within<T: PartialOrd + Display>(flag: &str, value: T, range: RangeInclusive<T>) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{flag}: must be between {} and {}, got {value}",
            range.start(),
            range.end()
        ))
    }
}

/// A file value as flag values: a scalar is one, an array of scalars one each.
fn toml_texts(value: &toml::Value) -> Option<Vec<String>> {
    let scalar = |value: &toml::Value| match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => Some(value.to_string()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => None,
    };
    match value {
        toml::Value::Array(items) => items.iter().map(scalar).collect(),
        value => scalar(value).map(|text| vec![text]),
    }
}

/// A clap error as one line, without its `error: ` prefix.
fn one_line(error: &clap::Error) -> String {
    let text = error.to_string();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    lines.join(" ").trim_start_matches("error: ").to_string()
}

/// A URL without its password, for printing (written once, in `hub_protocol`).
pub use hub_protocol::redact_url;

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings `hub serve ARGS` is given (and the environment, which sets no `HUB_…` here).
    fn given(args: &[&str]) -> Result<GivenSettings, String> {
        let command = GivenSettings::augment_args(Command::new("serve")).no_binary_name(true);
        let matches = command.try_get_matches_from(args).map_err(|e| e.to_string())?;
        GivenSettings::from_arg_matches(&matches).map_err(|e| e.to_string())
    }

    /// Goal: each node deadline is a setting defaulting to the client's, and none may be 0.
    #[test]
    fn node_timeouts_default_to_the_clients_and_are_never_zero() {
        let settings = given(&[]).unwrap().resolve().unwrap().settings;
        assert_eq!(settings.node_timeout_ms, 30_000);
        assert_eq!(settings.node_pow_timeout_ms, 120_000);
        assert_eq!(settings.node_tip_selection_timeout_ms, 70_000);
        let settings = given(&[
            "--node-pow-timeout-ms",
            "600000",
            "--node-tip-selection-timeout-ms",
            "90000",
        ])
        .unwrap()
        .resolve()
        .unwrap()
        .settings;
        assert_eq!(
            (settings.node_pow_timeout_ms, settings.node_tip_selection_timeout_ms),
            (600_000, 90_000)
        );
        for flag in [
            "--node-timeout-ms",
            "--node-pow-timeout-ms",
            "--node-tip-selection-timeout-ms",
        ] {
            let error = given(&[flag, "0"]).unwrap().resolve().unwrap_err();
            assert_eq!(error, format!("{flag}: must be more than 0"));
        }
    }

    #[test]
    fn public_listeners_need_tls_and_access_control() {
        let refused = |args: &[&str]| given(args).unwrap().resolve().unwrap_err();
        let error = refused(&["--grpc-listen", "0.0.0.0:50051"]);
        assert!(
            error.starts_with("--grpc-listen 0.0.0.0:50051: not a loopback address and TLS is off"),
            "{error}"
        );
        assert!(error.contains("--allow-plaintext-public"), "{error}");
        let error = refused(&[
            "--http-listen",
            "[::]:8080",
            "--allow-plaintext-public",
            "--auth",
            "off",
        ]);
        assert!(
            error.starts_with("--auth off: refused because --http-listen [::]:8080"),
            "{error}"
        );
        assert!(given(&["--grpc-listen", "0.0.0.0:50051", "--allow-plaintext-public"])
            .unwrap()
            .resolve()
            .is_ok());
        assert!(given(&["--auth", "off"]).unwrap().resolve().is_ok(), "loopback only");
        assert!(refused(&["--tls-cert", "c.pem"]).starts_with("--tls-cert: needs --tls-key"));
        assert!(refused(&["--tls-key", "k.pem"]).starts_with("--tls-key: needs --tls-cert"));
        assert!(refused(&["--tls-client-ca", "ca.pem"]).starts_with("--tls-client-ca: needs --tls-cert"));
        assert!(refused(&["--grpc-listen", "off", "--http-listen", "OFF"]).contains("both off"));
        assert!(refused(&["--http-allowed-origins", "https://a.example/path"])
            .starts_with("--http-allowed-origins: \"https://a.example/path\" must be scheme://host[:port]"));
        assert!(refused(&["--rate-limit-burst", "0"]).starts_with("--rate-limit-burst: must be between 1"));
        let resolved = given(&[
            "--grpc-listen",
            "off",
            "--http-allowed-origins",
            "https://ops.example.com,http://localhost:3000",
        ])
        .unwrap()
        .resolve()
        .unwrap();
        assert_eq!(resolved.settings.grpc_listen, Listen::Off);
        assert_eq!(resolved.access.allowed_origins.len(), 2);
    }

    #[test]
    fn every_setting_is_well_declared() {
        let command = Settings::augment_args(Command::new("serve"));
        command.clone().debug_assert();
        for arg in command.get_arguments() {
            let (long, env) = (arg.get_long().unwrap(), arg.get_env().unwrap().to_str().unwrap());
            assert_eq!(
                env,
                format!("HUB_{}", long.to_uppercase().replace('-', "_")),
                "--{long}"
            );
        }
    }

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
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(
            &file,
            "monitor-interval-ms = 7\ngrpc-listen = \"127.0.0.1:6000\"\nnode = [\"http://a:14265\"]\npow = \"remote\"\n",
        )
        .unwrap();
        let config = file.to_str().unwrap();
        let resolved = given(&["--config", config, "--monitor-interval-ms", "9"])
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(resolved.settings.monitor_interval_ms, 9, "flags win");
        assert_eq!(
            resolved.settings.grpc_listen,
            "127.0.0.1:6000".parse().unwrap(),
            "the file fills the rest"
        );
        assert_eq!(resolved.settings.node, vec!["http://a:14265".to_string()]);
        assert_eq!(resolved.settings.pow, PowChoice::Remote);
        assert_eq!(
            resolved.settings.http_listen,
            "127.0.0.1:50052".parse().unwrap(),
            "defaults fill what the file leaves"
        );
        std::fs::write(&file, "no-such-setting = 1\n").unwrap();
        assert!(given(&["--config", config])
            .unwrap()
            .resolve()
            .unwrap_err()
            .contains("no-such-setting"));
        std::fs::write(&file, "pow = \"gpu\"\n").unwrap();
        let error = given(&["--config", config]).unwrap().resolve().unwrap_err();
        assert!(error.contains("--pow") && error.contains(config), "{error}");
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = given(&["--key-security-level", "4"]).unwrap();
        assert!(bad.resolve().unwrap_err().contains("--key-security-level"));
        assert!(given(&["--argon2-mode", "x"]).unwrap_err().contains("--argon2-mode"));
        for mwm in ["0", "28"] {
            let bad = given(&["--mwm", mwm]).unwrap();
            assert!(bad.resolve().unwrap_err().starts_with("--mwm: "), "{mwm}");
        }
        assert!(given(&["--mwm", "27"]).unwrap().resolve().is_ok());
        let nodes = ["--node", "http://a:14265,http://b:14265"];
        assert!(given(&[nodes[0], nodes[1], "--node-quorum", "2"])
            .unwrap()
            .resolve()
            .is_ok());
        for quorum in ["0", "3"] {
            let bad = given(&[nodes[0], nodes[1], "--node-quorum", quorum]).unwrap();
            assert!(bad.resolve().unwrap_err().starts_with("--node-quorum: "), "{quorum}");
        }
        let bad = given(&["--node-quorum", "2"]).unwrap();
        assert!(
            bad.resolve().unwrap_err().starts_with("--node-quorum: "),
            "the devnet is one node"
        );
    }

    /// `--signing remote` with every setting it needs, `changes` applied
    /// (`None` leaves the flag out).
    fn remote(changes: &[(&str, Option<&str>)]) -> Result<Resolved, String> {
        let mut flags = vec![
            ("--signing", Some("remote")),
            ("--signer-url", Some("https://signer:50060")),
            ("--signer-ca", Some("ca.pem")),
            ("--signer-cert", Some("client.pem")),
            ("--signer-key", Some("client-key.pem")),
        ];
        for &(flag, value) in changes {
            match flags.iter_mut().find(|(known, _)| *known == flag) {
                Some(entry) => entry.1 = value,
                None => flags.push((flag, value)),
            }
        }
        let args: Vec<&str> = flags
            .iter()
            .filter_map(|&(flag, value)| value.map(|value| [flag, value]))
            .flatten()
            .collect();
        given(&args)?.resolve()
    }

    #[test]
    fn remote_signing_needs_its_settings_and_no_salt() {
        assert!(matches!(remote(&[]).unwrap().signing, Signing::Remote(_)));
        assert!(matches!(given(&[]).unwrap().resolve().unwrap().signing, Signing::Local));
        let missing = remote(&[("--signer-key", None)]);
        assert!(missing.unwrap_err().contains("--signer-key"));
        let plain = remote(&[("--signer-url", Some("http://signer:50060"))]);
        assert!(plain.unwrap_err().contains("https://"));
        let salted = remote(&[("--salt-file", Some("salt"))]);
        assert!(salted.unwrap_err().contains("--salt-file"));
        let stray = remote(&[("--signing", None)]);
        assert!(stray.unwrap_err().contains("--signer-url"));
        let stray_timeout = given(&["--signer-timeout-ms", "5"]).unwrap().resolve();
        assert!(stray_timeout.unwrap_err().contains("--signer-timeout-ms"));
        let unknown = remote(&[("--signing", Some("hsm"))]);
        assert!(unknown.unwrap_err().contains("--signing"));
    }
}
