//! Durable storage on RocksDB (spec §17).
//!
//! Column families: `blocks` (height → block), `transactions` (ID →
//! height ‖ index), `accounts`, `note_tree`, `nullifiers`, `governance`,
//! `metadata` (the records of [`coalition_ledger::ledger::records`]), `settlement`
//! and `settlement_exchanges` (per-epoch merchant and exchange sums of
//! [`coalition_ledger::settlement`]). Each block commits in **one**
//! `WriteBatch` written with `sync = true`: the block, its transaction
//! index, every state record it changed, its settlement sums and the new
//! tip header become durable together or not at all. A node killed at any
//! moment restarts at its last committed block: [`Store::load_chain`]
//! rebuilds the state from the records and refuses to start unless its hash
//! equals the tip header's.
//!
//! A block in RocksDB's write-ahead log but not yet in a table file is lost
//! if the log is damaged; the [`tip_marker`] outside the log notices that
//! (the store refuses to open below it), and a store closed cleanly flushes
//! its memtables so that its log holds nothing it needs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use coalition_core::encoding::{decode_exact, Decode, Encode};
use coalition_core::transaction::TxId;
use coalition_core::DecodeError;
use coalition_params::ShieldedVerifyingKeys;
use rocksdb::{ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, WriteOptions, DB};

use coalition_ledger::block::{decode_block, Block, BlockHeader};
use coalition_ledger::chain::Chain;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::ledger::records::{Records, StateReader, StateWriter, Table};
use coalition_ledger::ledger::{AccountLedger, STATE_FORMAT};
use coalition_ledger::settlement::{
    block_figures, ExchangeFigures, ExchangeKey, Figures, PairFigures, PairKey,
};

mod check;
pub mod tip_marker;

pub use check::IntegrityReport;

use tip_marker::{CommittedTip, MarkerError, TipMarker};

const CF_BLOCKS: &str = "blocks";
const CF_TRANSACTIONS: &str = "transactions";
const CF_ACCOUNTS: &str = "accounts";
const CF_NOTE_TREE: &str = "note_tree";
const CF_NULLIFIERS: &str = "nullifiers";
const CF_GOVERNANCE: &str = "governance";
const CF_METADATA: &str = "metadata";
const CF_SETTLEMENT: &str = "settlement";
const CF_SETTLEMENT_EXCHANGES: &str = "settlement_exchanges";
/// The Raft log (index, big-endian → entry), spec §20.
pub(crate) const CF_RAFT_LOG: &str = "raft_log";
/// Raft's vote, committed and purged log IDs.
pub(crate) const CF_RAFT_STATE: &str = "raft_state";
const ALL_CFS: [&str; 11] = [
    CF_BLOCKS,
    CF_TRANSACTIONS,
    CF_ACCOUNTS,
    CF_NOTE_TREE,
    CF_NULLIFIERS,
    CF_GOVERNANCE,
    CF_METADATA,
    CF_SETTLEMENT,
    CF_SETTLEMENT_EXCHANGES,
    CF_RAFT_LOG,
    CF_RAFT_STATE,
];
const KEY_GENESIS: &[u8] = b"genesis";
const KEY_TIP: &[u8] = b"tip";
/// [`STATE_FORMAT`] the store was written with (u32 little-endian; absent
/// in stores written before it existed, which used format 1).
const KEY_STATE_FORMAT: &[u8] = b"state_format";
/// The last Raft log entry applied to the ledger and the membership then in
/// force, written in the same batch as the block it produced.
const KEY_RAFT_APPLIED: &[u8] = b"raft_applied";
/// Largest stored value read back (a block of 4096 × 16 KiB transactions).
const MAX_VALUE_BYTES: usize = 80 * 1024 * 1024;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("storage: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A stored value does not decode.
    #[error("stored data is corrupt: {0}")]
    Decode(#[from] DecodeError),
    /// The stored state does not match the committed header.
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The store belongs to another coalition.
    #[error("the data directory holds another coalition (chain {0})")]
    OtherChain(String),
    /// The store's blocks commit to another version of the state hash, so
    /// this node cannot check them (spec §15.2).
    #[error(
        "the data directory was written with ledger state format {found}; this node \
         computes format {expected} and cannot check its blocks: move the directory \
         aside and start the node on an empty one"
    )]
    StateFormat {
        /// The store's format.
        found: u32,
        /// This node's format.
        expected: u32,
    },
    /// Genesis could not be built.
    #[error(transparent)]
    Genesis(#[from] coalition_ledger::genesis::GenesisError),
    /// The database's tip is below the last block this node recorded as
    /// committed: blocks were lost with its write-ahead log.
    #[error(
        "the database ends at height {stored} but this node committed blocks up to {committed} \
         (recorded in {marker}): blocks {first}..={committed} were lost, most likely with \
         a damaged or missing write-ahead log ({logs}). Refusing to start on a ledger that \
         forgot committed blocks: restore the data directory from a backup, or move it \
         aside and start on an empty one so the node re-syncs from its partners",
        first = stored + 1
    )]
    LostBlocks {
        /// The database's tip height.
        stored: u64,
        /// The recorded committed height.
        committed: u64,
        /// The marker file.
        marker: PathBuf,
        /// The write-ahead log files present (or "none").
        logs: String,
    },
    /// The database's tip at the recorded height is another block.
    #[error(
        "the database's block at height {height} is not the one this node committed \
         (recorded in {marker}): restore the data directory from a backup"
    )]
    OtherTip {
        /// The height.
        height: u64,
        /// The marker file.
        marker: PathBuf,
    },
    /// Records disagree with each other (found by a full check).
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(String),
    /// The committed-tip marker cannot be read.
    #[error("{0}; if nothing else is damaged, removing the file lets the node start")]
    Marker(#[from] MarkerError),
}

