//! Following the event feed: the events after a cursor, then every new
//! one as it commits, for as long as the reader stays. Written once for
//! the SSE stream and gRPC `hub.v1.Events/Watch`.
//!
//! A follower reads a page, hands it out, and reads again from the last
//! id; with nothing new it waits until this process commits events or
//! [`FEED_POLL_INTERVAL_MS`] passes (events another process wrote, such as
//! an operator's `hub admin`, are seen then). It stops when its reader
//! goes away.

use std::sync::Arc;
use std::time::Duration;

use hub_core::{FeedEvent, HubError, FEED_PAGE_MAX};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::commands::HubCommands;

/// How often a follower with nothing new looks again anyway.
pub const FEED_POLL_INTERVAL_MS: u64 = 1_000;

/// Events handed to a slow reader ahead of what it has taken.
const FOLLOW_BUFFER: usize = 256;

/// The events after `after` of `types`, then each new one; ends after the
/// first error (the reader reconnects with the last id it saw).
pub fn follow(
    commands: Arc<dyn HubCommands>,
    after: u64,
    types: Vec<String>,
) -> ReceiverStream<Result<FeedEvent, HubError>> {
    let (sender, receiver) = mpsc::channel(FOLLOW_BUFFER);
    tokio::spawn(async move {
        let mut changes = commands.feed_changes();
        let mut cursor = after;
        loop {
            // Marks the signal seen before reading, so that a commit after
            // this read wakes the wait below.
            changes.borrow_and_update();
            let events = match commands.feed(cursor, FEED_PAGE_MAX, &types).await {
                Ok(events) => events,
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            };
            if events.is_empty() {
                let poll = tokio::time::sleep(Duration::from_millis(FEED_POLL_INTERVAL_MS));
                tokio::select! {
                    _ = changes.changed() => {}
                    () = poll => {}
                    () = sender.closed() => return,
                }
                continue;
            }
            for event in events {
                cursor = event.id;
                if sender.send(Ok(event)).await.is_err() {
                    return;
                }
            }
        }
    });
    ReceiverStream::new(receiver)
}
