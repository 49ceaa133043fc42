//! Submitting transactions and following them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/transactions` as JSON (the canonical bytes may also be posted
/// as `application/octet-stream`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitJson {
    /// The transaction's canonical encoding (hex).
    pub transaction: String,
}

/// `202` from `POST /v1/transactions`: admitted to the mempool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    /// Transaction ID (hex).
    pub id: String,
    /// Its type (`issue`, `transfer`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Always `pending`.
    pub status: TransactionState,
}

/// Where a transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransactionState {
    /// Admitted, not yet in a block the tip includes.
    Pending,
    /// In a committed block the tip includes.
    Committed,
}

/// `GET /v1/transactions/{id}`: pending, or committed with its place once
/// the tip includes it (so that reads made after it show its effects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransactionStatus {
    /// Pending or committed.
    pub status: TransactionState,
    /// The block's height, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// The transaction's index in the block, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

impl TransactionStatus {
    /// Pending.
    pub fn pending() -> Self {
        TransactionStatus {
            status: TransactionState::Pending,
            height: None,
            index: None,
        }
    }

    /// Committed at `height`, `index`.
    pub fn committed(height: u64, index: u64) -> Self {
        TransactionStatus {
            status: TransactionState::Committed,
            height: Some(height),
            index: Some(index),
        }
    }
}