impl StoreError {
    /// Whether the error is damage to the stored data (as opposed to the
    /// directory being unreadable, locked or missing).
    pub fn is_damage(&self) -> bool {
        match self {
            StoreError::Rocks(e) => e.kind() == rocksdb::ErrorKind::Corruption,
            StoreError::Marker(MarkerError::Read { .. }) => false,
            _ => true,
        }
    }
}

fn table_cf(table: Table) -> &'static str {
    match table {
        Table::Accounts => CF_ACCOUNTS,
        Table::NoteTree => CF_NOTE_TREE,
        Table::Nullifiers => CF_NULLIFIERS,
        Table::Governance => CF_GOVERNANCE,
        Table::Metadata => CF_METADATA,
    }
}

/// A node's database.
pub struct Store {
    db: DB,
    marker: TipMarker,
    /// Opened for reading only: never flushed nor marked.
    read_only: bool,
}

struct BatchWriter<'a> {
    db: &'a DB,
    batch: WriteBatch,
}

impl StateWriter for BatchWriter<'_> {
    fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        if let Some(cf) = self.db.cf_handle(table_cf(table)) {
            self.batch.put_cf(cf, key, value);
        }
    }

    fn delete(&mut self, table: Table, key: Vec<u8>) {
        if let Some(cf) = self.db.cf_handle(table_cf(table)) {
            self.batch.delete_cf(cf, key);
        }
    }
}

impl StateReader for Store {
    type Error = StoreError;

    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Records, StoreError> {
        let cf = self.cf(table_cf(table))?;
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(prefix, rocksdb::Direction::Forward))
        {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_cf(table_cf(table), key)
    }
}

