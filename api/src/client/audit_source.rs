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
        // Only the two fields it needs, each optional: a status that says
        // less is no claim, not a failed audit.
        #[derive(serde::Deserialize)]
        struct Tip {
            hash: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Claim {
            height: Option<u64>,
            tip: Option<Tip>,
        }
        let claim: Claim = self.get_as(super::paths::STATUS).map_err(source)?;
        let hash = claim
            .tip
            .and_then(|t| t.hash)
            .and_then(|h| array32(&h, "tip.hash").ok());
        Ok(claim.height.zip(hash))
    }
}
