//! Money as a type: a number of tokens that cannot leave `0..=SUPPLY`.
//!
//! Balances, deposits, withdrawals and sweep inputs are [`Amount`]s; the
//! only way in is a checked constructor, and arithmetic is checked (an
//! overflow or a result beyond the supply is `None`, never a wrap). Signed
//! ledger amounts are [`Value`]s, with the same bound as a transaction's
//! value field. Nothing here casts with `as`.

use std::fmt;

use crate::transaction::Value;
use crate::{Error, SUPPLY};

/// A non-negative number of tokens, at most the total supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(u64);

/// The supply as the unsigned type (the constant is positive).
const SUPPLY_U64: u64 = SUPPLY.unsigned_abs();

impl Amount {
    /// No tokens.
    pub const ZERO: Self = Self(0);
    /// The whole supply.
    pub const MAX: Self = Self(SUPPLY_U64);

    /// Checks the supply bound.
    pub fn new(tokens: u64) -> Result<Self, Error> {
        if tokens > SUPPLY_U64 {
            return Err(Error::OutOfRange {
                field: "amount",
                value: tokens.into(),
                min: 0,
                max: SUPPLY.into(),
            });
        }
        Ok(Self(tokens))
    }

    /// From a signed number: refused when negative or beyond the supply.
    pub fn from_i64(tokens: i64) -> Result<Self, Error> {
        u64::try_from(tokens)
            .map_err(|_| Error::OutOfRange {
                field: "amount",
                value: tokens.into(),
                min: 0,
                max: SUPPLY.into(),
            })
            .and_then(Self::new)
    }

    /// The number of tokens.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The number of tokens as a signed integer (always fits: ≤ the supply).
    pub fn as_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, `None` beyond the supply.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).and_then(|t| Self::new(t).ok())
    }

    /// `self − other`, `None` below zero.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// `self + change` for a signed change, `None` outside `0..=SUPPLY`.
    pub fn checked_apply(self, change: Value) -> Option<Self> {
        self.as_i64()
            .checked_add(change.get())
            .and_then(|t| Self::from_i64(t).ok())
    }

    /// The sum, `None` beyond the supply.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Self>) -> Option<Self> {
        amounts.into_iter().try_fold(Self::ZERO, Self::checked_add)
    }

    /// This amount as a credit (positive signed amount).
    pub fn credit(self) -> Value {
        Value::new(self.as_i64()).unwrap_or(Value::ZERO)
    }

    /// This amount as a debit (negative signed amount).
    pub fn debit(self) -> Value {
        Value::new(-self.as_i64()).unwrap_or(Value::ZERO)
    }
}

impl Value {
    /// `self + other`, `None` beyond the supply in magnitude.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.get().checked_add(other.get()).and_then(|v| Self::new(v).ok())
    }

    /// The magnitude.
    pub fn magnitude(self) -> Amount {
        Amount(self.get().unsigned_abs())
    }

    /// Whether this is below zero.
    pub fn is_negative(self) -> bool {
        self.get() < 0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_is_checked() {
        assert_eq!(Amount::new(SUPPLY_U64).unwrap(), Amount::MAX);
        assert!(Amount::new(SUPPLY_U64 + 1).is_err());
        assert!(Amount::from_i64(-1).is_err());
        assert_eq!(Amount::from_i64(5).unwrap().get(), 5);
    }

    #[test]
    fn arithmetic_never_leaves_the_bounds() {
        let one = Amount::new(1).unwrap();
        assert_eq!(Amount::MAX.checked_add(one), None);
        assert_eq!(Amount::ZERO.checked_sub(one), None);
        assert_eq!(one.checked_apply(one.debit()), Some(Amount::ZERO));
        assert_eq!(Amount::ZERO.checked_apply(one.debit()), None);
        assert_eq!(Amount::MAX.checked_apply(one.credit()), None);
        assert_eq!(Amount::checked_sum([Amount::MAX, one]), None);
        assert_eq!(Amount::checked_sum([one, one]).map(Amount::get), Some(2));
        assert_eq!(Amount::MAX.debit().magnitude(), Amount::MAX);
        assert!(Amount::MAX.credit().checked_add(one.credit()).is_none());
    }
}
