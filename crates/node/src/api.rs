//! Request and response bodies of the IRI JSON API, as IRI 1.8.6 has them.
//!
//! Field names are IRI's (camelCase). Requests serialise the way 1.8.6
//! reads them (`service/API.java`): numbers (`depth`, `minWeightMagnitude`,
//! `threshold`) as JSON numbers, since it casts each to a `Double` and
//! refuses a string; addresses and hashes as 81 trytes, since it refuses any
//! other length (so never an address with its checksum). Replies keep only
//! what Hub reads; the other fields 1.8.6 sends (`duration`, and in
//! `getNodeInfo` the `jre*` figures, `features`, `coordinatorAddress`, …)
//! are ignored.
//!
//! The devnet parses requests with these same types, and for it numeric
//! request fields still accept a string holding a number, as clients of
//! older IRI eras sent (1.8.6 itself would refuse one).

use serde::{Deserialize, Deserializer, Serialize};

/// The API version header every request carries (IRI 1.8.6 refuses a
/// request without it: `RestEasy.processRequest`, "Invalid API Version").
pub const API_VERSION_HEADER: &str = "X-IOTA-API-Version";

/// The `command` of each request Hub sends, named once.
pub mod command {
    /// `getNodeInfo`.
    pub const GET_NODE_INFO: &str = "getNodeInfo";
    /// `getTips`.
    pub const GET_TIPS: &str = "getTips";
    /// `getTransactionsToApprove` (tip selection).
    pub const GET_TRANSACTIONS_TO_APPROVE: &str = "getTransactionsToApprove";
    /// `attachToTangle` (proof of work by the node).
    pub const ATTACH_TO_TANGLE: &str = "attachToTangle";
    /// `storeTransactions`.
    pub const STORE_TRANSACTIONS: &str = "storeTransactions";
    /// `broadcastTransactions`.
    pub const BROADCAST_TRANSACTIONS: &str = "broadcastTransactions";
    /// `findTransactions`.
    pub const FIND_TRANSACTIONS: &str = "findTransactions";
    /// `getTrytes`.
    pub const GET_TRYTES: &str = "getTrytes";
    /// `getBalances`.
    pub const GET_BALANCES: &str = "getBalances";
    /// `getInclusionStates`.
    pub const GET_INCLUSION_STATES: &str = "getInclusionStates";
    /// `wereAddressesSpentFrom`.
    pub const WERE_ADDRESSES_SPENT_FROM: &str = "wereAddressesSpentFrom";
    /// `checkConsistency`.
    pub const CHECK_CONSISTENCY: &str = "checkConsistency";
}

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
    /// Addresses, 81 trytes (IRI 1.8.6 refuses the 90-tryte form with checksum).
    pub addresses: Vec<String>,
    /// Confirmation threshold in percent: IRI up to 1.8.5 required it (only 100 is meaningful), 1.8.6 ignores it.
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
    /// Tips the question was asked against up to IRI 1.8.5 (which required
    /// them). IRI 1.8.6 ignores them and answers whether each transaction is
    /// confirmed by a milestone; Hub's client sends none.
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

/// `getNodeInfo` reply: the fields Hub relies on (required) and the usual
/// others (taken when present: IRI 1.8.6 leaves `appVersion` out when it
/// cannot tell its version).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfoReply {
    /// Software name.
    pub app_name: String,
    /// Software version.
    #[serde(default)]
    pub app_version: String,
    /// Hash of the latest milestone.
    pub latest_milestone: String,
    /// Index of the latest milestone.
    pub latest_milestone_index: u64,
    /// Hash of the latest solid milestone.
    pub latest_solid_subtangle_milestone: String,
    /// Index of the latest solid milestone.
    pub latest_solid_subtangle_milestone_index: u64,
    /// Index of the first milestone this node holds; -1 when it holds none
    /// (IRI 1.8.6 `getNodeInfoStatement`).
    #[serde(default)]
    pub milestone_start_index: i64,
    /// Neighbour count.
    #[serde(default)]
    pub neighbors: u32,
    /// Node time, milliseconds since the epoch.
    pub time: u64,
    /// Number of tips.
    #[serde(default)]
    pub tips: u64,
    /// Transactions the node is missing.
    #[serde(default)]
    pub transactions_to_request: u64,
    /// The address the network's coordinator signs milestones with: which
    /// network the node is on.
    #[serde(default)]
    pub coordinator_address: Option<String>,
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

/// An IRI refusal body: `{"error": …}` (IRI's `ErrorResponse`, HTTP 400,
/// and `AccessLimitedResponse`, 401) or `{"exception": …}`
/// (`ExceptionResponse`, 500, which 1.8.6 also sends for a parameter that
/// fails validation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What was wrong with the request (`ErrorResponse`, `AccessLimitedResponse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What failed while processing it (`ExceptionResponse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Goal: requests carry numbers as JSON numbers, as IRI 1.8.6's
    /// `getParameterAsInt` (a cast to `Double`) needs.
    #[test]
    fn numbers_are_sent_as_json_numbers() {
        let tips = serde_json::to_value(GetTransactionsToApprove {
            depth: 3,
            reference: None,
        })
        .unwrap();
        assert_eq!(tips, json!({ "depth": 3 }));
        let attach = serde_json::to_value(AttachToTangle {
            trunk_transaction: "T".into(),
            branch_transaction: "B".into(),
            min_weight_magnitude: 14,
            trytes: vec![],
        })
        .unwrap();
        assert_eq!(attach["minWeightMagnitude"], json!(14));
        let balances = serde_json::to_value(GetBalances {
            addresses: vec![],
            threshold: Some(100),
            tips: None,
        })
        .unwrap();
        assert_eq!(balances, json!({ "addresses": [], "threshold": 100 }));
    }

    /// Goal: a real IRI 1.8.6 `getNodeInfo` reply parses: every field it
    /// sends, `milestoneStartIndex` -1 (no milestone held yet), no
    /// `appVersion` (left out when IRI cannot tell it).
    #[test]
    fn an_iri_1_8_6_node_info_parses() {
        let reply = json!({
            "appName": "IRI",
            "jreAvailableProcessors": 8,
            "jreFreeMemory": 1_000_000_000u64,
            "jreVersion": "1.8.0_252",
            "jreMaxMemory": 8_000_000_000u64,
            "jreTotalMemory": 4_000_000_000u64,
            "latestMilestone": "M".repeat(81),
            "latestMilestoneIndex": 1_500_000,
            "latestSolidSubtangleMilestone": "S".repeat(81),
            "latestSolidSubtangleMilestoneIndex": 1_499_999,
            "milestoneStartIndex": -1,
            "lastSnapshottedMilestoneIndex": 1_450_000,
            "neighbors": 7,
            "packetsQueueSize": 0,
            "time": 1_600_000_000_000u64,
            "tips": 3_000,
            "transactionsToRequest": 12,
            "features": ["snapshotPruning", "dnsRefresher", "tipSolidification", "RemotePOW"],
            "coordinatorAddress": "C".repeat(81),
            "dbSizeInBytes": 123_456_789u64,
            "duration": 0,
        });
        let info: NodeInfoReply = serde_json::from_value(reply).unwrap();
        assert_eq!(info.milestone_start_index, -1);
        assert_eq!(info.latest_solid_subtangle_milestone_index, 1_499_999);
        assert_eq!(info.app_version, "");
        assert_eq!(info.time, 1_600_000_000_000);
    }

    /// Goal: the devnet, which parses requests with these types, still takes
    /// a number given as a string.
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
