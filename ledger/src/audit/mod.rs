//! Auditing a ledger from its blocks alone (spec §18).
//!
//! An auditor needs the genesis, the committed blocks and the pool's
//! verifying keys — nothing a partner could forge. [`audit`] replays the
//! chain from genesis through the same deterministic state machine the
//! nodes run: every block decodes strictly, every signature and proof is
//! re-verified, every header's transactions root, note root, nullifier
//! commitment and state hash is recomputed and compared, and the chain of
//! header hashes must end at the tip the source claims. The first problem
//! stops the replay and is *located*: block height, and where it lies in a
//! transaction, its index, ID and type.
//!
//! With a currency auditor's key the audit also reconciles supply. Every
//! amount that moves through an account carries a decrypt handle for the
//! currency's auditor (handle 2), so the auditor reads each flow `v_i`
//! and, per account, keeps `Ĉ = Σ ±C_i`, `D̂ = Σ ±D_i` and `v̂ = Σ ±v_i`
//! over the same signed flows the ledger applied (credits +, debits −;
//! `ApplyPending` moves within the account). Public flows (`Shield`,
//! `Redeem`) enter as `(v·G, 0)`. At the end, for every account:
//!
//! * `Ĉ` equals the ledger's `available + pending` commitment (the ledger
//!   holds exactly the flows the blocks contain), and
//! * `Ĉ − sk·D̂ = v̂·G` (the auditor's reading is the committed balance),
//!
//! and per currency `issued − burned − exchanged out + exchanged in =
//! Σ accounts + shielded − redeemed` (the pool's part is public at its
//! boundary).
//!
//! Because the replay runs the nodes' own state machine, the audit also
//! checks what it can without it (spec §18.1): `rules` re-derives the
//! membership history and the rules an auditor cares most about from the
//! transactions alone, and `settlement` recomputes every epoch's
//! settlement figures and compares them with the source's.

mod error;
mod report;
mod rules;
mod settlement;
mod source;
mod supply;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use coalition_core::transaction::Transaction;
use coalition_params::ShieldedVerifyingKeys;
use serde::Serialize;

pub use error::AuditError;
pub use report::{AuditReport, Finding, TransactionLocation};
pub use rules::{RuleChecks, RulesModel};
pub use settlement::SettlementAudit;
pub use source::BlockSource;
pub use supply::{AuditorKey, SupplyReport};

use crate::block::{decode_block, Block};
use crate::chain::{Chain, ChainError};
use crate::genesis::Genesis;
use crate::ledger::{AccountLedger, LedgerError};
use settlement::SettlementRecount;
use source::Blocks;
use supply::SupplyTracker;

/// The chain at `genesis`, and the pool's verifying keys it runs with:
/// `keys`, or the INSECURE dev keys from the parameter cache when the
/// genesis names them and `dev_mode` allows them.
fn start_chain(
    genesis: &Genesis,
    keys: Option<Arc<ShieldedVerifyingKeys>>,
    dev_mode: bool,
) -> Result<(Chain, Option<Arc<ShieldedVerifyingKeys>>), AuditError> {
    let keys = match (&genesis.pool, keys) {
        (Some(hashes), None) if hashes.are_insecure_dev() && dev_mode => Some(Arc::new(
            ShieldedVerifyingKeys::insecure_dev(&coalition_params::default_params_dir())
                .map_err(|e| AuditError::Genesis(e.to_string()))?,
        )),
        (_, keys) => keys,
    };
    let ledger = genesis
        .ledger(keys.clone(), dev_mode)
        .map_err(|e| AuditError::Genesis(e.to_string()))?;
    Ok((Chain::genesis(ledger, genesis.timestamp_ms), keys))
}

