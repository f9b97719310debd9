//! The commands of IRI 1.8.6's API over the node, read and answered as
//! `API.java` reads and answers them, and the devnet's own commands beside
//! them.
//!
//! Each IRI command reads its parameters in IRI's order with IRI's readers
//! (`params`), refuses what IRI refuses with IRI's words and kind of answer
//! (`reply`), and asks the node. The node's own rule refusals are
//! `ErrorResponse`s (400). Three commands refuse while the node is not
//! synchronised, as IRI does: `getInclusionStates` and `checkConsistency`
//! before reading anything, `getTransactionsToApprove` after its
//! parameters. The devnet's own commands (`getTips`, which IRI 1.8.6
//! removed, `issueMilestone`, `fund`, `setFaults`, `getFaults`) are no part
//! of IRI; they answer in the same style.

use std::sync::Arc;

use hub_protocol::address::ChecksumPolicy;
use hub_protocol::transaction::TRANSACTION_TRYTES;
use hub_protocol::{Address, Hash, Transaction};
use serde_json::{json, Map, Value};

use crate::coordinator::coordinator_address;
use crate::faults::Faults;
use crate::node::{now_ms, AttachError, Node};
use crate::params::{Params, Thrown, HASH_TRYTES, INVALID_PARAMS, JAVA_STRING, OVER_MAX};
use crate::profile::{Limits, Profile};
use crate::reply::Reply;

/// IRI's refusal while the solid milestone lags (`API.INVALID_SUBTANGLE`).
const INVALID_SUBTANGLE: &str = "This operation cannot be executed: The subtangle has not been updated yet.";
/// The version `getNodeInfo` reports: the IRI release this API imitates.
const IRI_VERSION: &str = "1.8.6";
/// The Java IRI 1.8.6's Docker image runs (Oracle Java 8u181).
const JRE_VERSION: &str = "1.8.0_181";
/// The devnet has no Java heap; `getNodeInfo` reports that of a node
/// started with `-Xmx4g` that has grown to 1 GiB, half of it free.
const JRE_MAX_MEMORY_BYTES: u64 = 4 << 30;
const JRE_TOTAL_MEMORY_BYTES: u64 = 1 << 30;
const JRE_FREE_MEMORY_BYTES: u64 = 512 << 20;
/// Bytes IRI's database holds per transaction (its packed trits), for
/// `dbSizeInBytes`.
const STORED_TRANSACTION_BYTES: u64 = 1604;
/// The largest weight IRI's proof of work takes (`PearlDiver`: the 243 trits of a hash).
const MAX_POW_WEIGHT: i32 = 243;

/// What the API serves: the node and how it is configured.
pub(crate) struct Api {
    /// The node.
    pub(crate) node: Arc<Node>,
    /// The network it imitates.
    pub(crate) profile: Profile,
    /// The request bounds.
    pub(crate) limits: Limits,
}

/// Every command the API knows, IRI's and the devnet's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    AddNeighbors,
    AttachToTangle,
    BroadcastTransactions,
    CheckConsistency,
    FindTransactions,
    GetBalances,
    GetInclusionStates,
    GetNeighbors,
    GetNodeInfo,
    GetNodeApiConfiguration,
    GetMissingTransactions,
    GetTransactionsToApprove,
    GetTrytes,
    InterruptAttachingToTangle,
    RemoveNeighbors,
    StoreTransactions,
    WereAddressesSpentFrom,
    // The devnet's own.
    GetTips,
    IssueMilestone,
    Fund,
    SetFaults,
    GetFaults,
}

impl Command {
    const ALL: [Self; 22] = [
        Self::AddNeighbors,
        Self::AttachToTangle,
        Self::BroadcastTransactions,
        Self::CheckConsistency,
        Self::FindTransactions,
        Self::GetBalances,
        Self::GetInclusionStates,
        Self::GetNeighbors,
        Self::GetNodeInfo,
        Self::GetNodeApiConfiguration,
        Self::GetMissingTransactions,
        Self::GetTransactionsToApprove,
        Self::GetTrytes,
        Self::InterruptAttachingToTangle,
        Self::RemoveNeighbors,
        Self::StoreTransactions,
        Self::WereAddressesSpentFrom,
        Self::GetTips,
        Self::IssueMilestone,
        Self::Fund,
        Self::SetFaults,
        Self::GetFaults,
    ];

