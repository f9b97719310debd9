//! Checks of the books against themselves (hub-behaviour.md §3.4.1–2):
//! every cached balance equals the sum of its ledger. Read-only; used by
//! tests and, later, by `hub admin check`.

use crate::sql::Columns;
use crate::tx::{Result, Tx};

impl Tx {
    /// A description of each cached balance that differs from its ledger.
    pub async fn balance_mismatches(&mut self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        for (table, ledger, key) in [
            ("user_account", "user_account_balance", "user_id"),
            ("user_address", "user_address_balance", "user_address"),
            ("hub_address", "hub_address_balance", "hub_address"),
        ] {
            let sql = format!(
                "SELECT t.id, t.balance, CAST(COALESCE((SELECT SUM(l.amount) FROM {ledger} l WHERE l.{key} = t.id), 0) AS BIGINT) AS summed
                 FROM {table} t"
            );
            for row in sqlx::query(&sql).fetch_all(&mut *self.inner).await? {
                let c = Columns::new(table, &row);
                let (id, cached, summed) = (c.int("id")?, c.int("balance")?, c.int("summed")?);
                if cached != summed {
                    problems.push(format!("{table} {id}: cached {cached}, ledger {summed}"));
                }
            }
        }
        Ok(problems)
    }
}
