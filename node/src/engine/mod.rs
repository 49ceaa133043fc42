//! The engine (spec §17): admission, block production and installation
//! around the deterministic [`Chain`] and the [`Store`], with the events
//! and metrics they raise. It does no networking and knows nothing of the
//! HTTP layer or of replication, which drive it from above
//! (`crate::http` → `crate::replication` → here).
//!
//! The chain and the mempool have a lock each, so admission (verifying
//! against the pending state) and block production (computing, storing and
//! installing the next state) run at the same time; the only order taken
//! is chain, then mempool. Proof verification is CPU work, so every
//! operation that verifies runs on tokio's blocking pool. A block is
//! produced every `block_interval_ms` while transactions wait: the next
//! state is computed (one batch verification, skipping proofs admission
//! verified), committed to RocksDB in one synced batch, and only then
//! installed as the tip, so what the API reports as committed has reached
//! the disk.

pub mod events;
pub mod gate;
pub mod metrics;
pub mod refusals;

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coalition_core::transaction::{Transaction, TxId};
use coalition_params::ShieldedVerifyingKeys;
use tokio::sync::broadcast;

use crate::config::NodeConfig;
use crate::store::{Store, StoreError};
use coalition_api::events::Event;
use coalition_ledger::block::{Block, BlockHash, BlockHeader};
use coalition_ledger::chain::{Chain, ChainError};
use coalition_ledger::genesis::Genesis;
use coalition_ledger::ledger::{AccountLedger, LedgerError};
use coalition_ledger::mempool::{Mempool, MempoolError};
use metrics::Metrics;

/// Why the node could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Parameters could not be loaded.
    #[error("shielded-pool parameters: {0}")]
    Params(String),
    /// A block could not be produced.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// Why a submitted transaction was refused. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Already committed in a block.
    #[error("transaction already committed at height {0}")]
    Committed(u64),
    /// Refused by the mempool (duplicate, full, invalid, …).
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// Storage failed while checking.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Reply = std::sync::mpsc::SyncSender<Result<TxId, SubmitError>>;

/// Submissions waiting for admission, and whether a submitter is already
/// admitting on everyone's behalf.
#[derive(Default)]
struct Admission {
    queue: Vec<(Transaction, Reply)>,
    leader: bool,
}

/// Where a block's header came from, i.e. what installing it must check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderFrom {
    /// This node computed the header from the very state being installed
    /// ([`Chain::next_block`]): only its place after the tip is checked.
    ThisState,
    /// Another node built it: its commitments are checked too.
    Elsewhere,
}

/// Most submissions admitted (and batch-verified) together.
pub const ADMISSION_BATCH: usize = 256;

/// Shared by the API handlers and the block producer.
pub struct NodeShared {
    chain: RwLock<Chain>,
    mempool: Mutex<Mempool>,
    /// Held by the block producer from taking transactions until the
    /// mempool has seen the block: one block at a time.
    producing: Mutex<()>,
    /// The mempool's record of verified proofs and signatures, reachable
    /// without its lock.
    verified: Arc<coalition_ledger::ledger::VerifiedProofs>,
    admission: Mutex<Admission>,
    /// Bounds on submissions in flight (§17.4).
    gate: gate::SubmissionGate,
    /// Each client's budget of refused submissions (§17.4).
    refusals: refusals::RefusalBudget,
    /// The state after the block this node last proposed through Raft.
    prepared: Mutex<Option<(BlockHash, AccountLedger)>>,
    store: Store,
    genesis: Genesis,
    config: NodeConfig,
    events: broadcast::Sender<Event>,
    metrics: Metrics,
    started: Instant,
}