impl Store {
    /// Opens (creating if needed) the database in `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let marker = TipMarker::in_dir(path);
        // Checked before RocksDB's writable open, which replays the log,
        // writes what it recovered to table files and deletes the old logs:
        // a refusal after it would have destroyed the damaged log (and the
        // blocks past the damage) that a recovery needs.
        if path.join("CURRENT").exists() {
            if let Some(committed) = marker.read()? {
                check_committed_tip(committed, read_only_tip(path)?, &marker, path)?;
            }
        }
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_max_open_files(256);
        let cfs = ALL_CFS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&options, path, cfs)?;
        Ok(Store {
            db,
            marker,
            read_only: false,
        })
    }

    /// Opens an existing database for reading only (an auditor's view of
    /// a data directory; works beside a running node).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.join("CURRENT").exists() {
            return Err(StoreError::Corrupt("no ledger database in this directory"));
        }
        // The marker first: a live node rewrites it only after a block is
        // durable, so a database opened after reading it is at or above
        // it (read the other way round, a block committed in between
        // would look lost).
        let marker = TipMarker::in_dir(path);
        let committed = marker.read()?;
        let cfs = ALL_CFS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors_read_only(&Options::default(), path, cfs, false)?;
        let store = Store {
            db,
            marker,
            read_only: true,
        };
        if let Some(committed) = committed {
            check_committed_tip(committed, store.tip()?, &store.marker, path)?;
        }
        Ok(store)
    }

    /// Records `header` as committed (after its batch is durable). A
    /// failure is logged, not returned: the block is committed, and a
    /// marker left behind only narrows what a later open can notice.
    fn mark_committed(&self, header: &BlockHeader) {
        let tip = CommittedTip {
            height: header.height,
            hash: header.hash().0,
        };
        if let Err(error) = self.marker.record(tip) {
            tracing::warn!(
                marker = %self.marker.path().display(),
                %error,
                "could not record the committed tip"
            );
        }
    }

    pub(crate) fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or(StoreError::Corrupt("missing column family"))
    }

    pub(crate) fn get_cf(
        &self,
        cf: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.db.get_cf(self.cf(cf)?, key)?;
        if let Some(v) = &value {
            if v.len() > MAX_VALUE_BYTES {
                return Err(StoreError::Corrupt("stored value exceeds its bound"));
            }
        }
        Ok(value)
    }

    pub(crate) fn sync_write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(batch, &options)?;
        Ok(())
    }

    /// The genesis this store was initialised with.
    pub fn genesis(&self) -> Result<Option<Genesis>, StoreError> {
        match self.get_cf(CF_METADATA, KEY_GENESIS)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(Genesis::from_bytes(&bytes)?)),
        }
    }

    /// The last committed header.
    pub fn tip(&self) -> Result<Option<BlockHeader>, StoreError> {
        match self.get_cf(CF_METADATA, KEY_TIP)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(decode_exact(&bytes)?)),
        }
    }

    /// Opens the chain: initialises the store from `genesis` when it is
    /// empty, otherwise checks it holds the same coalition and rebuilds the
    /// state at the last committed block.
    pub fn open_chain(
        &self,
        genesis: &Genesis,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
        dev_mode: bool,
    ) -> Result<Chain, StoreError> {
        let ledger = genesis.ledger(keys.clone(), dev_mode)?;
        match self.genesis()? {
            None => {
                let chain = Chain::genesis(ledger, genesis.timestamp_ms);
                let mut w = BatchWriter {
                    db: &self.db,
                    batch: WriteBatch::default(),
                };
                chain.ledger().write_all(&mut w);
                let meta = self.cf(CF_METADATA)?;
                w.batch.put_cf(meta, KEY_GENESIS, genesis.to_bytes());
                w.batch.put_cf(meta, KEY_TIP, chain.tip().to_bytes());
                w.batch
                    .put_cf(meta, KEY_STATE_FORMAT, STATE_FORMAT.to_le_bytes());
                let batch = w.batch;
                self.sync_write(batch)?;
                self.mark_committed(chain.tip());
                Ok(chain)
            }
            Some(stored) => {
                if stored.chain_id() != genesis.chain_id() {
                    return Err(StoreError::OtherChain(hex::encode(stored.chain_id().0)));
                }
                self.load_chain(keys)
            }
        }
    }

    /// Rebuilds the chain at the last committed block; refuses a state
    /// whose hash differs from the tip header's.
    pub fn load_chain(
        &self,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
    ) -> Result<Chain, StoreError> {
        let genesis = self.genesis()?.ok_or(StoreError::Corrupt("no genesis"))?;
        let tip = self.tip()?.ok_or(StoreError::Corrupt("no tip"))?;
        let found = match self.get_cf(CF_METADATA, KEY_STATE_FORMAT)? {
            None => 1,
            Some(v) => u32::from_le_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("malformed state format"))?,
            ),
        };
        if found != STATE_FORMAT {
            return Err(StoreError::StateFormat {
                found,
                expected: STATE_FORMAT,
            });
        }
        let ledger = genesis.configure(AccountLedger::load(self, genesis.chain_id(), keys)?);
        if ledger.height() != tip.height {
            return Err(StoreError::Corrupt("state height differs from the tip's"));
        }
        if ledger.state_hash() != tip.state_hash {
            return Err(StoreError::Corrupt("state hash differs from the tip's"));
        }
        Ok(Chain::restore(ledger, tip))
    }

    /// Commits `block`, which took the state from `before` to `after`, in
    /// one synced batch.
    pub fn commit_block(
        &self,
        block: &Block,
        before: &AccountLedger,
        after: &AccountLedger,
        epoch_blocks: u64,
    ) -> Result<(), StoreError> {
        self.commit_block_with(block, before, after, epoch_blocks, None)
    }

    /// [`Store::commit_block`] that also records, in the same batch, the
    /// Raft log position (and membership) the block was applied from, so a
    /// restarted replica never applies an entry twice.
    pub fn commit_block_with(
        &self,
        block: &Block,
        before: &AccountLedger,
        after: &AccountLedger,
        epoch_blocks: u64,
        raft_applied: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let mut w = BatchWriter {
            db: &self.db,
            batch: WriteBatch::default(),
        };
        after.write_changes(before, &mut w);
        let height = block.header.height;
        let blocks = self.cf(CF_BLOCKS)?;
        w.batch
            .put_cf(blocks, height.to_be_bytes(), block.to_bytes());
        let txs = self.cf(CF_TRANSACTIONS)?;
        for (index, tx) in block.transactions.iter().enumerate() {
            let mut location = height.to_be_bytes().to_vec();
            location.extend_from_slice(&(index as u32).to_be_bytes());
            w.batch.put_cf(txs, tx.id().0, location);
        }
        let figures = block_figures(height, epoch_blocks, &block.transactions);
        let settlement = self.cf(CF_SETTLEMENT)?;
        for (key, figures) in &figures.pairs {
            let mut total = self.settlement(key)?.unwrap_or_default();
            total.merge(figures);
            w.batch.put_cf(settlement, key.to_key(), total.to_bytes());
        }
        let exchanges = self.cf(CF_SETTLEMENT_EXCHANGES)?;
        for (key, figures) in &figures.exchanges {
            let mut total = self.exchange_settlement(key)?.unwrap_or_default();
            total.merge(figures);
            w.batch.put_cf(exchanges, key.to_key(), total.to_bytes());
        }
        let meta = self.cf(CF_METADATA)?;
        w.batch.put_cf(meta, KEY_TIP, block.header.to_bytes());
        if let Some(applied) = raft_applied {
            w.batch.put_cf(meta, KEY_RAFT_APPLIED, applied);
        }
        let batch = w.batch;
        self.sync_write(batch)?;
        self.mark_committed(&block.header);
        Ok(())
    }

    /// Writes every memtable to table files, so that the write-ahead log
    /// holds nothing the database needs (done when the store closes).
    pub fn flush(&self) -> Result<(), StoreError> {
        for name in ALL_CFS {
            self.db.flush_cf(self.cf(name)?)?;
        }
        Ok(())
    }

    /// The recorded Raft apply position (see [`Store::commit_block_with`]).
    pub fn raft_applied(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_cf(CF_METADATA, KEY_RAFT_APPLIED)
    }

    /// Records the Raft apply position for an entry that produced no block
    /// (a blank, a membership change, a refused proposal) or after a
    /// snapshot was installed. Synced: the position must never fall behind
    /// the log openraft purged on the strength of it.
    pub fn set_raft_applied(&self, applied: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_METADATA)?, KEY_RAFT_APPLIED, applied);
        self.sync_write(batch)
    }

    /// The database, for the Raft log store (its own column families).
    pub(crate) fn db(&self) -> &DB {
        &self.db
    }

    /// The stored encoding of the block at `height` (≥ 1), undecoded.
    pub fn raw_block(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_cf(CF_BLOCKS, &height.to_be_bytes())
    }

    /// The block at `height` (≥ 1).
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        match self.get_cf(CF_BLOCKS, &height.to_be_bytes())? {
            None => Ok(None),
            Some(bytes) => Ok(Some(decode_block(&bytes)?)),
        }
    }

    /// Where a committed transaction is: `(height, index)`.
    pub fn transaction_location(&self, id: &TxId) -> Result<Option<(u64, u32)>, StoreError> {
        match self.get_cf(CF_TRANSACTIONS, &id.0)? {
            None => Ok(None),
            Some(v) if v.len() == 12 => {
                let mut h = [0u8; 8];
                h.copy_from_slice(&v[..8]);
                let mut i = [0u8; 4];
                i.copy_from_slice(&v[8..]);
                Ok(Some((u64::from_be_bytes(h), u32::from_be_bytes(i))))
            }
            Some(_) => Err(StoreError::Corrupt("transaction location")),
        }
    }

    /// The settlement sums of one pair and epoch.
    pub fn settlement(&self, key: &PairKey) -> Result<Option<PairFigures>, StoreError> {
        match self.get_cf(CF_SETTLEMENT, &key.to_key())? {
            None => Ok(None),
            Some(bytes) => Ok(Some(decode_exact(&bytes)?)),
        }
    }

    /// Every pair's sums in `epoch`.
    pub fn settlement_epoch(&self, epoch: u64) -> Result<Vec<(PairKey, PairFigures)>, StoreError> {
        self.epoch_records(&self.db.snapshot(), CF_SETTLEMENT, epoch, PairKey::from_key)
    }

    /// The exchange sums of one group and epoch.
    pub fn exchange_settlement(
        &self,
        key: &ExchangeKey,
    ) -> Result<Option<ExchangeFigures>, StoreError> {
        match self.get_cf(CF_SETTLEMENT_EXCHANGES, &key.to_key())? {
            None => Ok(None),
            Some(bytes) => Ok(Some(decode_exact(&bytes)?)),
        }
    }

    /// Every exchange group's sums in `epoch`.
    pub fn exchange_settlement_epoch(
        &self,
        epoch: u64,
    ) -> Result<Vec<(ExchangeKey, ExchangeFigures)>, StoreError> {
        self.epoch_records(
            &self.db.snapshot(),
            CF_SETTLEMENT_EXCHANGES,
            epoch,
            ExchangeKey::from_key,
        )
    }

    /// Every figure of `epoch` and the height they are as of, read from one
    /// snapshot: a block commits its figures and the tip in one batch, so
    /// the two agree even while blocks are being committed.
    pub fn settlement_snapshot(&self, epoch: u64) -> Result<(u64, Figures), StoreError> {
        let snapshot = self.db.snapshot();
        let height = match snapshot.get_cf(self.cf(CF_METADATA)?, KEY_TIP)? {
            None => 0,
            Some(bytes) if bytes.len() <= MAX_VALUE_BYTES => {
                decode_exact::<BlockHeader>(&bytes)?.height
            }
            Some(_) => return Err(StoreError::Corrupt("stored value exceeds its bound")),
        };
        let pairs = self.epoch_records(&snapshot, CF_SETTLEMENT, epoch, PairKey::from_key)?;
        let exchanges = self.epoch_records(
            &snapshot,
            CF_SETTLEMENT_EXCHANGES,
            epoch,
            ExchangeKey::from_key,
        )?;
        Ok((
            height,
            Figures {
                pairs: pairs.into_iter().collect(),
                exchanges: exchanges.into_iter().collect(),
            },
        ))
    }

    /// The records of `cf` whose key starts with `epoch` (u64 BE), as of
    /// `snapshot`.
    fn epoch_records<K, V: Decode>(
        &self,
        snapshot: &rocksdb::Snapshot<'_>,
        cf: &'static str,
        epoch: u64,
        key: impl Fn(&[u8]) -> Result<K, DecodeError>,
    ) -> Result<Vec<(K, V)>, StoreError> {
        let cf = self.cf(cf)?;
        let prefix = epoch.to_be_bytes();
        let mut out = Vec::new();
        for item in
            snapshot.iterator_cf(cf, IteratorMode::From(&prefix, rocksdb::Direction::Forward))
        {
            let (k, v) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            if v.len() > MAX_VALUE_BYTES {
                return Err(StoreError::Corrupt("stored value exceeds its bound"));
            }
            out.push((key(&k)?, decode_exact(&v)?));
        }
        Ok(out)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // A clean close leaves nothing only in the write-ahead log: a
        // damaged log then costs no committed block.
        if !self.read_only {
            if let Err(error) = self.flush() {
                tracing::warn!(%error, "flushing the database on close failed");
            }
        }
    }
}

