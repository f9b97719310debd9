//! Request and response bodies of the IRI JSON API.
//!
//! Field names are IRI's (camelCase). Numeric request fields accept a JSON
//! number or a string holding one, as clients of different IRI eras sent
//! both. Optional parameters later IRI versions dropped (`threshold`, `tips`)
//! may be present or absent.

use serde::{Deserialize, Deserializer, Serialize};

/// The API version header every request carries.
pub const API_VERSION_HEADER: &str = "X-IOTA-API-Version";

/// Reads an integer given as a JSON number or a string.
pub fn number_or_string<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Signed(i64),
        Unsigned(u64),
        Text(String),
    }
    let value = match Raw::deserialize(deserializer)? {
        Raw::Signed(v) => i128::from(v),
        Raw::Unsigned(v) => i128::from(v),
        Raw::Text(s) => s
            .trim()
            .parse::<i128>()
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an integer")))?,
    };
    T::try_from(value).map_err(|_| serde::de::Error::custom(format!("{value} is out of range")))
}

fn optional_number_or_string<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    #[derive(Deserialize)]
    struct Wrap<T: TryFrom<i128>>(#[serde(deserialize_with = "number_or_string")] T);
    Ok(Option::<Wrap<T>>::deserialize(deserializer)?.map(|Wrap(v)| v))
}

/// `getTransactionsToApprove`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetTransactionsToApprove {
    /// How deep the random walk starts (milestones back).
    #[serde(deserialize_with = "number_or_string")]
    pub depth: u32,
    /// A transaction the trunk must be (promotion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `attachToTangle`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachToTangle {
    /// Trunk tip.
    pub trunk_transaction: String,
    /// Branch tip.
    pub branch_transaction: String,
    /// Proof-of-work weight.
    #[serde(deserialize_with = "number_or_string")]
    pub min_weight_magnitude: u8,
    /// Transactions, last index first.
    pub trytes: Vec<String>,
}

/// `storeTransactions` and `broadcastTransactions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trytes {
    /// Attached transactions.
    pub trytes: Vec<String>,
}

/// `findTransactions`: hashes of transactions matching every given list
/// (intersection across lists, union within one).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FindTransactions {
    /// Addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<String>>,
    /// Bundle hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundles: Option<Vec<String>>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Transactions whose approvers are wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvees: Option<Vec<String>>,
}

/// `getTrytes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetTrytes {
    /// Transaction hashes.
    pub hashes: Vec<String>,
}

/// `getBalances`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetBalances {
    /// Addresses (81 trytes; a 90-tryte form is accepted and its checksum ignored, as IRI did).
    pub addresses: Vec<String>,
    /// Confirmation threshold in percent (only 100 is meaningful; accepted for old clients).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_number_or_string"
    )]
    pub threshold: Option<u8>,
    /// Tips whose view of the ledger is wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tips: Option<Vec<String>>,
}

/// `getInclusionStates`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetInclusionStates {
    /// Transactions asked about.
    pub transactions: Vec<String>,
    /// Tips (usually the latest milestone) the question is asked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tips: Option<Vec<String>>,
}

/// `wereAddressesSpentFrom`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Addresses {
    /// Addresses.
    pub addresses: Vec<String>,
}

/// `checkConsistency`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckConsistency {
    /// Tail transactions.
    pub tails: Vec<String>,
}

/// `getNodeInfo` reply (the fields Hub relies on, and the usual others).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfoReply {
    /// Software name.
    pub app_name: String,
    /// Software version.
    pub app_version: String,
    /// Hash of the latest milestone.
    pub latest_milestone: String,
    /// Index of the latest milestone.
    pub latest_milestone_index: u64,
    /// Hash of the latest solid milestone.
    pub latest_solid_subtangle_milestone: String,
    /// Index of the latest solid milestone.
    pub latest_solid_subtangle_milestone_index: u64,
    /// First milestone index of this node's history.
    pub milestone_start_index: u64,
    /// Neighbour count.
    pub neighbors: u32,
    /// Node time, milliseconds since the epoch.
    pub time: u64,
    /// Number of tips.
    pub tips: u64,
    /// Transactions the node is missing.
    pub transactions_to_request: u64,
}

/// `getTips` / `findTransactions` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HashesReply {
    /// Transaction hashes.
    pub hashes: Vec<String>,
}

/// `getTransactionsToApprove` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TipsReply {
    /// Trunk to approve.
    pub trunk_transaction: String,
    /// Branch to approve.
    pub branch_transaction: String,
}

/// `attachToTangle` / `getTrytes` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrytesReply {
    /// Transactions (all-`9` for an unknown hash in `getTrytes`).
    pub trytes: Vec<String>,
}

/// `getBalances` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalancesReply {
    /// Balances as decimal strings, in request order.
    pub balances: Vec<String>,
    /// The milestone (or tips) the balances are relative to.
    pub references: Vec<String>,
    /// Index of that milestone.
    pub milestone_index: u64,
}

/// `getInclusionStates` / `wereAddressesSpentFrom` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatesReply {
    /// One answer per item, in request order.
    pub states: Vec<bool>,
}

/// `checkConsistency` reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsistencyReply {
    /// Whether the tails may be approved together.
    pub state: bool,
    /// Why not, when `state` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

/// An IRI error body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What went wrong.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_may_be_strings() {
        let a: GetTransactionsToApprove = serde_json::from_str(r#"{"depth": "3"}"#).unwrap();
        let b: GetTransactionsToApprove = serde_json::from_str(r#"{"depth": 3}"#).unwrap();
        assert_eq!(a.depth, b.depth);
        assert!(serde_json::from_str::<GetTransactionsToApprove>(r#"{"depth": "x"}"#).is_err());
        assert!(serde_json::from_str::<GetTransactionsToApprove>(r#"{"depth": -1}"#).is_err());
        let g: GetBalances = serde_json::from_str(r#"{"addresses": [], "threshold": "100"}"#).unwrap();
        assert_eq!(g.threshold, Some(100));
        let g: GetBalances = serde_json::from_str(r#"{"addresses": []}"#).unwrap();
        assert_eq!(g.threshold, None);
    }
}
