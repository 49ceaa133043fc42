//! Settlement recomputed from the blocks (spec §18): the figures every
//! node keeps are a function of the blocks, so the audit recomputes them
//! and compares them with the ones the source serves — a replica or a data
//! directory whose figures drifted (damage, a bug, an edit) says who owes
//! whom wrongly, and the audit says where. With an auditor's key it also
//! computes every partner's net position from the figures of the
//! currencies that key audits.

use std::collections::BTreeMap;

use coalition_core::currency::{CurrencyId, ExchangeRate};
use coalition_core::keys::LoyaltyId;
use coalition_core::transaction::Transaction;
use serde::Serialize;

use super::report::AuditError;
use super::source::BlockSource;
use super::supply::AuditorKey;
use crate::ledger::AccountLedger;
use crate::settlement::{audited, epoch_of, net_positions, Figures};

/// What the audit says about settlement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettlementAudit {
    /// Epochs whose stored figures were compared with the recomputed ones
    /// (0 when the source serves none).
    pub epochs_compared: u64,
    /// With an auditor key: each partner's net position over all epochs
    /// (loyalty ID hex → settlement units; positive: owed to it), from the
    /// figures of the currencies the key audits.
    pub net_positions: BTreeMap<String, i128>,
    /// Whether those positions cover every figure (the key audits every
    /// currency that was settled).
    pub positions_complete: bool,
}

/// The figures recomputed block by block.
pub(super) struct SettlementRecount {
    epoch_blocks: u64,
    figures: Figures,
}

impl SettlementRecount {
    pub(super) fn new(epoch_blocks: u64) -> Self {
        SettlementRecount {
            epoch_blocks,
            figures: Figures::default(),
        }
    }

    pub(super) fn add_block(&mut self, height: u64, transactions: &[Transaction]) {
        self.figures
            .add_block(height, self.epoch_blocks, transactions);
    }

    fn epoch(&self, epoch: u64) -> Figures {
        Figures {
            pairs: self
                .figures
                .pairs
                .iter()
                .filter(|(k, _)| k.epoch == epoch)
                .map(|(k, f)| (*k, f.clone()))
                .collect(),
            exchanges: self
                .figures
                .exchanges
                .iter()
                .filter(|(k, _)| k.epoch == epoch)
                .map(|(k, f)| (*k, f.clone()))
                .collect(),
        }
    }

    /// Compares the source's figures of every epoch up to `tip` with the
    /// recomputed ones: the number of epochs compared, or the first
    /// difference.
    pub(super) fn compare(
        &self,
        source: &dyn BlockSource,
        tip: u64,
    ) -> Result<Result<u64, String>, AuditError> {
        let last = epoch_of(tip, self.epoch_blocks);
        for epoch in 0..=last {
            let Some(theirs) = source.settlement(epoch)? else {
                return Ok(Ok(0));
            };
            let ours = self.epoch(epoch);
            if let Some(problem) = difference(&theirs, &ours) {
                return Ok(Err(format!(
                    "the settlement figures of epoch {epoch} differ from those the blocks produce: {problem}"
                )));
            }
        }
        Ok(Ok(last + 1))
    }

    /// Every partner's net position from the figures `key` can read.
    pub(super) fn positions(
        &self,
        key: &AuditorKey<'_>,
        ledger: &AccountLedger,
    ) -> Result<(BTreeMap<String, i128>, bool), String> {
        let public = key.secret.public_key();
        let issuers: BTreeMap<CurrencyId, LoyaltyId> = ledger
            .currencies()
            .iter()
            .map(|(id, p)| (*id, p.issuer.loyalty_id()))
            .collect();
        let values: BTreeMap<CurrencyId, ExchangeRate> = ledger
            .governance()
            .currencies()
            .iter()
            .map(|(id, info)| (*id, info.settlement_value))
            .collect();
        let audits = |c: &CurrencyId| {
            ledger
                .currencies()
                .get(c)
                .is_some_and(|p| p.auditor.as_ref() == Some(&public))
        };
        let (read, complete) = audited(
            key.secret,
            key.table,
            &self.figures,
            &issuers,
            &values,
            audits,
        )
        .map_err(|e| format!("the settlement figures do not read: {e}"))?;
        let net = net_positions(&read.pairs, &read.exchanges)
            .into_iter()
            .map(|(id, v)| (hex::encode(id.0), v))
            .collect();
        Ok((net, complete))
    }
}

/// The first figure that differs, named.
fn difference(theirs: &Figures, ours: &Figures) -> Option<String> {
    for (key, f) in &ours.pairs {
        if theirs.pairs.get(key) != Some(f) {
            return Some(format!(
                "merchant {} in {}",
                hex::encode(key.merchant.0),
                key.currency
            ));
        }
    }
    if let Some(key) = theirs.pairs.keys().find(|k| !ours.pairs.contains_key(k)) {
        return Some(format!(
            "merchant {} in {} has figures no block produced",
            hex::encode(key.merchant.0),
            key.currency
        ));
    }
    for (key, f) in &ours.exchanges {
        if theirs.exchanges.get(key) != Some(f) {
            return Some(format!("exchanges {} → {}", key.from, key.to));
        }
    }
    if let Some(key) = theirs
        .exchanges
        .keys()
        .find(|k| !ours.exchanges.contains_key(k))
    {
        return Some(format!(
            "exchanges {} → {} have figures no block produced",
            key.from, key.to
        ));
    }
    None
}
