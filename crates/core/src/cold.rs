//! Cold storage without stopping Hub or editing SQL (the integration
//! guide's option 1).
//!
//! An operator marks a Hub address cold: sweeps never spend it. He may then
//! export its seed UUID for offline keeping, which removes the UUID from the
//! database, so a stolen database (even with the salt) cannot spend it; and
//! later bring the UUID back, checked against the address, and mark the
//! address warm again. Each step is one transaction and leaves an event.

use hub_protocol::address::ChecksumPolicy;
use hub_protocol::{Address, SeedUuid};
use hub_store::HubAddressRow;

use crate::{Cause, Hub, HubError};

/// A Hub address as the cold-storage commands report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdAddress {
    /// 81 trytes.
    pub address: String,
    /// Cached balance.
    pub balance: i64,
    /// Excluded from sweeps.
    pub cold: bool,
    /// Its seed UUID is kept offline, not in the database.
    pub exported: bool,
}

impl From<HubAddressRow> for ColdAddress {
    fn from(row: HubAddressRow) -> Self {
        Self {
            address: row.address.to_string(),
            balance: row.balance.as_i64(),
            cold: row.cold,
            exported: row.seed_uuid.is_none(),
        }
    }
}

fn parse(address: &str) -> Result<Address, HubError> {
    Address::parse(address, ChecksumPolicy::Optional).map_err(|e| HubError::argument("address", e))
}

async fn locked(tx: &mut hub_store::Tx, address: &Address) -> Result<HubAddressRow, HubError> {
    tx.hub_address(address).await?.ok_or(HubError::UnknownAddress)
}

impl Hub {
    /// Hub addresses marked cold.
    pub async fn cold_addresses(&self) -> Result<Vec<ColdAddress>, HubError> {
        let mut tx = self.store.read().await?;
        let rows = tx.cold_hub_addresses().await?;
        Ok(rows.into_iter().map(ColdAddress::from).collect())
    }

    /// Marks a Hub address cold (`true`) or warm again (`false`). A warm
    /// address needs its seed UUID in the database.
    pub async fn set_cold(&self, address: &str, cold: bool) -> Result<ColdAddress, HubError> {
        let address = parse(address)?;
        let mut tx = self.store.begin().await?;
        let row = locked(&mut tx, &address).await?;
        if !cold && row.seed_uuid.is_none() {
            return Err(HubError::InvalidAddress(
                "address: its seed UUID is exported; restore it before marking the address warm".into(),
            ));
        }
        if row.cold != cold {
            tx.set_cold_storage(row.id, cold, self.now_ms()).await?;
        }
        tx.commit().await?;
        Ok(ColdAddress { cold, ..row.into() })
    }

    /// Removes a cold address's seed UUID from the database. `keep` receives
    /// the UUID first (to write it somewhere safe); only if it succeeds is
    /// the removal committed, so the UUID is never lost.
    pub async fn export_cold_seed(
        &self,
        address: &str,
        keep: impl FnOnce(&SeedUuid) -> Result<(), String>,
    ) -> Result<ColdAddress, HubError> {
        let address = parse(address)?;
        let mut tx = self.store.begin().await?;
        let row = locked(&mut tx, &address).await?;
        if !row.cold {
            return Err(HubError::InvalidAddress(
                "address: mark it cold before exporting its seed UUID".into(),
            ));
        }
        let Some(uuid) = &row.seed_uuid else {
            return Err(HubError::InvalidAddress(
                "address: its seed UUID is already exported".into(),
            ));
        };
        if tx.hub_address_awaits_signature(row.id).await? {
            return Err(HubError::InvalidAddress(
                "address: a sweep spending it still needs its signature".into(),
            ));
        }
        keep(uuid).map_err(|e| HubError::internal(Cause::Provider, format!("the seed UUID could not be kept: {e}")))?;
        tx.export_hub_seed(row.id, self.now_ms()).await?;
        tx.commit().await?;
        tracing::warn!(%address, "cold storage: seed UUID exported and removed from the database");
        Ok(ColdAddress {
            exported: true,
            ..row.into()
        })
    }

    /// Brings an exported seed UUID back, after checking that it derives
    /// the address. The address stays cold until marked warm.
    pub async fn restore_cold_seed(&self, address: &str, uuid: &str) -> Result<ColdAddress, HubError> {
        let address = parse(address)?;
        let uuid = SeedUuid::parse(uuid).map_err(|e| HubError::InvalidUuid(e.for_field("uuid").to_string()))?;
        let derived = self
            .provider
            .address(&uuid)
            .await
            .map_err(|e| HubError::GetAddressFailed(e.to_string()))?;
        if derived != address {
            return Err(HubError::InvalidUuid(
                "uuid does not derive this address (wrong UUID, salt or Argon2 parameters)".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        let row = locked(&mut tx, &address).await?;
        if row.seed_uuid.is_some() {
            return Err(HubError::InvalidAddress(
                "address: its seed UUID is not exported".into(),
            ));
        }
        tx.restore_hub_seed(row.id, &uuid, self.now_ms()).await?;
        tx.commit().await?;
        Ok(ColdAddress {
            exported: false,
            ..row.into()
        })
    }
}
