//! The submission path, one module for both routes that take
//! transactions: a client's `POST /v1/transactions` (`crate::http::api`)
//! and a partner node's forward (`/raft/forward`, `crate::replication`).
//! It decodes the bytes, admits them through the engine on a blocking
//! thread, and maps every refusal to its status and `{"error", "reason"}`
//! body (spec §17.4). [`ApiError`] is also what every other refusal of the
//! API is.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coalition_api::error::ErrorBody;
use coalition_api::transactions::{Submitted, TransactionState};
use coalition_core::encoding::decode_exact;
use coalition_core::transaction::Transaction;
use coalition_ledger::mempool::MempoolError;

use crate::engine::{gate, Node, SubmitError};

/// A refusal.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", reason)
    }

    /// No leader to admit a submission (spec §20.5): the client retries.
    pub(crate) fn no_leader(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "no_leader", reason)
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// A failure of the node itself (storage, a task). Its text can name
    /// files and internals (RocksDB names the damaged file by its full
    /// path): it goes to the node's log, and the client gets only a generic
    /// reason (issue 21).
    pub(crate) fn internal(reason: impl std::fmt::Display) -> Self {
        tracing::error!(error = %reason, "an API request failed inside the node");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node could not answer; its operator's log has the details",
        )
    }

    /// The status this refusal is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The status and JSON body this refusal is answered with.
    pub(crate) fn into_parts(self) -> (StatusCode, ErrorBody) {
        (self.status, ErrorBody::new(self.code, self.reason))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.into_parts();
        (status, Json(body)).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Decodes and admits a submission at this node, which leads (or runs
/// alone), holding `pass` until its work is done: a client that hangs up
/// does not free the place while its proof is still being checked. The
/// answer (with `202`) is the transaction's ID, or the refusal.
pub(crate) async fn admit(
    node: Node,
    bytes: Vec<u8>,
    pass: gate::GatePass,
) -> ApiResult<Submitted> {
    let tx: Transaction = decode_exact(&bytes)
        .map_err(|e| ApiError::bad_request(format!("transaction does not decode: {e}")))?;
    let kind = tx.kind();
    let result = tokio::task::spawn_blocking(move || {
        let _pass = pass;
        node.submit(tx)
    })
    .await
    .map_err(ApiError::internal)?;
    match result {
        Ok(id) => Ok(Submitted {
            id: hex::encode(id.0),
            kind: kind.to_string(),
            status: TransactionState::Pending,
        }),
        Err(e) => Err(submit_error(e)),
    }
}

fn submit_error(e: SubmitError) -> ApiError {
    let reason = e.to_string();
    match e {
        SubmitError::Committed(_) => {
            ApiError::new(StatusCode::CONFLICT, "already_committed", reason)
        }
        SubmitError::Mempool(MempoolError::Duplicate) => {
            ApiError::new(StatusCode::CONFLICT, "duplicate", reason)
        }
        SubmitError::Mempool(MempoolError::TooLarge(_)) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", reason)
        }
        SubmitError::Mempool(MempoolError::Full | MempoolError::SenderLimit(_)) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", reason)
        }
        SubmitError::Mempool(MempoolError::Invalid(_)) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rejected", reason)
        }
        SubmitError::Store(_) => ApiError::internal(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_failure_answers_no_path_and_no_internal_text() {
        let damage = "storage: Corruption: block checksum mismatch in /srv/coalition/db/000017.sst";
        let (status, body) = ApiError::internal(damage).into_parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body.error, "internal");
        let text = serde_json::to_string(&body).unwrap();
        for leaked in ["/srv", ".sst", "Corruption", "checksum"] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
    }
}
