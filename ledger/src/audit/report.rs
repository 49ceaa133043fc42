//! What an audit found and reports.

use std::collections::BTreeMap;

use coalition_core::transaction::Transaction;
use serde::Serialize;

use super::rules::RuleChecks;
use super::settlement::SettlementAudit;
use super::supply::SupplyReport;

/// The first problem an audit found, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The block.
    pub height: u64,
    /// The transaction inside it, when the problem is in one.
    pub transaction: Option<TransactionLocation>,
    /// What is wrong.
    pub problem: String,
}

/// A transaction's place in a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransactionLocation {
    /// Position in the block.
    pub index: usize,
    /// Its ID (hex), when it decodes.
    pub id: Option<String>,
    /// Its type, when it decodes.
    pub kind: Option<&'static str>,
}

impl TransactionLocation {
    pub(super) fn of(index: usize, tx: &Transaction) -> Self {
        TransactionLocation {
            index,
            id: Some(hex::encode(tx.id().0)),
            kind: Some(tx.kind()),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "block {}", self.height)?;
        if let Some(t) = &self.transaction {
            match (&t.kind, &t.id) {
                (Some(kind), Some(id)) => write!(f, ", transaction {} ({kind} {id})", t.index)?,
                _ => write!(f, ", transaction {}", t.index)?,
            }
        }
        write!(f, ": {}", self.problem)
    }
}

/// What an audit did and found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The coalition's name.
    pub coalition: String,
    /// Chain ID (hex).
    pub chain: String,
    /// Blocks replayed and accepted.
    pub blocks: u64,
    /// Transactions replayed, by type.
    pub transactions: BTreeMap<&'static str, u64>,
    /// Signatures re-verified.
    pub signatures: u64,
    /// Transactions whose proofs were re-verified.
    pub proven_transactions: u64,
    /// Header hash of the last accepted block (hex).
    pub tip_hash: String,
    /// State hash after the last accepted block (hex).
    pub state_hash: String,
    /// The first problem, if any: the ledger is sound only if `None`.
    pub finding: Option<Finding>,
    /// Per currency, with an auditor key.
    pub supply: Vec<SupplyReport>,
    /// What the independent rule model checked (§18.1).
    pub rules: RuleChecks,
    /// Settlement recomputed and compared.
    pub settlement: SettlementAudit,
    /// How long the replay took.
    pub elapsed_ms: u64,
}

impl AuditReport {
    /// Whether the ledger passed: no finding, and every supply reconciled.
    pub fn passed(&self) -> bool {
        self.finding.is_none() && self.supply.iter().all(|s| s.reconciled)
    }
}
