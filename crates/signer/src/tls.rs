//! TLS material for the signing server and its clients.
//!
//! The signing server only speaks mutual TLS: it proves itself with a
//! server certificate and accepts only clients whose certificate a given CA
//! signed. This module loads the operator's PEM files into tonic's
//! configurations, checking each file up front so a bad one is reported by
//! name rather than as an anonymous handshake failure later, and it can mint
//! a throw-away CA with a server and a client certificate for development.
//! Hub's own API listeners take their TLS from here too
//! ([`listener_tls_config`]), so every PEM file Hub reads is checked the
//! same way.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};
use zeroize::Zeroizing;

/// Largest PEM file accepted (certificates and keys are a few KiB).
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The signing server's TLS files.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The server's certificate chain (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    /// The CA that signs the certificates of allowed clients (PEM).
    pub client_ca: PathBuf,
}

/// A signing-server client's TLS files.
#[derive(Debug, Clone)]
pub struct ClientTls {
    /// The CA that signed the server's certificate (PEM).
    pub ca: PathBuf,
    /// The client's certificate chain (PEM).
    pub cert: PathBuf,
    /// The client's private key (PEM).
    pub key: PathBuf,
}

/// Why TLS material could not be loaded or made. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is missing, unreadable or not what it should be.
    #[error("{what} {path}: {reason}")]
    File {
        /// What the file should hold, e.g. "client CA certificate".
        what: &'static str,
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The files are each fine but do not work together, or generation failed.
    #[error("{0}")]
    Config(String),
}

fn file_error(what: &'static str, path: &Path, reason: impl ToString) -> TlsError {
    TlsError::File {
        what,
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn read_pem(what: &'static str, path: &Path) -> Result<Zeroizing<Vec<u8>>, TlsError> {
    let size = std::fs::metadata(path).map_err(|e| file_error(what, path, e))?.len();
    if size > MAX_PEM_BYTES {
        return Err(file_error(
            what,
            path,
            format!("is {size} bytes; a PEM file must be at most {MAX_PEM_BYTES}"),
        ));
    }
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| file_error(what, path, e))
}

/// Reads a PEM file that must hold at least one certificate: the PEM and the certificates.
fn certificates(
    what: &'static str,
    path: &Path,
) -> Result<(Zeroizing<Vec<u8>>, Vec<CertificateDer<'static>>), TlsError> {
    let pem = read_pem(what, path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(what, path, format!("not a valid PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(file_error(
            what,
            path,
            "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok((pem, chain))
}

/// Reads a PEM file that must hold a private key: the PEM and the key.
fn private_key(what: &'static str, path: &Path) -> Result<(Zeroizing<Vec<u8>>, PrivateKeyDer<'static>), TlsError> {
    let pem = read_pem(what, path)?;
    // The parser's messages may quote the file, so only a generic reason is given.
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        file_error(
            what,
            path,
            "holds no valid PEM private key (expected PKCS#8, PKCS#1 or SEC1)",
        )
    })?;
    Ok((pem, key))
}

/// Reads a PEM file that must hold at least one certificate, for tonic.
fn load_certificates(what: &'static str, path: &Path) -> Result<Certificate, TlsError> {
    let (pem, _) = certificates(what, path)?;
    Ok(Certificate::from_pem(pem.as_slice()))
}

/// Reads a certificate chain and its private key into an identity.
fn load_identity(
    cert_what: &'static str,
    cert: &Path,
    key_what: &'static str,
    key: &Path,
) -> Result<Identity, TlsError> {
    let (cert_pem, _) = certificates(cert_what, cert)?;
    let (key_pem, _) = private_key(key_what, key)?;
    Ok(Identity::from_pem(cert_pem.as_slice(), key_pem.as_slice()))
}

/// The signing server's configuration: its identity, and mandatory client
/// certificates signed by `tls.client_ca`.
pub fn server_tls_config(tls: &ServerTls) -> Result<ServerTlsConfig, TlsError> {
    let identity = load_identity("server certificate", &tls.cert, "server private key", &tls.key)?;
    let client_ca = load_certificates("client CA certificate", &tls.client_ca)?;
    Ok(ServerTlsConfig::new()
        .identity(identity)
        .client_ca_root(client_ca)
        .client_auth_optional(false))
}

/// A client's configuration: trusts only `tls.ca` and presents its own certificate.
pub fn client_tls_config(tls: &ClientTls) -> Result<ClientTlsConfig, TlsError> {
    let ca = load_certificates("signer CA certificate", &tls.ca)?;
    let identity = load_identity("client certificate", &tls.cert, "client private key", &tls.key)?;
    Ok(ClientTlsConfig::new().ca_certificate(ca).identity(identity))
}

/// The TLS files of one of Hub's API listeners.
#[derive(Debug, Clone)]
pub struct ListenerTls {
    /// The server's certificate chain (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    /// With a CA (PEM), clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
}

/// A rustls configuration for an API listener offering `alpn` (e.g. `h2`).
/// Warns when the key file is readable by group or others.
pub fn listener_tls_config(tls: &ListenerTls, alpn: Vec<Vec<u8>>) -> Result<rustls::ServerConfig, TlsError> {
    warn_if_shared("--tls-key", &tls.key);
    let (_, chain) = certificates("TLS certificate", &tls.cert)?;
    let (_, key) = private_key("TLS private key", &tls.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(format!("TLS versions: {e}")))?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates("client CA certificate", ca)?.1 {
                roots
                    .add(cert)
                    .map_err(|e| file_error("client CA certificate", ca, format!("not a usable CA: {e}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| file_error("client CA certificate", ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        TlsError::Config(format!(
            "{} and {} do not match: {e}",
            tls.cert.display(),
            tls.key.display()
        ))
    })?;
    config.alpn_protocols = alpn;
    Ok(config)
}

/// Logs a warning when a private key file is readable by group or others.
fn warn_if_shared(flag: &str, path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "{flag} {}: mode {mode:o} lets group or others read the private key; chmod 600 it",
                    path.display()
                );
            }
        }
    }
}

