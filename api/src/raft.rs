//! The node-to-node routes' JSON (spec §20.3): their bodies are signed
//! envelopes; these are what some of them carry.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A member's node asks to be added to the cluster (`/raft/join`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JoinRequest {
    /// Where the node serves (API and Raft), `host:port`.
    pub addr: String,
}

/// How a join was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JoinState {
    /// Already in the membership.
    Member,
    /// Added as a learner; promoted to voter once caught up.
    Learner,
}

/// `/raft/join`'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JoinAnswer {
    /// Member or learner.
    pub status: JoinState,
}

/// `503` from `/raft/join` on a node that does not lead: where to ask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotLeader {
    /// Always `not_leader`.
    pub error: String,
    /// A human explanation.
    pub reason: String,
    /// The leader's address as this node knows it (`null` when it knows
    /// none; unauthenticated: the joiner checks whoever answers).
    pub leader: Option<String>,
}
