//! A node's API as the audit's block source
//! (`coalition_ledger::audit::BlockSource`): `coalition audit verify --node`.

use coalition_ledger::audit::{AuditError, BlockSource};
use coalition_ledger::genesis::Genesis;
use coalition_ledger::settlement::Figures;

use super::decode::array32;
use super::Client;

fn source(e: impl std::fmt::Display) -> AuditError {
    AuditError::Source(e.to_string())
}

impl BlockSource for Client {
    fn genesis(&self) -> Result<Genesis, AuditError> {
        Client::genesis(self).map_err(source)
    }

    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, AuditError> {
        Client::block_bytes(self, height).map_err(source)
    }

    fn block_range(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, AuditError> {
        Client::blocks_bytes(self, from, limit).map_err(source)
    }

    fn settlement(&self, epoch: u64) -> Result<Option<(u64, Figures)>, AuditError> {
        Client::settlement(self, epoch)
            .map(|report| Some((report.height, report.figures)))
            .map_err(source)
    }

    /// The tip the node claims, `None` when its status does not say
    /// (the audit then compares nothing).
    fn claimed_tip(&self) -> Result<Option<(u64, [u8; 32])>, AuditError> {
        let status: crate::chain::Status = self.get_as("/v1/status").map_err(source)?;
        Ok(array32(&status.tip.hash, "tip.hash")
            .ok()
            .map(|hash| (status.height, hash)))
    }
}