/// The subject common name of a DER certificate, if it has one.
pub fn subject_common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let name = cert.subject().iter_common_name().next()?.as_str().ok()?.to_string();
    Some(name)
}

/// Where [`generate_dev_certs`] wrote its files.
#[derive(Debug, Clone)]
pub struct DevCerts {
    /// The development CA's certificate.
    pub ca: PathBuf,
    /// The development CA's private key.
    pub ca_key: PathBuf,
    /// The server certificate.
    pub server: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// The client certificate.
    pub client: PathBuf,
    /// The client's private key.
    pub client_key: PathBuf,
}

impl DevCerts {
    /// The files a signing server uses.
    pub fn server_tls(&self) -> ServerTls {
        ServerTls {
            cert: self.server.clone(),
            key: self.server_key.clone(),
            client_ca: self.ca.clone(),
        }
    }

    /// The files a signing-server client (Hub) uses.
    pub fn client_tls(&self) -> ClientTls {
        ClientTls {
            ca: self.ca.clone(),
            cert: self.client.clone(),
            key: self.client_key.clone(),
        }
    }
}

/// Writes a fresh CA, a server certificate valid for `server_names` (DNS
/// names or IP addresses; empty means `localhost` and `127.0.0.1`) and a
/// client certificate, all signed by that CA, into `dir`: `ca.pem`,
/// `ca-key.pem`, `server.pem`, `server-key.pem`, `client.pem`,
/// `client-key.pem` (keys with mode 0600). Refuses to overwrite any file.
///
/// **For development and tests only.** The CA key sits next to the
/// certificates it signed and nothing revokes them; production should issue
/// certificates from its own PKI.
pub fn generate_dev_certs(dir: &Path, server_names: &[&str]) -> Result<DevCerts, TlsError> {
    let files = DevCerts {
        ca: dir.join("ca.pem"),
        ca_key: dir.join("ca-key.pem"),
        server: dir.join("server.pem"),
        server_key: dir.join("server-key.pem"),
        client: dir.join("client.pem"),
        client_key: dir.join("client-key.pem"),
    };
    let all = [
        &files.ca,
        &files.ca_key,
        &files.server,
        &files.server_key,
        &files.client,
        &files.client_key,
    ];
    if let Some(existing) = all.iter().find(|p| p.exists()) {
        return Err(file_error(
            "development certificate",
            existing,
            "already exists; refusing to overwrite (choose another directory)",
        ));
    }
    let names: Vec<String> = if server_names.is_empty() {
        vec!["localhost".into(), "127.0.0.1".into()]
    } else {
        server_names.iter().map(|s| s.to_string()).collect()
    };
    let generation = |e: rcgen::Error| TlsError::Config(format!("generating development certificates: {e}"));
    let now = time::OffsetDateTime::now_utc();
    let validity = |params: &mut CertificateParams| {
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(365);
    };
    let dn = |cn: &str| {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Hub development");
        dn.push(DnType::CommonName, cn);
        dn
    };

    let ca_key = KeyPair::generate().map_err(generation)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = dn("Hub development CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut ca_params);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(generation)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let server_key = KeyPair::generate().map_err(generation)?;
    let mut server_params = CertificateParams::new(names).map_err(generation)?;
    server_params.distinguished_name = dn("hub signer (development)");
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.use_authority_key_identifier_extension = true;
    validity(&mut server_params);
    let server_cert = server_params.signed_by(&server_key, &issuer).map_err(generation)?;

    let client_key = KeyPair::generate().map_err(generation)?;
    let mut client_params = CertificateParams::default();
    client_params.distinguished_name = dn("hub (development client)");
    client_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client_params.use_authority_key_identifier_extension = true;
    validity(&mut client_params);
    let client_cert = client_params.signed_by(&client_key, &issuer).map_err(generation)?;

    create_dir(dir)?;
    write_new(&files.ca, ca_cert.pem().as_bytes(), false)?;
    write_new(&files.ca_key, Zeroizing::new(ca_key.serialize_pem()).as_bytes(), true)?;
    write_new(&files.server, server_cert.pem().as_bytes(), false)?;
    write_new(
        &files.server_key,
        Zeroizing::new(server_key.serialize_pem()).as_bytes(),
        true,
    )?;
    write_new(&files.client, client_cert.pem().as_bytes(), false)?;
    write_new(
        &files.client_key,
        Zeroizing::new(client_key.serialize_pem()).as_bytes(),
        true,
    )?;
    Ok(files)
}

fn create_dir(dir: &Path) -> Result<(), TlsError> {
    std::fs::create_dir_all(dir).map_err(|e| file_error("certificate directory", dir, e))
}

/// Creates `path` (never replacing a file) with `contents`; `private` files get mode 0600.
fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), TlsError> {
    let what = if private { "private key" } else { "certificate" };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if private { 0o600 } else { 0o644 });
    let mut file = options.open(path).map_err(|e| file_error(what, path, e))?;
    file.write_all(contents).map_err(|e| file_error(what, path, e))?;
    file.sync_all().map_err(|e| file_error(what, path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_certs_load_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let certs = generate_dev_certs(dir.path(), &[]).unwrap();
        server_tls_config(&certs.server_tls()).unwrap();
        client_tls_config(&certs.client_tls()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&certs.server_key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let pem = std::fs::read(&certs.client).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(subject_common_name(&der).as_deref(), Some("hub (development client)"));
        let error = generate_dev_certs(dir.path(), &[]).unwrap_err().to_string();
        assert!(
            error.contains("ca.pem") && error.contains("refusing to overwrite"),
            "{error}"
        );
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let certs = generate_dev_certs(dir.path(), &["signer.example"]).unwrap();
        let missing = ServerTls {
            client_ca: dir.path().join("nope.pem"),
            ..certs.server_tls()
        };
        let error = server_tls_config(&missing).unwrap_err().to_string();
        assert!(
            error.starts_with("client CA certificate") && error.contains("nope.pem"),
            "{error}"
        );
        let swapped = ClientTls {
            key: certs.client.clone(),
            ..certs.client_tls()
        };
        let error = client_tls_config(&swapped).unwrap_err().to_string();
        assert!(
            error.starts_with("client private key") && error.contains("client.pem"),
            "{error}"
        );
        let not_pem = ServerTls {
            cert: certs.server_key.clone(),
            ..certs.server_tls()
        };
        let error = server_tls_config(&not_pem).unwrap_err().to_string();
        assert!(error.contains("no PEM certificate"), "{error}");
    }
}
