//! The replicated state machine: the node's chain (spec §20.1, §20.4).
//!
//! Applying a committed entry:
//!
//! * a blank or membership entry records the new apply position (and
//!   membership);
//! * a block entry is re-validated in full and, if it holds, committed to
//!   RocksDB **in the same synced batch** as the apply position, so a
//!   restarted node neither loses nor re-applies it; if it does not hold,
//!   every replica refuses it alike and the entry is a no-op.
//!
//! A **snapshot** is the chain itself — every committed block, in order:
//!
//! ```text
//! snapshot = "CSNAP1" ‖ chain ID (32) ‖ count (u64 BE) ‖ (length (u32 BE) ‖ block)*
//! ```
//!
//! A node installing one keeps the blocks it has (they must be byte-equal
//! to the snapshot's, or it refuses: that would be a fork) and applies the
//! rest with the same full validation as log entries, so a snapshot from a
//! faulty leader cannot carry a forged block either. Trading transfer size
//! for that guarantee is deliberate (spec §20.4).

use std::io::Cursor;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership,
};
use serde::{Deserialize, Serialize};

use super::{decode_proposal, Applied, Counters, PeerNode, TypeConfig};
use crate::service::Node;

const SNAPSHOT_MAGIC: &[u8; 6] = b"CSNAP1";
/// Largest block inside a snapshot (the stored-value bound).
const MAX_SNAPSHOT_BLOCK: usize = 80 * 1024 * 1024;

type StorageResult<T> = Result<T, StorageError<u64>>;

/// The last applied entry and the membership in force: stored with each
/// block (see [`crate::store::Store::commit_block_with`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppliedState {
    /// The last applied log entry.
    pub last_applied: Option<LogId<u64>>,
    /// The last membership applied.
    pub membership: StoredMembership<u64, PeerNode>,
}

/// The applied position together with the tip it produced, updated as one.
#[derive(Default)]
struct Position {
    applied: AppliedState,
    height: u64,
}

/// The last snapshot built or installed: its metadata and bytes.
type StoredSnapshot = (SnapshotMeta<u64, PeerNode>, Vec<u8>);

/// The state machine over a node.
#[derive(Clone)]
pub struct StateMachine {
    node: Node,
    position: Arc<Mutex<Position>>,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
    counters: Arc<Counters>,
}

fn sm_read_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::read_state_machine(&std::io::Error::other(e.to_string())).into()
}

fn sm_write_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::write_state_machine(&std::io::Error::other(e.to_string())).into()
}

fn snapshot_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::read_snapshot(None, &std::io::Error::other(e.to_string())).into()
}

impl StateMachine {
    /// The state machine of `node`, at the apply position its store records.
    pub fn open(node: Node, counters: Arc<Counters>) -> StorageResult<Self> {
        let applied = match node.store().raft_applied().map_err(sm_read_err)? {
            None => AppliedState::default(),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(sm_read_err)?,
        };
        let height = node.tip().height;
        Ok(StateMachine {
            node,
            position: Arc::new(Mutex::new(Position { applied, height })),
            current: Arc::new(Mutex::new(None)),
            counters,
        })
    }

    fn position(&self) -> std::sync::MutexGuard<'_, Position> {
        self.position
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, applied: AppliedState, persist: bool) -> StorageResult<()> {
        if persist {
            let bytes = serde_json::to_vec(&applied).map_err(sm_write_err)?;
            self.node
                .store()
                .set_raft_applied(&bytes)
                .map_err(sm_write_err)?;
        }
        let height = self.node.tip().height;
        *self.position() = Position { applied, height };
        Ok(())
    }

    async fn apply_block(
        &self,
        entry_id: LogId<u64>,
        proposal: super::Proposal,
    ) -> StorageResult<Applied> {
        let mut next = self.position().applied.clone();
        next.last_applied = Some(entry_id);
        let meta = serde_json::to_vec(&next).map_err(sm_write_err)?;
        let block = match decode_proposal(&proposal) {
            Ok(block) => block,
            Err(reason) => {
                self.counters.blocks_refused.fetch_add(1, Ordering::Relaxed);
                self.record(next, true)?;
                return Ok(Applied::Refused(format!("block does not decode: {reason}")));
            }
        };
        let node = self.node.clone();
        let height = block.header.height;
        let outcome = tokio::task::spawn_blocking(move || node.apply_replicated(&block, &meta))
            .await
            .map_err(sm_write_err)?
            .map_err(|e| StorageIOError::apply(entry_id, &std::io::Error::other(e.to_string())))?;
        match outcome {
            Ok(()) => {
                self.record(next, false)?;
                Ok(Applied::Block(height))
            }
            Err(refusal) => {
                self.counters.blocks_refused.fetch_add(1, Ordering::Relaxed);
                self.record(next, true)?;
                Ok(Applied::Refused(refusal.to_string()))
            }
        }
    }
}

/// Encodes the blocks `1..=height` of `node` as a snapshot.
fn encode_chain(node: &Node, height: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&node.genesis().chain_id().0);
    out.extend_from_slice(&height.to_be_bytes());
    for h in 1..=height {
        let block = node
            .store()
            .raw_block(h)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("block {h} is missing from the store"))?;
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
}

