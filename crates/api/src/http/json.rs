//! The JSON the original Hub's HTTP endpoint wrote, reproduced exactly.
//!
//! The original built replies as Boost property trees, whose writer emits
//! every scalar as a JSON string, lists as repeated keys in one object (never
//! arrays), keys in insertion order and `/` escaped as `\/`. Existing
//! integrations parse exactly that, so replies are built with this small
//! ordered tree instead of `serde_json` (which can hold neither repeated keys
//! nor, by default, insertion order).

/// A reply value: a string or a nested object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyValue {
    /// Every scalar (numbers and booleans included) is written as a string.
    Text(String),
    /// A nested object.
    Object(LegacyObject),
}

/// An ordered JSON object that may repeat keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyObject {
    entries: Vec<(String, LegacyValue)>,
}

impl LegacyObject {
    /// An empty object (`{}`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key` with a scalar written as a string (`1000` → `"1000"`).
    pub fn text(mut self, key: &str, value: impl ToString) -> Self {
        self.entries
            .push((key.to_owned(), LegacyValue::Text(value.to_string())));
        self
    }

    /// Appends `key` with a nested object.
    pub fn object(mut self, key: &str, value: LegacyObject) -> Self {
        self.entries.push((key.to_owned(), LegacyValue::Object(value)));
        self
    }

    /// Appends `key` once per value, the original's encoding of a list
    /// (e.g. several `"trytes"` keys); no values, no key.
    pub fn repeated<T: ToString>(mut self, key: &str, values: impl IntoIterator<Item = T>) -> Self {
        for value in values {
            self.entries
                .push((key.to_owned(), LegacyValue::Text(value.to_string())));
        }
        self
    }

    /// The original's encoding of an event list: keys `event_0`, `event_1`, …
    pub fn events(events: impl IntoIterator<Item = LegacyObject>) -> Self {
        let mut object = Self::new();
        for (index, event) in events.into_iter().enumerate() {
            object
                .entries
                .push((format!("event_{index}"), LegacyValue::Object(event)));
        }
        object
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[(String, LegacyValue)] {
        &self.entries
    }

    /// Compact JSON text with the original's escaping.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        for (index, (key, value)) in self.entries.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            write_string(out, key);
            out.push(':');
            match value {
                LegacyValue::Text(text) => write_string(out, text),
                LegacyValue::Object(object) => object.write(out),
            }
        }
        out.push('}');
    }
}

/// Writes a JSON string as Boost's writer did: `"`, `\` and `/` escaped,
/// control characters as `\b \f \n \r \t` or `\u00XX`, all else verbatim.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_strings_and_order_is_kept() {
        let json = LegacyObject::new().text("b", 1000_i64).text("a", true).to_json();
        assert_eq!(json, r#"{"b":"1000","a":"true"}"#);
    }

    #[test]
    fn empty_object() {
        assert_eq!(LegacyObject::new().to_json(), "{}");
        assert_eq!(LegacyObject::events(Vec::new()).to_json(), "{}");
    }

    #[test]
    fn repeated_keys_and_events() {
        let json = LegacyObject::new()
            .text("confirmed", false)
            .repeated("trytes", ["A", "B"])
            .repeated("tailHash", Vec::<String>::new())
            .to_json();
        assert_eq!(json, r#"{"confirmed":"false","trytes":"A","trytes":"B"}"#);
        let json = LegacyObject::events([LegacyObject::new().text("x", 1), LegacyObject::new().text("x", 2)]).to_json();
        assert_eq!(json, r#"{"event_0":{"x":"1"},"event_1":{"x":"2"}}"#);
    }

    #[test]
    fn escaping_matches_boost_and_stays_valid_json() {
        let text = "a/b\"c\\d\n\t\u{1}é\u{7f}";
        let json = LegacyObject::new().text("k/", text).to_json();
        assert_eq!(json, "{\"k\\/\":\"a\\/b\\\"c\\\\d\\n\\t\\u0001é\u{7f}\"}");
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(parsed["k/"], text);
    }
}
