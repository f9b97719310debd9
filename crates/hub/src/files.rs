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

/// Creates the data directory readable by Hub's user only (it may hold the
/// development salt and the SQLite database).
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("data directory {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("data directory {}: {e}", dir.display()))?;
    }
    Ok(())
}
