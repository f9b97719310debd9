//! The dangerous commands (hub-behaviour.md §9): `SignBundle`,
//! `RecoverFunds`, `GetSeedForAddress` and `GetSeedForUUID`.
//!
//! Each one is off unless the operator turns it on ([`SensitiveConfig`]);
//! each one signs a key again or hands a seed out, so each success is logged
//! as a warning (never with the seed or the signature). Fixes over the
//! original: SignBundle is authenticated with a real HMAC-SHA256 over the
//! bundle hash and the address, compared in constant time (the original's
//! token was a constant); RecoverFunds runs in one transaction, credits no
//! account (the original paid the user twice), mines its bundle over the
//! real essence, refuses while the address's sweep is unconfirmed, and goes
//! through the sweep state machine so a crash resumes the same bundle;
//! GetSeedForUUID is gated and only answers for UUIDs this Hub knows.

use std::fmt;

use hmac::{Hmac, Mac};
use hub_protocol::address::ChecksumPolicy;
use hub_protocol::bundle::{mine, BundleBuilder, Input, Output};
use hub_protocol::{wots, Address, Hash, SeedUuid, Transaction};
use hub_store::SweepRow;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::commands::parse_payout_address;
use crate::{internal, pool, sweeper, Hub, HubError, RecoverFundsRequest, SignBundleRequest};

/// Shortest accepted SignBundle key.
pub const MIN_AUTH_KEY_BYTES: usize = 32;

/// Default number of bundle hashes RecoverFunds tries.
pub const DEFAULT_RECOVERY_CANDIDATES: u64 = 200_000;

/// The key SignBundle tokens are made with: `token = hex(HMAC-SHA256(key,
/// bundleHash ‖ address))`, both as 81 trytes.
#[derive(Clone)]
pub struct AuthKey(Zeroizing<Vec<u8>>);

impl AuthKey {
    /// A key of at least [`MIN_AUTH_KEY_BYTES`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < MIN_AUTH_KEY_BYTES {
            return Err(format!(
                "the SignBundle key must be at least {MIN_AUTH_KEY_BYTES} bytes (it has {})",
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }

    fn mac(&self, bundle_hash: &Hash, address: &Address) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(bundle_hash.as_str().as_bytes());
        mac.update(address.as_str().as_bytes());
        mac
    }

    /// The token that authorises signing `bundle_hash` with `address`'s key.
    pub fn token(&self, bundle_hash: &Hash, address: &Address) -> String {
        hex::encode(self.mac(bundle_hash, address).finalize().into_bytes())
    }

