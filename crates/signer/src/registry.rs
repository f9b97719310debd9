//! The signing server's memory of which key signed which bundle.
//!
//! A WOTS key that signs two different bundle hashes leaks enough of itself
//! for anyone to forge a third, so the signing server lets each seed UUID
//! sign exactly one bundle hash, ever. The original server kept no such
//! record; Hub's database did, which a compromised or buggy Hub could skip.
//! Here the record is the signer's own: an append-only text file, one
//! `uuid bundle_hash` line per key, fsynced before any signature leaves the
//! process. Asking again for the same hash is answered again (so retries
//! work); a different hash is refused.
//!
//! A crash mid-append leaves a torn last line without its newline. That
//! line's signature was never returned, so it is dropped on load. Any other
//! malformed or contradictory line means the file was damaged, and the
//! signer refuses to start rather than guess. The file is locked while open,
//! so two signers cannot share one registry and both sign.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hub_protocol::{Hash, SeedUuid};

/// What [`Registry::record`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The key had not signed before; the pair is now recorded durably.
    First,
    /// The key already signed this same hash: signing again reveals nothing new.
    Repeated,
    /// The key already signed a different hash; nothing was recorded.
    Conflict,
}

/// Why the registry cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Reading, writing or syncing the file failed.
    #[error("signed-key registry {path}: {reason}")]
    Io {
        /// The registry file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The file holds a line that cannot be right.
    #[error(
        "signed-key registry {path} is corrupt at line {line}: {reason}; refusing to start (restore it from a backup)"
    )]
    Corrupt {
        /// The registry file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// Another process holds the registry.
    #[error("signed-key registry {path} is in use by another signing server (one registry, one signer)")]
    Locked {
        /// The registry file.
        path: String,
    },
    /// An earlier write failed half-way; the file may end in a partial line.
    #[error("signed-key registry {path}: an earlier write failed; restart the signing server")]
    Poisoned {
        /// The registry file.
        path: String,
    },
}

