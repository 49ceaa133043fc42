//! The body of every refusal.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"error": code, "reason": text}`: a refused request changed nothing.
/// The status says whose fault it was (spec §17.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `malformed`, `not_found`, `method_not_allowed`,
    /// `duplicate`, `already_committed`, `too_large`, `rejected`, `busy`,
    /// `body_timeout`, `no_leader` or `internal`; on the node-to-node routes
    /// also `unauthenticated` and `replayed` (and `not_leader`, a
    /// [`crate::raft::NotLeader`]).
    #[schema(example = "rejected")]
    pub error: String,
    /// A human explanation (generic for `internal`: the details go to the
    /// operator's log).
    pub reason: String,
}

impl ErrorBody {
    /// A refusal with `code` and `reason`.
    pub fn new(code: impl Into<String>, reason: impl Into<String>) -> Self {
        ErrorBody {
            error: code.into(),
            reason: reason.into(),
        }
    }
}
