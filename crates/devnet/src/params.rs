//! Request parameters read as IRI 1.8.6 reads them, refusals included.
//!
//! IRI parses a body with Gson into a `Map<String, Object>` (numbers become
//! `Double`, lists `ArrayList`, objects `LinkedTreeMap`) and casts each
//! parameter to what the command wants (`API.getParameterAsInt`,
//! `getParameterAsStringAndValidate`, `getParameterAsList`,
//! `getParameterAsSet`, `padTag`). Whatever goes wrong is a Java exception,
//! and its class and message make the answer: a [`Thrown`] here names the
//! same exception with the same text. Only what IRI accepts is accepted:
//! numbers only as JSON numbers, hashes and addresses of exactly 81 trytes
//! (no checksum), transactions of exactly 2673, lists of at most
//! `maxRequestsList` items.

use hub_protocol::Tag;
use serde_json::{Map, Value};

/// Trytes in a hash, an address or a padded tag (`API.HASH_SIZE`).
pub(crate) const HASH_TRYTES: usize = 81;
/// IRI's message for a list or a result over its limit (`OVER_MAX_ERROR_MESSAGE`).
pub(crate) const OVER_MAX: &str = "Could not complete request";
/// IRI's message for a missing parameter (`INVALID_PARAMS`).
pub(crate) const INVALID_PARAMS: &str = "Invalid parameters";

const VALIDATION_EXCEPTION: &str = "com.iota.iri.service.ValidationException";
const CLASS_CAST_EXCEPTION: &str = "java.lang.ClassCastException";
const NULL_POINTER_EXCEPTION: &str = "java.lang.NullPointerException";
const ILLEGAL_STATE_EXCEPTION: &str = "java.lang.IllegalStateException";
const ILLEGAL_ARGUMENT_EXCEPTION: &str = "java.lang.IllegalArgumentException";
const INDEX_OUT_OF_BOUNDS_EXCEPTION: &str = "java.lang.ArrayIndexOutOfBoundsException";
/// The Java class IRI casts a string parameter to.
pub(crate) const JAVA_STRING: &str = "java.lang.String";
const JAVA_LIST: &str = "java.util.List";

/// A Java exception IRI would throw reading a request: its class and its
/// message (`None` where Java gives none, as for a `NullPointerException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thrown {
    class: &'static str,
    message: Option<String>,
}

impl Thrown {
    /// IRI's `ValidationException` with `message`.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(VALIDATION_EXCEPTION, message)
    }

    /// IRI's `IllegalStateException` with `message` (what a transaction
    /// that fails `TransactionValidator` throws).
    pub(crate) fn illegal_state(message: impl Into<String>) -> Self {
        Self::new(ILLEGAL_STATE_EXCEPTION, message)
    }

    fn new(class: &'static str, message: impl Into<String>) -> Self {
        Self {
            class,
            message: Some(message.into()),
        }
    }

    /// What a JSON null dereferenced throws.
    fn null_pointer() -> Self {
        Self {
            class: NULL_POINTER_EXCEPTION,
            message: None,
        }
    }

    /// Casting the Gson object for `value` to `target`, as Java 8 words it
    /// (IRI 1.8.6's image runs Oracle Java 8u181). `value` is never null:
    /// casting null succeeds and fails later as a [`Thrown::null_pointer`].
    pub(crate) fn class_cast(value: &Value, target: &str) -> Self {
        let class = match value {
            Value::String(_) => JAVA_STRING,
            Value::Number(_) => "java.lang.Double",
            Value::Bool(_) => "java.lang.Boolean",
            Value::Array(_) => "java.util.ArrayList",
            Value::Object(_) => "com.google.gson.internal.LinkedTreeMap",
            Value::Null => "null",
        };
        Self::new(CLASS_CAST_EXCEPTION, format!("{class} cannot be cast to {target}"))
    }

    /// `new IllegalStateException(cause)`, how `findTransactions` rethrows
    /// whatever its statement throws: the message becomes the cause's
    /// `toString()`.
    pub(crate) fn wrapped(self) -> Self {
        Self::new(ILLEGAL_STATE_EXCEPTION, self.to_string())
    }

    /// The message (`getLocalizedMessage()`).
    pub(crate) fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl std::fmt::Display for Thrown {
    /// Java's `Throwable.toString()`: the class, then `": "` and the message if any.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(message) => write!(f, "{}: {message}", self.class),
            None => f.write_str(self.class),
        }
    }
}

/// Whether `s` is exactly `size` trytes (`API.validTrytes`, zero length not allowed).
fn valid_trytes(s: &str, size: usize) -> bool {
    s.len() == size && s.bytes().all(|b| b == b'9' || b.is_ascii_uppercase())
}

