//! openraft's log storage in the node's RocksDB (spec §20.2).
//!
//! Column family `raft_log` maps an index (u64, big-endian, so iteration
//! follows the log) to the JSON of its entry; `raft_state` holds the vote,
//! the committed log ID and the last purged log ID. Appends, truncations
//! and purges are synced write batches, reported to openraft only once
//! durable — a vote or an acknowledged entry survives `kill -9`.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, RaftLogReader, StorageError, StorageIOError, Vote};
use rocksdb::{Direction, IteratorMode, WriteBatch};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::TypeConfig;
use crate::engine::Node;
use crate::store::{CF_RAFT_LOG, CF_RAFT_STATE};

/// Largest log entry read back: no entry larger than a node-to-node
/// message can have been written, so whatever was appended reads back.
const MAX_ENTRY_BYTES: usize = super::rpc::MAX_MESSAGE_BYTES;

const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_PURGED: &[u8] = b"purged";

type StorageResult<T> = Result<T, StorageError<u64>>;

/// The Raft log of one node.
#[derive(Clone)]
pub struct LogStore {
    node: Node,
}

fn read_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::read_logs(&std::io::Error::other(e.to_string())).into()
}

fn write_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::write_logs(&std::io::Error::other(e.to_string())).into()
}

impl LogStore {
    /// The log in `node`'s database.
    pub fn new(node: Node) -> Self {
        LogStore { node }
    }

    fn get_state<T: DeserializeOwned>(&self, key: &[u8]) -> StorageResult<Option<T>> {
        let store = self.node.store();
        match store.get_cf(CF_RAFT_STATE, key).map_err(read_err)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(read_err),
        }
    }

    fn put_state<T: Serialize>(&self, key: &[u8], value: &T, sync: bool) -> StorageResult<()> {
        let store = self.node.store();
        let cf = store.cf(CF_RAFT_STATE).map_err(write_err)?;
        let bytes = serde_json::to_vec(value).map_err(write_err)?;
        let mut batch = WriteBatch::default();
        batch.put_cf(cf, key, bytes);
        if sync {
            store.sync_write(batch).map_err(write_err)
        } else {
            store.db().write(batch).map_err(write_err)
        }
    }

    fn last_entry_id(&self) -> StorageResult<Option<LogId<u64>>> {
        let store = self.node.store();
        let cf = store.cf(CF_RAFT_LOG).map_err(read_err)?;
        match store.db().iterator_cf(cf, IteratorMode::End).next() {
            None => Ok(None),
            Some(item) => {
                let (_, value) = item.map_err(read_err)?;
                Ok(Some(decode_entry(&value)?.log_id))
            }
        }
    }
}

/// Reads a stored log entry back (bounded; a fuzz target).
pub fn decode_entry(bytes: &[u8]) -> StorageResult<Entry<TypeConfig>> {
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(read_err("a stored log entry exceeds its bound"));
    }
    serde_json::from_slice(bytes).map_err(read_err)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let store = self.node.store();
        let cf = store.cf(CF_RAFT_LOG).map_err(read_err)?;
        let from = start.to_be_bytes();
        let mut out = Vec::new();
        for item in store
            .db()
            .iterator_cf(cf, IteratorMode::From(&from, Direction::Forward))
        {
            let (key, value) = item.map_err(read_err)?;
            let index = u64::from_be_bytes(
                key.as_ref()
                    .try_into()
                    .map_err(|_| read_err("a log key is not 8 bytes"))?,
            );
            if !range.contains(&index) {
                break;
            }
            out.push(decode_entry(&value)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let last_purged_log_id: Option<LogId<u64>> = self.get_state(KEY_PURGED)?;
        let last_log_id = self.last_entry_id()?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> StorageResult<()> {
        self.put_state(KEY_VOTE, vote, true)
            .map_err(|_| StorageIOError::write_vote(&std::io::Error::other("vote")).into())
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<u64>>> {
        self.get_state(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> StorageResult<()> {
        // Not synced: a lost committed mark is recomputed by the leader.
        self.put_state(KEY_COMMITTED, &committed, false)
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<u64>>> {
        Ok(self
            .get_state::<Option<LogId<u64>>>(KEY_COMMITTED)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let store = self.node.store();
        let cf = store.cf(CF_RAFT_LOG).map_err(write_err)?;
        let mut batch = WriteBatch::default();
        for entry in entries {
            let bytes = serde_json::to_vec(&entry).map_err(write_err)?;
            batch.put_cf(cf, entry.log_id.index.to_be_bytes(), bytes);
        }
        let result = store.sync_write(batch);
        let io = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()));
        callback.log_io_completed(io);
        result.map_err(write_err)
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        let store = self.node.store();
        let cf = store.cf(CF_RAFT_LOG).map_err(write_err)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, log_id.index.to_be_bytes(), u64::MAX.to_be_bytes());
        batch.delete_cf(cf, u64::MAX.to_be_bytes());
        store.sync_write(batch).map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        let store = self.node.store();
        let cf_log = store.cf(CF_RAFT_LOG).map_err(write_err)?;
        let cf_state = store.cf(CF_RAFT_STATE).map_err(write_err)?;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            cf_state,
            KEY_PURGED,
            serde_json::to_vec(&log_id).map_err(write_err)?,
        );
        batch.delete_range_cf(
            cf_log,
            0u64.to_be_bytes(),
            log_id.index.saturating_add(1).to_be_bytes(),
        );
        store.sync_write(batch).map_err(write_err)
    }
}