    /// The name a request gives.
    fn name(self) -> &'static str {
        match self {
            Self::AddNeighbors => "addNeighbors",
            Self::AttachToTangle => "attachToTangle",
            Self::BroadcastTransactions => "broadcastTransactions",
            Self::CheckConsistency => "checkConsistency",
            Self::FindTransactions => "findTransactions",
            Self::GetBalances => "getBalances",
            Self::GetInclusionStates => "getInclusionStates",
            Self::GetNeighbors => "getNeighbors",
            Self::GetNodeInfo => "getNodeInfo",
            Self::GetNodeApiConfiguration => "getNodeAPIConfiguration",
            Self::GetMissingTransactions => "getMissingTransactions",
            Self::GetTransactionsToApprove => "getTransactionsToApprove",
            Self::GetTrytes => "getTrytes",
            Self::InterruptAttachingToTangle => "interruptAttachingToTangle",
            Self::RemoveNeighbors => "removeNeighbors",
            Self::StoreTransactions => "storeTransactions",
            Self::WereAddressesSpentFrom => "wereAddressesSpentFrom",
            Self::GetTips => "getTips",
            Self::IssueMilestone => "issueMilestone",
            Self::Fund => "fund",
            Self::SetFaults => "setFaults",
            Self::GetFaults => "getFaults",
        }
    }

    /// The command called `name` (exact spelling, as IRI's `findByName`).
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|command| command.name() == name)
    }
}

/// A request as far as `API.process` reads it before running the command.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The `command` parameter.
    pub(crate) command: String,
    /// All parameters, `command` included.
    params: Map<String, Value>,
}

impl Request {
    /// Whether injected faults spare this request: the fault switches
    /// themselves, so a test can always turn faults off.
    pub(crate) fn is_fault_switch(&self) -> bool {
        matches!(
            Command::from_name(&self.command),
            Some(Command::SetFaults | Command::GetFaults)
        )
    }
}

/// Reads a body as `API.process` does: a JSON object with a string `command`.
pub(crate) fn read(body: &str) -> Result<Request, Reply> {
    let params = json_object(body)?;
    let command = match params.get("command") {
        None | Some(Value::Null) => {
            return Err(Reply::Error(
                "COMMAND parameter has not been specified in the request.".into(),
            ))
        }
        Some(Value::String(command)) => command.clone(),
        // `(String) request.get("command")` fails for any other value.
        Some(other) => return Err(Thrown::class_cast(other, JAVA_STRING).into()),
    };
    Ok(Request { command, params })
}

/// `gson.fromJson(body, Map.class)`: an object, or IRI's refusal. Gson
/// reads nothing (empty, blanks, `null`) as null, a payload it refuses; a
/// value that is not an object fails where Gson expected `{`.
fn json_object(body: &str) -> Result<Map<String, Value>, Reply> {
    let nothing = || Reply::Error(format!("Invalid request payload: '{body}'"));
    if body.trim().is_empty() {
        return Err(nothing());
    }
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Err(nothing()),
        Ok(other) => Err(Reply::Error(format!(
            "Invalid JSON syntax: java.lang.IllegalStateException: Expected BEGIN_OBJECT but was {}",
            gson_location(body, &other)
        ))),
        Err(e) => Err(Reply::Error(format!("Invalid JSON syntax: {e}"))),
    }
}

