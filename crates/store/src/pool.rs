//! The address pool (`address_pool`): deposit addresses derived ahead of
//! time, each taken out exactly once (PostgreSQL skips rows other
//! transactions hold, SQLite holds the write lock).

use hub_protocol::{Address, SeedUuid};
use sqlx::Row;

use crate::rows::DerivedAddress;
use crate::sql::Columns;
use crate::tx::{Result, Tx};
use crate::Backend;

impl Tx {
    /// Adds a pre-derived deposit address to the pool.
    pub async fn add_pooled_address(&mut self, seed_uuid: &SeedUuid, address: &Address, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO address_pool (seed_uuid, address, created_at) VALUES ($1, $2, $3)")
            .bind(seed_uuid.as_str())
            .bind(address.as_str())
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Takes the oldest pooled address out of the pool.
    pub async fn take_pooled_address(&mut self) -> Result<Option<DerivedAddress>> {
        let skip = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!("SELECT id, seed_uuid, address FROM address_pool ORDER BY id LIMIT 1{skip}");
        let Some(row) = sqlx::query(&sql).fetch_optional(&mut *self.inner).await? else {
            return Ok(None);
        };
        let c = Columns::new("address_pool", &row);
        let pooled = DerivedAddress {
            seed_uuid: c.seed_uuid("seed_uuid")?,
            address: c.address("address")?,
        };
        sqlx::query("DELETE FROM address_pool WHERE id = $1")
            .bind(c.int("id")?)
            .execute(&mut *self.inner)
            .await?;
        Ok(Some(pooled))
    }

    /// Addresses waiting in the pool.
    pub async fn pool_size(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM address_pool")
            .fetch_one(&mut *self.inner)
            .await?;
        Ok(row.try_get("n")?)
    }
}
