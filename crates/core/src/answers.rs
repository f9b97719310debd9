//! What the REST API answered to a client's idempotency key, kept so a
//! retry gets the same answer (the transports decide what to keep and
//! when to replay; see `hub_api::http::rest`).

use hub_store::AnswerRow;

use crate::{Hub, HubError};

/// An answer as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// SHA-256 (hex) of the request body it answered.
    pub request_hash: String,
    /// Its HTTP status.
    pub status: u16,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its body.
    pub body: String,
}

impl From<AnswerRow> for Answer {
    fn from(row: AnswerRow) -> Self {
        Self {
            request_hash: row.request_hash,
            status: u16::try_from(row.status).unwrap_or(500),
            content_type: row.content_type,
            body: row.body,
        }
    }
}

impl Hub {
    /// The answer kept for `key` on `operation`, if any.
    pub async fn recall_answer(&self, key: &str, operation: &str) -> Result<Option<Answer>, HubError> {
        let row = self.store().read().await?.answer(key, operation).await?;
        Ok(row.map(Answer::from))
    }

    /// Keeps `answer` for `key` on `operation`; `None` if kept, else the
    /// answer a concurrent call kept first.
    pub async fn remember_answer(
        &self,
        key: &str,
        operation: &str,
        answer: &Answer,
    ) -> Result<Option<Answer>, HubError> {
        let row = AnswerRow {
            request_hash: answer.request_hash.clone(),
            status: i64::from(answer.status),
            content_type: answer.content_type.clone(),
            body: answer.body.clone(),
        };
        let mut tx = self.store().begin().await?;
        let first = tx.keep_answer(key, operation, &row, self.now_ms()).await?;
        tx.commit().await?;
        Ok(first.map(Answer::from))
    }
}
