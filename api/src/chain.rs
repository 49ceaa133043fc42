//! The chain: status, genesis, blocks.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A block header, each hash as hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Header {
    /// Chain ID.
    pub chain: String,
    /// Height (genesis is 0).
    pub height: u64,
    /// This header's hash.
    pub hash: String,
    /// The previous header's hash.
    pub previous: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Merkle root of the block's transaction IDs.
    pub transactions_root: String,
    /// The shielded pool's note root after the block.
    pub note_root: String,
    /// Commitment to the nullifiers the block reveals.
    pub nullifier_commitment: String,
    /// The ledger state's hash after the block.
    pub state_hash: String,
}

/// `GET /v1/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// The coalition's name.
    pub coalition: String,
    /// Chain ID (hex).
    pub chain: String,
    /// Tip height.
    pub height: u64,
    /// The tip's header.
    pub tip: Header,
    /// Transactions waiting in the mempool.
    pub mempool: u64,
    /// Blocks per settlement epoch.
    pub settlement_epoch_blocks: u64,
    /// The tip's settlement epoch: what a Shield or Redeem names (`null`
    /// past the pool's 32-bit clock).
    pub settlement_epoch: Option<u32>,
    /// Seconds since the node started.
    pub uptime_s: u64,
}

/// `GET /v1/genesis`: where an auditor starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GenesisAnswer {
    /// The chain ID the genesis hashes to.
    pub chain: String,
    /// The canonical genesis encoding.
    pub genesis: String,
}

/// A transaction of a block, as listed with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockTransaction {
    /// Transaction ID.
    pub id: String,
    /// Its type (`issue`, `transfer`, …).
    #[serde(rename = "type")]
    pub kind: String,
}

/// `GET /v1/blocks/{height}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockAnswer {
    /// The header.
    pub header: Header,
    /// Its transactions, in order.
    pub transactions: Vec<BlockTransaction>,
    /// The canonical block encoding.
    pub bytes: String,
}

/// `GET /v1/blocks?from&limit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlockRangeQuery {
    /// First height (≥ 1).
    pub from: u64,
    /// Most blocks (default 64, at most 256).
    pub limit: Option<u64>,
}

/// `GET /v1/blocks?from&limit`: consecutive canonical encodings, ≤ 256
/// blocks and 8 MiB per answer, fewer at the tip, none past it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockRange {
    /// The first block's height.
    pub from: u64,
    /// The blocks' canonical encodings (hex), from `from` on.
    pub blocks: Vec<String>,
}