/// Refuses a database whose tip (`stored`) is below, or at the same height
/// but another block than, the tip this node recorded as `committed`.
fn check_committed_tip(
    committed: CommittedTip,
    stored: Option<BlockHeader>,
    marker: &TipMarker,
    path: &Path,
) -> Result<(), StoreError> {
    match stored {
        Some(tip) if tip.height > committed.height => Ok(()),
        Some(tip) if tip.height == committed.height => {
            if tip.hash().0 == committed.hash {
                Ok(())
            } else {
                Err(StoreError::OtherTip {
                    height: tip.height,
                    marker: marker.path().to_path_buf(),
                })
            }
        }
        _ => Err(StoreError::LostBlocks {
            stored: stored.map_or(0, |tip| tip.height),
            committed: committed.height,
            marker: marker.path().to_path_buf(),
            logs: write_ahead_logs(path),
        }),
    }
}

/// The tip of the database in `path`, read without writing anything: a
/// read-only open replays the write-ahead log in memory only.
fn read_only_tip(path: &Path) -> Result<Option<BlockHeader>, StoreError> {
    let db = DB::open_cf_for_read_only(&Options::default(), path, [CF_METADATA], false)?;
    let metadata = db
        .cf_handle(CF_METADATA)
        .ok_or(StoreError::Corrupt("missing column family"))?;
    match db.get_cf(metadata, KEY_TIP)? {
        None => Ok(None),
        Some(bytes) => Ok(Some(decode_exact(&bytes)?)),
    }
}

/// The write-ahead log files in `dir`, for an operator's message.
fn write_ahead_logs(dir: &Path) -> String {
    let mut logs: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".log"))
        .collect();
    logs.sort();
    if logs.is_empty() {
        "none left".into()
    } else {
        format!("{} in {}", logs.join(", "), dir.display())
    }
}
