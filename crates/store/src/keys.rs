//! Which key may sign what: each seed UUID is bound to the one bundle hash
//! it may ever sign (`signed_uuids`), and an append-only
//! `recovery_signature` row allows one more signature for one recovery
//! bundle. Also the questions asked of every stored key (is this UUID ours?
//! one stored pair to check the salt with).

use hub_protocol::{Address, Hash, SeedUuid};

use crate::codes::{EventKind, SweepState};
use crate::events::EventOf;
use crate::rows::DerivedAddress;
use crate::sql::Columns;
use crate::tx::{Result, Tx};

/// What binding a key to a bundle hash found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The key is bound to this hash (now, or already).
    Bound,
    /// The key is bound to another hash; it must not sign this one.
    Other(Hash),
    /// The original Hub signed with this key for a bundle it did not record.
    Unrecorded,
}

impl Tx {
    /// Binds a seed UUID to the one bundle hash it may sign.
    pub async fn bind_uuid(&mut self, uuid: &SeedUuid, bundle_hash: &Hash) -> Result<Binding> {
        let existing = sqlx::query("SELECT bundle_hash FROM signed_uuids WHERE uuid = $1")
            .bind(uuid.as_str())
            .fetch_optional(&mut *self.inner)
            .await?;
        let Some(row) = existing else {
            sqlx::query("INSERT INTO signed_uuids (uuid, bundle_hash) VALUES ($1, $2)")
                .bind(uuid.as_str())
                .bind(bundle_hash.as_str())
                .execute(&mut *self.inner)
                .await?;
            return Ok(Binding::Bound);
        };
        Ok(match Columns::new("signed_uuids", &row).opt_hash("bundle_hash")? {
            Some(bound) if bound == *bundle_hash => Binding::Bound,
            Some(other) => Binding::Other(other),
            None => Binding::Unrecorded,
        })
    }

    /// Unbinds every key bound to `bundle_hash`, for an abandoned sweep
    /// that none of them signed; returns how many.
    pub async fn release_bindings(&mut self, bundle_hash: &Hash) -> Result<u64> {
        let done = sqlx::query("DELETE FROM signed_uuids WHERE bundle_hash = $1")
            .bind(bundle_hash.as_str())
            .execute(&mut *self.inner)
            .await?;
        Ok(done.rows_affected())
    }

    /// The bundle hash a seed UUID is bound to, if any.
    pub async fn uuid_binding(&mut self, uuid: &SeedUuid) -> Result<Option<Hash>> {
        let row = sqlx::query("SELECT bundle_hash FROM signed_uuids WHERE uuid = $1")
            .bind(uuid.as_str())
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(match row {
            Some(row) => Columns::new("signed_uuids", &row).opt_hash("bundle_hash")?,
            None => None,
        })
    }