/// Gson's name for the first token of `value` and where its reader stood
/// ("BEGIN_ARRAY at line 1 column 2 path $"): past an opening `[` or `"`,
/// before a number or a literal.
fn gson_location(body: &str, value: &Value) -> String {
    let (token, consumed) = match value {
        Value::Array(_) => ("BEGIN_ARRAY", 1),
        Value::String(_) => ("STRING", 1),
        Value::Number(_) => ("NUMBER", 0),
        _ => ("BOOLEAN", 0),
    };
    let start = body.len() - body.trim_start().len();
    let before = &body[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = start - line_start + consumed + 1;
    format!("{token} at line {line} column {column} path $")
}

/// Runs a command; an unknown one is IRI's "Command [...] is unknown".
pub(crate) async fn run(api: &Api, request: Request) -> Reply {
    let Some(command) = Command::from_name(&request.command) else {
        return Reply::Error(format!("Command [{}] is unknown", request.command));
    };
    let p = Params::new(&request.params, api.limits.max_request_list);
    let result = match command {
        Command::AddNeighbors => neighbors_changed(p, "addedNeighbors"),
        Command::AttachToTangle => attach_to_tangle(api, p).await,
        Command::BroadcastTransactions => broadcast_transactions(api, p),
        Command::CheckConsistency => check_consistency(api, p),
        Command::FindTransactions => find_transactions(api, p).map_err(|thrown| thrown.wrapped().into()),
        Command::GetBalances => get_balances(api, p),
        Command::GetInclusionStates => get_inclusion_states(api, p),
        Command::GetNeighbors => Ok(Reply::fields(json!({ "neighbors": [] }))),
        Command::GetNodeInfo => Ok(node_info(api)),
        Command::GetNodeApiConfiguration => Ok(api_configuration(api)),
        Command::GetMissingTransactions => Ok(Reply::fields(json!({ "hashes": [] }))),
        Command::GetTransactionsToApprove => transactions_to_approve(api, p),
        Command::GetTrytes => get_trytes(api, p),
        Command::InterruptAttachingToTangle => {
            api.node.interrupt_attaching();
            Ok(Reply::empty())
        }
        Command::RemoveNeighbors => neighbors_changed(p, "removedNeighbors"),
        Command::StoreTransactions => store_transactions(api, p),
        Command::WereAddressesSpentFrom => were_addresses_spent_from(api, p),
        Command::GetTips => Ok(hashes_reply(&api.node.tips())),
        Command::IssueMilestone => issue_milestone(api).await,
        Command::Fund => fund(api, p).await,
        Command::SetFaults => set_faults(api, p),
        Command::GetFaults => Ok(Reply::fields(json!(api.node.faults()))),
    };
    result.unwrap_or_else(|refusal| refusal)
}

/// A command's answer, or its refusal (both are replies).
type Answer = Result<Reply, Reply>;

fn hashes_reply(hashes: &[Hash]) -> Reply {
    Reply::fields(json!({ "hashes": hashes.iter().map(ToString::to_string).collect::<Vec<_>>() }))
}

fn hash(trytes: &str) -> Result<Hash, Thrown> {
    Hash::from_trytes(trytes).map_err(|e| Thrown::validation(e.to_string()))
}

fn hashes(trytes: &[&str]) -> Result<Vec<Hash>, Thrown> {
    trytes.iter().map(|t| hash(t)).collect()
}

fn addresses(trytes: &[&str]) -> Result<Vec<Address>, Thrown> {
    trytes
        .iter()
        .map(|t| Address::from_trytes(t).map_err(|e| Thrown::validation(e.to_string())))
        .collect()
}

/// Transactions that passed the tryte check; what still fails to decode is
/// a value beyond its usable trits, which IRI's `TransactionValidator`
/// refuses as "Invalid transaction value".
fn transactions(trytes: &[&str]) -> Result<Vec<Transaction>, Thrown> {
    trytes
        .iter()
        .map(|t| Transaction::from_trytes(t).map_err(|_| Thrown::illegal_state("Invalid transaction value")))
        .collect()
}

/// Whether IRI would call the node synchronised, or its refusal.
fn synchronized(api: &Api) -> Result<(), Reply> {
    if api.node.info().synchronized() {
        Ok(())
    } else {
        Err(Reply::Error(INVALID_SUBTANGLE.into()))
    }
}

/// `addNeighbors` / `removeNeighbors`: the devnet has no neighbours to
/// change; the `uris` are read as IRI reads them and none is taken.
fn neighbors_changed(p: Params<'_>, field: &str) -> Answer {
    p.strings("uris")?;
    let mut reply = Map::new();
    reply.insert(field.into(), json!(0));
    Ok(Reply::Success(reply))
}

fn node_info(api: &Api) -> Reply {
    let info = api.node.info();
    let testnet = api.profile.is_testnet();
    // `Feature.calculateFeatures` with IRI's defaults (DNS refresher on),
    // remote proof of work allowed.
    let mut features = Vec::new();
    if info.pruning {
        features.push("snapshotPruning");
    }
    features.push("dnsRefresher");
    if testnet {
        features.push("testnet");
    }
    features.extend(["RemotePOW", "WereAddressesSpentFrom"]);
    let processors = std::thread::available_parallelism().map_or(1, |n| n.get());
    Reply::fields(json!({
        "appName": if testnet { "IRI Testnet" } else { "IRI" },
        "appVersion": IRI_VERSION,
        "jreAvailableProcessors": processors,
        "jreFreeMemory": JRE_FREE_MEMORY_BYTES,
        "jreVersion": JRE_VERSION,
        "jreMaxMemory": JRE_MAX_MEMORY_BYTES,
        "jreTotalMemory": JRE_TOTAL_MEMORY_BYTES,
        "latestMilestone": info.latest.hash.to_string(),
        "latestMilestoneIndex": info.latest.index,
        "latestSolidSubtangleMilestone": info.solid.hash.to_string(),
        "latestSolidSubtangleMilestoneIndex": info.solid.index,
        "milestoneStartIndex": info.start_index,
        "lastSnapshottedMilestoneIndex": info.snapshot_index,
        "neighbors": 0,
        "packetsQueueSize": 0,
        "time": now_ms(),
        "tips": info.tips,
        "transactionsToRequest": 0,
        "features": features,
        "coordinatorAddress": coordinator_address().to_string(),
        "dbSizeInBytes": info.transactions as u64 * STORED_TRANSACTION_BYTES,
    }))
}

fn api_configuration(api: &Api) -> Reply {
    let limits = api.limits;
    Reply::fields(json!({
        "maxFindTransactions": limits.max_find_transactions,
        "maxRequestsList": limits.max_request_list,
        "maxGetTrytes": limits.max_get_trytes,
        "maxBodyLength": limits.max_body_chars,
        "testNet": api.profile.is_testnet(),
        // The devnet's network starts at its genesis milestone.
        "milestoneStartIndex": 0,
    }))
}

fn transactions_to_approve(api: &Api, p: Params<'_>) -> Answer {
    let reference = if p.has("reference") {
        Some(hash(p.trytes("reference", HASH_TRYTES)?)?)
    } else {
        None
    };
    let depth = p.int("depth")?;
    let depth = u32::try_from(depth)
        .ok()
        .filter(|depth| *depth <= api.node.max_depth())
        .ok_or_else(|| Reply::Error("Invalid depth input".into()))?;
    synchronized(api)?;
    let (trunk, branch) = api
        .node
        .transactions_to_approve(depth, reference)
        .map_err(Reply::Error)?;
    Ok(Reply::fields(json!({
        "trunkTransaction": trunk.to_string(),
        "branchTransaction": branch.to_string(),
    })))
}

async fn attach_to_tangle(api: &Api, p: Params<'_>) -> Answer {
    let trunk = hash(p.trytes("trunkTransaction", HASH_TRYTES)?)?;
    let branch = hash(p.trytes("branchTransaction", HASH_TRYTES)?)?;
    let mwm = p.int("minWeightMagnitude")?;
    let trytes = p.tryte_list("trytes", TRANSACTION_TRYTES)?;
    // IRI's `PearlDiver` checks the weight only when it has work to do.
    let weight_known = (0..=MAX_POW_WEIGHT).contains(&mwm);
    if !trytes.is_empty() && !weight_known {
        return Err(Reply::Exception(Some(format!("Invalid min weight magnitude: {mwm}"))));
    }
    let mwm = u8::try_from(mwm).unwrap_or(u8::MAX);
    let attached = match api.node.attach(trunk, branch, mwm, transactions(&trytes)?).await {
        Ok(attached) => attached,
        // IRI stops and answers what it has: nothing.
        Err(AttachError::Interrupted) => Vec::new(),
        Err(AttachError::Refused(message)) => return Err(Reply::Exception(Some(message))),
    };
    Ok(trytes_reply(attached.iter().map(|tx| Some(tx.to_trytes()))))
}

fn trytes_reply(trytes: impl Iterator<Item = Option<String>>) -> Reply {
    let null = "9".repeat(TRANSACTION_TRYTES);
    let trytes: Vec<String> = trytes.map(|t| t.unwrap_or_else(|| null.clone())).collect();
    Reply::fields(json!({ "trytes": trytes }))
}

/// `storeTransactions`: every failure, reading included, is IRI's
/// `ErrorResponse` "Error: …"; an empty list stores nothing and succeeds.
fn store_transactions(api: &Api, p: Params<'_>) -> Answer {
    let error = |message: Option<&str>| Reply::Error(format!("Error: {}", message.unwrap_or("null")));
    let trytes = p
        .tryte_list("trytes", TRANSACTION_TRYTES)
        .map_err(|thrown| error(thrown.message()))?;
    let txs = transactions(&trytes).map_err(|thrown| error(thrown.message()))?;
    if !txs.is_empty() {
        api.node.store(txs).map_err(|message| error(Some(&message)))?;
    }
    Ok(Reply::empty())
}

/// `broadcastTransactions`: IRI hands the transactions to its network
/// pipeline and answers success whatever becomes of them; the devnet
/// stores them (all or none) and answers the same.
fn broadcast_transactions(api: &Api, p: Params<'_>) -> Answer {
    let trytes = p.tryte_list("trytes", TRANSACTION_TRYTES)?;
    let txs: Vec<Transaction> = trytes.iter().filter_map(|t| Transaction::from_trytes(t).ok()).collect();
    if !txs.is_empty() {
        if let Err(reason) = api.node.store(txs) {
            tracing::debug!("broadcast transactions dropped: {reason}");
        }
    }
    Ok(Reply::empty())
}

fn check_consistency(api: &Api, p: Params<'_>) -> Answer {
    synchronized(api)?;
    let tails = hashes(&p.tryte_list("tails", HASH_TRYTES)?)?;
    let (state, info) = api.node.check_consistency(&tails).map_err(Reply::Error)?;
    Ok(Reply::fields(json!({ "state": state, "info": info })))
}

fn get_inclusion_states(api: &Api, p: Params<'_>) -> Answer {
    synchronized(api)?;
    let transactions = hashes(&p.tryte_list("transactions", HASH_TRYTES)?)?;
    Ok(Reply::fields(
        json!({ "states": api.node.inclusion_states(&transactions) }),
    ))
}

fn get_balances(api: &Api, p: Params<'_>) -> Answer {
    let wanted = addresses(&p.tryte_list("addresses", HASH_TRYTES)?)?;
    let tips = if p.has("tips") {
        Some(hashes(&p.tryte_list("tips", HASH_TRYTES)?)?)
    } else {
        None
    };
    let (balances, references, index) = api.node.balances(&wanted, tips.as_deref()).map_err(Reply::Error)?;
    Ok(Reply::fields(json!({
        "balances": balances.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "references": references.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "milestoneIndex": index,
    })))
}

fn were_addresses_spent_from(api: &Api, p: Params<'_>) -> Answer {
    let wanted = addresses(&p.tryte_list("addresses", HASH_TRYTES)?)?;
    Ok(Reply::fields(json!({ "states": api.node.were_spent(&wanted) })))
}

fn get_trytes(api: &Api, p: Params<'_>) -> Answer {
    let wanted = hashes(&p.tryte_list("hashes", HASH_TRYTES)?)?;
    if wanted.len() > api.limits.max_get_trytes {
        return Err(Reply::Error(OVER_MAX.into()));
    }
    let found = api.node.trytes(&wanted);
    Ok(trytes_reply(
        found.iter().map(|tx| tx.as_ref().map(Transaction::to_trytes)),
    ))
}

/// `findTransactionsStatement`; what it throws, `findTransactions` wraps
/// (see [`Thrown::wrapped`]). A list given empty, or with tags that cannot
/// match, matches nothing (IRI intersects with an empty set).
fn find_transactions(api: &Api, p: Params<'_>) -> Result<Reply, Thrown> {
    let bundles = p.has("bundles").then(|| p.hash_set("bundles")).transpose()?;
    let addresses_given = p.has("addresses").then(|| p.hash_set("addresses")).transpose()?;
    let tags = p.has("tags").then(|| p.tags()).transpose()?;
    let approvees = p.has("approvees").then(|| p.hash_set("approvees")).transpose()?;
    if bundles.is_none() && addresses_given.is_none() && tags.is_none() && approvees.is_none() {
        return Err(Thrown::validation(INVALID_PARAMS));
    }
    let bundles = hashes(&bundles.unwrap_or_default())?;
    let wanted = addresses(&addresses_given.unwrap_or_default())?;
    let tags_given = tags.is_some();
    let tags: Vec<_> = tags.unwrap_or_default().into_iter().flatten().collect();
    let approvees = hashes(&approvees.unwrap_or_default())?;
    let given_but_empty = [
        (p.has("bundles"), bundles.is_empty()),
        (p.has("addresses"), wanted.is_empty()),
        (tags_given, tags.is_empty()),
        (p.has("approvees"), approvees.is_empty()),
    ]
    .iter()
    .any(|(given, empty)| *given && *empty);
    if given_but_empty {
        return Ok(hashes_reply(&[]));
    }
    let found = api.node.find(&wanted, &bundles, &tags, &approvees);
    if found.len() > api.limits.max_find_transactions {
        return Ok(Reply::Error(OVER_MAX.into()));
    }
    Ok(hashes_reply(&found))
}

async fn issue_milestone(api: &Api) -> Answer {
    let node = api.node.clone();
    let milestone = tokio::task::spawn_blocking(move || node.issue_milestone())
        .await
        .map_err(|e| Reply::Error(e.to_string()))?
        .map_err(Reply::Error)?;
    Ok(Reply::fields(json!({
        "milestoneIndex": milestone.index,
        "milestone": milestone.hash.to_string(),
    })))
}

/// The devnet's `fund`: `address` (81 trytes, or 90 with checksum) and
/// `amount` as a JSON integer.
async fn fund(api: &Api, p: Params<'_>) -> Answer {
    let refuse = |reason: String| Reply::Error(format!("Invalid parameters for fund: {reason}"));
    let address = match p.map().get("address") {
        Some(Value::String(s)) => Address::parse(s, ChecksumPolicy::Optional).map_err(|e| refuse(e.to_string()))?,
        _ => return Err(refuse("address must be a string of 81 or 90 trytes".into())),
    };
    let amount = p
        .map()
        .get("amount")
        .and_then(Value::as_u64)
        .ok_or_else(|| refuse("amount must be a JSON integer of at least 0".into()))?;
    let receipt = api.node.fund(address, amount).await.map_err(Reply::Error)?;
    Ok(Reply::fields(json!({
        "bundle": receipt.bundle.to_string(),
        "tail": receipt.tail.to_string(),
    })))
}

fn set_faults(api: &Api, p: Params<'_>) -> Answer {
    let mut fields = p.map().clone();
    fields.remove("command");
    let faults: Faults = serde_json::from_value(Value::Object(fields))
        .map_err(|e| Reply::Error(format!("Invalid parameters for setFaults: {e}")))?;
    let faults = api.node.set_faults(faults).map_err(Reply::Error)?;
    Ok(Reply::fields(json!(faults)))
}
