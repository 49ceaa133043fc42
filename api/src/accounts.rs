//! Confidential accounts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /v1/accounts/{id}/{currency}`: an account's committed state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    /// The owner's public identity (hex).
    pub owner: String,
    /// Currency symbol.
    pub currency: String,
    /// The available balance, a grouped ciphertext (hex).
    pub available: String,
    /// The pending balance, a grouped ciphertext (hex).
    pub pending: String,
    /// Credits folded into `pending` since the last ApplyPending.
    pub pending_credits: u64,
    /// The account's next nonce.
    pub nonce: u64,
    /// The height this state is as of.
    pub height: u64,
}