    /// Allows one more signature of an already-spent key, for one recovery bundle.
    pub async fn add_recovery_signature(
        &mut self,
        seed_uuid: &SeedUuid,
        bundle_hash: &Hash,
        sweep: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO recovery_signature (seed_uuid, bundle_hash, sweep, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(seed_uuid.as_str())
        .bind(bundle_hash.as_str())
        .bind(sweep)
        .bind(now)
        .execute(&mut *self.inner)
        .await?;
        let of = EventOf {
            reference: Some(bundle_hash.as_str()),
            ..EventOf::default()
        };
        self.event(EventKind::RecoveryPlanned, of, now).await
    }

    /// Records, before it is made, a SignBundle signature of an already
    /// swept key for a caller's bundle hash (idempotent: asking again for
    /// the same hash records nothing new).
    pub async fn record_sign_bundle(
        &mut self,
        seed_uuid: &SeedUuid,
        address: &Address,
        bundle_hash: &Hash,
        now: i64,
    ) -> Result<()> {
        let inserted = sqlx::query(
            "INSERT INTO sign_bundle_signature (seed_uuid, bundle_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(seed_uuid.as_str())
        .bind(bundle_hash.as_str())
        .bind(now)
        .execute(&mut *self.inner)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(());
        }
        let of = EventOf {
            address: Some(address.as_str()),
            reference: Some(bundle_hash.as_str()),
            ..EventOf::default()
        };
        self.event(EventKind::BundleSigned, of, now).await
    }

    /// Records an ALERT: the node shows `address` spent by `bundle_hash`
    /// (`None`: spent, no spend shown), which Hub never signed.
    pub async fn report_key_spent_elsewhere(
        &mut self,
        address: &Address,
        bundle_hash: Option<&Hash>,
        now: i64,
    ) -> Result<()> {
        let of = EventOf {
            address: Some(address.as_str()),
            reference: bundle_hash.map(Hash::as_str),
            ..EventOf::default()
        };
        self.event(EventKind::KeySpentElsewhere, of, now).await
    }

    /// Bundle hashes a seed UUID signed or may sign: its sweep binding, its
    /// recoveries and its SignBundle signatures.
    pub async fn signed_hashes(&mut self, seed_uuid: &SeedUuid) -> Result<Vec<Hash>> {
        let rows = sqlx::query(
            "SELECT bundle_hash FROM signed_uuids WHERE uuid = $1 AND bundle_hash IS NOT NULL
             UNION ALL SELECT bundle_hash FROM recovery_signature WHERE seed_uuid = $1
             UNION ALL SELECT bundle_hash FROM sign_bundle_signature WHERE seed_uuid = $1",
        )
        .bind(seed_uuid.as_str())
        .fetch_all(&mut *self.inner)
        .await?;
        rows.iter()
            .map(|r| Columns::new("signed_uuids", r).hash("bundle_hash"))
            .collect()
    }

    /// Whether a recovery allowed `seed_uuid` to sign `bundle_hash` (and
    /// was not abandoned).
    pub async fn recovery_allows(&mut self, seed_uuid: &SeedUuid, bundle_hash: &Hash) -> Result<bool> {
        let sql = format!(
            "SELECT 1 FROM recovery_signature r JOIN sweep s ON s.id = r.sweep
             WHERE r.seed_uuid = $1 AND r.bundle_hash = $2 AND s.state <> '{}'",
            SweepState::Abandoned.as_str()
        );
        let row = sqlx::query(&sql)
            .bind(seed_uuid.as_str())
            .bind(bundle_hash.as_str())
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(row.is_some())
    }

    /// Whether a seed UUID is Hub's: a deposit address's, a Hub address's or a pooled one's.
    pub async fn knows_seed_uuid(&mut self, seed_uuid: &SeedUuid) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM user_address WHERE seed_uuid = $1
             UNION ALL SELECT 1 FROM hub_address WHERE seed_uuid = $1
             UNION ALL SELECT 1 FROM address_pool WHERE seed_uuid = $1",
        )
        .bind(seed_uuid.as_str())
        .fetch_optional(&mut *self.inner)
        .await?;
        Ok(row.is_some())
    }

    /// One stored seed UUID and its address, to check at start-up that the
    /// salt and Argon2 parameters still derive it.
    pub async fn any_derived_address(&mut self) -> Result<Option<DerivedAddress>> {
        for (table, condition) in [
            ("user_address", ""),
            ("hub_address", "WHERE seed_exported_at IS NULL"),
            ("address_pool", ""),
        ] {
            let sql = format!("SELECT seed_uuid, address FROM {table} {condition} ORDER BY id LIMIT 1");
            if let Some(row) = sqlx::query(&sql).fetch_optional(&mut *self.inner).await? {
                let c = Columns::new(table, &row);
                return Ok(Some(DerivedAddress {
                    seed_uuid: c.seed_uuid("seed_uuid")?,
                    address: c.address("address")?,
                }));
            }
        }
        Ok(None)
    }
}
