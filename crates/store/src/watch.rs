//! Addresses Hub no longer expects funds on, and what was reported about
//! them: swept deposit addresses (a late deposit lands there, and lets
//! anyone replay the sweep that spent it) and Hub addresses no sweep in
//! flight touches (a replayed sweep pays their remainder again). The
//! monitor compares them with the node; each change it sees is appended to
//! the event log once, so the log itself remembers what was reported.

use hub_protocol::Amount;
use sqlx::any::AnyRow;

use crate::codes::{AddressReason, Code, EventKind};
use crate::events::EventOf;
use crate::rows::WatchedAddress;
use crate::sql::{corrupt, deposit_address_swept, sweep_unconfirmed, Columns};
use crate::tx::{Result, Tx};

fn watched(table: &'static str, r: &AnyRow) -> Result<WatchedAddress> {
    let c = Columns::new(table, r);
    Ok(WatchedAddress {
        id: c.int("id")?,
        address: c.address("address")?,
        balance: c.amount("balance")?,
        user_id: c.opt_int("user_id")?,
    })
}

impl Tx {
    /// Up to `limit` swept deposit addresses with id greater than
    /// `after_id`, in id order (keyset pagination). Not those an abandoned
    /// sweep gave to Hub: they are Hub addresses now, watched as such; nor
    /// those whose sweep has not confirmed yet: until it does, the node
    /// rightly shows the deposit still there.
    pub async fn swept_deposit_addresses(&mut self, after_id: i64, limit: i64) -> Result<Vec<WatchedAddress>> {
        let sql = format!(
            "SELECT a.id, a.address, a.balance, a.user_id FROM user_address a
             WHERE a.id > $1 AND {} AND NOT EXISTS (SELECT 1 FROM hub_address h WHERE h.address = a.address)
               AND NOT EXISTS (
                 SELECT 1 FROM user_address_balance b JOIN sweep s ON s.id = b.sweep
                 WHERE b.user_address = a.id AND b.reason = {} AND {})
             ORDER BY a.id LIMIT $2",
            deposit_address_swept("a"),
            AddressReason::Sweep.code(),
            sweep_unconfirmed("s")
        );
        let rows = sqlx::query(&sql)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter().map(|r| watched("user_address", r)).collect()
    }

    /// Up to `limit` Hub addresses with id greater than `after_id` that no
    /// unconfirmed sweep spends or pays (their balance is settled), in id
    /// order.
    pub async fn settled_hub_addresses(&mut self, after_id: i64, limit: i64) -> Result<Vec<WatchedAddress>> {
        let sql = format!(
            "SELECT h.id, h.address, h.balance, CAST(NULL AS BIGINT) AS user_id FROM hub_address h
             WHERE h.id > $1 AND NOT EXISTS (
                 SELECT 1 FROM hub_address_balance e JOIN sweep s ON s.id = e.sweep
                 WHERE e.hub_address = h.id AND {})
             ORDER BY h.id LIMIT $2",
            sweep_unconfirmed("s")
        );
        let rows = sqlx::query(&sql)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *self.inner)
            .await?;
        rows.iter().map(|r| watched("hub_address", r)).collect()
    }

    /// The amount last reported as `kind` for `address`, if any.
    pub async fn last_reported_funds(
        &mut self,
        kind: EventKind,
        address: &hub_protocol::Address,
    ) -> Result<Option<Amount>> {
        let address = address.to_string();
        if let Some(amount) = self.pending_event(kind, |pending, _| pending == Some(address.as_str())) {
            return Ok(Some(
                Amount::from_i64(amount).map_err(|e| corrupt("events", "amount", e))?,
            ));
        }
        let row = sqlx::query("SELECT amount FROM events WHERE kind = $1 AND address = $2 ORDER BY id DESC LIMIT 1")
            .bind(kind.as_str())
            .bind(address)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.map(|r| Columns::new("events", &r).amount("amount")).transpose()
    }

    /// Records that the node shows `amount` Hub did not expect on `watched`
    /// (0: the difference is gone again). `kind` is
    /// [`EventKind::DepositLate`], [`EventKind::HubUnexpectedInbound`] or
    /// [`EventKind::HubShortfall`].
    pub async fn report_unexpected_funds(
        &mut self,
        kind: EventKind,
        watched: &WatchedAddress,
        amount: Amount,
        now: i64,
    ) -> Result<()> {
        let address = watched.address.to_string();
        let of = EventOf {
            user_id: watched.user_id,
            address: Some(&address),
            amount: amount.as_i64(),
            ..EventOf::default()
        };
        self.event(kind, of, now).await
    }
}
