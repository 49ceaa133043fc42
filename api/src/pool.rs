//! The shielded pool.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `GET /v1/pool`: `{"enabled": false}`, or the pool's size and roots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pool {
    /// Whether the coalition runs a shielded pool.
    pub enabled: bool,
    /// Notes in the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The newest root (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Nullifiers revealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullifiers: Option<u64>,
    /// The roots a Redeem may still name (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_roots: Option<Vec<String>>,
}

/// `GET /v1/pool/notes?from&limit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// First position (default 0).
    pub from: Option<u64>,
    /// Most items (default 100, at most 1000).
    pub limit: Option<u64>,
}

/// A note at its position in the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoolNote {
    /// Position.
    pub position: u64,
    /// The note output's canonical encoding (hex).
    pub note: String,
}

/// `GET /v1/pool/notes`: one page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoolNotes {
    /// The first note's position.
    pub from: u64,
    /// Notes in the pool.
    pub total: u64,
    /// The page.
    pub notes: Vec<PoolNote>,
}

/// `GET /v1/pool/paths/{position}`: a note's authentication path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoolPath {
    /// The note's position.
    pub position: u64,
    /// The newest root, which the path leads to (hex).
    pub root: String,
    /// The siblings from the leaf up (hex field elements).
    pub siblings: Vec<String>,
}

/// `GET /v1/pool/nullifiers/{nullifier}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NullifierStatus {
    /// Whether it was revealed.
    pub spent: bool,
}
