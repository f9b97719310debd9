//! The IRI JSON API, as Hub and the devnet speak it.
//!
//! `api` holds the wire shapes of every command Hub uses (hub-behaviour.md
//! §1.5), shared by the client here and by the devnet server, so both sides
//! agree by construction. `client` is the async client Hub's services use:
//! typed results, request timeouts, bounded retries, several node endpoints,
//! and the batching the original client did (at most 1000 addresses per
//! `getBalances`, 500 hashes per `findTransactions`/`getTrytes`, 1000 per
//! `getInclusionStates`).

pub mod api;
pub mod client;

pub use client::{Balances, Client, ClientConfig, Consistency, FindQuery, NodeError, NodeInfo};