/// Replays the ledger in `source` from genesis (see the module docs).
/// `keys` are the pool's verifying keys (`None`: the INSECURE dev keys
/// when `dev_mode` and the genesis names them); `progress` is called with
/// each accepted height.
pub fn audit(
    source: &dyn BlockSource,
    keys: Option<Arc<ShieldedVerifyingKeys>>,
    dev_mode: bool,
    auditor: Option<AuditorKey<'_>>,
    progress: &mut dyn FnMut(u64),
) -> Result<AuditReport, AuditError> {
    let started = Instant::now();
    let genesis = source.genesis()?;
    let (mut chain, pool_keys) = start_chain(&genesis, keys, dev_mode)?;
    let mut tracker = auditor.map(SupplyTracker::new);
    if let Some(t) = tracker.as_mut() {
        t.follow(chain.ledger());
    }
    let mut report = AuditReport {
        coalition: genesis.name.clone(),
        chain: hex::encode(genesis.chain_id().0),
        blocks: 0,
        transactions: BTreeMap::new(),
        signatures: 0,
        proven_transactions: 0,
        tip_hash: hex::encode(chain.tip().hash().0),
        state_hash: hex::encode(chain.tip().state_hash),
        finding: None,
        supply: Vec::new(),
        rules: RuleChecks::default(),
        settlement: SettlementAudit::default(),
        elapsed_ms: 0,
    };
    let mut rules = RulesModel::new(&genesis);
    let mut recount = SettlementRecount::new(genesis.settlement_epoch_blocks);
    let mut height = 1;
    let mut blocks = Blocks::new(source);
    while let Some(bytes) = blocks.next()? {
        let block = match replay_block(&mut chain, height, &bytes) {
            Ok(block) => block,
            Err(finding) => {
                report.finding = Some(finding);
                break;
            }
        };
        if let Some(t) = tracker.as_mut() {
            // Currencies registered in this block, audited by this key.
            t.follow(chain.ledger());
        }
        for (index, tx) in block.transactions.iter().enumerate() {
            *report.transactions.entry(tx.kind()).or_insert(0) += 1;
            report.signatures += u64::from(tx.signature().is_some());
            report.proven_transactions += u64::from(!matches!(
                tx,
                Transaction::ApplyPending(_)
                    | Transaction::ProposeMember(_)
                    | Transaction::Vote(_)
                    | Transaction::RegisterCurrency(_)
                    | Transaction::Terms(_)
            ));
            if let Some(Err(problem)) = tracker.as_mut().map(|t| t.observe(tx)) {
                report.finding.get_or_insert(Finding {
                    height,
                    transaction: Some(TransactionLocation::of(index, tx)),
                    problem,
                });
            }
            if let Err(problem) = rules.observe(height, tx) {
                report.finding.get_or_insert(Finding {
                    height,
                    transaction: Some(TransactionLocation::of(index, tx)),
                    problem: format!("breaks a ledger rule the replay let through: {problem}"),
                });
            }
        }
        if let Err(problem) = rules.compare(chain.ledger()) {
            report.finding.get_or_insert(Finding {
                height,
                transaction: None,
                problem,
            });
        }
        recount.add_block(height, &block.transactions);
        report.blocks = height;
        progress(height);
        height += 1;
        if report.finding.is_some() {
            break;
        }
    }
    if report.finding.is_none() {
        if let Some((claimed_height, claimed_hash)) = source.claimed_tip()? {
            let tip = chain.tip();
            if claimed_height != tip.height || claimed_hash != tip.hash().0 {
                report.finding = Some(Finding {
                    height: claimed_height,
                    transaction: None,
                    problem: format!(
                        "the source claims tip {claimed_height} with hash {}, but its blocks replay to {} with hash {}",
                        hex::encode(claimed_hash),
                        tip.height,
                        hex::encode(tip.hash().0)
                    ),
                });
            }
        }
    }
    if report.finding.is_none() {
        let tip = chain.tip().height;
        let at_tip = |problem: String| Finding {
            height: tip,
            transaction: None,
            problem,
        };
        match source.stored_state(pool_keys) {
            Ok(None) => {}
            Ok(Some(stored)) if stored == *chain.ledger() => {}
            Ok(Some(stored)) => {
                report.finding = Some(at_tip(describe_state_difference(&stored, chain.ledger())))
            }
            Err(e) => report.finding = Some(at_tip(format!("the stored state does not load: {e}"))),
        }
    }
    if report.finding.is_none() {
        let tip = chain.tip().height;
        match recount.compare(source, tip)? {
            Ok((compared, moved_on)) => {
                report.settlement.epochs_compared = compared;
                report.settlement.epochs_moved_on = moved_on;
            }
            Err(problem) => {
                report.finding = Some(Finding {
                    height: tip,
                    transaction: None,
                    problem,
                })
            }
        }
    }
    report.rules = rules.checks;
    report.tip_hash = hex::encode(chain.tip().hash().0);
    report.state_hash = hex::encode(chain.tip().state_hash);
    if let Some(t) = tracker {
        match recount.positions(t.key(), chain.ledger()) {
            Ok((net, complete)) => {
                report.settlement.net_positions = net;
                report.settlement.positions_complete = complete;
            }
            Err(problem) => {
                report.finding.get_or_insert(Finding {
                    height: chain.tip().height,
                    transaction: None,
                    problem,
                });
            }
        }
        report.supply = t.finish(chain.ledger());
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Walks a block's framing (spec §15.1: header, count, then each
/// transaction behind its length) to find the first transaction that does
/// not decode; `None` if the damage is elsewhere.
fn undecodable_transaction(bytes: &[u8]) -> Option<TransactionLocation> {
    use coalition_core::encoding::decode_exact;
    const HEADER: usize = 32 + 8 + 32 + 8 + 32 + 32 + 32 + 32;
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(b) as usize)
    };
    let count = u32_at(HEADER)?;
    let mut at = HEADER + 4;
    for index in 0..count.min(crate::block::MAX_BLOCK_TRANSACTIONS) {
        let length = u32_at(at)?;
        let Some(body) = bytes.get(at + 4..(at + 4).checked_add(length)?) else {
            return Some(TransactionLocation {
                index,
                id: None,
                kind: None,
            });
        };
        if decode_exact::<Transaction>(body).is_err() {
            return Some(TransactionLocation {
                index,
                id: None,
                kind: None,
            });
        }
        at += 4 + length;
    }
    None
}