    /// Whether `token` authorises exactly this bundle hash and address
    /// (constant-time comparison).
    pub fn verify(&self, token: &str, bundle_hash: &Hash, address: &Address) -> bool {
        match hex::decode(token.trim()) {
            Ok(bytes) => self.mac(bundle_hash, address).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(<redacted>)")
    }
}

/// Which dangerous commands are on. Everything is off by default.
#[derive(Debug, Clone)]
pub struct SensitiveConfig {
    /// `SignBundle`, with the key its tokens are checked against.
    pub sign_bundle: Option<AuthKey>,
    /// `RecoverFunds`.
    pub recover_funds: bool,
    /// Bundle hashes RecoverFunds tries when a key signs again.
    pub recovery_candidates: u64,
    /// `GetSeedForAddress`.
    pub seed_for_address: bool,
    /// `GetSeedForUUID`.
    pub seed_for_uuid: bool,
}

impl Default for SensitiveConfig {
    fn default() -> Self {
        Self {
            sign_bundle: None,
            recover_funds: false,
            recovery_candidates: DEFAULT_RECOVERY_CANDIDATES,
            seed_for_address: false,
            seed_for_uuid: false,
        }
    }
}

fn disabled(command: &str) -> HubError {
    HubError::Cancelled(format!("{command} is disabled on this Hub"))
}

/// An address of exactly 81 trytes (no checksum accepted).
fn exact_address(field: &'static str, text: &str) -> Result<Address, HubError> {
    Address::parse(text, ChecksumPolicy::Without).map_err(|e| HubError::argument(field, e))
}

impl Hub {
    /// `SignBundle`: a signature of `bundle_hash` by an already-swept
    /// deposit address's key, for an operator who builds a recovery bundle
    /// himself. Writes nothing.
    pub async fn sign_bundle(&self, request: &SignBundleRequest) -> Result<String, HubError> {
        let Some(key) = &self.sensitive.sign_bundle else {
            return Err(disabled("SignBundle"));
        };
        let address = if request.validate_checksum {
            Address::parse(&request.address, ChecksumPolicy::Required)
                .map_err(|e| HubError::InvalidChecksum(e.for_field("address").to_string()))?
        } else {
            exact_address("address", &request.address)?
        };
        let hash = Hash::from_trytes(&request.bundle_hash).map_err(|e| HubError::argument("bundleHash", e))?;
        let row = self
            .store
            .read()
            .await
            .map_err(internal)?
            .user_address(address.as_str())
            .await
            .map_err(internal)?
            .ok_or(HubError::UnknownAddress)?;
        if !row.swept {
            return Err(HubError::InvalidAddress(
                "address: only an address that was swept (whose key already signed) may sign again".into(),
            ));
        }
        if !key.verify(&request.authentication, &hash, &address) {
            return Err(HubError::InvalidAuthentication);
        }
        let uuid = SeedUuid::parse(&row.seed_uuid).map_err(|e| HubError::Internal(format!("stored seed UUID: {e}")))?;
        let signature = self
            .provider
            .sign(&uuid, &hash)
            .await
            .map_err(|e| HubError::SignatureFailed(e.to_string()))?;
        if !wots::verify(&address, &hash, &signature.0) {
            return Err(HubError::SignatureFailed(
                "the provider's signature does not verify".into(),
            ));
        }
        tracing::warn!(%address, bundle = %hash, "SignBundle: a swept key signed again");
        Ok(signature.to_trytes())
    }

    /// `GetSeedForAddress`: the seed of one of the user's deposit addresses.
    pub async fn get_seed_for_address(&self, user_id: &str, address: &str) -> Result<String, HubError> {
        if !self.sensitive.seed_for_address {
            return Err(disabled("GetSeedForAddress"));
        }
        let mut tx = self.store.read().await.map_err(internal)?;
        let user = tx
            .user(user_id)
            .await
            .map_err(internal)?
            .ok_or(HubError::UserDoesNotExist)?;
        let address = Address::parse(address, ChecksumPolicy::Without)
            .map_err(|e| HubError::InvalidAddress(e.for_field("address").to_string()))?;
        let row = tx
            .user_address(address.as_str())
            .await
            .map_err(internal)?
            .ok_or(HubError::UnknownAddress)?;
        drop(tx);
        if row.user_id != user.id {
            return Err(HubError::WrongUserAddress);
        }
        let uuid = SeedUuid::parse(&row.seed_uuid).map_err(|e| HubError::Internal(format!("stored seed UUID: {e}")))?;
        let seed = self.export_seed(&uuid).await?;
        tracing::warn!(%address, user = user_id, "GetSeedForAddress: a seed was handed out");
        Ok(seed)
    }

    /// `GetSeedForUUID`: the seed of a seed UUID this Hub knows.
    pub async fn get_seed_for_uuid(&self, uuid: &str) -> Result<String, HubError> {
        if !self.sensitive.seed_for_uuid {
            return Err(disabled("GetSeedForUUID"));
        }
        let uuid = SeedUuid::parse(uuid).map_err(|e| HubError::InvalidUuid(e.for_field("uuid").to_string()))?;
        let known = self
            .store
            .read()
            .await
            .map_err(internal)?
            .knows_seed_uuid(uuid.as_str())
            .await
            .map_err(internal)?;
        if !known {
            return Err(HubError::InvalidUuid("uuid is not a seed UUID of this Hub".into()));
        }
        let seed = self.export_seed(&uuid).await?;
        tracing::warn!(?uuid, "GetSeedForUUID: a seed was handed out");
        Ok(seed)
    }