/// The parameters of one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a> {
    map: &'a Map<String, Value>,
    max_request_list: usize,
}

impl<'a> Params<'a> {
    /// The request's parameters; lists may hold `max_request_list` items.
    pub(crate) fn new(map: &'a Map<String, Value>, max_request_list: usize) -> Self {
        Self { map, max_request_list }
    }

    /// Whether `name` is present, even as null (`containsKey`).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The whole map, for the devnet's own commands.
    pub(crate) fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// `validateParamExists`.
    fn require(&self, name: &str) -> Result<&'a Value, Thrown> {
        self.map.get(name).ok_or_else(|| Thrown::validation(INVALID_PARAMS))
    }

    /// `getParameterAsInt`: a JSON number, truncated to a Java `int`
    /// (`Double.intValue()`, saturating); anything else but null is
    /// "Invalid {name} input".
    pub(crate) fn int(&self, name: &str) -> Result<i32, Thrown> {
        match self.require(name)? {
            // Java's double-to-int conversion and Rust's `as` agree: toward
            // zero, saturating, NaN to 0.
            Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN) as i32),
            Value::Null => Err(Thrown::null_pointer()),
            _ => Err(Thrown::validation(format!("Invalid {name} input"))),
        }
    }

    /// `getParameterAsStringAndValidate`: exactly `size` trytes.
    pub(crate) fn trytes(&self, name: &str, size: usize) -> Result<&'a str, Thrown> {
        tryte_string(name, self.require(name)?, size)
    }

    /// `getParameterAsList` without element checks (IRI's size 0): a list of
    /// at most `maxRequestsList` items.
    pub(crate) fn list(&self, name: &str) -> Result<&'a [Value], Thrown> {
        match self.require(name)? {
            Value::Array(items) if items.len() > self.max_request_list => Err(Thrown::validation(OVER_MAX)),
            Value::Array(items) => Ok(items),
            Value::Null => Err(Thrown::null_pointer()),
            other => Err(Thrown::class_cast(other, JAVA_LIST)),
        }
    }

    /// `getParameterAsList`: a list of at most `maxRequestsList` strings of
    /// exactly `size` trytes each.
    pub(crate) fn tryte_list(&self, name: &str, size: usize) -> Result<Vec<&'a str>, Thrown> {
        self.list(name)?
            .iter()
            .map(|item| tryte_string(name, item, size))
            .collect()
    }

    /// `getParameterAsList` without a tryte check (IRI's size 0), each item
    /// then used as a `String`.
    pub(crate) fn strings(&self, name: &str) -> Result<Vec<&'a str>, Thrown> {
        self.list(name)?
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.as_str()),
                Value::Null => Err(Thrown::null_pointer()),
                other => Err(Thrown::class_cast(other, JAVA_STRING)),
            })
            .collect()
    }

    /// `getParameterAsSet` for hashes: [`Params::tryte_list`], and the
    /// all-`9` hash is refused.
    pub(crate) fn hash_set(&self, name: &str) -> Result<Vec<&'a str>, Thrown> {
        let items = self.tryte_list(name, HASH_TRYTES)?;
        if items.iter().any(|item| is_null_hash(item)) {
            return Err(Thrown::validation(format!("Invalid {name} input")));
        }
        Ok(items)
    }

    /// `findTransactions`' tags: `getParameterAsSet(…, 0)` (the list, and no
    /// tag the all-`9` hash), then each one through `padTag` and
    /// `HashFactory.TAG.create`. `None` for a tag that cannot match (trytes
    /// beyond the 27th that are not `9`).
    pub(crate) fn tags(&self) -> Result<Vec<Option<Tag>>, Thrown> {
        let items = self.list("tags")?;
        if items.iter().any(|item| item.as_str().is_some_and(is_null_hash)) {
            return Err(Thrown::validation("Invalid tags input"));
        }
        items.iter().map(tag).collect()
    }
}

fn is_null_hash(s: &str) -> bool {
    s.len() == HASH_TRYTES && s.bytes().all(|b| b == b'9')
}

/// One string parameter (or list item) of exactly `size` trytes.
fn tryte_string<'v>(name: &str, value: &'v Value, size: usize) -> Result<&'v str, Thrown> {
    match value {
        Value::String(s) if valid_trytes(s, size) => Ok(s),
        Value::String(_) => Err(Thrown::validation(format!("Invalid {name} input"))),
        Value::Null => Err(Thrown::null_pointer()),
        other => Err(Thrown::class_cast(other, JAVA_STRING)),
    }
}

