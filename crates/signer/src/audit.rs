//! The signing server's audit log.
//!
//! Every request that signs, exports a seed or is refused leaves one line in
//! an append-only file (`audit.log`, mode 0600), written and synced before
//! the answer goes out, so an operator can reconstruct who obtained which
//! signature and who tried something they should not. A line names the
//! time (RFC 3339, UTC), the RPC, the client (its certificate's common name
//! and its address), the seed UUID and bundle hash when valid, and the
//! outcome. It never holds a seed, the salt or a signature.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What happened to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A key signed for the first time.
    Signed,
    /// A key signed the hash it had signed before (a retry).
    Repeated,
    /// The request was refused; the reason is the error returned to the client.
    Refused(String),
    /// A seed was exported.
    Exported,
    /// A seed export was refused because export is disabled.
    ExportRefused,
}

/// One line of the audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// The RPC, e.g. `GetSignatureForUUID`.
    pub rpc: &'static str,
    /// Who asked: certificate common name and peer address.
    pub client: &'a str,
    /// The seed UUID, when the request carried a valid one.
    pub uuid: Option<&'a str>,
    /// The bundle hash, when the request carried a valid one.
    pub bundle_hash: Option<&'a str>,
    /// What happened.
    pub outcome: Outcome,
}

/// Why the audit log could not be written.
#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {reason}")]
pub struct AuditError {
    path: String,
    reason: String,
}

/// The append-only audit file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens `path` for appending, creating it with mode 0600, its directory synced.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let failed = |e: std::io::Error| AuditError {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let file = options.open(path).map_err(failed)?;
        // The file's directory entry must survive a power cut like its lines.
        crate::registry::sync_parent(path).map_err(failed)?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Appends `entry` as one line and syncs it to disk.
    pub fn record(&self, entry: &AuditEntry<'_>) -> Result<(), AuditError> {
        let line = format_line(&timestamp(), entry);
        let error = |reason: String| AuditError {
            path: self.path.display().to_string(),
            reason,
        };
        let mut file = self
            .file
            .lock()
            .map_err(|_| error("an earlier write panicked".into()))?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| error(e.to_string()))
    }
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("unix-ms:{}", now.unix_timestamp_nanos() / 1_000_000))
}

/// One line, newline-terminated. Free text (client name, reason) is quoted
/// and escaped so it cannot forge or break lines.
fn format_line(timestamp: &str, entry: &AuditEntry<'_>) -> String {
    let outcome = match &entry.outcome {
        Outcome::Signed => "signed".to_string(),
        Outcome::Repeated => "repeated".to_string(),
        Outcome::Refused(reason) => format!("refused reason={reason:?}"),
        Outcome::Exported => "exported".to_string(),
        Outcome::ExportRefused => "export-refused reason=\"seed export is disabled\"".to_string(),
    };
    format!(
        "{timestamp} rpc={} client={:?} uuid={} bundle={} outcome={outcome}\n",
        entry.rpc,
        entry.client,
        entry.uuid.unwrap_or("-"),
        entry.bundle_hash.unwrap_or("-"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_single_and_escaped() {
        let entry = AuditEntry {
            rpc: "GetSignatureForUUID",
            client: "evil\nrpc=forged",
            uuid: None,
            bundle_hash: None,
            outcome: Outcome::Refused("uuid: bad \"x\"\n".into()),
        };
        let line = format_line("2024-01-01T00:00:00Z", &entry);
        assert_eq!(line.matches('\n').count(), 1);
        assert_eq!(
            line,
            "2024-01-01T00:00:00Z rpc=GetSignatureForUUID client=\"evil\\nrpc=forged\" uuid=- bundle=- \
             outcome=refused reason=\"uuid: bad \\\"x\\\"\\n\"\n"
        );
    }

    #[test]
    fn the_file_is_private_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        for _ in 0..2 {
            let log = AuditLog::open(&path).unwrap();
            log.record(&AuditEntry {
                rpc: "GetSeedForUUID",
                client: "hub",
                uuid: Some("u"),
                bundle_hash: None,
                outcome: Outcome::ExportRefused,
            })
            .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text
            .lines()
            .all(|l| l.contains("rpc=GetSeedForUUID") && l.contains("export-refused")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
