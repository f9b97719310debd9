//! `hub util …`: operator tools over the protocol primitives.
//!
//! They let an operator derive a seed from a seed UUID and the salt (to
//! recover cold-storage funds outside Hub), derive addresses, add or check
//! checksums, do proof of work on a transaction and check a bundle, without
//! a running Hub. Each command is a function of (arguments, stdin, stdout) so
//! it can be tested directly.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use clap::Subcommand;
use hub_protocol::address::ChecksumPolicy;
use hub_protocol::attach::{proof_of_work, Cancel};
use hub_protocol::seed::derive_seed;
use hub_protocol::validate::{validate, Options};
use hub_protocol::{wots, Address, Argon2Mode, Argon2Params, SecurityLevel, Seed, SeedUuid, Transaction};
use zeroize::Zeroizing;

/// What `hub util` can do.
#[derive(Subcommand)]
pub enum UtilCommand {
    /// Derive the 81-tryte seed of a seed UUID under the operator's salt.
    Seed {
        /// The 64-character seed UUID (A-Z a-z 0-9 + /).
        #[arg(long)]
        uuid: String,
        /// File holding the salt (whole content; one trailing newline is ignored).
        #[arg(long)]
        salt_file: PathBuf,
        /// Argon2 variant: `id` (default) or `i` (deployments before mid-2018).
        #[arg(long, default_value = "id")]
        argon2_mode: String,
        /// Argon2 iterations.
        #[arg(long, default_value_t = Argon2Params::default().t_cost)]
        t_cost: u32,
        /// Argon2 memory in KiB.
        #[arg(long, default_value_t = Argon2Params::default().m_cost_kib)]
        m_cost_kib: u32,
        /// Argon2 lanes.
        #[arg(long, default_value_t = Argon2Params::default().parallelism)]
        parallelism: u32,
    },
    /// Derive the address of the seed read from stdin.
    Address {
        /// Security level, 1 to 3.
        #[arg(long)]
        security: String,
        /// Key index (Hub uses 0).
        #[arg(long)]
        index: u64,
        /// Print the 90-tryte form with checksum.
        #[arg(long)]
        checksum: bool,
    },
    /// Print an 81-tryte address with its 9-tryte checksum appended.
    Checksum {
        /// The address (81 trytes, or 90 with a checksum to re-check).
        address: String,
    },
    /// Say whether an address is well formed and whether its checksum (if given) is right.
    ValidateAddress {
        /// The address, 81 or 90 trytes.
        address: String,
    },
    /// Find a nonce for the 2673-tryte transaction read from stdin.
    Pow {
        /// Minimum weight magnitude: trailing zero trits the hash must have.
        #[arg(long)]
        mwm: u8,
        /// Threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Check the transactions read from stdin (one per line, any order) as one bundle.
    ValidateBundle {
        /// Also require proof of work of this weight on every transaction.
        #[arg(long)]
        mwm: Option<u8>,
    },
    /// Print the SignBundle authentication token for a bundle hash and a
    /// deposit address: hex(HMAC-SHA256(key, bundleHash ‖ address)).
    SignBundleToken {
        /// File holding the key Hub was given with --sign-bundle-key-file.
        #[arg(long)]
        key_file: PathBuf,
        /// The bundle hash to be signed (81 trytes).
        #[arg(long)]
        bundle_hash: String,
        /// The swept deposit address whose key signs (81 trytes).
        #[arg(long)]
        address: String,
    },
    /// Measure the hot paths and print figures.
    Bench {
        /// Seconds to spend on each figure.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
}

/// Runs one command.
pub fn run(command: UtilCommand, stdin: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), String> {
    match command {
        UtilCommand::Seed {
            uuid,
            salt_file,
            argon2_mode,
            t_cost,
            m_cost_kib,
            parallelism,
        } => {
            let uuid = SeedUuid::parse(&uuid).map_err(|e| e.for_field("--uuid").to_string())?;
            let mode: Argon2Mode = argon2_mode
                .parse()
                .map_err(|e: hub_protocol::Error| e.for_field("--argon2-mode").to_string())?;
            let params = Argon2Params {
                mode,
                t_cost,
                m_cost_kib,
                parallelism,
            };
            params.validate().map_err(|e| e.to_string())?;
            let salt = crate::secrets::read_salt_file(&salt_file, "--salt-file")?;
            let seed = derive_seed(&uuid, &salt, &params).map_err(|e| e.to_string())?;
            writeln!(out, "{}", seed.expose_trytes()).map_err(io_error)
        }
        UtilCommand::Address {
            security,
            index,
            checksum,
        } => {
            let security: SecurityLevel = security
                .parse()
                .map_err(|e: hub_protocol::Error| e.for_field("--security").to_string())?;
            let seed = read_seed(stdin)?;
            let address = wots::address(&seed, index, security);
            let text = if checksum {
                address.with_checksum()
            } else {
                address.to_string()
            };
            writeln!(out, "{text}").map_err(io_error)
        }
        UtilCommand::Checksum { address } => {
            let address = Address::parse(address.trim(), ChecksumPolicy::Optional).map_err(|e| e.to_string())?;
            writeln!(out, "{}", address.with_checksum()).map_err(io_error)
        }
        UtilCommand::ValidateAddress { address } => validate_address(address.trim(), out),
        UtilCommand::Pow { mwm, threads } => {
            let tx = read_transactions(stdin)?;
            let [tx] = <[Transaction; 1]>::try_from(tx)
                .map_err(|v| format!("stdin: expected one transaction, got {}", v.len()))?;
            let mut tx = tx;
            proof_of_work(&mut tx, mwm, threads, &Cancel::default()).map_err(|e| e.to_string())?;
            writeln!(out, "{}", tx.to_trytes()).map_err(io_error)
        }
        UtilCommand::ValidateBundle { mwm } => {
            let txs = read_transactions(stdin)?;
            let report = validate(
                &txs,
                &Options {
                    min_weight_magnitude: mwm,
                },
            );
            if report.is_valid() {
                writeln!(out, "valid").map_err(io_error)
            } else {
                for violation in &report.violations {
                    writeln!(out, "{violation}").map_err(io_error)?;
                }
                Err(format!("bundle breaks {} rule(s)", report.violations.len()))
            }
        }
        UtilCommand::SignBundleToken {
            key_file,
            bundle_hash,
            address,
        } => {
            let key = crate::secrets::sign_bundle_key(&key_file)?;
            let hash = hub_protocol::Hash::from_trytes(bundle_hash.trim())
                .map_err(|e| e.for_field("--bundle-hash").to_string())?;
            let address = Address::parse(address.trim(), ChecksumPolicy::Without)
                .map_err(|e| e.for_field("--address").to_string())?;
            writeln!(out, "{}", key.token(&hash, &address)).map_err(io_error)
        }
        UtilCommand::Bench { seconds } => crate::bench::run(seconds, out),
    }
}

fn io_error(e: std::io::Error) -> String {
    format!("writing output: {e}")
}

fn read_seed(stdin: &mut dyn BufRead) -> Result<Seed, String> {
    let mut text = Zeroizing::new(String::new());
    stdin
        .take(1 << 16)
        .read_to_string(&mut text)
        .map_err(|e| format!("stdin: {e}"))?;
    Seed::from_trytes(text.trim()).map_err(|e| format!("stdin: {e}"))
}

/// Reads transactions, one per line; blank lines are skipped.
fn read_transactions(stdin: &mut dyn BufRead) -> Result<Vec<Transaction>, String> {
    let mut txs = Vec::new();
    for (number, line) in stdin.lines().enumerate() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        txs.push(Transaction::from_trytes(line).map_err(|e| format!("stdin line {}: {e}", number + 1))?);
    }
    if txs.is_empty() {
        return Err("stdin: no transactions".into());
    }
    Ok(txs)
}

fn validate_address(text: &str, out: &mut dyn Write) -> Result<(), String> {
    let address = Address::parse(text, ChecksumPolicy::Optional).map_err(|e| e.to_string())?;
    writeln!(out, "well formed: yes").map_err(io_error)?;
    if text.len() == Address::LEN + 9 {
        writeln!(out, "checksum: correct").map_err(io_error)?;
    } else {
        writeln!(out, "checksum: not given (it would be {})", address.checksum()).map_err(io_error)?;
    }
    if address.last_trit_is_zero() {
        writeln!(out, "last trit zero: yes").map_err(io_error)
    } else {
        writeln!(out, "last trit zero: no").map_err(io_error)?;
        Err("address: last trit is not zero, so it cannot hold value (Hub refuses to pay to it)".into())
    }
}