/// A handle on a running node's shared state.
#[derive(Clone)]
pub struct Node {
    shared: Arc<NodeShared>,
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Node {
    /// Opens the store in `config.data_dir` and restores (or creates) the
    /// chain. The shielded pool's verifying keys come from `keys`, or from
    /// the parameter cache when the genesis names the INSECURE dev keys.
    pub fn open(
        config: NodeConfig,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
    ) -> Result<Node, NodeError> {
        config.check()?;
        let (genesis, dev_mode) = config.genesis()?;
        Self::open_with_genesis(config, genesis, dev_mode, keys)
    }

    /// [`Node::open`] with an explicit genesis.
    pub fn open_with_genesis(
        config: NodeConfig,
        genesis: Genesis,
        dev_mode: bool,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
    ) -> Result<Node, NodeError> {
        config.check()?;
        if !dev_mode {
            crate::config::refuse_dev_founders(&genesis)?;
        }
        let keys = match (&genesis.pool, keys) {
            (None, _) => None,
            (Some(_), Some(keys)) => Some(keys),
            (Some(hashes), None) if hashes.are_insecure_dev() && dev_mode => {
                let dir = config
                    .params_dir
                    .clone()
                    .unwrap_or_else(coalition_params::default_params_dir);
                Some(Arc::new(
                    ShieldedVerifyingKeys::insecure_dev(&dir)
                        .map_err(|e| NodeError::Params(e.to_string()))?,
                ))
            }
            (Some(_), None) => {
                return Err(NodeError::Params(
                    "the genesis names a shielded pool; its verifying keys were not supplied \
                     (the INSECURE dev keys need dev_mode = true)"
                        .into(),
                ))
            }
        };
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            NodeError::Store(StoreError::Corrupt(
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    "data directory is not writable"
                } else {
                    "cannot create the data directory"
                },
            ))
        })?;
        let store = Store::open(&config.data_dir.join("db"))?;
        let chain = store.open_chain(&genesis, keys, dev_mode)?;
        let mempool = Mempool::new(config.mempool_config(), chain.ledger());
        let (events, _) = broadcast::channel(1024);
        let metrics = Metrics::new();
        metrics.set_height(chain.tip().height);
        Ok(Node {
            shared: Arc::new(NodeShared {
                chain: RwLock::new(chain),
                verified: mempool.verified_proofs(),
                mempool: Mutex::new(mempool),
                producing: Mutex::new(()),
                admission: Mutex::new(Admission::default()),
                gate: gate::SubmissionGate::new(
                    config.submissions.max_in_flight,
                    config.submissions.max_in_flight_per_client,
                    config.submissions.partner_share(),
                ),
                refusals: refusals::RefusalBudget::new(
                    config.submissions.refused_burst,
                    config.submissions.refused_per_second,
                ),
                prepared: Mutex::new(None),
                store,
                genesis,
                config,
                events,
                metrics,
                started: Instant::now(),
            }),
        })
    }

    // A panic while holding a lock is a bug; the chain is replaced only
    // after a successful commit and the mempool only by whole steps, so
    // what they guard stays consistent and a poisoned lock is taken over.

    /// The committed chain, for reading.
    pub(crate) fn chain(&self) -> RwLockReadGuard<'_, Chain> {
        self.shared
            .chain
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn chain_mut(&self) -> RwLockWriteGuard<'_, Chain> {
        self.shared
            .chain
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The bounds on submissions in flight.
    pub fn submission_gate(&self) -> &gate::SubmissionGate {
        &self.shared.gate
    }

    /// Each client's budget of refused submissions.
    pub fn refusal_budget(&self) -> &refusals::RefusalBudget {
        &self.shared.refusals
    }

    /// The mempool.
    pub(crate) fn mempool(&self) -> MutexGuard<'_, Mempool> {
        self.shared
            .mempool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.shared.genesis
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.shared.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Subscribes to events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Seconds since the node started.
    pub fn uptime(&self) -> Duration {
        self.shared.started.elapsed()
    }

    /// Runs `f` on the committed state.
    pub fn with_ledger<R>(
        &self,
        f: impl FnOnce(&coalition_ledger::ledger::AccountLedger) -> R,
    ) -> R {
        f(self.chain().ledger())
    }

    /// The tip header.
    pub fn tip(&self) -> BlockHeader {
        self.chain().tip().clone()
    }

    /// Verifies `tx` against the pending state and queues it.
    ///
    /// Concurrent submissions are admitted together (group commit): the
    /// first submitter to find no admission running drains the queue and
    /// admits it in batches of up to [`ADMISSION_BATCH`], verifying each
    /// batch's proofs at once; the others wait for their result. Blocking:
    /// call it from a blocking thread.
    pub fn submit(&self, tx: Transaction) -> Result<TxId, SubmitError> {
        // Verify the signature here, on the caller's thread and outside
        // every lock, under the signer the committed state names; admission
        // and the block skip it while their state names the same signer
        // (`SignatureCheck`).
        let signer = coalition_verifier::transactions::signer(&tx, self.chain().ledger());
        if let Some(signer) = signer {
            if let Err(error) = coalition_verifier::transactions::check_signature(&tx, &signer) {
                self.shared.metrics.count_transaction(tx.kind(), "rejected");
                return Err(SubmitError::Mempool(MempoolError::Invalid(
                    coalition_ledger::ledger::LedgerError::Rejected { index: 0, error },
                )));
            }
            self.shared.verified.record_signature(tx.id(), &signer);
        }
        let (reply, result) = std::sync::mpsc::sync_channel(1);
        self.admission().queue.push((tx, reply));
        loop {
            // Lead while no one else does, and only until our own answer
            // came back, so no submitter works long for others.
            let lead = {
                let mut admission = self.admission();
                !admission.queue.is_empty() && !std::mem::replace(&mut admission.leader, true)
            };
            if lead {
                loop {
                    let batch: Vec<(Transaction, Reply)> = {
                        let mut admission = self.admission();
                        let n = admission.queue.len().min(ADMISSION_BATCH);
                        admission.queue.drain(..n).collect()
                    };
                    if !batch.is_empty() {
                        self.admit(batch);
                    }
                    if let Ok(answer) = result.try_recv() {
                        self.admission().leader = false;
                        return answer;
                    }
                    let mut admission = self.admission();
                    if admission.queue.is_empty() {
                        admission.leader = false;
                        break;
                    }
                }
            }
            match result.recv_timeout(Duration::from_millis(2)) {
                Ok(answer) => return answer,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(SubmitError::Mempool(MempoolError::Full))
                }
            }
        }
    }

    fn admission(&self) -> MutexGuard<'_, Admission> {
        self.shared
            .admission
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn admit(&self, batch: Vec<(Transaction, Reply)>) {
        let mut candidates = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for (tx, reply) in batch {
            let kind = tx.kind();
            match self.shared.store.transaction_location(&tx.id()) {
                Ok(None) => {
                    candidates.push(tx);
                    replies.push((kind, reply));
                }
                Ok(Some((height, _))) => {
                    self.shared.metrics.count_transaction(kind, "rejected");
                    let _ = reply.send(Err(SubmitError::Committed(height)));
                }
                Err(e) => {
                    self.shared.metrics.count_transaction(kind, "rejected");
                    let _ = reply.send(Err(e.into()));
                }
            }
        }
        let results = {
            let mut mempool = self.mempool();
            let results = mempool.insert_batch(candidates);
            self.shared.metrics.set_mempool(mempool.len());
            results
        };
        for ((kind, reply), result) in replies.into_iter().zip(results) {
            let outcome = if result.is_ok() {
                "accepted"
            } else {
                "rejected"
            };
            self.shared.metrics.count_transaction(kind, outcome);
            let _ = reply.send(result.map_err(SubmitError::from));
        }
    }

    /// Produces and commits one block from the mempool, if it holds any
    /// transaction. Returns the new header. (A single node; a replicated
    /// node proposes through Raft instead: the replication layer drives
    /// [`Self::prepare_block`] and [`Self::apply_replicated`].)
    pub fn produce_block(&self) -> Result<Option<BlockHeader>, NodeError> {
        let _one_at_a_time = self
            .shared
            .producing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some((block, next)) = self.prepare_block()? else {
            return Ok(None);
        };
        self.install_block(&block, next, None, HeaderFrom::ThisState)?;
        Ok(Some(block.header))
    }

    /// Builds the next block from the mempool and the state it leads to,
    /// verifying only what admission did not; `None` when nothing waits.
    ///
    /// Admission goes on while the block is computed: it only appends to the
    /// mempool, so what is taken here stays its prefix.
    pub(crate) fn prepare_block(&self) -> Result<Option<(Block, AccountLedger)>, NodeError> {
        let (txs, verified) = {
            let mempool = self.mempool();
            if mempool.is_empty() {
                return Ok(None);
            }
            (
                mempool.take_for_block(self.shared.config.max_block_transactions),
                mempool.verified_proofs(),
            )
        };
        let started = Instant::now();
        let next = {
            let chain = self.chain();
            chain
                .next_timestamp(now_ms())
                .and_then(|timestamp| chain.next_block(txs, timestamp, Some(&verified)))
        };
        match next {
            Ok(prepared) => {
                self.shared
                    .metrics
                    .observe_block_verification(started.elapsed());
                Ok(Some(prepared))
            }
            Err(e) => {
                // A transaction the mempool accepted failed in the block
                // (admission and the block check the same height, so this
                // takes a block that raced admission): re-check the
                // mempool for the block after the tip, and drop the
                // transaction the block named if it is somehow still
                // there, so the next block cannot fail the same way.
                let culprit = match &e {
                    ChainError::Ledger(LedgerError::Rejected { index, .. }) => Some(*index),
                    _ => None,
                };
                self.revalidate_mempool(culprit);
                Err(e.into())
            }
        }
    }

    /// Re-checks the mempool against the committed tip, evicting what no
    /// longer holds, and the transaction at `culprit` (an index into the
    /// block just taken, i.e. into the mempool's prefix, which admission
    /// only appends to) whatever the re-check says.
    pub(crate) fn revalidate_mempool(&self, culprit: Option<usize>) {
        let chain = self.chain();
        let mut mempool = self.mempool();
        let culprit = culprit.and_then(|index| mempool.held_id(index));
        let mut evicted = mempool.revalidate(chain.ledger()).len();
        if let Some(id) = culprit {
            evicted += usize::from(mempool.evict(&id, chain.ledger()));
        }
        self.shared.metrics.count_evicted(evicted);
    }

    /// Makes `block` durable (with the Raft apply position, when
    /// replicated) and installs `next` as the state after it; then updates
    /// the mempool, metrics and subscribers. `next` must be the state
    /// after the block's transactions on the current tip: the header is
    /// checked against the tip (and, unless this node derived the header
    /// from `next`, against `next`) before anything is written.
    pub(crate) fn install_block(
        &self,
        block: &Block,
        next: AccountLedger,
        raft_applied: Option<&[u8]>,
        header: HeaderFrom,
    ) -> Result<(), NodeError> {
        {
            // Readers see the previous tip until the block is durable.
            let chain = self.chain();
            match header {
                HeaderFrom::ThisState => chain.check_header_only(block)?,
                HeaderFrom::Elsewhere => chain.check_computed(block, &next)?,
            }
            self.shared.store.commit_block_with(
                block,
                chain.ledger(),
                &next,
                self.shared.genesis.settlement_epoch_blocks,
                raft_applied,
            )?;
        }
        let before = self.chain_mut().advance(block.header.clone(), next);
        let chain = self.chain();
        let mut mempool = self.mempool();
        let evicted = mempool.on_block(&block.transactions, chain.ledger());
        self.shared.metrics.count_evicted(evicted.len());
        self.shared.metrics.set_mempool(mempool.len());
        drop(mempool);
        self.shared.metrics.record_block(block);
        let events = events::block_events(block, &before, chain.ledger());
        drop(chain);
        for event in events {
            // No subscriber is not an error.
            let _ = self.shared.events.send(event);
        }
        Ok(())
    }

    /// Takes every transaction waiting in the mempool (see
    /// [`Mempool::take_all`]).
    pub(crate) fn take_pending(&self) -> Vec<Transaction> {
        let chain = self.chain();
        let mut mempool = self.mempool();
        if mempool.is_empty() {
            return Vec::new();
        }
        let taken = mempool.take_all(chain.ledger());
        self.shared.metrics.set_mempool(0);
        taken
    }

    /// Puts back transactions a hand-over could not deliver (each is
    /// re-verified; what no longer holds is dropped).
    pub(crate) fn restore_pending(&self, txs: Vec<Transaction>) {
        let mut mempool = self.mempool();
        let _ = mempool.insert_batch(txs);
        self.shared.metrics.set_mempool(mempool.len());
    }

    /// Remembers the state a block this node proposed leads to, so applying
    /// it from the Raft log does not compute it again.
    pub(crate) fn remember_prepared(&self, block: BlockHash, next: AccountLedger) {
        *self
            .shared
            .prepared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((block, next));
    }

    /// Applies a block taken from the Raft log: every transaction is
    /// verified (skipping only proofs and signatures this node itself
    /// verified) and the header must commit to the resulting state. A
    /// refused block changes nothing but is an answer, not a failure: every
    /// replica refuses it alike. Blocking.
    pub(crate) fn apply_replicated(
        &self,
        block: &Block,
        raft_applied: &[u8],
    ) -> Result<Result<(), ChainError>, NodeError> {
        let prepared = self
            .shared
            .prepared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .filter(|(hash, _)| *hash == block.header.hash())
            .map(|(_, next)| next);
        let (next, header) = match prepared {
            Some(next) => (next, HeaderFrom::ThisState),
            None => {
                let chain = self.chain();
                if let Err(e) = chain.check_header_only(block) {
                    return Ok(Err(e));
                }
                match chain.ledger().after_block_cached(
                    block.header.height,
                    &block.transactions,
                    Some(&self.shared.verified),
                    coalition_ledger::ledger::ApplyMode::Block,
                ) {
                    Ok(next) => (next, HeaderFrom::Elsewhere),
                    Err(e) => return Ok(Err(e.into())),
                }
            }
        };
        match self.install_block(block, next, Some(raft_applied), header) {
            Ok(()) => Ok(Ok(())),
            Err(NodeError::Chain(e)) => Ok(Err(e)),
            Err(e) => Err(e),
        }
    }

    /// A committed block.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.shared.store.block(height)
    }

    /// A committed block's canonical encoding, as stored.
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.shared.store.raw_block(height)
    }

    /// Runs the block producer until `shutdown` resolves.
    pub async fn produce_blocks(self, shutdown: impl std::future::Future<Output = ()>) {
        let interval = Duration::from_millis(self.shared.config.block_interval_ms);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = ticker.tick() => {
                    let node = self.clone();
                    let result = tokio::task::spawn_blocking(move || node.produce_block()).await;
                    match result {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::error!(error = %e, "block production failed"),
                        Err(e) => tracing::error!(error = %e, "block producer task failed"),
                    }
                }
            }
        }
    }
}
