//! Reading command arguments the way the original HTTP endpoint did.
//!
//! The original read every argument as the string form of a JSON scalar and
//! a boolean as true only when that string is exactly `true`. Its defects
//! are not kept: a non-numeric integer is an error naming the field (the
//! original used 0 or an uninitialised value), and a JSON object or array
//! where a scalar belongs is an error rather than an empty string. JSON
//! `null` counts as absent.

use std::collections::HashMap;

use hub_core::{HubError, Transfer};
use serde_json::{Map, Value};

/// Why a command was not run.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The command (or a legacy argument check) failed: `{"error": legacy text}`.
    Command(HubError),
    /// An argument is malformed: `{"error": "<field>: <rule>"}`.
    Argument { field: String, rule: String },
}

impl From<HubError> for Failure {
    fn from(error: HubError) -> Self {
        Failure::Command(error)
    }
}

impl Failure {
    fn argument(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Failure::Argument {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The `error` text of the reply.
    pub(crate) fn text(&self) -> String {
        match self {
            Failure::Command(error) => error.legacy_text().to_owned(),
            Failure::Argument { field, rule } => format!("Invalid argument {field}: {rule}"),
        }
    }
}

/// The string form of a JSON scalar; `None` for null, objects and arrays.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// The string form of `object[key]`: `Ok(None)` when absent or null, an
/// error when it is an object or array.
fn scalar(object: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match scalar_text(value) {
            Some(text) => Ok(Some(text)),
            None => Err(Failure::argument(
                field,
                "expected a string or number, not an object or array",
            )),
        },
    }
}

/// The arguments of one request (the request object itself).
pub(crate) struct Args<'a> {
    object: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    pub(crate) fn new(object: &'a Map<String, Value>) -> Self {
        Self { object }
    }

    /// A required string; absent → `Missing argument`.
    pub(crate) fn required_text(&self, key: &'static str) -> Result<String, Failure> {
        scalar(self.object, key, key)?.ok_or(Failure::Command(HubError::MissingArgument(key)))
    }

    /// An optional string (absent or `null`: `None`).
    pub(crate) fn optional_text(&self, key: &'static str) -> Result<Option<String>, Failure> {
        scalar(self.object, key, key)
    }

    /// A required unsigned integer; absent → `Missing argument` (the
    /// original left it uninitialised).
    pub(crate) fn required_u64(&self, key: &'static str) -> Result<u64, Failure> {
        let text = self.required_text(key)?;
        text.parse::<u64>()
            .map_err(|_| Failure::argument(key, "expected an unsigned 64-bit integer"))
    }

    /// An optional boolean: true only if its string form is exactly `true`.
    pub(crate) fn flag(&self, key: &'static str) -> Result<bool, Failure> {
        Ok(scalar(self.object, key, key)?.is_some_and(|text| text == "true"))
    }

    /// An optional unsigned integer (e.g. `newerThan`, default 0).
    pub(crate) fn optional_u64(&self, key: &'static str, default: u64) -> Result<u64, Failure> {
        match scalar(self.object, key, key)? {
            None => Ok(default),
            Some(text) => text
                .parse::<u64>()
                .map_err(|_| Failure::argument(key, "expected an unsigned 64-bit integer")),
        }
    }

    /// `ProcessTransferBatch`'s `transfers`: an array of `{userId, amount}`,
    /// entries of the same user merged by summing their amounts (the
    /// original HTTP behaviour, hub-behaviour.md §2.3.7), in order of first
    /// appearance. A sum that overflows is an error, never a wrap.
    pub(crate) fn merged_transfers(&self) -> Result<Vec<Transfer>, Failure> {
        let entries = match self.object.get("transfers") {
            None | Some(Value::Null) => return Err(HubError::MissingArgument("transfers").into()),
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(Failure::argument("transfers", "expected an array of {userId, amount}")),
        };
        let mut merged: Vec<Transfer> = Vec::with_capacity(entries.len());
        let mut index_of_user: HashMap<String, usize> = HashMap::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let Value::Object(entry) = entry else {
                return Err(Failure::argument(
                    format!("transfers[{index}]"),
                    "expected an object {userId, amount}",
                ));
            };
            let user_id = scalar(entry, "userId", &format!("transfers[{index}].userId"))?
                .ok_or(Failure::Command(HubError::MissingArgument("userId")))?;
            let amount_field = || format!("transfers[{index}].amount");
            let amount = scalar(entry, "amount", &amount_field())?
                .ok_or(Failure::Command(HubError::MissingArgument("amount")))?
                .parse::<i64>()
                .map_err(|_| Failure::argument(amount_field(), "expected a signed 64-bit integer"))?;
            match index_of_user.get(&user_id) {
                Some(&at) => {
                    let transfer = &mut merged[at];
                    transfer.amount = transfer.amount.checked_add(amount).ok_or_else(|| {
                        Failure::argument(amount_field(), "the amounts of this user sum beyond a 64-bit integer")
                    })?;
                }
                None => {
                    index_of_user.insert(user_id.clone(), merged.len());
                    merged.push(Transfer { user_id, amount });
                }
            }
        }
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(json: &str) -> Map<String, Value> {
        match serde_json::from_str(json) {
            Ok(Value::Object(object)) => object,
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn scalars_read_as_their_string_form() {
        let o = object(r#"{"a": 12, "b": true, "c": "x", "d": null, "e": [1], "f": 1.5}"#);
        let args = Args::new(&o);
        assert_eq!(args.required_text("a").ok(), Some("12".to_owned()));
        assert_eq!(args.required_text("b").ok(), Some("true".to_owned()));
        assert_eq!(args.required_text("c").ok(), Some("x".to_owned()));
        assert!(matches!(
            args.required_text("d"),
            Err(Failure::Command(HubError::MissingArgument("d")))
        ));
        assert!(matches!(args.required_text("e"), Err(Failure::Argument { .. })));
        assert_eq!(args.required_text("f").ok(), Some("1.5".to_owned()));
    }

    #[test]
    fn integers_must_parse() {
        let o = object(r#"{"n": "12", "m": -1, "x": "abc", "big": 18446744073709551615}"#);
        let args = Args::new(&o);
        assert_eq!(args.optional_u64("n", 0).ok(), Some(12));
        assert_eq!(args.optional_u64("absent", 7).ok(), Some(7));
        assert_eq!(args.optional_u64("big", 0).ok(), Some(u64::MAX));
        for key in ["m", "x"] {
            let Err(failure) = args.optional_u64(key, 0) else {
                panic!("{key} parsed")
            };
            assert!(failure.text().contains(key), "{}", failure.text());
        }
    }

    #[test]
    fn merging_keeps_first_order_and_checks_overflow() {
        let o = object(
            r#"{"transfers": [{"userId":"a","amount":"5"},{"userId":"b","amount":-7},{"userId":"a","amount":2}]}"#,
        );
        let merged = Args::new(&o).merged_transfers().ok().unwrap_or_default();
        assert_eq!(
            merged,
            vec![
                Transfer {
                    user_id: "a".into(),
                    amount: 7
                },
                Transfer {
                    user_id: "b".into(),
                    amount: -7
                }
            ]
        );
        let o = object(&format!(
            r#"{{"transfers": [{{"userId":"a","amount":{}}},{{"userId":"a","amount":1}}]}}"#,
            i64::MAX
        ));
        assert!(matches!(
            Args::new(&o).merged_transfers(),
            Err(Failure::Argument { .. })
        ));
    }
}
