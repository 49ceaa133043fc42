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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use coalition_core::currency::CurrencyId;
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::elgamal::{Ciphertext, GroupedCiphertext};
use coalition_core::keys::{ElGamalPublicKey, ElGamalSecretKey, LoyaltyId};
use coalition_core::transaction::Transaction;
use coalition_params::ShieldedVerifyingKeys;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use serde::Serialize;

use crate::block::{decode_block, Block, BlockHeader};
use crate::chain::{Chain, ChainError};
use crate::genesis::Genesis;
use crate::ledger::{AccountLedger, LedgerError};

/// Why an audit could not run at all (as opposed to a finding).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The source could not be read.
    #[error("reading the ledger: {0}")]
    Source(String),
    /// The genesis cannot start a ledger (e.g. the pool's keys do not match).
    #[error("genesis: {0}")]
    Genesis(String),
}

/// Blocks of a [`BlockSource`] in order from height 1, fetched a range at
/// a time.
struct Blocks<'a, S: BlockSource + ?Sized> {
    source: &'a S,
    next: u64,
    buffered: std::collections::VecDeque<Vec<u8>>,
}

/// Blocks asked of a source per range.
const AUDIT_RANGE: u64 = 128;

impl<'a, S: BlockSource + ?Sized> Blocks<'a, S> {
    fn new(source: &'a S) -> Self {
        Blocks {
            source,
            next: 1,
            buffered: Default::default(),
        }
    }

    /// The next block's encoding; `None` past the tip.
    fn next(&mut self) -> Result<Option<Vec<u8>>, AuditError> {
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
}

impl BlockSource for crate::client::Client {
    fn genesis(&self) -> Result<Genesis, AuditError> {
        crate::client::Client::genesis(self).map_err(|e| AuditError::Source(e.to_string()))
    }

    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, AuditError> {
        crate::client::Client::block_bytes(self, height)
            .map_err(|e| AuditError::Source(e.to_string()))
    }

