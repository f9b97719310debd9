//! Keeping the devnet across restarts: its genesis, every stored
//! transaction and every milestone, as append-only text files in the data
//! directory.
//!
//! `genesis.txt` fixes the allocation (and the genesis time, the lower
//! bound of every timestamp, as a snapshot's time is) the first time; `transactions.log`
//! holds one transaction's trytes per line in arrival order;
//! `milestones.log` one `index hash` per line. Replaying them rebuilds the
//! same tangle, ledger and milestones. A line cut short by a crash at the
//! end of a file is dropped.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use hub_protocol::{wots, Address, Hash, SecurityLevel, Seed, Transaction};

/// The devnet's genesis: `addresses` addresses of `seed` (indexes 0..) share
/// `supply` tokens (the division remainder goes to index 0).
#[derive(Debug, Clone)]
pub struct Genesis {
    /// Faucet seed (a development secret, stored in clear in the data directory).
    pub seed: Seed,
    /// Security level of the faucet addresses.
    pub security: SecurityLevel,
    /// Number of funded faucet addresses.
    pub addresses: u32,
    /// Tokens in existence.
    pub supply: u64,
}

/// The well-known development seed of the default genesis.
pub const DEFAULT_GENESIS_SEED: &str =
    "DEVNET9GENESIS9SEED9FOR9HUB9DEVELOPMENT9AND9TESTS9NEVER9USE9IT9FOR9REAL9FUNDS9999";

impl Default for Genesis {
    /// The whole supply over 32 addresses of the default seed, security 2.
    fn default() -> Self {
        Self {
            seed: Seed::from_trytes(DEFAULT_GENESIS_SEED).expect("valid seed"),
            security: SecurityLevel::Medium,
            addresses: 32,
            supply: hub_protocol::SUPPLY as u64,
        }
    }
}

impl Genesis {
    /// The funded addresses and their balances.
    pub fn allocations(&self) -> Result<Vec<(Address, u64)>, String> {
        if self.addresses == 0 || self.addresses > 10_000 {
            return Err(format!("genesis addresses must be 1 to 10000, got {}", self.addresses));
        }
        if self.supply == 0 || self.supply > hub_protocol::SUPPLY as u64 {
            return Err(format!(
                "genesis supply must be 1 to {}, got {}",
                hub_protocol::SUPPLY,
                self.supply
            ));
        }
        let share = self.supply / u64::from(self.addresses);
        let extra = self.supply % u64::from(self.addresses);
        Ok((0..self.addresses)
            .map(|i| {
                let address = wots::address(&self.seed, u64::from(i), self.security);
                (address, share + if i == 0 { extra } else { 0 })
            })
            .collect())
    }

    fn to_text(&self) -> String {
        format!(
            "seed={}\nsecurity={}\naddresses={}\nsupply={}\n",
            self.seed.expose_trytes(),
            self.security,
            self.addresses,
            self.supply
        )
    }

    fn from_text(text: &str) -> Result<Self, String> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                .ok_or(format!("genesis.txt: missing `{name}`"))
        };
        Ok(Self {
            seed: Seed::from_trytes(field("seed")?).map_err(|e| format!("genesis.txt: {e}"))?,
            security: field("security")?.parse().map_err(|e| format!("genesis.txt: {e}"))?,
            addresses: field("addresses")?
                .parse()
                .map_err(|e| format!("genesis.txt: addresses: {e}"))?,
            supply: field("supply")?
                .parse()
                .map_err(|e| format!("genesis.txt: supply: {e}"))?,
        })
    }
}

/// The open append-only files.
pub struct Log {
    transactions: File,
    milestones: File,
}

/// What a data directory held.
pub struct Loaded {
    /// The files, open for appending.
    pub log: Log,
    /// Its genesis (the configured one if the directory was new).
    pub genesis: Genesis,
    /// When the genesis was made, s since the epoch (for directories from
    /// before it was recorded: when `genesis.txt` was last written).
    pub genesis_time_s: u64,
    /// Stored transactions in arrival order.
    pub transactions: Vec<Transaction>,
    /// Milestone hashes, index 1 first.
    pub milestones: Vec<Hash>,
}

fn io(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

/// Reads complete lines; drops (and cuts off) a final line without newline.
fn read_lines(path: &Path) -> Result<Vec<String>, String> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let content = fs::read_to_string(path).map_err(|e| io(path, e))?;
    let complete = content.rfind('\n').map_or(0, |i| i + 1);
    if complete < content.len() {
        tracing::warn!(file = %path.display(), "dropping a line cut short by a crash");
        let file = OpenOptions::new().write(true).open(path).map_err(|e| io(path, e))?;
        file.set_len(complete as u64).map_err(|e| io(path, e))?;
    }
    Ok(content[..complete].lines().map(str::to_string).collect())
}

