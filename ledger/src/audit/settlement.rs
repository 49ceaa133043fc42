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

use super::error::AuditError;
use super::source::BlockSource;
use super::supply::AuditorKey;
use crate::ledger::AccountLedger;
use crate::settlement::{audited, epoch_of, net_positions, Figures};

/// What the audit says about settlement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettlementAudit {
    /// Epochs whose stored figures were compared with the recomputed ones
    /// (0 when the source serves none), including the empty one after the
    /// tip's.
    pub epochs_compared: u64,
    /// Epochs not compared because the source had committed blocks past the
    /// audited tip into them by the time it was asked (a live node).
    pub epochs_moved_on: u64,
    /// With an auditor key: each partner's net position over all epochs
    /// (loyalty ID hex → settlement units; positive: owed to it), from the
    /// figures of the currencies the key audits.
    pub net_positions: BTreeMap<String, i128>,
    /// Whether those positions cover every figure (the key audits every
    /// currency that was settled).
    pub positions_complete: bool,
}

/// The figures recomputed block by block, per epoch.
pub(super) struct SettlementRecount {
    epoch_blocks: u64,
    epochs: BTreeMap<u64, Figures>,
}

impl SettlementRecount {
    pub(super) fn new(epoch_blocks: u64) -> Self {
        SettlementRecount {
            epoch_blocks,
            epochs: BTreeMap::new(),
        }
    }

    pub(super) fn add_block(&mut self, height: u64, transactions: &[Transaction]) {
        self.epochs
            .entry(epoch_of(height, self.epoch_blocks))
            .or_default()
            .add_block(height, self.epoch_blocks, transactions);
    }

    /// Compares the source's figures of every epoch up to `tip`'s, and of
    /// the one after (which must be empty), with the recomputed ones: the
    /// epochs compared and those the source had moved on from, or the first
    /// difference. An epoch is compared when its figures are as of the
    /// audited tip, or when its last block is at or below the tip (its
    /// figures are then final whatever the source committed since).
    pub(super) fn compare(
        &self,
        source: &dyn BlockSource,
        tip: u64,
    ) -> Result<Result<(u64, u64), String>, AuditError> {
        let last = epoch_of(tip, self.epoch_blocks);
        let (mut compared, mut moved_on) = (0, 0);
        for epoch in 0..=last.saturating_add(1) {
            let Some((height, theirs)) = source.settlement(epoch)? else {
                return Ok(Ok((0, 0)));
            };
            if height < tip {
                return Ok(Err(format!(
                    "the source's settlement figures are as of block {height}, behind its tip {tip}"
                )));
            }
            let last_block = epoch.saturating_add(1).saturating_mul(self.epoch_blocks);
            if height != tip && last_block > tip {
                moved_on += 1;
                continue;
            }
            let empty = Figures::default();
            let ours = self.epochs.get(&epoch).unwrap_or(&empty);
            if let Some(problem) = difference(&theirs, ours) {
                return Ok(Err(format!(
                    "the settlement figures of epoch {epoch} differ from those the blocks produce: {problem}"
                )));
            }
            compared += 1;
        }
        Ok(Ok((compared, moved_on)))
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
        let (mut pairs, mut exchanges, mut complete) = (Vec::new(), Vec::new(), true);
        for figures in self.epochs.values() {
            let (read, all) = audited(key.secret, key.table, figures, &issuers, &values, audits)
                .map_err(|e| format!("the settlement figures do not read: {e}"))?;
            pairs.extend(read.pairs);
            exchanges.extend(read.exchanges);
            complete &= all;
        }
        let net = net_positions(&pairs, &exchanges)
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
