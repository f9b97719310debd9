//! What the REST API answered to a client's idempotency key
//! (`api_answer`), so that a retry of the same request gets the same
//! answer. The first answer kept for a key and an operation wins; rows are
//! only appended.

use sqlx::any::AnyRow;

use crate::rows::AnswerRow;
use crate::sql::Columns;
use crate::tx::{Result, Tx};

fn answer_row(r: &AnyRow) -> Result<AnswerRow> {
    let c = Columns::new("api_answer", r);
    Ok(AnswerRow {
        request_hash: c.text("request_hash")?,
        status: c.int("status")?,
        content_type: c.text("content_type")?,
        body: c.text("body")?,
    })
}

impl Tx {
    /// The answer kept for `key` on `operation`, if any.
    pub async fn answer(&mut self, key: &str, operation: &str) -> Result<Option<AnswerRow>> {
        let row = sqlx::query(
            "SELECT request_hash, status, content_type, body FROM api_answer WHERE idempotency_key = $1 AND operation = $2",
        )
        .bind(key)
        .bind(operation)
        .fetch_optional(&mut *self.inner)
        .await?;
        row.as_ref().map(answer_row).transpose()
    }

    /// Keeps `answer` for `key` on `operation`: `None` if kept, or the
    /// answer another call kept first.
    pub async fn keep_answer(
        &mut self,
        key: &str,
        operation: &str,
        answer: &AnswerRow,
        now: i64,
    ) -> Result<Option<AnswerRow>> {
        let kept = sqlx::query(
            "INSERT INTO api_answer (idempotency_key, operation, request_hash, status, content_type, body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key, operation) DO NOTHING",
        )
        .bind(key)
        .bind(operation)
        .bind(&answer.request_hash)
        .bind(answer.status)
        .bind(&answer.content_type)
        .bind(&answer.body)
        .bind(now)
        .execute(&mut *self.inner)
        .await?
        .rows_affected();
        if kept == 1 {
            return Ok(None);
        }
        self.answer(key, operation).await
    }
}