/// The persistent set of (seed UUID, bundle hash) pairs this signer has signed.
pub struct Registry {
    path: PathBuf,
    file: File,
    signed: HashMap<SeedUuid, Hash>,
    poisoned: bool,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("path", &self.path)
            .field("entries", &self.signed.len())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens (creating with mode 0600) and loads the registry at `path`,
    /// dropping a torn last line and locking the file against other signers.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        let io = |e: std::io::Error| RegistryError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let created = !path.exists();
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        lock_exclusive(&file).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                RegistryError::Locked {
                    path: path.display().to_string(),
                }
            } else {
                io(e)
            }
        })?;
        if created {
            file.sync_all().map_err(io)?;
            sync_parent(path).map_err(io)?;
        }
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(io)?;
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut signed = HashMap::new();
        for (index, line) in text[..complete].split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let corrupt = |reason: String| RegistryError::Corrupt {
                path: path.display().to_string(),
                line: index + 1,
                reason,
            };
            let line = std::str::from_utf8(line).map_err(|_| corrupt("not UTF-8 text".into()))?;
            let (uuid, hash) = line
                .split_once(' ')
                .ok_or_else(|| corrupt("expected `seed_uuid bundle_hash`".into()))?;
            let uuid = SeedUuid::parse(uuid).map_err(|e| corrupt(e.to_string()))?;
            let hash = Hash::from_trytes(hash).map_err(|e| corrupt(e.for_field("bundle hash").to_string()))?;
            match signed.get(&uuid) {
                Some(earlier) if *earlier != hash => {
                    // Debug shows a prefix only: the full UUID is a key's half.
                    return Err(corrupt(format!(
                        "seed uuid {uuid:?} is recorded with two different bundle hashes"
                    )));
                }
                Some(_) => {}
                None => {
                    signed.insert(uuid, hash);
                }
            }
        }
        if complete < text.len() {
            tracing::warn!(
                "signed-key registry {}: dropping a torn last line ({} bytes) left by an interrupted write",
                path.display(),
                text.len() - complete
            );
            file.set_len(complete as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            signed,
            poisoned: false,
        })
    }

    /// Number of keys that have signed.
    pub fn len(&self) -> usize {
        self.signed.len()
    }

    /// Whether no key has signed yet.
    pub fn is_empty(&self) -> bool {
        self.signed.is_empty()
    }

    /// Records that `uuid` signs `hash`, durably, unless it already signed
    /// something. Callers must hold the registry exclusively from this check
    /// until they act on its answer (it takes `&mut self`).
    pub fn record(&mut self, uuid: &SeedUuid, hash: &Hash) -> Result<Recorded, RegistryError> {
        match self.signed.get(uuid) {
            Some(earlier) if earlier == hash => return Ok(Recorded::Repeated),
            Some(_) => return Ok(Recorded::Conflict),
            None => {}
        }
        if self.poisoned {
            return Err(RegistryError::Poisoned {
                path: self.path.display().to_string(),
            });
        }
        let line = format!("{} {}\n", uuid.as_str(), hash.as_str());
        let written = self
            .file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // The file may now end in a partial line; appending after it
            // would corrupt the next entry. Stop recording until a restart
            // (whose load drops the torn line).
            self.poisoned = true;
            return Err(RegistryError::Io {
                path: self.path.display().to_string(),
                reason: e.to_string(),
            });
        }
        self.signed.insert(uuid.clone(), *hash);
        Ok(Recorded::First)
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for
    // the duration of the call; the lock lives as long as the descriptor.
    let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// Makes a new file's directory entry durable (the registry's and the audit log's).
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid(c: char) -> SeedUuid {
        SeedUuid::parse(&c.to_string().repeat(64)).unwrap()
    }

    fn hash(c: char) -> Hash {
        Hash::from_trytes(&c.to_string().repeat(81)).unwrap()
    }

    #[test]
    fn one_hash_per_key_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signed-uuids.log");
        {
            let mut registry = Registry::open(&path).unwrap();
            assert_eq!(registry.record(&uuid('a'), &hash('A')).unwrap(), Recorded::First);
            assert_eq!(registry.record(&uuid('a'), &hash('A')).unwrap(), Recorded::Repeated);
            assert_eq!(registry.record(&uuid('a'), &hash('B')).unwrap(), Recorded::Conflict);
            assert_eq!(registry.record(&uuid('b'), &hash('B')).unwrap(), Recorded::First);
            let error = Registry::open(&path).unwrap_err();
            assert!(matches!(error, RegistryError::Locked { .. }), "{error}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let mut registry = Registry::open(&path).unwrap();
        assert_eq!(registry.len(), 2);
        assert_eq!(registry.record(&uuid('a'), &hash('B')).unwrap(), Recorded::Conflict);
        assert_eq!(registry.record(&uuid('b'), &hash('B')).unwrap(), Recorded::Repeated);
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_later_appends_stay_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signed-uuids.log");
        let torn = format!(
            "{} {}\n{} {}",
            uuid('a'),
            hash('A'),
            uuid('b'),
            &hash('B').as_str()[..40]
        );
        std::fs::write(&path, torn).unwrap();
        {
            let mut registry = Registry::open(&path).unwrap();
            assert_eq!(registry.len(), 1);
            assert_eq!(registry.record(&uuid('b'), &hash('C')).unwrap(), Recorded::First);
        }
        let registry = Registry::open(&path).unwrap();
        assert_eq!(registry.len(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn damage_is_fatal_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signed-uuids.log");
        let conflict = format!("{} {}\n{} {}\n", uuid('a'), hash('A'), uuid('a'), hash('B'));
        std::fs::write(&path, conflict).unwrap();
        let error = Registry::open(&path).unwrap_err().to_string();
        assert!(
            error.contains("line 2") && error.contains("two different bundle hashes"),
            "{error}"
        );
        assert!(
            !error.contains(uuid('a').as_str()),
            "the full seed UUID is never in an error: {error}"
        );
        std::fs::write(&path, format!("{} {}\ngarbage\n", uuid('a'), hash('A'))).unwrap();
        let error = Registry::open(&path).unwrap_err().to_string();
        assert!(error.contains("line 2") && error.contains("corrupt"), "{error}");
    }
}
