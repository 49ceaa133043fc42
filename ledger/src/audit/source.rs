//! Where an audit reads a ledger from: a node's API or a data directory.

use std::sync::Arc;

use coalition_params::ShieldedVerifyingKeys;

use super::error::AuditError;
use crate::genesis::Genesis;
use crate::ledger::AccountLedger;
use crate::settlement::Figures;

/// Blocks of a [`BlockSource`] in order from height 1, fetched a range at
/// a time.
pub(super) struct Blocks<'a, S: BlockSource + ?Sized> {
    source: &'a S,
    next: u64,
    buffered: std::collections::VecDeque<Vec<u8>>,
}

/// Blocks asked of a source per range.
const AUDIT_RANGE: u64 = 128;

impl<'a, S: BlockSource + ?Sized> Blocks<'a, S> {
    pub(super) fn new(source: &'a S) -> Self {
        Blocks {
            source,
            next: 1,
            buffered: Default::default(),
        }
    }

    /// The next block's encoding; `None` past the tip.
    pub(super) fn next(&mut self) -> Result<Option<Vec<u8>>, AuditError> {
        if self.buffered.is_empty() {
            let range = self.source.block_range(self.next, AUDIT_RANGE)?;
            if range.len() as u64 > AUDIT_RANGE {
                return Err(AuditError::Source(format!(
                    "{} blocks answered for a range of {AUDIT_RANGE}",
                    range.len()
                )));
            }
            self.buffered.extend(range);
        }
        let block = self.buffered.pop_front();
        self.next += u64::from(block.is_some());
        Ok(block)
    }
}

/// Where an audit reads a ledger from: a node's API or a data directory.
pub trait BlockSource {
    /// The genesis.
    fn genesis(&self) -> Result<Genesis, AuditError>;
    /// The canonical encoding of the block at `height`; `None` past the tip.
    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, AuditError>;
    /// Up to `limit` consecutive encodings from `from`, empty past the tip.
    /// A source that can answer a range in one request (a node's API)
    /// overrides this; the default asks block by block.
    fn block_range(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, AuditError> {
        let mut out = Vec::new();
        for height in from..from.saturating_add(limit) {
            match self.block_bytes(height)? {
                Some(bytes) => out.push(bytes),
                None => break,
            }
        }
        Ok(out)
    }
    /// The tip the source claims, as (height, header hash), if it says.
    fn claimed_tip(&self) -> Result<Option<(u64, [u8; 32])>, AuditError>;
    /// The current state as the source stores it, where it stores one (a
    /// data directory's account, pool and governance records), so the
    /// audit can check it is the state the blocks produce.
    fn stored_state(
        &self,
        _keys: Option<Arc<ShieldedVerifyingKeys>>,
    ) -> Result<Option<AccountLedger>, String> {
        Ok(None)
    }
    /// The settlement figures of `epoch` as the source keeps them, and the
    /// height they are as of, where it keeps them, so the audit can compare
    /// them with the blocks'.
    fn settlement(&self, _epoch: u64) -> Result<Option<(u64, Figures)>, AuditError> {
        Ok(None)
    }
}
