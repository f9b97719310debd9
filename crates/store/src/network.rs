//! Which network the database belongs to (`network`): the coordinator
//! address of the node Hub first ran against. A database is bound to one
//! network for good, so the balances of one (a devnet, a testnet) never
//! meet the chain of another.

use hub_protocol::Address;

use crate::sql::Columns;
use crate::tx::{Result, Tx};

impl Tx {
    /// The coordinator address of the network this database belongs to, if recorded.
    pub async fn network(&mut self) -> Result<Option<Address>> {
        let row = sqlx::query("SELECT coordinator_address FROM network WHERE id = 1")
            .fetch_optional(&mut *self.inner)
            .await?;
        row.map(|row| Columns::new("network", &row).address("coordinator_address"))
            .transpose()
    }

    /// Binds the database to the network of `coordinator`; nothing if it is bound already.
    pub async fn record_network(&mut self, coordinator: &Address, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO network (id, coordinator_address, recorded_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(coordinator.as_str())
        .bind(now)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }
}
