//! Which network Hub runs on. The database is bound to the network of the
//! nodes it first ran against (their coordinator address); Hub refuses to
//! start against another one, so the balances of one network (a devnet, a
//! testnet) never meet the chain of another and get swept or paid there.
//! Every devnet shares one coordinator address: a wiped devnet is the same
//! network to this check.

use hub_protocol::{redact_url, Address};

use crate::Hub;

impl Hub {
    /// Asks every node which network it is on and binds the database to it
    /// (at start-up). Refuses, with the reason, when no node answers, when
    /// the nodes are on different networks, or when the database belongs to
    /// another network than the nodes. Returns the coordinator address.
    pub async fn check_network(&self) -> Result<Address, String> {
        let mut seen: Option<(String, Address)> = None;
        let mut failures = Vec::new();
        for node in self.nodes() {
            let endpoint = node.endpoints().first().map(|e| redact_url(e)).unwrap_or_default();
            match node.get_node_info().await {
                Ok(info) => {
                    let Some(coordinator) = info.coordinator_address else {
                        failures.push(format!("{endpoint}: getNodeInfo names no coordinatorAddress"));
                        continue;
                    };
                    match &seen {
                        Some((first, address)) if *address != coordinator => {
                            return Err(format!(
                                "the nodes are on different networks: {first} has coordinator {address}, \
                                 {endpoint} has {coordinator}"
                            ))
                        }
                        Some(_) => {}
                        None => seen = Some((endpoint, coordinator)),
                    }
                }
                Err(e) => failures.push(format!("{endpoint}: {e}")),
            }
        }
        let Some((_, coordinator)) = seen else {
            return Err(format!(
                "cannot tell which network the nodes are on (the database must not meet another network's chain): {}",
                failures.join("; ")
            ));
        };
        for failure in &failures {
            tracing::warn!("network check: {failure}");
        }
        let mut tx = self.store().begin().await.map_err(|e| e.to_string())?;
        match tx.network().await.map_err(|e| e.to_string())? {
            Some(recorded) if recorded != coordinator => Err(format!(
                "the database belongs to the network whose coordinator is {recorded}, and the nodes are on the one \
                 whose coordinator is {coordinator}: --node points at another network, or --database is another \
                 network's"
            )),
            Some(_) => Ok(coordinator),
            None => {
                tx.record_network(&coordinator, self.now_ms())
                    .await
                    .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
                tracing::info!(%coordinator, "database bound to this network");
                Ok(coordinator)
            }
        }
    }
}
