//! The audit's block sources (`coalition_ledger::audit::BlockSource`)
//! over the I/O this crate owns: a node's HTTP API ([`Client`]) and a data
//! directory ([`Store`], opened read-only beside a running node).

use std::sync::Arc;

use coalition_ledger::audit::{AuditError, BlockSource};
use coalition_ledger::block::BlockHeader;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::ledger::AccountLedger;
use coalition_ledger::settlement::Figures;
use coalition_params::ShieldedVerifyingKeys;

use crate::client::Client;
use crate::store::Store;

impl BlockSource for Client {
    fn genesis(&self) -> Result<Genesis, AuditError> {
        Client::genesis(self).map_err(|e| AuditError::Source(e.to_string()))
    }

    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, AuditError> {
        Client::block_bytes(self, height).map_err(|e| AuditError::Source(e.to_string()))
    }

    fn block_range(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, AuditError> {
        Client::blocks_bytes(self, from, limit).map_err(|e| AuditError::Source(e.to_string()))
    }

    fn settlement(&self, epoch: u64) -> Result<Option<(u64, Figures)>, AuditError> {
        Client::settlement(self, epoch)
            .map(|report| Some((report.height, report.figures)))
            .map_err(|e| AuditError::Source(e.to_string()))
    }

    fn claimed_tip(&self) -> Result<Option<(u64, [u8; 32])>, AuditError> {
        let v = self
            .get_json("/v1/status")
            .map_err(|e| AuditError::Source(e.to_string()))?;
        let height = v.get("height").and_then(serde_json::Value::as_u64);
        let hash = v
            .get("tip")
            .and_then(|t| t.get("hash"))
            .and_then(serde_json::Value::as_str)
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok());
        Ok(height.zip(hash))
    }
}

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
