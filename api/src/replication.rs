//! `GET /v1/replication`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Replica {
    /// Raft node ID.
    pub id: u64,
    /// The partner running it (hex loyalty ID).
    pub member: String,
    /// Where it serves.
    pub addr: String,
}

/// A node's Raft role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RaftState {
    /// Leads.
    Leader,
    /// Follows.
    Follower,
    /// Running for election.
    Candidate,
    /// Catching up, not voting.
    Learner,
    /// Stopping.
    Shutdown,
}

/// A replicating node's view of its cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplicationState {
    /// This node's Raft ID.
    pub node_id: u64,
    /// Its partner (hex loyalty ID).
    pub member: String,
    /// Its role.
    pub state: RaftState,
    /// Current term.
    pub term: u64,
    /// The leader it knows.
    pub leader: Option<u64>,
    /// Last log index.
    pub last_log_index: Option<u64>,
    /// Last applied index.
    pub last_applied_index: Option<u64>,
    /// Last snapshot's index.
    pub snapshot_index: Option<u64>,
    /// Last purged index.
    pub purged_index: Option<u64>,
    /// Voting nodes.
    pub voters: Vec<Replica>,
    /// Learners.
    pub learners: Vec<Replica>,
    /// Snapshots this node installed.
    pub snapshots_installed: u64,
    /// Node-to-node messages refused.
    pub messages_rejected: u64,
    /// Replicated blocks refused.
    pub blocks_refused: u64,
}

/// `{"enabled": false}` on a node running alone, or its cluster view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Replication {
    /// Whether the node replicates.
    pub enabled: bool,
    /// Its view, when it does.
    #[serde(flatten)]
    pub state: Option<ReplicationState>,
}
