//! Running `hub signer` for tests: development certificates, the signing
//! server on a free port, and `hub serve --signing remote` pointed at it.

use std::path::Path;

use super::{hub, quick_serve_args, start, Running};

pub const SALT: &str = "a signing-server salt of more than twenty bytes";

pub fn dev_certs(dir: &Path) {
    let out = hub()
        .args(["signer", "dev-certs", "--out"])
        .arg(dir)
        .output()
        .expect("hub runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("development only"));
}

pub fn signer_command(dir: &Path, salt_file: &Path, security: &str) -> std::process::Command {
    signer_command_with_key(dir, salt_file, security, &dir.join("certs/server-key.pem"))
}

pub fn signer_command_with_key(dir: &Path, salt_file: &Path, security: &str, key: &Path) -> std::process::Command {
    let certs = dir.join("certs");
    let mut command = hub();
    command
        .args(["signer", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("signer-data"))
        .arg("--tls-cert")
        .arg(certs.join("server.pem"))
        .arg("--tls-key")
        .arg(key)
        .arg("--tls-client-ca")
        .arg(certs.join("ca.pem"))
        .arg("--salt-file")
        .arg(salt_file)
        .args([
            "--argon2-t-cost",
            "1",
            "--argon2-m-cost-kib",
            "64",
            "--security",
            security,
        ])
        .env_remove("HUB_SALT");
    command
}

pub fn start_signer(dir: &Path, security: &str) -> (Running, String) {
    let salt_file = dir.join("salt");
    std::fs::write(&salt_file, format!("{SALT}\n")).unwrap();
    let signer = start(&mut signer_command(dir, &salt_file, security), "Ctrl-C").expect("hub signer serve starts");
    let listen = signer.value("listening on:").expect("the signer prints its address");
    let url = format!("https://{}", listen.split(' ').next().unwrap());
    assert!(
        !signer.lines.iter().any(|l| l.contains(SALT)),
        "the salt is never printed"
    );
    (signer, url)
}

/// The settings that make `hub serve` or `hub admin` use the signing server at `url`.
pub fn remote_signing_args(dir: &Path, url: &str) -> Vec<String> {
    let certs = dir.join("certs");
    let mut args: Vec<String> = ["--signing", "remote", "--signer-url", url].map(String::from).to_vec();
    for (flag, file) in [
        ("--signer-ca", "ca.pem"),
        ("--signer-cert", "client.pem"),
        ("--signer-key", "client-key.pem"),
    ] {
        args.push(flag.into());
        args.push(certs.join(file).display().to_string());
    }
    args
}

pub fn remote_serve(dir: &Path, url: &str) -> std::process::Command {
    let mut command = hub();
    command
        .args(quick_serve_args(&dir.join("hub-data")))
        .args(remote_signing_args(dir, url))
        .env_remove("HUB_SALT");
    command
}
