//! Code generated from `proto/` at build time (see `build.rs`).
//!
//! Kept in one module so the rest of the crate, the binary and the tests
//! share one copy of the wire types. Lints are relaxed here because the code
//! is generated.

/// Package `hub.rpc`: the Hub service, its messages and enums.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod hub {
    tonic::include_proto!("hub.rpc");
}

/// Package `hub.v1`: the event feed (`Events/Watch`).
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
pub mod v1 {
    tonic::include_proto!("hub.v1");
}