/// When `path` was last written, s since the epoch.
fn modified_s(path: &Path) -> Result<u64, String> {
    let modified = fs::metadata(path).and_then(|m| m.modified()).map_err(|e| io(path, e))?;
    Ok(modified
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()))
}

fn open_append(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io(path, e))
}

impl Log {
    /// Opens `dir`, creating it (with `genesis`) if new, and reads its history.
    pub fn open(dir: &Path, genesis: &Genesis) -> Result<Loaded, String> {
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let genesis_path = dir.join("genesis.txt");
        let (genesis, genesis_time_s) = if genesis_path.exists() {
            let text = fs::read_to_string(&genesis_path).map_err(|e| io(&genesis_path, e))?;
            let recorded = text
                .lines()
                .find_map(|l| l.strip_prefix("created="))
                .map(|t| t.parse::<u64>().map_err(|e| format!("genesis.txt: created: {e}")))
                .transpose()?;
            let time_s = match recorded {
                Some(time_s) => time_s,
                None => modified_s(&genesis_path)?,
            };
            (Genesis::from_text(&text)?, time_s)
        } else {
            let time_s = crate::node::now_ms() / 1000;
            let text = format!("{}created={time_s}\n", genesis.to_text());
            write_private(&genesis_path, text.as_bytes())?;
            (genesis.clone(), time_s)
        };
        let tx_path = dir.join("transactions.log");
        let transactions = read_lines(&tx_path)?
            .iter()
            .enumerate()
            .map(|(i, line)| {
                Transaction::from_trytes(line).map_err(|e| format!("{} line {}: {e}", tx_path.display(), i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ms_path = dir.join("milestones.log");
        let mut milestones = Vec::new();
        for (i, line) in read_lines(&ms_path)?.iter().enumerate() {
            let bad = || format!("{} line {}: expected `index hash`", ms_path.display(), i + 1);
            let (index, hash) = line.split_once(' ').ok_or_else(bad)?;
            if index.parse::<u64>().map_err(|_| bad())? != i as u64 + 1 {
                return Err(format!(
                    "{} line {}: milestone indexes must run 1, 2, …",
                    ms_path.display(),
                    i + 1
                ));
            }
            milestones.push(Hash::from_trytes(hash).map_err(|e| format!("{} line {}: {e}", ms_path.display(), i + 1))?);
        }
        Ok(Loaded {
            log: Log {
                transactions: open_append(&tx_path)?,
                milestones: open_append(&ms_path)?,
            },
            genesis,
            genesis_time_s,
            transactions,
            milestones,
        })
    }

    /// Appends transactions and syncs them to disk.
    pub fn append_transactions<'a>(&mut self, txs: impl Iterator<Item = &'a Transaction>) -> Result<(), String> {
        let mut text = String::new();
        for tx in txs {
            text.push_str(&tx.to_trytes());
            text.push('\n');
        }
        self.transactions
            .write_all(text.as_bytes())
            .and_then(|()| self.transactions.sync_data())
            .map_err(|e| format!("transactions.log: {e}"))
    }

    /// Appends a milestone and syncs it to disk.
    pub fn append_milestone(&mut self, index: u64, hash: &Hash) -> Result<(), String> {
        writeln!(self.milestones, "{index} {hash}")
            .and_then(|()| self.milestones.sync_data())
            .map_err(|e| format!("milestones.log: {e}"))
    }
}

fn write_private(path: &Path, content: &[u8]) -> Result<(), String> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| io(path, e))?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|e| io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_text_round_trips_and_splits_the_supply() {
        let g = Genesis {
            addresses: 3,
            supply: 10,
            ..Genesis::default()
        };
        let back = Genesis::from_text(&g.to_text()).unwrap();
        assert_eq!(back.seed, g.seed);
        assert_eq!(
            (back.addresses, back.supply, back.security),
            (3, 10, SecurityLevel::Medium)
        );
        let allocations = g.allocations().unwrap();
        assert_eq!(allocations.iter().map(|(_, b)| b).collect::<Vec<_>>(), vec![&4, &3, &3]);
        assert!(Genesis {
            addresses: 0,
            ..g.clone()
        }
        .allocations()
        .is_err());
        assert!(Genesis::from_text("seed=ABC").is_err());
    }

    #[test]
    fn a_line_cut_short_is_dropped() {
        let dir = std::env::temp_dir().join(format!("devnet-persist-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("milestones.log");
        fs::write(&path, "1 AAA\n2 BB").unwrap();
        assert_eq!(read_lines(&path).unwrap(), vec!["1 AAA".to_string()]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "1 AAA\n");
        let _ = fs::remove_dir_all(&dir);
    }
}
