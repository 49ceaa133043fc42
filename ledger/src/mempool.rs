//! The mempool (spec §15.3): transactions admitted but not yet in a block.
//!
//! Admission applies the transaction to a *pending* ledger — the committed
//! state with every admitted transaction applied in admission order — so it
//! is checked completely (signature, nonce, every proof) against exactly the
//! state it will meet in the next block, and a sender can queue consecutive
//! nonces. Bounded in count, bytes and per sender; duplicates are refused;
//! after a block, the pending ledger is rebuilt from the new state and every
//! remaining transaction the block invalidated (a spent nullifier, a used
//! nonce…) is evicted.

use std::collections::{BTreeMap, BTreeSet};

use coalition_core::currency::CurrencyId;
use coalition_core::encoding::{Encode, MAX_TRANSACTION_BYTES};
use coalition_core::keys::LoyaltyId;
use coalition_core::transaction::{Transaction, TxId};
use thiserror::Error;

use std::sync::Arc;

use crate::ledger::{AccountLedger, ApplyMode, LedgerError, VerifiedProofs};

/// Mempool bounds.
#[derive(Clone, Copy, Debug)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_transactions: usize,
    /// Most encoded bytes held.
    pub max_bytes: usize,
    /// Most transactions held per sender.
    pub max_per_sender: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_transactions: 10_000,
            max_bytes: 64 << 20,
            max_per_sender: 64,
        }
    }
}

/// Why a transaction was not admitted. The mempool is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MempoolError {
    /// Already held.
    #[error("transaction already in the mempool")]
    Duplicate,
    /// Larger than any transaction may be.
    #[error("transaction of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The mempool holds its maximum.
    #[error("mempool is full")]
    Full,
    /// The sender holds its maximum.
    #[error("sender already has {0} pending transactions")]
    SenderLimit(usize),
    /// The transaction does not verify against the pending state.
    #[error(transparent)]
    Invalid(#[from] LedgerError),
}

/// Who a transaction's per-sender limit counts against: the signer — a
/// currency's issuer for `Issue`, the account owner otherwise — or for a
/// Redeem (signed under a one-time re-randomized key) its first nullifier (each Redeem is its own sender:
/// nothing links two of them, by design).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Sender {
    Issuer(CurrencyId),
    Account(LoyaltyId),
    Note([u8; 32]),
}

fn sender(tx: &Transaction) -> Sender {
    match tx {
        Transaction::Issue(t) => Sender::Issuer(t.currency),
        Transaction::Transfer(t) => Sender::Account(t.source.loyalty_id()),
        Transaction::ApplyPending(t) => Sender::Account(t.owner.loyalty_id()),
        Transaction::Burn(t) => Sender::Account(t.source.loyalty_id()),
        Transaction::Exchange(t) => Sender::Account(t.owner.loyalty_id()),
        Transaction::Shield(t) => Sender::Account(t.source.loyalty_id()),
        Transaction::Redeem(t) => Sender::Note(t.nullifiers[0].to_bytes()),
        Transaction::ProposeMember(t) => Sender::Account(t.proposer),
        Transaction::Vote(t) => Sender::Account(t.voter),
        Transaction::RegisterCurrency(t) => Sender::Account(t.issuer),
        Transaction::Terms(signed) => Sender::Account(
            signed
                .terms
                .partner_set()
                .first()
                .copied()
                .unwrap_or(coalition_core::keys::LoyaltyId([0; 32])),
        ),
    }
}

struct Entry {
    tx: Transaction,
    id: TxId,
    sender: Sender,
    bytes: usize,
}

/// Admitted transactions in admission order, over a pending ledger.
pub struct Mempool {
    config: MempoolConfig,
    entries: Vec<Entry>,
    ids: BTreeSet<TxId>,
    per_sender: BTreeMap<Sender, usize>,
    bytes: usize,
    pending: AccountLedger,
    /// The height of the block the held transactions are for: the
    /// committed tip's + 1. Admission checks a transaction as that block
    /// will (its settlement epoch, open proposals), not as the tip was.
    next_height: u64,
    verified: Arc<VerifiedProofs>,
}

impl Mempool {
    /// An empty mempool over the committed state `ledger`.
    pub fn new(config: MempoolConfig, ledger: &AccountLedger) -> Self {
        Mempool {
            config,
            entries: Vec::new(),
            ids: BTreeSet::new(),
            per_sender: BTreeMap::new(),
            bytes: 0,
            pending: ledger.clone(),
            next_height: ledger.height().saturating_add(1),
            verified: Arc::default(),
        }
    }