    async fn export_seed(&self, uuid: &SeedUuid) -> Result<String, HubError> {
        let seed = self
            .provider
            .seed(uuid)
            .await
            .map_err(|e| HubError::Internal(format!("seed provider: {e}")))?;
        Ok(seed.expose_trytes().to_string())
    }

    /// `RecoverFunds`: moves everything sent to an already-swept deposit
    /// address after its sweep to `payout_address`, as a sweep of its own
    /// (attached and confirmed like any sweep). No account is credited: the
    /// funds never entered Hub's books.
    pub async fn recover_funds(&self, request: &RecoverFundsRequest) -> Result<String, HubError> {
        if !self.sensitive.recover_funds {
            return Err(disabled("RecoverFunds"));
        }
        let user = self
            .store
            .read()
            .await
            .map_err(internal)?
            .user(&request.user_id)
            .await
            .map_err(internal)?
            .ok_or(HubError::UserDoesNotExist)?;
        let address = exact_address("address", &request.address)?;
        let payout = parse_payout_address("payoutAddress", &request.payout_address, request.validate_checksum)?;
        let mut tx = self.store.read().await.map_err(internal)?;
        if tx.is_hub_owned(payout.as_str()).await.map_err(internal)? {
            return Err(HubError::InvalidAddress("payoutAddress belongs to this Hub".into()));
        }
        let row = recoverable(&mut tx, &address, user.id).await?;
        let bound = tx.signed_hashes(&row.seed_uuid).await.map_err(internal)?;
        drop(tx);

        self.ensure_unspent(payout).await?;
        let balance = self
            .node
            .get_balances(&[address])
            .await
            .map_err(|_| HubError::AddressNotKnownToNode)?
            .balances
            .first()
            .copied()
            .ok_or(HubError::AddressNotKnownToNode)?;
        if balance == 0 {
            return Err(HubError::AddressBalanceZero);
        }
        let mut signed = self.signatures_seen(&address).await?;
        for hash in bound {
            signed.push(Hash::from_trytes(&hash).map_err(|e| HubError::Internal(format!("stored bundle hash: {e}")))?);
        }
        if signed.is_empty() {
            return Err(HubError::Internal(
                "a swept address with no known signature; refusing to guess".into(),
            ));
        }

        let uuid = SeedUuid::parse(&row.seed_uuid).map_err(|e| HubError::Internal(format!("stored seed UUID: {e}")))?;
        let security = self
            .provider
            .security_level(&uuid)
            .await
            .map_err(|e| HubError::SignatureFailed(e.to_string()))?;
        let now = self.now_ms();
        let unsigned = BundleBuilder::new(u64::try_from(now / 1000).unwrap_or(0))
            .and_then(|b| {
                b.input(Input {
                    address,
                    amount: balance,
                    security,
                })
                .output(Output::new(payout, balance))
                .build()
            })
            .map_err(|e| HubError::Internal(format!("recovery bundle: {e}")))?;
        let mut transactions = unsigned.transactions().to_vec();
        let candidates = self.sensitive.recovery_candidates;
        let (mined, transactions) = tokio::task::spawn_blocking(move || {
            mine(&mut transactions, &signed, security, candidates).map(|mined| (mined, transactions))
        })
        .await
        .map_err(|e| HubError::Internal(format!("mining task failed: {e}")))?
        .map_err(|e| HubError::Internal(format!("recovery bundle: {e}")))?;
        let trytes: String = transactions.iter().map(Transaction::to_trytes).collect();

        let sweep = loop {
            if let Some(sweep) = self
                .record_recovery(&address, user.id, &row.seed_uuid, &mined.hash, &trytes)
                .await?
            {
                break sweep;
            }
            pool::add_one(self).await?;
        };
        tracing::warn!(
            %address, payout = %payout, balance, bundle = %mined.hash, forgery_log2 = mined.forgery_log2,
            "RecoverFunds: a swept key signs again"
        );
        sweeper::sign(self, &sweep).await?;
        Ok(mined.hash.to_string())
    }

