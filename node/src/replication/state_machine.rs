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
//! A **snapshot** is the chain itself, kept in a file ([`super::snapshot`]).
//! A node installing one keeps the blocks it has (they must be byte-equal
//! to the snapshot's, or it refuses: that would be a fork) and applies the
//! rest with the same full validation as log entries, so a snapshot from a
//! faulty leader cannot carry a forged block either. Trading transfer size
//! for that guarantee is deliberate (spec §20.4).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership,
};
use serde::{Deserialize, Serialize};

use tokio::io::AsyncWriteExt;

use super::snapshot::{remove_quietly, SnapshotDir};
use super::{decode_proposal, Applied, Counters, PeerNode, TypeConfig};
use crate::engine::Node;

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

/// The last snapshot built or installed: its metadata and file.
type StoredSnapshot = (SnapshotMeta<u64, PeerNode>, PathBuf);

/// The state machine over a node.
#[derive(Clone)]
pub struct StateMachine {
    node: Node,
    position: Arc<Mutex<Position>>,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
    files: Arc<SnapshotDir>,
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
    /// The state machine of `node`, at the apply position its store
    /// records, with its snapshot files in `<data_dir>/snapshots`.
    pub fn open(node: Node, counters: Arc<Counters>) -> StorageResult<Self> {
        let files = SnapshotDir::open(&node.config().data_dir).map_err(snapshot_err)?;
        let applied = match node.store().raft_applied().map_err(sm_read_err)? {
            None => AppliedState::default(),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(sm_read_err)?,
        };
        let height = node.tip().height;
        Ok(StateMachine {
            node,
            position: Arc::new(Mutex::new(Position { applied, height })),
            current: Arc::new(Mutex::new(None)),
            files: Arc::new(files),
            counters,
        })
    }

    /// Makes the snapshot in `path` the current one, unless the current
    /// one is newer (a build that read an older position can finish after
    /// an install), and removes the file that loses; a send still reading
    /// it keeps its open handle.
    fn set_current(&self, meta: SnapshotMeta<u64, PeerNode>, path: PathBuf) {
        let loser = {
            let mut current = self.current();
            match current.as_ref() {
                Some((held, _)) if held.last_log_id > meta.last_log_id => Some(path),
                _ => current.replace((meta, path)).map(|(_, old)| old),
            }
        };
        // Outside the lock: unlinking a large file can take a while.
        if let Some(loser) = loser {
            remove_quietly(&loser);
        }
    }

    /// No current snapshot (openraft has one built when it needs one).
    fn clear_current(&self) {
        let old = self.current().take();
        if let Some((_, old)) = old {
            remove_quietly(&old);
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<StoredSnapshot>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        // The position and the tip it produced, read together; blocks are
        // never rewritten, so reading them afterwards is consistent.
        let (applied, height) = {
            let p = self.position();
            (p.applied.clone(), p.height)
        };
        let node = self.node.clone();
        let files = self.files.clone();
        let (path, file) = tokio::task::spawn_blocking(move || files.write_chain(&node, height))
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
        self.set_current(meta.clone(), path);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(tokio::fs::File::from_std(file)),
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

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<tokio::fs::File>> {
        let file = self.files.begin_receiving().map_err(snapshot_err)?;
        Ok(Box::new(tokio::fs::File::from_std(file)))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, PeerNode>,
        mut snapshot: Box<tokio::fs::File>,
    ) -> StorageResult<()> {
        // The chunks were written through tokio's file, which may still
        // hold the last write: finish it before reading the file back.
        snapshot.flush().await.map_err(snapshot_err)?;
        let mut received = snapshot.into_std().await;
        let node = self.node.clone();
        let files = self.files.clone();
        let before = self.position().applied.clone();
        let before_bytes = serde_json::to_vec(&before).map_err(sm_write_err)?;
        let next = AppliedState {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        let next_bytes = serde_json::to_vec(&next).map_err(sm_write_err)?;
        // Blocks before the last are stored with the old apply position
        // (a crash midway leaves a node that installs again, keeping what
        // it holds); the last carries the snapshot's. Failing to keep the
        // installed file as the current snapshot costs only that (openraft
        // has another built when it needs one).
        let kept = tokio::task::spawn_blocking(move || {
            files.install(&node, &mut received, &before_bytes, &next_bytes)
        })
        .await
        .map_err(snapshot_err)?
        .map_err(snapshot_err)?;
        if let Err(e) = self.record(next, true) {
            if let Some(path) = kept {
                remove_quietly(&path);
            }
            return Err(e);
        }
        self.counters
            .snapshots_installed
            .fetch_add(1, Ordering::Relaxed);
        match kept {
            Some(path) => self.set_current(meta.clone(), path),
            None => self.clear_current(),
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        // Opened under the lock, so the file is never the one just
        // replaced and removed; each caller gets its own handle (and
        // offset) on it.
        let current = self.current();
        let Some((meta, path)) = current.as_ref() else {
            return Ok(None);
        };
        let file = std::fs::File::open(path).map_err(snapshot_err)?;
        Ok(Some(Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(tokio::fs::File::from_std(file)),
        }))
    }
}
