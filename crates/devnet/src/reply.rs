//! IRI's three kinds of answer and how they go on the wire.
//!
//! IRI 1.8.6 answers with a response object (`service/dto`) and `RestEasy`
//! picks the status from its class: a command's fields (200), an
//! `ErrorResponse` `{"error"}` (400: a refusal the command itself decides,
//! such as "Invalid depth input" or a node that is not synchronised), an
//! `ExceptionResponse` `{"exception"}` (500: an exception escaped the
//! command, such as a parameter that fails validation). Every answer
//! carries `duration` in milliseconds; Gson leaves out a null message.
//! Every answer also carries `RestEasy.setupResponseHeaders`' headers.
//! An injected failure is none of these: it is what a broken node or the
//! proxy in front of it sends, a bare 503 with no JSON.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::params::Thrown;

/// One answer of the API.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// The command's fields (HTTP 200).
    Success(Map<String, Value>),
    /// `ErrorResponse` (HTTP 400).
    Error(String),
    /// `ExceptionResponse` (HTTP 500); `None` when the Java exception had no message.
    Exception(Option<String>),
    /// An injected failure: HTTP 503, plain text, as from a failing proxy.
    Broken,
}

impl Reply {
    /// A success made of a `json!({…})` object.
    pub(crate) fn fields(value: Value) -> Self {
        match value {
            Value::Object(map) => Self::Success(map),
            other => panic!("a reply is a JSON object, not {other}"),
        }
    }

    /// The empty success (`AbstractResponse.createEmptyResponse`).
    pub(crate) fn empty() -> Self {
        Self::Success(Map::new())
    }

    /// The HTTP answer, `duration_ms` after the request arrived.
    pub(crate) fn into_http(self, duration_ms: u64) -> Response {
        let (status, mut body) = match self {
            Self::Broken => return (StatusCode::SERVICE_UNAVAILABLE, "injected failure").into_response(),
            Self::Success(fields) => (StatusCode::OK, fields),
            Self::Error(message) => (StatusCode::BAD_REQUEST, message_object("error", Some(message))),
            Self::Exception(message) => (StatusCode::INTERNAL_SERVER_ERROR, message_object("exception", message)),
        };
        // IRI's `duration` is a Java `int`.
        body.insert("duration".into(), json!(duration_ms.min(i32::MAX as u64)));
        let mut response = (status, Value::Object(body).to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=500, max=100"));
        response
    }
}

fn message_object(key: &str, message: Option<String>) -> Map<String, Value> {
    let mut map = Map::new();
    if let Some(message) = message {
        map.insert(key.into(), Value::String(message));
    }
    map
}

impl From<Thrown> for Reply {
    /// What `API.process` makes of an exception that escapes a command.
    fn from(thrown: Thrown) -> Self {
        Self::Exception(thrown.message().map(str::to_string))
    }
}
