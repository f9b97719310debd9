//! The IRI JSON API Hub speaks to nodes, as IRI 1.8.6 (mainnet's last IRI)
//! has it.
//!
//! `api` holds the wire shapes of every command Hub uses (hub-behaviour.md
//! §1.5), shared by the client here and by the devnet server, so both sides
//! agree by construction. `client` is the async client Hub's services use:
//! per-command deadlines, bounded retries, several node endpoints, and IRI's
//! refusals told apart from unavailability. `commands` and `attach` are its
//! typed methods; `limits` names what one IRI request may hold and cuts
//! Hub's requests to fit (the original client's batches, hub-behaviour.md
//! §11, and IRI's list and body limits).

pub mod api;
mod attach;
pub mod client;
mod commands;
pub mod limits;

pub use client::{Client, ClientConfig, NodeError, REPLY_BYTES_MAX};
pub use commands::{Balances, Consistency, FindQuery, NodeInfo};
