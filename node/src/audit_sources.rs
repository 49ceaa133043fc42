//! The audit's block source (`coalition_ledger::audit::BlockSource`) over
//! the I/O this crate owns: a data directory ([`Store`], opened read-only
//! beside a running node). The source over a node's HTTP API is the
//! client's (`coalition_api::client`).

use std::sync::Arc;

use coalition_ledger::audit::{AuditError, BlockSource};
use coalition_ledger::block::BlockHeader;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::ledger::AccountLedger;
use coalition_ledger::settlement::Figures;
use coalition_params::ShieldedVerifyingKeys;

use crate::store::Store;

impl BlockSource for Store {
    fn genesis(&self) -> Result<Genesis, AuditError> {
        Store::genesis(self)
            .map_err(|e| AuditError::Source(e.to_string()))?
            .ok_or_else(|| AuditError::Source("the data directory holds no ledger".into()))
    }

    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, AuditError> {
        self.raw_block(height)
            .map_err(|e| AuditError::Source(e.to_string()))
    }

    fn claimed_tip(&self) -> Result<Option<(u64, [u8; 32])>, AuditError> {
        Ok(self
            .tip()
            .map_err(|e| AuditError::Source(e.to_string()))?
            .map(|h: BlockHeader| (h.height, h.hash().0)))
    }

    fn stored_state(
        &self,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
    ) -> Result<Option<AccountLedger>, String> {
        let genesis = BlockSource::genesis(self).map_err(|e| e.to_string())?;
        AccountLedger::load(self, genesis.chain_id(), keys)
            .map(|l| Some(genesis.configure(l)))
            .map_err(|e| e.to_string())
    }

    fn settlement(&self, epoch: u64) -> Result<Option<(u64, Figures)>, AuditError> {
        self.settlement_snapshot(epoch)
            .map(Some)
            .map_err(|e| AuditError::Source(format!("settlement figures: {e}")))
    }
}
