//! Trytes, trits and balanced-ternary integers.
//!
//! A trit is an `i8` in -1..=1; a tryte is one of the 27 characters
//! `9ABCDEFGHIJKLMNOPQRSTUVWXYZ` standing for the values 0, 1..=13 and
//! -13..=-1. Three trits make a tryte, least significant first. Numbers in
//! transactions are balanced-ternary integers, least significant trit first.
//! These helpers are the only place where the encoding is spelled out.

use crate::Error;

/// The tryte alphabet, indexed by value modulo 27.
pub const TRYTE_ALPHABET: &[u8; 27] = b"9ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Trits per tryte.
pub const TRITS_PER_TRYTE: usize = 3;

/// The largest value `n` balanced trits can hold: (3^n - 1) / 2.
pub const fn max_balanced(trits: u32) -> i64 {
    (3i64.pow(trits) - 1) / 2
}

/// The value of a tryte character, or `None` if it is not a tryte.
#[inline]
pub fn tryte_value(c: u8) -> Option<i8> {
    match c {
        b'9' => Some(0),
        b'A'..=b'M' => Some((c - b'A') as i8 + 1),
        b'N'..=b'Z' => Some((c - b'N') as i8 - 13),
        _ => None,
    }
}

/// The character of a tryte value in -13..=13 (other values wrap modulo 27).
#[inline]
pub fn tryte_char(value: i8) -> u8 {
    TRYTE_ALPHABET[value.rem_euclid(27) as usize]
}

/// Checks that `s` is exactly `len` trytes (when `len` is given).
pub fn check_trytes(field: &'static str, s: &str, len: Option<usize>) -> Result<(), Error> {
    if let Some(len) = len {
        let actual = s.chars().count();
        if actual != len {
            return Err(Error::Length {
                field,
                expected: format!("{len} trytes"),
                actual,
            });
        }
    }
    match s
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii() || tryte_value(*c as u8).is_none())
    {
        Some((position, found)) => Err(Error::NotTryte { field, position, found }),
        None => Ok(()),
    }
}

/// Checks that every value in `trits` is a trit.
pub fn check_trits(field: &'static str, trits: &[i8]) -> Result<(), Error> {
    match trits.iter().position(|t| !(-1..=1).contains(t)) {
        Some(position) => Err(Error::NotTrit {
            field,
            position,
            value: trits[position],
        }),
        None => Ok(()),
    }
}

/// Writes the trits of already-validated trytes into `out` (3 per tryte).
pub(crate) fn trytes_to_trits_into(trytes: &[u8], out: &mut [i8]) {
    debug_assert_eq!(out.len(), trytes.len() * TRITS_PER_TRYTE);
    for (tryte, trits) in trytes.iter().zip(out.chunks_exact_mut(TRITS_PER_TRYTE)) {
        let value = tryte_value(*tryte).expect("validated trytes");
        trits.copy_from_slice(&tryte_trits(value));
    }
}

/// Trits of already-validated trytes.
pub(crate) fn trytes_to_trits(trytes: &[u8]) -> Vec<i8> {
    let mut out = vec![0; trytes.len() * TRITS_PER_TRYTE];
    trytes_to_trits_into(trytes, &mut out);
    out
}

/// Parses trytes of any length into trits.
pub fn parse_trits(field: &'static str, s: &str) -> Result<Vec<i8>, Error> {
    check_trytes(field, s, None)?;
    Ok(trytes_to_trits(s.as_bytes()))
}

/// The three trits of a tryte value in -13..=13 (other values are taken
/// modulo 27 into that range).
#[inline]
pub fn tryte_trits(value: i8) -> [i8; 3] {
    let mut v = i16::from(value).rem_euclid(27);
    if v > 13 {
        v -= 27;
    }
    let mut out = [0i8; 3];
    for t in &mut out {
        let r = v.rem_euclid(3) as i8;
        *t = if r == 2 { -1 } else { r };
        v = (v - i16::from(*t)) / 3;
    }
    out
}

/// Tryte characters for trits whose length is a multiple of 3; values must be
/// valid trits.
pub(crate) fn trits_to_tryte_bytes(trits: &[i8]) -> Vec<u8> {
    debug_assert_eq!(trits.len() % TRITS_PER_TRYTE, 0);
    trits
        .chunks_exact(TRITS_PER_TRYTE)
        .map(|t| tryte_char(t[0] + 3 * t[1] + 9 * t[2]))
        .collect()
}

/// Tryte string for trits; the length must be a multiple of 3.
pub fn trits_to_trytes(trits: &[i8]) -> Result<String, Error> {
    if trits.len() % TRITS_PER_TRYTE != 0 {
        return Err(Error::Length {
            field: "trits",
            expected: "a multiple of 3".into(),
            actual: trits.len(),
        });
    }
    check_trits("trits", trits)?;
    Ok(String::from_utf8(trits_to_tryte_bytes(trits)).expect("tryte alphabet is ASCII"))
}

