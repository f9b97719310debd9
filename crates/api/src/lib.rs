//! Hub's transports: how exchanges reach the Hub commands.
//!
//! The original Hub spoke gRPC (`hub.rpc.Hub`) or an HTTP JSON command
//! protocol; existing integrations depend on both, byte for byte where it
//! matters. This crate keeps that wire interface (names, numbers, quirks) and
//! fixes the original's defects, while the rules themselves stay in
//! `hub-core`. Servers are built over the [`HubCommands`] trait so they can
//! be tested without a database or a node.
//!
//! * [`grpc`]: the `hub.rpc.Hub` service ([`grpc::grpc_service`], [`grpc::serve_grpc`])
//!   and `hub.v1.Events` (the event feed).
//! * [`feed`]: following the event feed (SSE and gRPC `Watch`).
//! * [`http`]: the HTTP JSON command endpoint ([`http::http_router`], [`http::serve_http`]).
//! * [`proto`]: the generated messages, servers and clients of `hub.rpc`.
//! * [`command`]: the commands, named once, and the scope each needs.
//! * [`auth`]: the access [`Gate`] every call passes (tokens, certificate
//!   mappings, scopes, rate limits).
//! * [`listen`]: serving a listener (TLS, client certificates, connection
//!   limits, timeouts), the same for both transports.

pub mod auth;
pub mod command;
pub mod commands;
pub mod feed;
pub mod grpc;
pub mod http;
pub mod listen;
pub mod proto;

pub use auth::{Authenticator, Gate, RateLimit, Refusal};
pub use command::Command;
pub use commands::{CommandFuture, HubCommands};
pub use grpc::{grpc_service, serve_grpc};
pub use http::{http_router, serve_http, HttpPolicy};
pub use listen::{Limits, Listener, Peer};