    /// Records a recovery as a planned sweep, with the checks again under
    /// the write lock; `None` when the address pool is empty.
    async fn record_recovery(
        &self,
        address: &Address,
        user_id: i64,
        seed_uuid: &str,
        hash: &Hash,
        trytes: &str,
    ) -> Result<Option<SweepRow>, HubError> {
        let now = self.now_ms();
        let mut tx = self.store.begin().await.map_err(internal)?;
        let row = recoverable(&mut tx, address, user_id).await?;
        if row.seed_uuid != seed_uuid {
            return Err(HubError::Internal("the deposit address changed during recovery".into()));
        }
        let Some((uuid, remainder_address)) = tx.take_pooled_address().await.map_err(internal)? else {
            return Ok(None);
        };
        // As the original: the recovery is a sweep into a new Hub address that receives 0.
        let hub_address = tx
            .insert_hub_address(&remainder_address, &uuid, now)
            .await
            .map_err(internal)?;
        let sweep = tx
            .insert_sweep(hash.as_str(), trytes, hub_address, now)
            .await
            .map_err(internal)?;
        tx.add_hub_entry(hub_address, 0, 0, sweep, now)
            .await
            .map_err(internal)?;
        tx.add_recovery_signature(seed_uuid, hash.as_str(), sweep, now)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(Some(SweepRow {
            id: sweep,
            bundle_hash: hash.to_string(),
            trytes: trytes.to_string(),
            state: "planned".into(),
            created_at: now,
        }))
    }

    /// Bundle hashes the node has seen `address` sign (any bundle in which
    /// it spends), confirmed or not: every one exposes part of the key.
    async fn signatures_seen(&self, address: &Address) -> Result<Vec<Hash>, HubError> {
        let unavailable = |e: hub_node::NodeError| HubError::IotaNodeUnavailable(e.to_string());
        let found = self
            .node
            .find_transactions(&hub_node::FindQuery {
                addresses: vec![*address],
                ..hub_node::FindQuery::default()
            })
            .await
            .map_err(unavailable)?;
        let mut hashes: Vec<Hash> = self
            .node
            .get_trytes(&found)
            .await
            .map_err(unavailable)?
            .into_iter()
            .flatten()
            .filter(|tx| tx.address == *address && tx.value.get() < 0)
            .map(|tx| tx.bundle)
            .collect();
        hashes.sort();
        hashes.dedup();
        Ok(hashes)
    }
}

/// The deposit address to recover from, if it may be: known, the user's,
/// swept, and with every earlier spend of it confirmed.
async fn recoverable(
    tx: &mut hub_store::Tx,
    address: &Address,
    user_id: i64,
) -> Result<hub_store::UserAddressRow, HubError> {
    let row = tx
        .user_address(address.as_str())
        .await
        .map_err(internal)?
        .ok_or(HubError::UnknownAddress)?;
    if row.user_id != user_id {
        return Err(HubError::WrongUserAddress);
    }
    if !row.swept {
        return Err(HubError::InvalidAddress(
            "address has not been swept: its funds arrive through the normal sweep".into(),
        ));
    }
    let pending = tx.unconfirmed_spends(row.id, &row.seed_uuid).await.map_err(internal)?;
    if let Some(hash) = pending.first() {
        return Err(HubError::InvalidAddress(format!(
            "address: bundle {hash} spending it is not confirmed yet; recover after it is"
        )));
    }
    Ok(row)
}