    fn block_range(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, AuditError> {
        crate::client::Client::blocks_bytes(self, from, limit)
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

impl BlockSource for crate::store::Store {
    fn genesis(&self) -> Result<Genesis, AuditError> {
        crate::store::Store::genesis(self)
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
}

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
    fn of(index: usize, tx: &Transaction) -> Self {
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

/// One currency's supply, as its auditor reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SupplyReport {
    /// The currency.
    pub currency: String,
    /// Points issued.
    pub issued: u64,
    /// Points burned back to the issuer.
    pub burned: u64,
    /// Points exchanged into other currencies.
    pub exchanged_out: u64,
    /// Points received from other currencies by exchange.
    pub exchanged_in: u64,
    /// Points moved into the shielded pool (public).
    pub shielded: u64,
    /// Points paid out of the pool to merchants (public).
    pub redeemed: u64,
    /// Σ of every account's balance (available + pending), as read.
    pub in_accounts: u64,
    /// `shielded − redeemed`.
    pub in_pool: u64,
    /// Accounts whose committed balance matched the auditor's reading.
    pub accounts_checked: u64,
    /// Whether everything above reconciles.
    pub reconciled: bool,
    /// The first discrepancy, if any.
    pub problem: Option<String>,
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
    /// How long the replay took.
    pub elapsed_ms: u64,
}

impl AuditReport {
    /// Whether the ledger passed: no finding, and every supply reconciled.
    pub fn passed(&self) -> bool {
        self.finding.is_none() && self.supply.iter().all(|s| s.reconciled)
    }
}

/// A currency auditor's key and a table to read amounts with.
pub struct AuditorKey<'a> {
    /// The secret key whose public part is a currency's auditor key.
    pub secret: &'a ElGamalSecretKey,
    /// Discrete-log table.
    pub table: &'a DecryptionTable,
}

/// One account's running sums in the auditor's view.
#[derive(Clone, Copy)]
struct AuditedAccount {
    commitment: RistrettoPoint,
    handle: RistrettoPoint,
    value: i128,
}

impl Default for AuditedAccount {
    fn default() -> Self {
        AuditedAccount {
            commitment: RistrettoPoint::identity(),
            handle: RistrettoPoint::identity(),
            value: 0,
        }
    }
}

struct Flows {
    report: SupplyReport,
    accounts: BTreeMap<LoyaltyId, AuditedAccount>,
}

struct SupplyTracker<'a> {
    key: AuditorKey<'a>,
    /// The key's public part: the currencies naming it as auditor are tracked.
    public: ElGamalPublicKey,
    currencies: BTreeMap<CurrencyId, Flows>,
}

impl<'a> SupplyTracker<'a> {
    fn new(key: AuditorKey<'a>) -> Self {
        SupplyTracker {
            public: key.secret.public_key(),
            key,
            currencies: BTreeMap::new(),
        }
    }

    /// Starts tracking the currencies `ledger` registers with this auditor
    /// (registrations are never undone, so tracking only grows).
    fn follow(&mut self, ledger: &AccountLedger) {
        for (id, policy) in ledger.currencies() {
            if policy.auditor.as_ref() == Some(&self.public) {
                self.currencies.entry(*id).or_insert_with(|| Flows {
                    report: SupplyReport {
                        currency: id.symbol().to_string(),
                        ..SupplyReport::default()
                    },
                    accounts: BTreeMap::new(),
                });
            }
        }
    }

    /// Reads the auditor's handle of `amount`; `None` if it cannot be read
    /// (no auditor handle, or beyond the table's bound).
    fn read(&self, amount: &GroupedCiphertext) -> Result<(Ciphertext, u64), String> {
        let ct = amount
            .ciphertext(2)
            .ok_or("an audited amount has no auditor handle")?;
        let value = ct
            .decrypt(self.key.secret, self.key.table)
            .map_err(|e| format!("an amount does not decrypt with the auditor key: {e}"))?;
        Ok((ct, value))
    }

    fn flow(
        &mut self,
        currency: CurrencyId,
        account: LoyaltyId,
        ct: &Ciphertext,
        value: u64,
        sign: i8,
    ) {
        let Some(flows) = self.currencies.get_mut(&currency) else {
            return;
        };
        let entry = flows.accounts.entry(account).or_default();
        if sign > 0 {
            entry.commitment += ct.commitment.as_point();
            entry.handle += ct.handle.as_point();
            entry.value += i128::from(value);
        } else {
            entry.commitment -= ct.commitment.as_point();
            entry.handle -= ct.handle.as_point();
            entry.value -= i128::from(value);
        }
    }

    fn public(value: u64) -> Ciphertext {
        Ciphertext::zero().add_amount(value)
    }

    fn audited(&self, currency: &CurrencyId) -> bool {
        self.currencies.contains_key(currency)
    }

    fn observe(&mut self, tx: &Transaction) -> Result<(), String> {
        match tx {
            Transaction::Issue(t) if self.audited(&t.currency) => {
                let (ct, v) = self.read(&t.amount)?;
                self.bump(&t.currency, |r| r.issued += v);
                self.flow(t.currency, t.recipient.loyalty_id(), &ct, v, 1);
            }
            Transaction::Transfer(t) if self.audited(&t.currency) => {
                let (ct, v) = self.read(&t.amount)?;
                self.flow(t.currency, t.source.loyalty_id(), &ct, v, -1);
                self.flow(t.currency, t.destination.loyalty_id(), &ct, v, 1);
            }
            Transaction::Burn(t) if self.audited(&t.currency) => {
                let (ct, v) = self.read(&t.amount)?;
                self.bump(&t.currency, |r| r.burned += v);
                self.flow(t.currency, t.source.loyalty_id(), &ct, v, -1);
            }
            Transaction::Exchange(t) => {
                let owner = t.owner.loyalty_id();
                if self.audited(&t.from) {
                    let (ct, v) = self.read(&t.amount_from)?;
                    self.bump(&t.from, |r| r.exchanged_out += v);
                    self.flow(t.from, owner, &ct, v, -1);
                }
                if self.audited(&t.to) {
                    let (ct, v) = self.read(&t.amount_to)?;
                    self.bump(&t.to, |r| r.exchanged_in += v);
                    self.flow(t.to, owner, &ct, v, 1);
                }
            }
            Transaction::Shield(t) if self.audited(&t.currency) => {
                self.bump(&t.currency, |r| r.shielded += t.value);
                self.flow(
                    t.currency,
                    t.source.loyalty_id(),
                    &Self::public(t.value),
                    t.value,
                    -1,
                );
            }
            Transaction::Redeem(t) if self.audited(&t.currency) => {
                self.bump(&t.currency, |r| r.redeemed += t.value);
                self.flow(
                    t.currency,
                    t.merchant.loyalty_id(),
                    &Self::public(t.value),
                    t.value,
                    1,
                );
            }
            _ => {}
        }
        Ok(())
    }

    fn bump(&mut self, currency: &CurrencyId, add: impl FnOnce(&mut SupplyReport)) {
        if let Some(flows) = self.currencies.get_mut(currency) {
            add(&mut flows.report);
        }
    }

    /// The reconciliation against the final ledger.
    fn finish(self, ledger: &crate::ledger::AccountLedger) -> Vec<SupplyReport> {
        let g = coalition_core::generators::g();
        let mut out = Vec::new();
        for (currency, flows) in self.currencies {
            let mut report = flows.report;
            let mut problem = None;
            let mut in_accounts: i128 = 0;
            for ((owner, c), state) in ledger.accounts() {
                if *c != currency {
                    continue;
                }
                let audited = flows.accounts.get(owner).copied().unwrap_or_default();
                let committed =
                    state.available.commitment.as_point() + state.pending.commitment.as_point();
                if committed != audited.commitment {
                    problem.get_or_insert(format!(
                        "account {owner}: its committed balance is not the sum of the flows the blocks contain"
                    ));
                } else if audited.value < 0
                    || audited.commitment - self.key.secret.as_scalar() * audited.handle
                        != Scalar::from(u64::try_from(audited.value).unwrap_or(0)) * g
                {
                    problem.get_or_insert(format!(
                        "account {owner}: the auditor's reading ({}) is not the committed balance",
                        audited.value
                    ));
                } else {
                    report.accounts_checked += 1;
                }
                in_accounts += audited.value;
            }
            report.in_accounts = u64::try_from(in_accounts).unwrap_or(0);
            let pool = i128::from(report.shielded) - i128::from(report.redeemed);
            report.in_pool = u64::try_from(pool).unwrap_or(0);
            let supply = i128::from(report.issued)
                - i128::from(report.burned)
                - i128::from(report.exchanged_out)
                + i128::from(report.exchanged_in);
            if pool < 0 {
                problem.get_or_insert("more was redeemed from the pool than shielded".into());
            }
            if supply != in_accounts + pool {
                problem.get_or_insert(format!(
                    "issued − burned ∓ exchanged = {supply}, but accounts + pool hold {}",
                    in_accounts + pool
                ));
            }
            report.reconciled = problem.is_none();
            report.problem = problem;
            out.push(report);
        }
        out
    }
}

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
        elapsed_ms: 0,
    };
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
        }
        report.blocks = height;
        progress(height);
        height += 1;
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
    report.tip_hash = hex::encode(chain.tip().hash().0);
    report.state_hash = hex::encode(chain.tip().state_hash);
    if let Some(t) = tracker {
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
