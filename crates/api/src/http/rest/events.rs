//! The event feed over REST.
//!
//! | path | scope | answer |
//! |---|---|---|
//! | `GET /v1/events?after=ID&limit=N&type=T…` | `read` | `{"events": […], "next": ID}`: up to `limit` (1–1000, default 100) events after `after`, by id; `next` is the `after` of the next page |
//! | `GET /v1/events/stream?after=ID&type=T…` | `read` | Server-Sent Events: `id:` the event id, `event:` its type, `data:` the event; resumes after `Last-Event-ID`, stays open |
//!
//! `type` may repeat or list types separated by commas.

use std::convert::Infallible;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use hub_core::{HubError, Scope};
use serde_json::json;
use tokio_stream::{Stream, StreamExt};

use super::{admit, error_problem, invalid};
use crate::feed::follow;
use crate::http::Served;
use crate::listen::Peer;

/// Events per page when the caller names no limit.
pub const EVENTS_PAGE_DEFAULT: u32 = 100;

/// What a feed reader asked for.
#[derive(Debug, PartialEq, Eq)]
struct FeedQuery {
    after: u64,
    limit: u32,
    types: Vec<String>,
}

/// Reads `after`, `limit` and `type` from a query string; anything else
/// is refused by name.
fn feed_query(query: Option<&str>) -> Result<FeedQuery, HubError> {
    let mut parsed = FeedQuery {
        after: 0,
        limit: EVENTS_PAGE_DEFAULT,
        types: Vec::new(),
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "after" => {
                parsed.after = value.parse().map_err(|_| {
                    invalid(
                        "after",
                        format!("after must be an event id (an integer ≥ 0), got {value:?}"),
                    )
                })?;
            }
            "limit" => {
                parsed.limit = value.parse().map_err(|_| {
                    invalid(
                        "limit",
                        format!("limit must be an integer between 1 and 1000, got {value:?}"),
                    )
                })?;
            }
            "type" => parsed
                .types
                .extend(value.split(',').filter(|t| !t.is_empty()).map(str::to_owned)),
            other => {
                return Err(invalid(
                    "query",
                    format!("unknown query parameter {other:?} (known: after, limit, type)"),
                ))
            }
        }
    }
    Ok(parsed)
}

/// `GET /v1/events`.
pub(crate) async fn page(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(refusal) = admit(&served, "GET /v1/events", Scope::Read, &headers, peer.as_deref()).await {
        return refusal;
    }
    let query = match feed_query(query.as_deref()) {
        Ok(query) => query,
        Err(error) => return error_problem(&error),
    };
    match served.commands.feed(query.after, query.limit, &query.types).await {
        Ok(events) => {
            let next = events.last().map_or(query.after, |event| event.id);
            let events: Vec<_> = events.iter().map(hub_core::FeedEvent::to_json).collect();
            axum::Json(json!({ "events": events, "next": next })).into_response()
        }
        Err(error) => error_problem(&error),
    }
}

/// `GET /v1/events/stream`: `Last-Event-ID`, when sent, takes the place
/// of `after` (a browser's `EventSource` resumes with it).
pub(crate) async fn stream(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(refusal) = admit(&served, "GET /v1/events/stream", Scope::Read, &headers, peer.as_deref()).await {
        return refusal;
    }
    let mut query = match feed_query(query.as_deref()) {
        Ok(query) => query,
        Err(error) => return error_problem(&error),
    };
    if let Some(last) = headers.get("last-event-id") {
        match last.to_str().ok().and_then(|id| id.trim().parse().ok()) {
            Some(id) => query.after = id,
            None => {
                return error_problem(&invalid(
                    "Last-Event-ID",
                    "Last-Event-ID must be an event id (an integer ≥ 0)".to_owned(),
                ))
            }
        }
    }
    // Unknown types are refused before the stream starts.
    if let Err(error) = served.commands.feed(query.after, 1, &query.types).await {
        return error_problem(&error);
    }
    Sse::new(sse_events(follow(served.commands.clone(), query.after, query.types)))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The feed as SSE frames; an error ends the stream with an `error` frame
/// (the client reconnects with `Last-Event-ID`).
fn sse_events(
    feed: impl Stream<Item = Result<hub_core::FeedEvent, HubError>> + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    feed.map(|event| {
        Ok(match event {
            Ok(event) => Event::default()
                .id(event.id.to_string())
                .event(event.event_type)
                .data(event.to_json().to_string()),
            Err(error) => {
                tracing::warn!(%error, "event stream ended by an error");
                Event::default().event("error").data(error.to_string())
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_queries_are_read_strictly() {
        assert_eq!(
            feed_query(Some(
                "after=7&limit=3&type=sweep.planned,deposit.credited&type=user.created"
            ))
            .unwrap(),
            FeedQuery {
                after: 7,
                limit: 3,
                types: vec!["sweep.planned".into(), "deposit.credited".into(), "user.created".into()],
            }
        );
        assert_eq!(feed_query(None).unwrap().limit, EVENTS_PAGE_DEFAULT);
        for (query, field) in [("after=-1", "after"), ("limit=x", "limit"), ("cursor=1", "query")] {
            match feed_query(Some(query)) {
                Err(HubError::InvalidArgument { field: named, .. }) => assert_eq!(named, field, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }
}