    /// Number of transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: &TxId) -> bool {
        self.ids.contains(id)
    }

    /// The state after every held transaction.
    pub fn pending_state(&self) -> &AccountLedger {
        &self.pending
    }

    /// Admits `tx` if it is new, within bounds, and valid on the pending state.
    pub fn insert(&mut self, tx: Transaction) -> Result<TxId, MempoolError> {
        self.insert_batch(vec![tx])
            .pop()
            .unwrap_or(Err(MempoolError::Full))
    }

    /// Admits each of `txs` that is new, within bounds and valid on the
    /// pending state after the ones before it; one result per transaction,
    /// in order. The proofs of the candidates are verified in **one batch**;
    /// only if the batch fails is it bisected to find the culprits. Refused
    /// transactions change nothing.
    pub fn insert_batch(&mut self, txs: Vec<Transaction>) -> Vec<Result<TxId, MempoolError>> {
        let mut results: Vec<Option<Result<TxId, MempoolError>>> = vec![None; txs.len()];
        let mut candidates: Vec<(usize, Entry)> = Vec::new();
        let mut batch_ids = BTreeSet::new();
        let mut batch_bytes = 0;
        let mut batch_senders: BTreeMap<Sender, usize> = BTreeMap::new();
        let mut same_id_later: Vec<(usize, Transaction)> = Vec::new();
        for (i, tx) in txs.into_iter().enumerate() {
            let bytes = tx.to_bytes().len();
            let id = tx.id();
            let sender = sender(&tx);
            let held = self.per_sender.get(&sender).copied().unwrap_or(0)
                + batch_senders.get(&sender).copied().unwrap_or(0);
            let refusal = if bytes > MAX_TRANSACTION_BYTES {
                Some(MempoolError::TooLarge(bytes))
            } else if self.ids.contains(&id) {
                Some(MempoolError::Duplicate)
            } else if batch_ids.contains(&id) {
                same_id_later.push((i, tx));
                continue;
            } else if self.entries.len() + candidates.len() >= self.config.max_transactions
                || self.bytes + batch_bytes + bytes > self.config.max_bytes
            {
                Some(MempoolError::Full)
            } else if held >= self.config.max_per_sender {
                Some(MempoolError::SenderLimit(held))
            } else {
                None
            };
            if let Some(e) = refusal {
                results[i] = Some(Err(e));
                continue;
            }
            batch_ids.insert(id);
            batch_bytes += bytes;
            *batch_senders.entry(sender).or_insert(0) += 1;
            candidates.push((
                i,
                Entry {
                    tx,
                    id,
                    sender,
                    bytes,
                },
            ));
        }
        self.admit_range(candidates, &mut results);
        // A Redeem's ID does not cover its proof (§13.9), so a copy with a
        // garbage proof has the honest one's ID. Deciding duplicates before
        // verifying would let a copy that came first in a batch get the
        // original refused; a later transaction with an ID already in the
        // batch is decided after it instead: a duplicate if that one was
        // admitted, verified on its own merits if not.
        if !same_id_later.is_empty() {
            let (places, later): (Vec<usize>, Vec<Transaction>) = same_id_later.into_iter().unzip();
            for (place, result) in places.into_iter().zip(self.insert_batch(later)) {
                results[place] = Some(result);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(MempoolError::Full)))
            .collect()
    }

    /// Admits `candidates` (in order) if all pass together; otherwise
    /// bisects, so `k` bad transactions among `n` cost `O(k·log n)` batch
    /// verifications rather than `n` single ones (an attacker's invalid
    /// proof must not make the node verify everyone else one by one).
    fn admit_range(
        &mut self,
        mut candidates: Vec<(usize, Entry)>,
        results: &mut [Option<Result<TxId, MempoolError>>],
    ) {
        if candidates.is_empty() {
            return;
        }
        let txs: Vec<Transaction> = candidates.iter().map(|(_, e)| e.tx.clone()).collect();
        let height = self.next_height;
        match self.pending.after_block_cached(
            height,
            &txs,
            Some(&self.verified),
            ApplyMode::Pending,
        ) {
            Ok(next) => {
                self.pending = next;
                for (i, entry) in candidates {
                    results[i] = Some(Ok(entry.id));
                    self.admit(entry);
                }
            }
            Err(error) if candidates.len() == 1 => {
                results[candidates[0].0] = Some(Err(error.into()));
            }
            Err(_) => {
                let right = candidates.split_off(candidates.len() / 2);
                self.admit_range(candidates, results);
                self.admit_range(right, results);
            }
        }
    }

    /// The proofs admission verified, for block production to skip.
    pub fn verified_proofs(&self) -> Arc<VerifiedProofs> {
        Arc::clone(&self.verified)
    }

    fn admit(&mut self, entry: Entry) {
        self.ids.insert(entry.id);
        *self.per_sender.entry(entry.sender).or_insert(0) += 1;
        self.bytes += entry.bytes;
        self.entries.push(entry);
    }

    /// Empties the mempool (a node that stopped leading hands its
    /// transactions to the leader); the pending state becomes `committed`.
    pub fn take_all(&mut self, committed: &AccountLedger) -> Vec<Transaction> {
        self.ids.clear();
        self.per_sender.clear();
        self.bytes = 0;
        self.pending = committed.clone();
        self.next_height = committed.height().saturating_add(1);
        std::mem::take(&mut self.entries)
            .into_iter()
            .map(|e| e.tx)
            .collect()
    }

    /// The ID of the `index`-th held transaction, in admission order.
    pub fn held_id(&self, index: usize) -> Option<TxId> {
        self.entries.get(index).map(|e| e.id)
    }

    /// Up to `max` transactions in admission order, for the next block.
    pub fn take_for_block(&self, max: usize) -> Vec<Transaction> {
        self.entries
            .iter()
            .take(max)
            .map(|e| e.tx.clone())
            .collect()
    }

    /// After `committed` became the state: drops the transactions the block
    /// included and evicts those it invalidated. Returns the evicted IDs.
    pub fn on_block(&mut self, included: &[Transaction], committed: &AccountLedger) -> Vec<TxId> {
        let next_height = committed.height().saturating_add(1);
        // What is held was checked for `self.next_height`; at another
        // height it still holds unless a height-dependent rule says
        // otherwise: the settlement epoch changed (Shield, Redeem name
        // one), or a proposal's window may have closed (Vote, and
        // ProposeMember, which looks at the open proposals).
        let crossed = next_height != self.next_height
            && (committed.settlement_epoch_at(next_height)
                != committed.settlement_epoch_at(self.next_height)
                || self
                    .entries
                    .iter()
                    .any(|e| matches!(e.tx, Transaction::Vote(_) | Transaction::ProposeMember(_))));
        self.next_height = next_height;
        let included_ids: Vec<TxId> = included.iter().map(Transaction::id).collect();
        let is_prefix = included_ids.len() <= self.entries.len()
            && self
                .entries
                .iter()
                .zip(&included_ids)
                .all(|(e, id)| e.id == *id);
        // The fast path keeps the rest as admitted: right unless the new
        // height changes a rule they were checked by.
        if is_prefix && !crossed {
            // The block is the oldest entries in admission order (this
            // node's own proposal): the pending state already is the
            // committed state followed by the rest, verified at admission;
            // only the pool's tree and roots window come from the chain.
            self.pending.follow_committed_pool(committed);
            for entry in self.entries.drain(..included_ids.len()) {
                self.ids.remove(&entry.id);
                self.bytes -= entry.bytes;
                if let Some(n) = self.per_sender.get_mut(&entry.sender) {
                    *n -= 1;
                    if *n == 0 {
                        self.per_sender.remove(&entry.sender);
                    }
                }
            }
            return Vec::new();
        }
        let included: BTreeSet<TxId> = included_ids.into_iter().collect();
        let entries = std::mem::take(&mut self.entries);
        let rest: Vec<Entry> = entries
            .into_iter()
            .filter(|e| !included.contains(&e.id))
            .collect();
        self.rebuild(rest, committed)
    }

    /// Re-checks every held transaction against `committed` for the block
    /// after it, evicting what no longer holds (a block built from the
    /// mempool failed: one of them went stale, e.g. its settlement epoch
    /// or its proposal's window passed). Returns the evicted IDs.
    pub fn revalidate(&mut self, committed: &AccountLedger) -> Vec<TxId> {
        self.next_height = committed.height().saturating_add(1);
        let entries = std::mem::take(&mut self.entries);
        self.rebuild(entries, committed)
    }

    /// Removes one held transaction (a block builder found it invalid),
    /// re-checking the rest. Returns whether it was held.
    pub fn evict(&mut self, id: &TxId, committed: &AccountLedger) -> bool {
        if !self.ids.contains(id) {
            return false;
        }
        self.next_height = committed.height().saturating_add(1);
        let entries = std::mem::take(&mut self.entries);
        let rest = entries.into_iter().filter(|e| e.id != *id).collect();
        self.rebuild(rest, committed);
        true
    }

    /// Re-admits `rest` over `committed`: one batch, and one by one only if
    /// the batch fails.
    fn rebuild(&mut self, rest: Vec<Entry>, committed: &AccountLedger) -> Vec<TxId> {
        self.ids.clear();
        self.per_sender.clear();
        self.bytes = 0;
        self.pending = committed.clone();
        let txs: Vec<Transaction> = rest.iter().map(|e| e.tx.clone()).collect();
        let height = self.next_height;
        if let Ok(next) =
            self.pending
                .after_block_cached(height, &txs, Some(&self.verified), ApplyMode::Pending)
        {
            self.pending = next;
            for entry in rest {
                self.admit(entry);
            }
            return Vec::new();
        }
        let mut evicted = Vec::new();
        for entry in rest {
            match self.pending.after_block_cached(
                height,
                std::slice::from_ref(&entry.tx),
                Some(&self.verified),
                ApplyMode::Pending,
            ) {
                Ok(next) => {
                    self.pending = next;
                    self.admit(entry);
                }
                Err(_) => evicted.push(entry.id),
            }
        }
        evicted
    }
}
