//! `RecoverFunds`: moves everything sent to an already-swept deposit
//! address after its sweep to a payout address, as a sweep of its own
//! (attached and confirmed like any sweep). Fixes over the original: one
//! transaction, no account credited (the original paid the user twice), the
//! bundle mined over the real essence to expose the reused key least,
//! refused while the address's sweep is unconfirmed, and recorded through
//! the sweep state machine so a crash resumes the same bundle. The
//! signature goes through the sweeper, so the node is asked first whether
//! the key signed anything Hub has no record of (`crate::spends`).

use hub_protocol::bundle::{mine, BundleBuilder, Input, Output};
use hub_protocol::{Address, Amount, Hash, SeedUuid, Transaction};
use hub_store::{SweepRow, UserAddressRow};

use super::{disabled, exact_address};
use crate::commands::parse_payout_address;
use crate::spends::spends_seen;
use crate::sweep::select::Selection;
use crate::sweep::{record_planned, sweeper, Keys, PlannedSweep};
use crate::{pool, Cause, Hub, HubError, RecoverFundsRequest};

/// Default number of bundle hashes RecoverFunds tries.
pub const DEFAULT_RECOVERY_CANDIDATES: u64 = 200_000;

impl Hub {
    /// `RecoverFunds`; returns the recovery bundle's hash.
    pub async fn recover_funds(&self, request: &RecoverFundsRequest) -> Result<String, HubError> {
        if !self.sensitive.recover_funds {
            return Err(disabled("RecoverFunds"));
        }
        let user = self
            .store
            .read()
            .await?
            .user(&request.user_id)
            .await?
            .ok_or(HubError::UserDoesNotExist)?;
        let address = exact_address("address", &request.address)?;
        let payout = parse_payout_address("payoutAddress", &request.payout_address, request.validate_checksum)?;
        let mut tx = self.store.read().await?;
        if tx.is_hub_owned(&payout).await? {
            return Err(HubError::InvalidAddress("payoutAddress belongs to this Hub".into()));
        }
        let row = recoverable(&mut tx, &address, user.id).await?;
        let bound = tx.signed_hashes(&row.seed_uuid).await?;
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
        // Every bundle the node has seen this key sign, confirmed or not,
        // exposes part of it: the mined bundle must expose least with all.
        let mut signed: Vec<Hash> = spends_seen(&self.node, &[address])
            .await?
            .remove(&address)
            .unwrap_or_default()
            .into_iter()
            .collect();
        signed.extend(bound);
        signed.sort();
        signed.dedup();
        if signed.is_empty() {
            return Err(HubError::internal(
                Cause::Invariant,
                "a swept address with no known signature; refusing to guess",
            ));
        }
        let (hash, trytes) = self
            .mined_bundle(&row.seed_uuid, address, payout, balance, signed)
            .await?;
        let sweep = loop {
            if let Some(sweep) = self
                .record_recovery(&address, user.id, &row.seed_uuid, &hash, &trytes)
                .await?
            {
                break sweep;
            }
            pool::add_one(self).await?;
        };
        tracing::warn!(%address, payout = %payout, balance, bundle = %hash, "RecoverFunds: a swept key signs again");
        sweeper::sign(self, &sweep).await?;
        Ok(hash.to_string())
    }

    /// The recovery bundle (everything to `payout`, no remainder), mined so
    /// that the key, together with every hash it signed before, exposes least.
    async fn mined_bundle(
        &self,
        uuid: &SeedUuid,
        address: Address,
        payout: Address,
        balance: u64,
        signed: Vec<Hash>,
    ) -> Result<(Hash, String), HubError> {
        let security = self
            .provider
            .security_level(uuid)
            .await
            .map_err(|e| HubError::SignatureFailed(e.to_string()))?;
        let bundle_error = |e: hub_protocol::Error| HubError::internal(Cause::Bundle, format!("recovery bundle: {e}"));
        let unsigned = BundleBuilder::new(u64::try_from(self.now_ms() / 1000).unwrap_or(0))
            .and_then(|b| {
                b.input(Input {
                    address,
                    amount: balance,
                    security,
                })
                .output(Output::new(payout, balance))
                .build()
            })
            .map_err(bundle_error)?;
        let mut transactions = unsigned.transactions().to_vec();
        let candidates = self.sensitive.recovery_candidates;
        let (mined, transactions) = tokio::task::spawn_blocking(move || {
            mine(&mut transactions, &signed, security, candidates).map(|mined| (mined, transactions))
        })
        .await
        .map_err(|e| HubError::internal(Cause::Task, format!("mining task failed: {e}")))?
        .map_err(bundle_error)?;
        tracing::info!(bundle = %mined.hash, forgery_log2 = mined.forgery_log2, "recovery bundle mined");
        Ok((mined.hash, transactions.iter().map(Transaction::to_trytes).collect()))
    }

    /// Records a recovery as a planned sweep, with the checks again under
    /// the write lock; `None` when the address pool is empty.
    async fn record_recovery(
        &self,
        address: &Address,
        user_id: i64,
        seed_uuid: &SeedUuid,
        hash: &Hash,
        trytes: &str,
    ) -> Result<Option<SweepRow>, HubError> {
        let now = self.now_ms();
        let mut tx = self.store.begin().await?;
        let row = recoverable(&mut tx, address, user_id).await?;
        if row.seed_uuid != *seed_uuid {
            return Err(HubError::internal(
                Cause::Concurrent,
                "the deposit address changed during recovery",
            ));
        }
        if tx.sweep_by_hash(hash).await?.is_some() {
            // The same bundle, mined in the same second as one abandoned.
            return Err(HubError::internal(
                Cause::Concurrent,
                format!("recovery bundle {hash} was planned before and abandoned; ask again in a second"),
            ));
        }
        let Some(into) = tx.take_pooled_address().await? else {
            return Ok(None);
        };
        // As the original: the recovery is a sweep into a new Hub address that receives 0.
        let nothing = Selection {
            deposits: Vec::new(),
            hub_inputs: Vec::new(),
            withdrawals: Vec::new(),
            remainder: Amount::ZERO,
        };
        let plan = PlannedSweep {
            hash,
            trytes,
            into: &into,
            selection: &nothing,
            keys: Keys::Recovery(seed_uuid),
        };
        let sweep = record_planned(&mut tx, &plan, now).await?;
        tx.commit().await?;
        Ok(Some(sweep))
    }
}

/// The deposit address to recover from, if it may be: known, the user's,
/// swept, and with every earlier spend of it confirmed. In a write
/// transaction the address row stays locked (see `user_address`), so two
/// concurrent recoveries cannot both plan a bundle for the key.
async fn recoverable(tx: &mut hub_store::Tx, address: &Address, user_id: i64) -> Result<UserAddressRow, HubError> {
    let row = tx.user_address(address).await?.ok_or(HubError::UnknownAddress)?;
    if row.user_id != user_id {
        return Err(HubError::WrongUserAddress);
    }
    if !row.swept {
        return Err(HubError::InvalidAddress(
            "address has not been swept: its funds arrive through the normal sweep".into(),
        ));
    }
    let pending = tx.unconfirmed_spends(row.id, &row.seed_uuid).await?;
    if let Some(hash) = pending.first() {
        return Err(HubError::InvalidAddress(format!(
            "address: bundle {hash} spending it is not confirmed yet; recover after it is"
        )));
    }
    Ok(row)
}