/// Splits a snapshot into its blocks' encodings, checking its framing and
/// chain; every length is bounded before anything is allocated.
pub fn decode_chain<'a>(bytes: &'a [u8], chain: &[u8; 32]) -> Result<Vec<&'a [u8]>, String> {
    let head = SNAPSHOT_MAGIC.len() + 32 + 8;
    if bytes.len() < head || &bytes[..6] != SNAPSHOT_MAGIC {
        return Err("not a coalition snapshot".into());
    }
    if &bytes[6..38] != chain {
        return Err("snapshot of another chain".into());
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&bytes[38..46]);
    let count = u64::from_be_bytes(count);
    let mut rest = &bytes[head..];
    // Each block takes at least its 4-byte length: bound the count by it.
    if count > (rest.len() / 4) as u64 {
        return Err("snapshot block count exceeds its size".into());
    }
    let mut blocks = Vec::with_capacity(count as usize);
    for _ in 0..count {
        if rest.len() < 4 {
            return Err("snapshot truncated".into());
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&rest[..4]);
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_SNAPSHOT_BLOCK || rest.len() < 4 + len {
            return Err("snapshot truncated or a block exceeds its bound".into());
        }
        blocks.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    if !rest.is_empty() {
        return Err("trailing bytes after the snapshot's blocks".into());
    }
    Ok(blocks)
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        // The position and the tip it produced, read together; blocks are
        // never rewritten, so reading them afterwards is consistent.
        let (applied, height) = {
            let p = self.position();
            (p.applied.clone(), p.height)
        };
        let node = self.node.clone();
        let data = tokio::task::spawn_blocking(move || encode_chain(&node, height))
            .await
            .map_err(snapshot_err)?
            .map_err(snapshot_err)?;
        let snapshot_id = format!(
            "{}-{}",
            applied.last_applied.map(|l| l.index).unwrap_or(0),
            height
        );
        let meta = SnapshotMeta {
            last_log_id: applied.last_applied,
            last_membership: applied.membership,
            snapshot_id,
        };
        *self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((meta.clone(), data.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, PeerNode>)> {
        let p = self.position();
        Ok((p.applied.last_applied, p.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Applied>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut out = Vec::new();
        for entry in entries {
            let log_id = entry.log_id;
            match entry.payload {
                EntryPayload::Blank => {
                    let mut next = self.position().applied.clone();
                    next.last_applied = Some(log_id);
                    self.record(next, true)?;
                    out.push(Applied::Nothing);
                }
                EntryPayload::Membership(membership) => {
                    let next = AppliedState {
                        last_applied: Some(log_id),
                        membership: StoredMembership::new(Some(log_id), membership),
                    };
                    self.record(next, true)?;
                    out.push(Applied::Nothing);
                }
                EntryPayload::Normal(proposal) => {
                    out.push(self.apply_block(log_id, proposal).await?);
                }
            }
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, PeerNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let data = snapshot.into_inner();
        let node = self.node.clone();
        let before = self.position().applied.clone();
        let before_bytes = serde_json::to_vec(&before).map_err(sm_write_err)?;
        let next = AppliedState {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        let next_bytes = serde_json::to_vec(&next).map_err(sm_write_err)?;
        let installed = data.clone();
        // Blocks before the last are stored with the old apply position
        // (a crash midway leaves a node that installs again, keeping what
        // it holds); the last carries the snapshot's.
        tokio::task::spawn_blocking(move || {
            install_chain(&node, &installed, &before_bytes, &next_bytes)
        })
        .await
        .map_err(snapshot_err)?
        .map_err(snapshot_err)?;
        self.record(next, true)?;
        self.counters
            .snapshots_installed
            .fetch_add(1, Ordering::Relaxed);
        *self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((meta.clone(), data));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        Ok(current.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

/// Brings `node` up to the snapshot's chain: the blocks it holds must be
/// byte-equal to the snapshot's; the others are applied with full
/// validation, the last with the apply position `last_applied`, those
/// before with `applied`. A snapshot that is a prefix of the node's chain
/// (a node that crashed while installing a later one) changes nothing.
/// Blocking.
pub(crate) fn install_chain(
    node: &Node,
    snapshot: &[u8],
    applied: &[u8],
    last_applied: &[u8],
) -> Result<(), String> {
    let blocks = decode_chain(snapshot, &node.genesis().chain_id().0)?;
    let tip = node.tip().height;
    let count = blocks.len() as u64;
    for (i, raw) in blocks.iter().enumerate() {
        let height = i as u64 + 1;
        if height <= tip {
            let held = node
                .store()
                .raw_block(height)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("block {height} is missing from the store"))?;
            if held.as_slice() != *raw {
                return Err(format!(
                    "the snapshot's block {height} differs from this node's: refusing a fork"
                ));
            }
            continue;
        }
        let block =
            crate::block::decode_block(raw).map_err(|e| format!("snapshot block {height}: {e}"))?;
        let position = if height == count {
            last_applied
        } else {
            applied
        };
        match node.apply_replicated(&block, position) {
            Ok(Ok(())) => {}
            Ok(Err(refusal)) => return Err(format!("snapshot block {height} refused: {refusal}")),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}
