//! Files Hub writes that must survive: created new (never overwriting),
//! readable by Hub's user only, and on disk before Hub relies on them.

use std::io::Write;
use std::path::Path;

/// Creates `path` (which must not exist) with mode 0600, writes `text` and
/// a newline, and syncs the file and its directory to disk.
pub(crate) fn write_new_private_file(path: &Path, text: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let failed = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|dir| dir.sync_all()).map_err(failed)
}
