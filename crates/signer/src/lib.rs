//! Where Hub's keys come from.
//!
//! Hub never stores seeds: each address has a seed UUID, and a
//! [`SeedProvider`] turns a UUID into an address, a security level, a
//! signature or (for recovery) the seed itself. [`LocalProvider`] derives
//! seeds in-process with Argon2 and the operator's salt; [`RemoteProvider`]
//! asks a signing server that holds the salt on another machine; and this
//! crate is also that signing server ([`Signer`], run by `hub signer serve`),
//! which lets every key sign one bundle only and audits what it does.
//!
//! * [`provider`]: the trait and its error.
//! * [`local`]: in-process derivation.
//! * [`remote`]: the signing server's client.
//! * [`server`]: the signing server, with its [`registry`] and [`audit`] log.
//! * [`tls`]: PEM files for mutual TLS, and development certificates.

pub mod audit;
pub mod local;
pub mod provider;
pub mod registry;
pub mod remote;
pub mod server;
pub mod tls;

/// Code generated from `proto/signing_server.proto` (package `signing.rpc`):
/// messages, the server trait and the client.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod proto {
    tonic::include_proto!("signing.rpc");
}

pub use local::LocalProvider;
pub use provider::{BoxFuture, ProviderError, SeedProvider};
pub use remote::{RemoteProvider, RemoteTimeouts};
pub use server::{serve_signer, Signer, SignerConfig, SignerError};
pub use tls::{generate_dev_certs, listener_tls_config, ClientTls, DevCerts, ListenerTls, ServerTls, TlsError};

/// An error and its causes, `: `-separated (tonic's own messages are terse).
pub(crate) fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
