//! What the aggregates' queries share: named limits, placeholder lists, the
//! predicates written once, and [`Columns`], which turns a row into typed
//! values. A stored value that is not what the schema promises is an error
//! naming its table and column, never a panic or a silent default.

use std::fmt::Display;

use hub_protocol::{Address, Amount, Hash, SeedUuid, Tag, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::{AddressReason, Code, HubAddressReason, Scope, SweepState};
use crate::StoreError;

/// Rows per multi-row INSERT: 500 rows × at most 6 parameters stays far
/// below SQLite's 32 766 and PostgreSQL's 65 535 bound parameters.
pub(crate) const INSERT_ROWS_MAX: usize = 500;
/// Rows per `CASE id WHEN … END` UPDATE (3 parameters a row).
pub(crate) const CASE_UPDATE_ROWS_MAX: usize = 400;
/// Values per `IN (…)` list.
pub(crate) const IN_LIST_MAX: usize = 1000;

/// `$first, $first+1, …` (`n` of them).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deposit address `alias` has been swept: a SWEEP row emptied it. A swept
/// address is never monitored, credited or swept again.
pub(crate) fn deposit_address_swept(alias: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM user_address_balance swept WHERE swept.user_address = {alias}.id AND swept.reason = {})",
        AddressReason::Sweep.code()
    )
}

/// Row `alias` comes after the position (`occured_at`, `id`) bound at
/// placeholders `$at` and `$id`, in `ORDER BY occured_at, id` (keyset
/// pagination of the ledgers read by time).
pub(crate) fn after_position(alias: &str, at: usize, id: usize) -> String {
    format!("({alias}.occured_at > ${at} OR ({alias}.occured_at = ${at} AND {alias}.id > ${id}))")
}

/// Hub address `alias` has been spent by a sweep (an abandoned sweep
/// spent nothing: its OUTBOUND rows were given back).
pub(crate) fn hub_address_spent(alias: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM hub_address_balance spent JOIN sweep spender ON spender.id = spent.sweep
                 WHERE spent.hub_address = {alias}.id AND spent.reason = {} AND spender.state <> '{}')",
        HubAddressReason::Outbound.code(),
        SweepState::Abandoned.as_str()
    )
}

/// Sweep `alias` is still on its way: planned or signed, not confirmed
/// (nor abandoned).
pub(crate) fn sweep_unconfirmed(alias: &str) -> String {
    format!(
        "{alias}.state IN ('{}', '{}')",
        SweepState::Planned.as_str(),
        SweepState::Signed.as_str()
    )
}

/// A corrupt-row error naming where.
pub(crate) fn corrupt(table: &'static str, column: &'static str, reason: impl Display) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        reason: reason.to_string(),
    }
}

/// The columns of one row of `table`, read by name and parsed once.
pub(crate) struct Columns<'r> {
    row: &'r AnyRow,
    table: &'static str,
}

type Result<T> = std::result::Result<T, StoreError>;

impl<'r> Columns<'r> {
    pub(crate) fn new(table: &'static str, row: &'r AnyRow) -> Self {
        Self { row, table }
    }

    fn get<T>(&self, column: &'static str) -> Result<T>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.row.try_get(column).map_err(|e| corrupt(self.table, column, e))
    }

    fn parse<T, E: Display>(
        &self,
        column: &'static str,
        parse: impl FnOnce(&str) -> std::result::Result<T, E>,
    ) -> Result<T> {
        let text: String = self.get(column)?;
        parse(&text).map_err(|e| corrupt(self.table, column, e))
    }

    /// An integer (ids, milliseconds, counts).
    pub(crate) fn int(&self, column: &'static str) -> Result<i64> {
        self.get(column)
    }

    pub(crate) fn opt_int(&self, column: &'static str) -> Result<Option<i64>> {
        self.get(column)
    }

    pub(crate) fn text(&self, column: &'static str) -> Result<String> {
        self.get(column)
    }

    pub(crate) fn opt_text(&self, column: &'static str) -> Result<Option<String>> {
        self.get(column)
    }

    /// An integer flag (0 or 1).
    pub(crate) fn flag(&self, column: &'static str) -> Result<bool> {
        match self.get::<i64>(column)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(corrupt(self.table, column, format!("{other} is not a flag (0 or 1)"))),
        }
    }

    pub(crate) fn amount(&self, column: &'static str) -> Result<Amount> {
        let raw: i64 = self.get(column)?;
        Amount::from_i64(raw).map_err(|e| corrupt(self.table, column, e))
    }

    /// A signed ledger amount.
    pub(crate) fn value(&self, column: &'static str) -> Result<Value> {
        let raw: i64 = self.get(column)?;
        Value::new(raw).map_err(|e| corrupt(self.table, column, e))
    }

    pub(crate) fn code<C: Code>(&self, column: &'static str) -> Result<C> {
        let raw: i64 = self.get(column)?;
        C::from_code(raw).ok_or_else(|| corrupt(self.table, column, format!("{raw} is not a known code")))
    }

    pub(crate) fn sweep_state(&self, column: &'static str) -> Result<SweepState> {
        self.parse(column, |text| {
            SweepState::parse(text).ok_or_else(|| format!("{text:?} is not a sweep state"))
        })
    }

    /// Comma-separated scope codes (an empty text is one unknown scope).
    pub(crate) fn scopes(&self, column: &'static str) -> Result<Vec<Scope>> {
        self.parse(column, |text| {
            text.split(',').map(str::parse).collect::<std::result::Result<_, _>>()
        })
    }

    pub(crate) fn address(&self, column: &'static str) -> Result<Address> {
        self.parse(column, Address::from_trytes)
    }

    pub(crate) fn hash(&self, column: &'static str) -> Result<Hash> {
        self.parse(column, Hash::from_trytes)
    }

    pub(crate) fn opt_hash(&self, column: &'static str) -> Result<Option<Hash>> {
        match self.get::<Option<String>>(column)? {
            None => Ok(None),
            Some(text) => Hash::from_trytes(&text)
                .map(Some)
                .map_err(|e| corrupt(self.table, column, e)),
        }
    }

    /// A seed UUID; the reason never quotes the stored text (it is a secret).
    pub(crate) fn seed_uuid(&self, column: &'static str) -> Result<SeedUuid> {
        self.parse(column, |text| {
            SeedUuid::parse(text).map_err(|_| "not 64 characters of the seed UUID alphabet")
        })
    }

    /// A tag; NULL (the original's rows) is the all-`9` tag.
    pub(crate) fn tag(&self, column: &'static str) -> Result<Tag> {
        match self.get::<Option<String>>(column)? {
            None => Ok(Tag::NULL),
            Some(text) => Tag::from_trytes(&text).map_err(|e| corrupt(self.table, column, e)),
        }
    }
}