/// Decodes, verifies and applies one block, or locates what is wrong.
fn replay_block(chain: &mut Chain, height: u64, bytes: &[u8]) -> Result<Block, Finding> {
    let at = |problem: String| Finding {
        height,
        transaction: None,
        problem,
    };
    let block = decode_block(bytes).map_err(|e| Finding {
        height,
        transaction: undecodable_transaction(bytes),
        problem: format!("the block does not decode: {e}"),
    })?;
    if block.header.height != height {
        return Err(at(format!(
            "stored as block {height} but its header says {}",
            block.header.height
        )));
    }
    // Transactions first, so damage inside one is pinned to it (the
    // header's transactions root would otherwise only say "somewhere").
    let next = chain
        .ledger()
        .after_block_at(height, &block.transactions)
        .map_err(|e| match e {
            LedgerError::Rejected { index, error } => Finding {
                height,
                transaction: block
                    .transactions
                    .get(index)
                    .map(|tx| TransactionLocation::of(index, tx)),
                problem: format!("does not verify: {error}"),
            },
            other => at(other.to_string()),
        })?;
    chain
        .apply_computed(&block, next)
        .map_err(|e: ChainError| at(e.to_string()))?;
    Ok(block)
}

/// Names the first part of the stored state that differs from the replayed one.
fn describe_state_difference(stored: &AccountLedger, replayed: &AccountLedger) -> String {
    let mut stored_accounts = stored.accounts();
    let mut replayed_accounts = replayed.accounts();
    loop {
        match (stored_accounts.next(), replayed_accounts.next()) {
            (None, None) => break,
            (Some((k, a)), Some((l, b))) if k == l && a == b => continue,
            (Some(((owner, currency), _)), _) | (None, Some(((owner, currency), _))) => {
                return format!(
                    "the stored record of account {owner} in {currency} differs from the state the blocks produce"
                )
            }
        }
    }
    if stored.governance() != replayed.governance() {
        return "the stored governance records differ from the state the blocks produce".into();
    }
    if stored.pool() != replayed.pool() {
        return "the stored shielded-pool records differ from the state the blocks produce".into();
    }
    "the stored state differs from the state the blocks produce (currencies, rates or counters)"
        .into()
}

/// The verdict on one exported transaction.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionCheck {
    /// Its ID (hex).
    pub id: String,
    /// Its type.
    pub kind: &'static str,
    /// Where the ledger holds it, as (height, index); `None` if it does not.
    pub committed_at: Option<(u64, usize)>,
    /// `None` if it verifies against the state it met (or would meet next);
    /// otherwise why not.
    pub refusal: Option<String>,
}

/// Checks `tx` against `source`'s ledger: if a block holds it, against
/// the state just before it in that block (so its signature, nonce and
/// proofs are re-verified exactly as the nodes did); otherwise against the
/// tip, as the next block would. The ledger up to there is replayed and
/// verified on the way; a damaged ledger is an error.
pub fn check_transaction(
    source: &dyn BlockSource,
    keys: Option<Arc<ShieldedVerifyingKeys>>,
    dev_mode: bool,
    tx: &Transaction,
) -> Result<TransactionCheck, AuditError> {
    let (mut chain, _) = start_chain(&source.genesis()?, keys, dev_mode)?;
    let id = tx.id();
    let verdict = |view: &AccountLedger| {
        coalition_verifier::transactions::verify_transaction(tx, view)
            .err()
            .map(|e| e.to_string())
    };
    let mut height = 1;
    let mut blocks = Blocks::new(source);
    while let Some(bytes) = blocks.next()? {
        let block = decode_block(&bytes)
            .map_err(|e| AuditError::Source(format!("block {height} does not decode: {e}")))?;
        if let Some(index) = block.transactions.iter().position(|t| t.id() == id) {
            let before = chain
                .ledger()
                .after_block_at(height, &block.transactions[..index])
                .map_err(|e| AuditError::Source(format!("block {height}: {e}")))?;
            return Ok(TransactionCheck {
                id: hex::encode(id.0),
                kind: tx.kind(),
                committed_at: Some((height, index)),
                refusal: verdict(&before),
            });
        }
        replay_block(&mut chain, height, &bytes)
            .map_err(|finding| AuditError::Source(finding.to_string()))?;
        height += 1;
    }
    let next = chain
        .ledger()
        .after_block_at(height, &[])
        .map_err(|e| AuditError::Source(e.to_string()))?;
    Ok(TransactionCheck {
        id: hex::encode(id.0),
        kind: tx.kind(),
        committed_at: None,
        refusal: verdict(&next),
    })
}