/// One tag as IRI reads it: padded with `9` to 81 trytes (all `9` is
/// "Invalid tag input"), longer than 81 or holding a character outside
/// the tryte alphabet fails in `Converter.trits` as Java fails there.
fn tag(value: &Value) -> Result<Option<Tag>, Thrown> {
    let raw = match value {
        Value::String(s) => s,
        Value::Null => return Err(Thrown::null_pointer()),
        other => return Err(Thrown::class_cast(other, JAVA_STRING)),
    };
    // Java counts a String's length in UTF-16 code units.
    let java_length = raw.encode_utf16().count();
    let padded = format!("{raw}{}", "9".repeat(HASH_TRYTES.saturating_sub(java_length)));
    if is_null_hash(&padded) {
        return Err(Thrown::validation("Invalid tag input"));
    }
    if java_length > HASH_TRYTES {
        return Err(Thrown::new(
            ILLEGAL_ARGUMENT_EXCEPTION,
            "Destination array is not large enough.",
        ));
    }
    if !valid_trytes(&padded, HASH_TRYTES) {
        // `TRYTE_ALPHABET.indexOf` gives -1, used as an array index.
        return Err(Thrown::new(INDEX_OUT_OF_BOUNDS_EXCEPTION, "-1"));
    }
    let (tag, rest) = padded.split_at(Tag::LEN);
    if rest.bytes().any(|b| b != b'9') {
        return Ok(None);
    }
    Tag::from_trytes(tag)
        .map(Some)
        .map_err(|e| Thrown::validation(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(value: &Value) -> Params<'_> {
        Params::new(value.as_object().expect("an object"), 3)
    }

    /// Goal: each reader refuses what IRI refuses, with IRI's exception
    /// text. Method: one request per shape, read as a command would.
    #[test]
    fn readers_refuse_as_iri_does() {
        let request = json!({
            "depth": "3", "float": 3.9, "nothing": null, "short": "ABC",
            "list": ["A", "B", "C", "D"], "text": "x", "numbers": [1],
        });
        let p = params(&request);
        assert_eq!(
            p.int("depth").unwrap_err().to_string(),
            "com.iota.iri.service.ValidationException: Invalid depth input"
        );
        assert_eq!(p.int("float"), Ok(3));
        assert_eq!(p.int("absent").unwrap_err().message(), Some(INVALID_PARAMS));
        assert_eq!(p.int("nothing").unwrap_err().message(), None);
        assert_eq!(
            p.trytes("short", 81).unwrap_err().message(),
            Some("Invalid short input")
        );
        assert_eq!(p.list("list").unwrap_err().message(), Some(OVER_MAX));
        assert_eq!(
            p.list("text").unwrap_err().message(),
            Some("java.lang.String cannot be cast to java.util.List")
        );
        assert_eq!(
            p.tryte_list("numbers", 81).unwrap_err().message(),
            Some("java.lang.Double cannot be cast to java.lang.String")
        );
        let null_hash = json!({ "bundles": ["9".repeat(81)] });
        assert_eq!(
            params(&null_hash).hash_set("bundles").unwrap_err().message(),
            Some("Invalid bundles input")
        );
    }

    #[test]
    fn tags_are_padded_and_checked_as_iri_does() {
        let tags = json!({ "tags": ["DEVNET", format!("DEVNET{}", "9".repeat(75)), format!("{}A", "9".repeat(27))] });
        let read = params(&tags).tags().unwrap();
        let devnet = Tag::from_trytes_padded("DEVNET").unwrap();
        assert_eq!(read, vec![Some(devnet), Some(devnet), None]);
        let message = |tag: Value| params(&json!({ "tags": [tag] })).tags().unwrap_err().to_string();
        assert_eq!(
            message(json!("")),
            "com.iota.iri.service.ValidationException: Invalid tag input"
        );
        assert_eq!(
            message(json!("9".repeat(81))),
            "com.iota.iri.service.ValidationException: Invalid tags input"
        );
        assert_eq!(message(json!("devnet")), "java.lang.ArrayIndexOutOfBoundsException: -1");
        assert_eq!(
            message(json!("A".repeat(82))),
            "java.lang.IllegalArgumentException: Destination array is not large enough."
        );
        assert_eq!(
            message(json!(5)),
            "java.lang.ClassCastException: java.lang.Double cannot be cast to java.lang.String"
        );
    }

    #[test]
    fn a_wrapped_exception_carries_its_cause() {
        let wrapped = Thrown::validation("Invalid addresses input").wrapped();
        assert_eq!(
            wrapped.message(),
            Some("com.iota.iri.service.ValidationException: Invalid addresses input")
        );
        assert_eq!(
            Thrown::null_pointer().wrapped().message(),
            Some("java.lang.NullPointerException")
        );
    }
}
