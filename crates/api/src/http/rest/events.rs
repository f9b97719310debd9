//! The event feed over REST (`read`).
//!
//! | path | answer |
//! |---|---|
//! | `GET /v1/events?after=ID&limit=N&type=T…` | `{"events": […], "next": ID}`: up to `limit` (1–1000, default 100) events after `after`, by id; `next` is the `after` of the next page |
//! | `GET /v1/events/stream?after=ID&type=T…` | Server-Sent Events: `id:` the event id, `event:` its type, `data:` the event; resumes after `Last-Event-ID`, stays open |
//!
//! `type` may repeat or list types separated by commas.

use std::convert::Infallible;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as Frame, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hub_core::{FeedEvent, HubError, Scope};
use tokio_stream::{Stream, StreamExt};
use utoipa::IntoParams;

use super::schema::{Event, EventPage};
use super::{admit, error_problem, failed, invalid, respond};
use crate::feed::follow;
use crate::http::Served;
use crate::listen::Peer;

/// Events per page when the caller names no limit.
pub const EVENTS_PAGE_DEFAULT: u32 = 100;

/// Which events a reader asks for.
#[derive(Debug, PartialEq, Eq, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The events after this id (0, the default: from the first).
    after: u64,
    /// Events per page, 1 to 1000 (default 100; the stream ignores it).
    limit: u32,
    /// Only these types (repeat it, or separate them by commas); every type when absent.
    #[param(rename = "type")]
    types: Vec<String>,
}

/// The event as the REST API shows it.
fn event(event: FeedEvent) -> Event {
    Event {
        id: event.id,
        timestamp: event.timestamp(),
        event_type: event.event_type.to_owned(),
        data: serde_json::Value::Object(event.data),
    }
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

/// The events after a cursor, oldest first.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(FeedQuery),
    responses((status = 200, description = "A page of the feed", body = EventPage)))]
pub(crate) async fn page(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    RawQuery(query): RawQuery,
) -> Response {
    let call = async {
        admit(&served, "GET /v1/events", Scope::Read, &headers, peer.as_deref()).await?;
        let query = feed_query(query.as_deref()).map_err(failed)?;
        let events = served
            .commands
            .feed(query.after, query.limit, &query.types)
            .await
            .map_err(failed)?;
        let next = events.last().map_or(query.after, |event| event.id);
        let events = events.into_iter().map(event).collect();
        Ok(Json(EventPage { events, next }).into_response())
    };
    respond(call.await)
}

/// The events after a cursor, then each new one as it commits, as
/// Server-Sent Events; `Last-Event-ID`, when sent, takes the place of
/// `after` (a browser's `EventSource` resumes with it).
#[utoipa::path(get, path = "/v1/events/stream", tag = "events", params(FeedQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event id")),
    responses((status = 200, description = "The feed, as it happens", content_type = "text/event-stream", body = String)))]
pub(crate) async fn stream(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    RawQuery(query): RawQuery,
) -> Response {
    let call = async {
        admit(&served, "GET /v1/events/stream", Scope::Read, &headers, peer.as_deref()).await?;
        let mut query = feed_query(query.as_deref()).map_err(failed)?;
        if let Some(last) = headers.get("last-event-id") {
            query.after = last
                .to_str()
                .ok()
                .and_then(|id| id.trim().parse().ok())
                .ok_or_else(|| {
                    error_problem(&invalid(
                        "Last-Event-ID",
                        "Last-Event-ID must be an event id (an integer ≥ 0)",
                    ))
                })?;
        }
        // Unknown types are refused before the stream starts.
        served
            .commands
            .feed(query.after, 1, &query.types)
            .await
            .map_err(failed)?;
        let frames = sse_frames(follow(served.commands.clone(), query.after, query.types));
        Ok(Sse::new(frames).keep_alive(KeepAlive::default()).into_response())
    };
    respond(call.await)
}

/// The feed as SSE frames; an error ends the stream with an `error` frame
/// (the client reconnects with `Last-Event-ID`).
fn sse_frames(
    feed: impl Stream<Item = Result<FeedEvent, HubError>> + Send + 'static,
) -> impl Stream<Item = Result<Frame, Infallible>> + Send + 'static {
    feed.map(|item| {
        Ok(match item {
            Ok(feed_event) => {
                let id = feed_event.id.to_string();
                let kind = feed_event.event_type;
                let json = serde_json::to_string(&event(feed_event)).unwrap_or_default();
                Frame::default().id(id).event(kind).data(json)
            }
            Err(error) => {
                tracing::warn!(%error, "event stream ended by an error");
                Frame::default().event("error").data(error.to_string())
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
