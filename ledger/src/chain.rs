//! The chain of blocks over the ledger state machine (spec §15.2).
//!
//! [`Chain::apply`] accepts a block only if it extends the tip (chain,
//! height, previous hash, a timestamp after the tip's by at most
//! [`MAX_TIMESTAMP_STEP_MS`]), its transactions root
//! matches its transactions, every transaction verifies (batch-verified, all
//! or nothing), and the state it produces has exactly the commitments the
//! header claims. Otherwise nothing changes. No clock, randomness or
//! unordered iteration is involved, so replicas applying the same blocks hold
//! byte-identical state; [`Chain::propose`] builds the header a proposer
//! would sign.

use thiserror::Error;

use crate::block::{transactions_root, Block, BlockHash, BlockHeader};
use crate::ledger::{AccountLedger, LedgerError};
use coalition_core::transaction::Transaction;
use coalition_verifier::transactions::LedgerView;

/// The most a block's timestamp may run ahead of its parent's: 30 days.
///
/// A deterministic rule (replicas apply blocks without consulting their
/// clocks, so they cannot disagree): without it one block from a faulty
/// leader stamped `u64::MAX` left no later timestamp for any block, and
/// the chain stopped for good. With it, a faulty leader moves the chain's
/// clock by at most 30 days per block, never to its end in any feasible
/// number of blocks, and an honest proposer's next block is valid again
/// ([`Chain::next_timestamp`]).
pub const MAX_TIMESTAMP_STEP_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// Why a block was refused. The chain is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainError {
    /// The block is for another ledger.
    #[error("block is for another chain")]
    WrongChain,
    /// The block does not extend the tip by one.
    #[error("block height {got}, expected {expected}")]
    WrongHeight {
        /// The tip's height + 1.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// The previous hash is not the tip's.
    #[error("block does not extend the current tip")]
    WrongPrevious,
    /// The timestamp is not after the tip's.
    #[error("timestamp {got} ms is not after the tip's {tip} ms")]
    TimestampNotIncreasing {
        /// The tip's.
        tip: u64,
        /// The block's.
        got: u64,
    },
    /// The timestamp runs more than [`MAX_TIMESTAMP_STEP_MS`] ahead of
    /// the tip's.
    #[error("timestamp {got} ms is more than 30 days after the tip's {tip} ms")]
    TimestampTooFarAhead {
        /// The tip's.
        tip: u64,
        /// The block's.
        got: u64,
    },
    /// The tip's timestamp leaves no later one (only a chain stamped at
    /// the end of time).
    #[error("the tip's timestamp {0} ms leaves no later one")]
    ClockExhausted(u64),
    /// The transactions root does not match the transactions.
    #[error("transactions root does not match the block's transactions")]
    TransactionsRoot,
    /// A transaction was refused.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The resulting state differs from the header's commitment.
    #[error("the block's {0} does not match the state it produces")]
    StateMismatch(&'static str),
}

/// A ledger and the header of its last block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    ledger: AccountLedger,
    tip: BlockHeader,
}

fn header_for(
    ledger: &AccountLedger,
    height: u64,
    previous: BlockHash,
    timestamp_ms: u64,
    transactions: &[Transaction],
) -> BlockHeader {
    let (note_root, nullifier_commitment, state_hash) = ledger.commitments();
    BlockHeader {
        chain: ledger.chain(),
        height,
        previous,
        timestamp_ms,
        transactions_root: transactions_root(transactions),
        note_root,
        nullifier_commitment,
        state_hash,
    }
}

impl Chain {
    /// A chain whose genesis header (height 0) commits to `ledger` as it is.
    pub fn genesis(ledger: AccountLedger, timestamp_ms: u64) -> Self {
        let tip = header_for(&ledger, 0, BlockHash([0; 32]), timestamp_ms, &[]);
        Chain { ledger, tip }
    }

    /// A chain restored from storage at `tip` (the caller checked that
    /// `ledger` is the state after `tip`).
    pub fn restore(ledger: AccountLedger, tip: BlockHeader) -> Self {
        Chain { ledger, tip }
    }

    /// The state.
    pub fn ledger(&self) -> &AccountLedger {
        &self.ledger
    }

    /// The last header.
    pub fn tip(&self) -> &BlockHeader {
        &self.tip
    }

    /// The block a proposer would publish for `transactions` at
    /// `timestamp_ms` (checked exactly as [`Chain::apply`] will).
    pub fn propose(
        &self,
        transactions: Vec<Transaction>,
        timestamp_ms: u64,
    ) -> Result<Block, ChainError> {
        self.next_block(transactions, timestamp_ms, None)
            .map(|(block, _)| block)
    }

