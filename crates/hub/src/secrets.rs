//! Reading Hub's secrets: the Argon2 salt and the SignBundle HMAC key.
//!
//! They live here, apart from the settings, because they follow stricter
//! rules. A secret never comes from a flag value (every user of the machine
//! sees command lines, and shells keep them in their history): only from a
//! file the settings name (`--salt-file`, `--sign-bundle-key-file`) or, for
//! the salt, the `HUB_SALT` environment variable. It is never logged or
//! printed: errors name the file or the variable, never the content. Its
//! bytes are zeroized when dropped ([`Zeroizing`] here, then [`Salt`] and
//! [`hub_core::AuthKey`]).
//!
//! `HUB_SALT` is taken out of the process environment as it is read
//! ([`take_env_salt`]), so no child process, and no library reading the
//! environment later, ever sees it; every command reads it before its async
//! runtime starts any thread (changing the environment while another thread
//! reads it is undefined behaviour in C). That does not erase it from
//! `/proc/<pid>/environ`, which shows the environment the process started
//! with to its user and to root for as long as it runs: prefer
//! `--salt-file`.

use std::io::Write;
use std::path::{Path, PathBuf};

use hub_protocol::Salt;
use rand::Rng;
use zeroize::Zeroizing;

/// The environment variable that may hold the salt itself.
const SALT_ENV: &str = "HUB_SALT";

/// What HUB_SALT held when [`take_env_salt`] took it out of the
/// environment; the only way to a salt from the environment, so that no
/// command can read it without removing it.
pub(crate) struct EnvSalt(Option<Salt>);

impl EnvSalt {
    /// Whether HUB_SALT was set (`hub serve --signing remote` refuses it:
    /// the signing server holds the salt).
    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

/// Reads HUB_SALT and removes it from the process environment, set or not,
/// valid or not. Call it before any thread starts (before the runtime).
pub(crate) fn take_env_salt() -> Result<EnvSalt, String> {
    let value = std::env::var_os(SALT_ENV);
    std::env::remove_var(SALT_ENV);
    let Some(value) = value else {
        return Ok(EnvSalt(None));
    };
    let text = value
        .into_string()
        .map_err(|_| format!("{SALT_ENV}: must be valid UTF-8 text"))?;
    let salt = Salt::new(text.into_bytes()).map_err(|e| format!("{SALT_ENV}: {e}"))?;
    Ok(EnvSalt(Some(salt)))
}

/// A secret kept in a file: its bytes, one trailing newline (LF or CRLF)
/// ignored. `what` names the setting in errors.
fn read_secret_file(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut bytes = Zeroizing::new(std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))?);
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    Ok(bytes)
}

/// The salt in a file (see [`read_secret_file`]); `what` names the setting in errors.
pub(crate) fn read_salt_file(path: &Path, what: &str) -> Result<Salt, String> {
    let bytes = read_secret_file(path, what)?;
    Salt::new(bytes.to_vec()).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// The SignBundle HMAC key in `path` (`--sign-bundle-key-file`).
pub(crate) fn sign_bundle_key(path: &Path) -> Result<hub_core::AuthKey, String> {
    let what = "--sign-bundle-key-file";
    let bytes = read_secret_file(path, what)?;
    hub_core::AuthKey::new(bytes.to_vec()).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// `hub serve`'s salt and where it came from: HUB_SALT, else `salt_file`,
/// else a development salt generated once into `data_dir` (with a loud
/// warning: whoever holds the data directory then holds every key).
pub(crate) fn serve_salt(env: EnvSalt, salt_file: Option<&Path>, data_dir: &Path) -> Result<(Salt, String), String> {
    if let Some(salt) = env.0 {
        return Ok((salt, format!("from the {SALT_ENV} environment variable")));
    }
    if let Some(path) = salt_file {
        return Ok((read_salt_file(path, "salt file")?, path.display().to_string()));
    }
    let path = dev_salt_file(data_dir)?;
    let salt = read_salt_file(&path, "salt file")?;
    tracing::warn!(
        "USING A DEVELOPMENT SALT generated into {}. Production must bring its own salt (--salt-file or {SALT_ENV}), \
         kept apart from the database; with this one, anyone holding the data directory holds every key.",
        path.display()
    );
    let origin = format!(
        "{} (DEVELOPMENT SALT, generated: production must bring its own)",
        path.display()
    );
    Ok((salt, origin))
}

/// The signing server's salt and where it came from: exactly one of
/// `salt_file` (`--salt-file`) and HUB_SALT. A signer never generates one:
/// it must be the salt the deployment's addresses were derived with.
pub(crate) fn signer_salt(env: EnvSalt, salt_file: Option<&Path>) -> Result<(Salt, String), String> {
    match (salt_file, env.0) {
        (Some(_), Some(_)) => Err(format!("--salt-file and {SALT_ENV} are both set; give the salt once")),
        (Some(path), None) => Ok((read_salt_file(path, "--salt-file")?, path.display().to_string())),
        (None, Some(salt)) => Ok((salt, format!("from the {SALT_ENV} environment variable"))),
        (None, None) => Err(format!(
            "--salt-file (or {SALT_ENV}): required; the signing server never generates a salt (it must be the one \
             the deployment's addresses were derived with)"
        )),
    }
}

/// `data_dir/dev-salt`, first written (mode 0600) with 48 random
/// alphanumeric characters if it does not exist.
fn dev_salt_file(data_dir: &Path) -> Result<PathBuf, String> {
    let path = data_dir.join("dev-salt");
    if !path.exists() {
        let salt: Zeroizing<String> = Zeroizing::new(
            rand::rngs::OsRng
                .sample_iter(rand::distributions::Alphanumeric)
                .take(48)
                .map(char::from)
                .collect(),
        );
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        file.write_all(salt.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: once read, the salt is gone from the environment, for this
    /// process and for every child it starts. Method: set HUB_SALT (no
    /// other test here reads it), take it, look for it both ways.
    #[test]
    fn the_salt_leaves_the_environment_when_it_is_read() {
        let salt = "a salt of more than twenty bytes";
        std::env::set_var(SALT_ENV, salt);
        let taken = take_env_salt().unwrap();
        assert!(taken.is_set());
        assert_eq!(std::env::var(SALT_ENV), Err(std::env::VarError::NotPresent));
        let child = std::process::Command::new("env").output().unwrap();
        assert!(!String::from_utf8_lossy(&child.stdout).contains(salt));
        let (_, origin) = serve_salt(taken, None, Path::new("unused")).unwrap();
        assert!(origin.contains(SALT_ENV), "{origin}");

        std::env::set_var(SALT_ENV, "short");
        let error = take_env_salt().err().unwrap();
        assert!(error.starts_with("HUB_SALT: ") && !error.contains("short"), "{error}");
        assert!(std::env::var_os(SALT_ENV).is_none(), "an invalid salt is removed too");
        assert!(!take_env_salt().unwrap().is_set());
    }
}
