//! `GetSeedForAddress` and `GetSeedForUUID`: a seed handed out, for an
//! operator moving funds by hand. Fix over the original: GetSeedForUUID is
//! gated like the rest and answers only for UUIDs this Hub knows.

use hub_protocol::address::ChecksumPolicy;
use hub_protocol::{Address, SeedUuid};

use super::disabled;
use crate::{Cause, Hub, HubError};

impl Hub {
    /// `GetSeedForAddress`: the seed of one of the user's deposit addresses.
    pub async fn get_seed_for_address(&self, user_id: &str, address: &str) -> Result<String, HubError> {
        if !self.sensitive.seed_for_address {
            return Err(disabled("GetSeedForAddress"));
        }
        let mut tx = self.store.read().await?;
        let user = tx.user(user_id).await?.ok_or(HubError::UserDoesNotExist)?;
        let address = Address::parse(address, ChecksumPolicy::Without)
            .map_err(|e| HubError::InvalidAddress(e.for_field("address").to_string()))?;
        let row = tx.user_address(&address).await?.ok_or(HubError::UnknownAddress)?;
        drop(tx);
        if row.user_id != user.id {
            return Err(HubError::WrongUserAddress);
        }
        let seed = self.export_seed(&row.seed_uuid).await?;
        tracing::warn!(%address, user = user_id, "GetSeedForAddress: a seed was handed out");
        Ok(seed)
    }

    /// `GetSeedForUUID`: the seed of a seed UUID this Hub knows.
    pub async fn get_seed_for_uuid(&self, uuid: &str) -> Result<String, HubError> {
        if !self.sensitive.seed_for_uuid {
            return Err(disabled("GetSeedForUUID"));
        }
        let uuid = SeedUuid::parse(uuid).map_err(|e| HubError::InvalidUuid(e.for_field("uuid").to_string()))?;
        if !self.store.read().await?.knows_seed_uuid(&uuid).await? {
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
            .map_err(|e| HubError::internal(Cause::Provider, format!("seed provider: {e}")))?;
        Ok(seed.expose_trytes().to_string())
    }
}