    /// Builds the next block from `transactions` and the state it leads
    /// to, verifying once; [`Chain::advance`] installs it after the caller
    /// made it durable.
    pub fn next_block(
        &self,
        transactions: Vec<Transaction>,
        timestamp_ms: u64,
        verified: Option<&crate::ledger::VerifiedProofs>,
    ) -> Result<(Block, AccountLedger), ChainError> {
        let next = self.ledger.after_block_cached(
            self.tip.height + 1,
            &transactions,
            verified,
            crate::ledger::ApplyMode::Block,
        )?;
        let header = header_for(
            &next,
            self.tip.height + 1,
            self.tip.hash(),
            timestamp_ms,
            &transactions,
        );
        let block = Block {
            header,
            transactions,
        };
        self.check_header(&block)?;
        Ok((block, next))
    }

    /// Installs `ledger` as the state after `header` (from
    /// [`Chain::next_block`] or a checked [`Chain::apply`]); returns the
    /// previous state.
    pub fn advance(&mut self, header: BlockHeader, ledger: AccountLedger) -> AccountLedger {
        self.tip = header;
        std::mem::replace(&mut self.ledger, ledger)
    }

    /// Checks that `block` extends the tip (without computing its state).
    pub fn check_header_only(&self, block: &Block) -> Result<(), ChainError> {
        self.check_header(block)
    }

    /// Checks, without installing, that `block` extends the tip and that
    /// `next` (the state after its transactions) is what its header
    /// commits to; [`Chain::advance`] then installs it.
    pub fn check_computed(&self, block: &Block, next: &AccountLedger) -> Result<(), ChainError> {
        self.check_header(block)?;
        check_commitments(&block.header, next)
    }

    fn check_header(&self, block: &Block) -> Result<(), ChainError> {
        let h = &block.header;
        if h.chain != self.ledger.chain() {
            return Err(ChainError::WrongChain);
        }
        if h.height != self.tip.height + 1 {
            return Err(ChainError::WrongHeight {
                expected: self.tip.height + 1,
                got: h.height,
            });
        }
        if h.previous != self.tip.hash() {
            return Err(ChainError::WrongPrevious);
        }
        if h.timestamp_ms <= self.tip.timestamp_ms {
            return Err(ChainError::TimestampNotIncreasing {
                tip: self.tip.timestamp_ms,
                got: h.timestamp_ms,
            });
        }
        if h.timestamp_ms - self.tip.timestamp_ms > MAX_TIMESTAMP_STEP_MS {
            return Err(ChainError::TimestampTooFarAhead {
                tip: self.tip.timestamp_ms,
                got: h.timestamp_ms,
            });
        }
        if h.transactions_root != transactions_root(&block.transactions) {
            return Err(ChainError::TransactionsRoot);
        }
        Ok(())
    }

    /// The timestamp an honest proposer gives the next block at wall-clock
    /// time `now_ms`: the clock, kept after the tip's and at most
    /// [`MAX_TIMESTAMP_STEP_MS`] ahead of it (after a long idle spell, or a
    /// faulty leader's future stamp, the chain's clock catches up or waits
    /// block by block).
    pub fn next_timestamp(&self, now_ms: u64) -> Result<u64, ChainError> {
        let tip = self.tip.timestamp_ms;
        let earliest = tip.checked_add(1).ok_or(ChainError::ClockExhausted(tip))?;
        Ok(now_ms
            .max(earliest)
            .min(tip.saturating_add(MAX_TIMESTAMP_STEP_MS)))
    }

    /// Applies `block`: all checks pass and the state moves, or nothing changes.
    pub fn apply(&mut self, block: &Block) -> Result<(), ChainError> {
        self.check_header(block)?;
        let next = self
            .ledger
            .after_block_at(block.header.height, &block.transactions)?;
        self.install(block, next)
    }

    /// [`Chain::apply`] for a caller that already computed the state after
    /// the block's transactions (`self.ledger().after_block_at(height,
    /// txs)`, e.g. an auditor locating a bad transaction before judging the
    /// header): checks the header against the tip and `next`, then installs.
    pub fn apply_computed(&mut self, block: &Block, next: AccountLedger) -> Result<(), ChainError> {
        self.check_header(block)?;
        self.install(block, next)
    }

    /// Installs `next` after `block`, whose header was checked against the
    /// tip, if the header commits to exactly that state.
    fn install(&mut self, block: &Block, next: AccountLedger) -> Result<(), ChainError> {
        check_commitments(&block.header, &next)?;
        self.ledger = next;
        self.tip = block.header.clone();
        Ok(())
    }
}

/// Whether `h` commits to exactly the state `next`.
fn check_commitments(h: &BlockHeader, next: &AccountLedger) -> Result<(), ChainError> {
    let (note_root, nullifier_commitment, state_hash) = next.commitments();
    if note_root != h.note_root {
        return Err(ChainError::StateMismatch("note root"));
    }
    if nullifier_commitment != h.nullifier_commitment {
        return Err(ChainError::StateMismatch("nullifier commitment"));
    }
    if state_hash != h.state_hash {
        return Err(ChainError::StateMismatch("state hash"));
    }
    Ok(())
}