/// Writes `value` as balanced trits into `out`, least significant first.
/// Fails if it does not fit.
pub fn int_to_trits(field: &'static str, value: i64, out: &mut [i8]) -> Result<(), Error> {
    let max = if out.len() >= 40 {
        i64::MAX
    } else {
        max_balanced(out.len() as u32)
    };
    if value > max || value < -max {
        return Err(Error::OutOfRange {
            field,
            value: value.into(),
            min: (-max).into(),
            max: max.into(),
        });
    }
    let mut v = i128::from(value);
    for t in out.iter_mut() {
        let r = v.rem_euclid(3) as i8;
        *t = if r == 2 { -1 } else { r };
        v = (v - i128::from(*t)) / 3;
    }
    debug_assert_eq!(v, 0);
    Ok(())
}

/// Reads balanced trits (least significant first) as an integer: at most
/// 40 trits, which always fit in an `i64`.
pub fn trits_to_int(trits: &[i8]) -> Result<i64, Error> {
    if trits.len() > 40 {
        return Err(Error::Length {
            field: "trits",
            expected: "at most 40 trits".into(),
            actual: trits.len(),
        });
    }
    check_trits("trits", trits)?;
    Ok(trits.iter().rev().fold(0i64, |acc, &t| acc * 3 + i64::from(t)))
}

/// Adds one to a balanced-ternary number of valid trits in place (wrapping at the top).
pub(crate) fn increment_trits(trits: &mut [i8]) {
    for t in trits {
        if *t == 1 {
            *t = -1;
        } else {
            *t += 1;
            return;
        }
    }
}

/// Adds a non-negative integer to a balanced-ternary number of valid trits
/// in place (wrapping at the top).
pub(crate) fn add_to_trits(trits: &mut [i8], mut addend: u64) {
    let mut carry = 0i8;
    for t in trits.iter_mut() {
        if addend == 0 && carry == 0 {
            return;
        }
        let digit = (addend % 3) as i8;
        addend /= 3;
        let (digit, borrow) = if digit == 2 { (-1, 1) } else { (digit, 0) };
        addend += borrow;
        let mut sum = *t + digit + carry;
        carry = 0;
        if sum > 1 {
            sum -= 3;
            carry = 1;
        } else if sum < -1 {
            sum += 3;
            carry = -1;
        }
        *t = sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alphabet_round_trips() {
        for (i, &c) in TRYTE_ALPHABET.iter().enumerate() {
            let v = tryte_value(c).unwrap();
            assert_eq!(v.rem_euclid(27) as usize, i);
            assert_eq!(tryte_char(v), c);
            let t = tryte_trits(v);
            assert_eq!(t[0] + 3 * t[1] + 9 * t[2], v);
        }
        assert_eq!(tryte_value(b'a'), None);
        assert_eq!(tryte_value(b'0'), None);
    }

    #[test]
    fn check_trytes_reports_field_and_position() {
        let err = check_trytes("tag", "AB!", None).unwrap_err();
        assert_eq!(
            err,
            Error::NotTryte {
                field: "tag",
                position: 2,
                found: '!'
            }
        );
        let err = check_trytes("tag", "ABC", Some(27)).unwrap_err();
        assert!(err.to_string().contains("27 trytes"));
        assert!(check_trytes("tag", "ÄB", None).is_err());
    }

    proptest! {
        #[test]
        fn int_round_trip(v in -max_balanced(27)..=max_balanced(27)) {
            let mut t = [0i8; 27];
            int_to_trits("value", v, &mut t).unwrap();
            prop_assert_eq!(trits_to_int(&t).unwrap(), v);
        }

        #[test]
        fn int_out_of_range_is_an_error(v in any::<i64>()) {
            let mut t = [0i8; 9];
            let fits = v.abs() <= max_balanced(9);
            prop_assert_eq!(int_to_trits("x", v, &mut t).is_ok(), fits);
        }

        #[test]
        fn add_matches_integer_addition(start in -1_000_000i64..1_000_000, add in 0u64..1_000_000) {
            let mut t = [0i8; 27];
            int_to_trits("x", start, &mut t).unwrap();
            add_to_trits(&mut t, add);
            prop_assert_eq!(trits_to_int(&t).unwrap(), start + add as i64);
            let mut u = [0i8; 27];
            int_to_trits("x", start, &mut u).unwrap();
            increment_trits(&mut u);
            prop_assert_eq!(trits_to_int(&u).unwrap(), start + 1);
        }

        #[test]
        fn trytes_trits_round_trip(s in "[9A-Z]{0,200}") {
            let trits = parse_trits("x", &s).unwrap();
            prop_assert_eq!(trits_to_trytes(&trits).unwrap(), s);
        }

        #[test]
        fn tryte_trits_wraps_modulo_27(value in any::<i8>()) {
            let t = tryte_trits(value);
            let back = i16::from(t[0]) + 3 * i16::from(t[1]) + 9 * i16::from(t[2]);
            prop_assert_eq!((back - i16::from(value)).rem_euclid(27), 0);
            prop_assert!(t.iter().all(|x| (-1..=1).contains(x)));
        }

        #[test]
        fn conversions_never_panic(v in proptest::collection::vec(any::<i8>(), 0..60)) {
            let _ = trits_to_int(&v);
            let _ = trits_to_trytes(&v);
            let _ = tryte_char(v.first().copied().unwrap_or(0));
            let _ = tryte_trits(v.first().copied().unwrap_or(0));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,100}") {
            let _ = parse_trits("x", &s);
            let _ = check_trytes("x", &s, Some(81));
        }
    }
}
