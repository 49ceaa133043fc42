//! The confidential-account state machine (spec §5, §9).
//!
//! Pure and deterministic: ordered maps only, no clock, no randomness in what
//! is stored (verification draws random weights, which affect only the
//! probability ≈ 2^-252 of accepting a false proof, never the state).
//! Applying a block is all-or-nothing: statements are prepared one by one
//! against the state as it evolves inside the block, then every proof of the
//! block is verified in one batch, and only then is the new state kept.
//!
//! What a block costs does not grow with the state (spec §15.2): the maps,
//! sets and note list are persistent (`imbl`), so the copy a block works on
//! shares everything it does not change with the state before it, and the
//! state hash is kept up to date per change — multiset hashes
//! ([`multiset::SetHash`]) of the account digests, nullifiers and ρ values,
//! and a hash chain over the notes — instead of being recomputed over the
//! whole state at every block.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use imbl::{OrdMap, OrdSet, Vector};

use coalition_circuits::merkle::{NoteTree, RecentRoots};
use coalition_circuits::note::{Epoch, Nullifier, Rho, TreeRoot};
use coalition_core::elgamal::Ciphertext;
use coalition_core::shielded::NoteOutput;
use coalition_params::ShieldedVerifyingKeys;

use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::keys::{LoyaltyId, PublicIdentity};
use coalition_core::transaction::{ChainId, Transaction, TxId};

use crate::governance::{CurrencyInfo, Governance, RateChanges};

pub mod multiset;
pub mod records;

use coalition_verifier::statements::verify_batch;
use coalition_verifier::transactions::{prepare_with, signer, LedgerView, SignatureCheck};
use coalition_verifier::{ProofItem, TxVerificationError, VerificationError};
use multiset::SetHash;

/// Why a transaction or block was refused. The ledger is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Transaction `index` of the block failed.
    #[error("transaction {index} rejected: {error}")]
    Rejected {
        /// Position in the block.
        index: usize,
        /// Why.
        error: TxVerificationError,
    },
    /// A currency registration conflicts with an existing one.
    #[error("currency {0} is already registered")]
    DuplicateCurrency(CurrencyId),
    /// A rate names an unregistered currency.
    #[error("currency {0} is not registered")]
    UnknownCurrency(CurrencyId),
}

/// Proofs and signatures this node already verified. A proof is keyed by
/// its whole statement: `SHA-256("coalition/v2/verified" ‖ transaction
/// bytes ‖ statement digest)`, where the digest is a challenge drawn from
/// the statement's own transcript (§7.2, which absorbs every public
/// element: chain, currency, the issuer's and auditor's keys of the policy
/// in force, balances) and, for the pool, the circuit's public inputs. So
/// an equal key means an equal statement and proof, and verification — a
/// deterministic function of the two — would give the same answer, even
/// when the state a block is checked against registered the currency
/// differently from the state admission saw (a registration race across a
/// leader change). A signature is keyed by the transaction ID (which
/// hashes the signature) and the identity it verified under. Admission
/// fills it; block production then verifies only what admission did not.
/// Shared between the two (they run concurrently), so it locks inside.
/// Bounded: the oldest keys are forgotten first (forgetting only costs a
/// re-verification).
#[derive(Debug, Default)]
pub struct VerifiedProofs {
    inner: std::sync::Mutex<RememberedKeys>,
}

#[derive(Debug, Default)]
struct RememberedKeys {
    proofs: Remembered,
    /// IDs of transactions whose signature verified (an ID hashes the
    /// signature; see [`SignatureCheck`]).
    signatures: Remembered,
}

/// A set that forgets its oldest members beyond [`VerifiedProofs::CAPACITY`].
#[derive(Debug, Default)]
struct Remembered {
    keys: std::collections::HashSet<[u8; 32]>,
    order: std::collections::VecDeque<[u8; 32]>,
}

impl Remembered {
    fn insert_all(&mut self, new: impl IntoIterator<Item = [u8; 32]>) {
        for key in new {
            if self.keys.insert(key) {
                self.order.push_back(key);
            }
        }
        while self.order.len() > VerifiedProofs::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
    }
}

impl VerifiedProofs {
    /// Most keys remembered.
    pub const CAPACITY: usize = 1 << 17;

    fn key(prepared: &coalition_verifier::transactions::PreparedTx<'_>) -> [u8; 32] {
        use coalition_core::encoding::Encode;
        use coalition_verifier::transactions::PreparedStatement;
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"coalition/v2/verified");
        h.update(prepared.tx.to_bytes());
        let (transcript, inputs): (_, &[ark_bn254::Fr]) = match &prepared.statement {
            PreparedStatement::Issue(s) => (Some(s.transcript()), &[]),
            PreparedStatement::Debit(s) => (Some(s.transcript()), &[]),
            PreparedStatement::Exchange(s) => (Some(s.transcript()), &[]),
            PreparedStatement::Shield {
                statement,
                output_inputs,
                ..
            } => (Some(statement.transcript()), output_inputs),
            PreparedStatement::Redeem {
                spend_inputs,
                authorization_message,
                ..
            } => {
                h.update(authorization_message);
                (None, spend_inputs)
            }
            PreparedStatement::None => (None, &[]),
        };
        if let Some(mut transcript) = transcript {
            let mut digest = [0u8; 32];
            transcript.challenge_bytes(b"verification-cache-key", &mut digest);
            h.update(digest);
        }
        for input in inputs {
            h.update(coalition_circuits::field::to_bytes(input));
        }
        h.finalize().into()
    }

    /// A signature's key: the transaction ID and the loyalty ID (a hash of
    /// the keys) of the identity it verified under, as
    /// [`SignatureCheck::VerifiedFor`] names it.
    fn signature_key(id: &TxId, signer: &LoyaltyId) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"coalition/v1/verified-signature");
        h.update(id.0);
        h.update(signer.0);
        h.finalize().into()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, RememberedKeys> {
        // The set is valid after any panic (inserts are single steps).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn contains(&self, key: &[u8; 32]) -> bool {
        self.keys().proofs.keys.contains(key)
    }

    /// Whether the signature of the transaction `id` is known to verify
    /// under `signer`.
    pub fn signature_verified(&self, id: &TxId, signer: &PublicIdentity) -> bool {
        self.contains_signature(&Self::signature_key(id, &signer.loyalty_id()))
    }

    fn contains_signature(&self, key: &[u8; 32]) -> bool {
        self.keys().signatures.keys.contains(key)
    }

    /// Records that the signature of the transaction `id` verified under
    /// `signer`.
    pub fn record_signature(&self, id: TxId, signer: &PublicIdentity) {
        let key = Self::signature_key(&id, &signer.loyalty_id());
        self.keys().signatures.insert_all([key]);
    }

    fn insert_all(&self, proofs: Vec<[u8; 32]>, signatures: Vec<[u8; 32]>) {
        let mut remembered = self.keys();
        remembered.proofs.insert_all(proofs);
        remembered.signatures.insert_all(signatures);
    }

    /// How many proofs are remembered.
    pub fn len(&self) -> usize {
        self.keys().proofs.keys.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How much of the state a run of transactions maintains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyMode {
    /// Everything, as a block does: the note tree and stored notes, the
    /// recent-roots window, account digests for the state hash.
    Block,
    /// What deciding validity needs and no more (mempool admission):
    /// balances, nonces, counters, governance, nullifier and ρ sets. The
    /// note tree, the stored notes and the roots window are left as the
    /// committed chain has them — a `Redeem` is admitted against the
    /// window the next block will check it against — and digests are not
    /// recomputed, so a ledger in this mode is never hashed or stored.
    Pending,
}

/// How many recent note-tree roots (one per block that changed the tree) a
/// `Redeem` may be proven against.
pub const ROOT_WINDOW: usize = 100;

/// Version of the state commitments a block header carries (spec §15.2):
/// 2 since the state hash and nullifier commitment became incremental; 3
/// since pool v2 (domain-separated Poseidon: another note tree, note
/// commitments and nullifiers, so a format-2 store's pool cannot be
/// carried over); 4 since notes carry an expiry (another note commitment,
/// and currencies record a note lifetime); 5 since settlement counts
/// exchanges (a format-4 store has no exchange figures for its past
/// epochs). A store records the version it was written with, and a node
/// refuses to start on another.
pub const STATE_FORMAT: u32 = 5;

const NULLIFIER_DOMAIN: &[u8] = b"coalition/v2/nullifier";
const RHO_DOMAIN: &[u8] = b"coalition/v2/rho";
const ACCOUNT_DOMAIN: &[u8] = b"coalition/v2/account";
const NOTES_LABEL: &[u8] = b"coalition/v2/notes";

/// The shielded pool's state (spec §13.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShieldedPool {
    keys: Arc<ShieldedVerifyingKeys>,
    tree: NoteTree,
    roots: RecentRoots,
    nullifiers: OrdSet<Nullifier>,
    /// [`SetHash`] of `nullifiers`, kept in step with it.
    nullifier_hash: SetHash,
    rhos: OrdSet<Rho>,
    /// [`SetHash`] of `rhos`, kept in step with it.
    rho_hash: SetHash,
    notes: Vector<NoteOutput>,
    /// `c_n = SHA-256(len ‖ "coalition/v2/notes" ‖ c_{n−1} ‖ note_n)`, from
    /// `c_0 = 0³²`: the stored notes, in tree order.
    notes_chain: [u8; 32],
}

impl ShieldedPool {
    /// An empty pool checked with `keys`.
    pub fn new(keys: Arc<ShieldedVerifyingKeys>) -> Self {
        ShieldedPool {
            keys,
            tree: NoteTree::new(),
            roots: RecentRoots::new(ROOT_WINDOW),
            nullifiers: OrdSet::new(),
            nullifier_hash: SetHash::new(NULLIFIER_DOMAIN),
            rhos: OrdSet::new(),
            rho_hash: SetHash::new(RHO_DOMAIN),
            notes: Vector::new(),
            notes_chain: [0; 32],
        }
    }

    /// The note tree.
    pub fn tree(&self) -> &NoteTree {
        &self.tree
    }

    /// The newest published root (as of the last block).
    pub fn latest_root(&self) -> TreeRoot {
        TreeRoot(self.roots.latest())
    }

    /// Number of stored notes (= leaves of the tree).
    pub fn note_count(&self) -> usize {
        self.notes.len()
    }

    /// The notes from `position` on, in tree order: what wallets scan.
    pub fn notes_from(&self, position: usize) -> impl Iterator<Item = &NoteOutput> + '_ {
        (position..self.notes.len()).filter_map(|i| self.notes.get(i))
    }

    /// How many nullifiers were revealed.
    pub fn nullifier_count(&self) -> usize {
        self.nullifiers.len()
    }

    /// The window of recent roots, oldest first.
    pub fn recent_roots(&self) -> impl Iterator<Item = &ark_bn254::Fr> {
        self.roots.iter()
    }

    /// Whether a nullifier was revealed.
    pub fn is_spent(&self, nullifier: &Nullifier) -> bool {
        self.nullifiers.contains(nullifier)
    }

    fn append(
        &mut self,
        note: &NoteOutput,
        rho: Rho,
        mode: ApplyMode,
    ) -> Result<(), TxVerificationError> {
        if mode == ApplyMode::Block {
            self.tree
                .append(note.commitment.0)
                .map_err(|_| TxVerificationError::Pool("note tree is full"))?;
            self.store_note(note.clone());
        }
        self.insert_rho(rho);
        Ok(())
    }

    /// Appends to the stored notes and their hash chain (not the tree).
    fn store_note(&mut self, note: NoteOutput) {
        use coalition_core::encoding::Encode;
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update((NOTES_LABEL.len() as u64).to_le_bytes());
        h.update(NOTES_LABEL);
        h.update(self.notes_chain);
        h.update(note.to_bytes());
        self.notes_chain = h.finalize().into();
        self.notes.push_back(note);
    }

    /// Records a ρ value (a repeated one changes nothing).
    fn insert_rho(&mut self, rho: Rho) {
        if self.rhos.insert(rho).is_none() {
            self.rho_hash.insert(&rho.to_bytes());
        }
    }

    /// Records a revealed nullifier (a repeated one changes nothing).
    fn insert_nullifier(&mut self, nullifier: Nullifier) {
        if self.nullifiers.insert(nullifier).is_none() {
            self.nullifier_hash.insert(&nullifier.to_bytes());
        }
    }

    /// [`ShieldedPool::insert_rho`] for many at once, hashed in parallel
    /// (loading from storage).
    fn extend_rhos(&mut self, rhos: impl IntoIterator<Item = Rho>) {
        let new: Vec<[u8; 32]> = rhos
            .into_iter()
            .filter(|r| self.rhos.insert(*r).is_none())
            .map(|r| r.to_bytes())
            .collect();
        self.rho_hash.apply(&[], &new);
    }

    /// [`ShieldedPool::insert_nullifier`] for many at once, hashed in
    /// parallel (loading from storage).
    fn extend_nullifiers(&mut self, nullifiers: impl IntoIterator<Item = Nullifier>) {
        let new: Vec<[u8; 32]> = nullifiers
            .into_iter()
            .filter(|n| self.nullifiers.insert(*n).is_none())
            .map(|n| n.to_bytes())
            .collect();
        self.nullifier_hash.apply(&[], &new);
    }
}

type AccountKey = (LoyaltyId, CurrencyId);

/// Keys of accounts changed while executing a block: scratch space, not
/// state, so it never takes part in equality.
#[derive(Debug, Clone, Default)]
struct Touched(BTreeSet<AccountKey>);

impl PartialEq for Touched {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Touched {}

/// `SHA-256("coalition/v1/account" ‖ owner ‖ currency ‖ identity ‖ available
/// ‖ pending ‖ credits ‖ nonce)`: cached per account so the state hash does
/// not re-encode (compress) every account's points at every block.
fn account_digest(key: &AccountKey, account: &AccountState) -> [u8; 32] {
    use coalition_core::encoding::Encode;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"coalition/v1/account");
    h.update(key.0 .0);
    h.update(key.1.as_bytes());
    h.update(account.owner.to_bytes());
    h.update(account.available.to_bytes());
    h.update(account.pending.to_bytes());
    h.update(account.pending_credits.to_le_bytes());
    h.update(account.nonce.to_le_bytes());
    h.finalize().into()
}

/// The state of the confidential-account layer and the shielded pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLedger {
    chain: ChainId,
    currencies: BTreeMap<CurrencyId, CurrencyPolicy>,
    rates: BTreeMap<(CurrencyId, CurrencyId), ExchangeRate>,
    /// Shared until written: cloning the ledger for a block (or a mempool
    /// batch) copies one pointer, and only the accounts (and map nodes) a
    /// block touches are copied on write.
    accounts: OrdMap<AccountKey, Arc<AccountState>>,
    /// [`account_digest`] of every account, kept in step with `accounts`
    /// at the end of each block.
    digests: OrdMap<AccountKey, [u8; 32]>,
    /// [`SetHash`] of the values of `digests`.
    digest_hash: SetHash,
    touched: Touched,
    issuer_nonces: BTreeMap<CurrencyId, u64>,
    pool: Option<ShieldedPool>,
    governance: Governance,
    height: u64,
    /// Blocks per settlement epoch (genesis); the pool's clock.
    epoch_blocks: u64,
    /// Most currencies one member may register (genesis).
    currency_cap: u32,
}

impl LedgerView for AccountLedger {
    fn chain(&self) -> ChainId {
        self.chain
    }

    fn currency(&self, id: &CurrencyId) -> Option<&CurrencyPolicy> {
        self.currencies.get(id)
    }

    fn account(&self, owner: &LoyaltyId, currency: &CurrencyId) -> Option<&AccountState> {
        self.accounts.get(&(*owner, *currency)).map(|a| a.as_ref())
    }

    fn issuer_nonce(&self, currency: &CurrencyId) -> u64 {
        self.issuer_nonces.get(currency).copied().unwrap_or(0)
    }

    fn exchange_rate(&self, from: &CurrencyId, to: &CurrencyId) -> Option<ExchangeRate> {
        self.rates.get(&(*from, *to)).copied()
    }

    fn shielded_keys(&self) -> Option<&Arc<ShieldedVerifyingKeys>> {
        self.pool.as_ref().map(|p| &p.keys)
    }

    fn is_recent_root(&self, root: &TreeRoot) -> bool {
        self.pool
            .as_ref()
            .is_some_and(|p| p.roots.contains(&root.0))
    }

    fn is_nullifier_spent(&self, nullifier: &Nullifier) -> bool {
        self.pool.as_ref().is_some_and(|p| p.is_spent(nullifier))
    }

    fn is_rho_used(&self, rho: &Rho) -> bool {
        self.pool.as_ref().is_some_and(|p| p.rhos.contains(rho))
    }

    fn epoch(&self) -> Option<Epoch> {
        self.settlement_epoch_at(self.height)
    }

    fn note_lifetime(&self, currency: &CurrencyId) -> NoteLifetime {
        // Every registered currency has its record (RegisterCurrency and
        // `register_currency*` write both); `prepare` checked registration.
        self.governance
            .currencies()
            .get(currency)
            .map(|info| info.note_lifetime)
            .unwrap_or_default()
    }

    fn member(&self, id: &LoyaltyId) -> Option<&coalition_core::keys::PublicIdentity> {
        self.governance.members().get(id).map(|m| &m.identity)
    }

    fn enforces_membership(&self) -> bool {
        !self.governance.members().is_empty()
    }
}

impl AccountLedger {
    /// An empty ledger for `chain`.
    pub fn new(chain: ChainId) -> Self {
        Self {
            chain,
            currencies: BTreeMap::new(),
            rates: BTreeMap::new(),
            accounts: OrdMap::new(),
            digests: OrdMap::new(),
            digest_hash: SetHash::new(ACCOUNT_DOMAIN),
            touched: Touched::default(),
            issuer_nonces: BTreeMap::new(),
            pool: None,
            governance: Governance::empty(),
            height: 0,
            epoch_blocks: u64::MAX,
            currency_cap: u32::MAX,
        }
    }

    /// The same ledger governed by `governance` (genesis).
    pub fn with_governance(self, governance: Governance) -> Self {
        Self { governance, ..self }
    }

    /// The same ledger with settlement epochs of `blocks` blocks (genesis;
    /// a ledger built without one stays in epoch 0).
    pub fn with_settlement_epoch(self, blocks: u64) -> Self {
        Self {
            epoch_blocks: blocks.max(1),
            ..self
        }
    }

    /// The same ledger allowing each member `cap` currencies (genesis; a
    /// ledger built without one allows any number).
    pub fn with_currency_cap(self, cap: u32) -> Self {
        Self {
            currency_cap: cap,
            ..self
        }
    }

    /// The settlement epoch of the last block applied: the one a wallet
    /// names in a Shield or Redeem (`None` past the pool's 32-bit clock).
    pub fn settlement_epoch(&self) -> Option<Epoch> {
        self.settlement_epoch_at(self.height)
    }

    /// The settlement epoch of the block at `height` on this chain (`None`
    /// past the pool's 32-bit clock).
    pub fn settlement_epoch_at(&self, height: u64) -> Option<Epoch> {
        u32::try_from(crate::settlement::epoch_of(height, self.epoch_blocks))
            .ok()
            .filter(|epoch| *epoch != u32::MAX)
            .map(Epoch)
    }

    /// The governance state.
    pub fn governance(&self) -> &Governance {
        &self.governance
    }

    /// Height of the last block applied (0 at genesis).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Every registered currency.
    pub fn currencies(&self) -> &BTreeMap<CurrencyId, CurrencyPolicy> {
        &self.currencies
    }

    /// Every exchange rate in force.
    pub fn rates(&self) -> &BTreeMap<(CurrencyId, CurrencyId), ExchangeRate> {
        &self.rates
    }

    /// An empty ledger for `chain` with the shielded pool enabled.
    pub fn with_shielded_pool(chain: ChainId, keys: Arc<ShieldedVerifyingKeys>) -> Self {
        Self {
            pool: Some(ShieldedPool::new(keys)),
            ..Self::new(chain)
        }
    }

    /// The shielded pool, if enabled.
    pub fn pool(&self) -> Option<&ShieldedPool> {
        self.pool.as_ref()
    }

    /// Registers a currency whose shielded notes never expire, outside
    /// governance (ledgers built without it: tests, benchmarks; on a chain
    /// this is `RegisterCurrency`).
    pub fn register_currency(&mut self, policy: CurrencyPolicy) -> Result<(), LedgerError> {
        self.register_currency_with_lifetime(policy, NoteLifetime::Unlimited)
    }

    /// Registers a currency whose shielded notes live `lifetime`, outside
    /// governance (as [`AccountLedger::register_currency`]).
    pub fn register_currency_with_lifetime(
        &mut self,
        policy: CurrencyPolicy,
        lifetime: NoteLifetime,
    ) -> Result<(), LedgerError> {
        let id = policy.id;
        if self.currencies.contains_key(&id) {
            return Err(LedgerError::DuplicateCurrency(id));
        }
        self.currencies.insert(id, policy);
        self.governance.record_currency(
            id,
            CurrencyInfo {
                decimals: 0,
                settlement_value: ExchangeRate::new(1, 1).expect("1/1 is a rate"),
                note_lifetime: lifetime,
                registered_at: self.height,
            },
        );
        Ok(())
    }

    /// Records an agreed exchange rate `from → to`.
    pub fn set_exchange_rate(
        &mut self,
        from: CurrencyId,
        to: CurrencyId,
        rate: ExchangeRate,
    ) -> Result<(), LedgerError> {
        for id in [from, to] {
            if !self.currencies.contains_key(&id) {
                return Err(LedgerError::UnknownCurrency(id));
            }
        }
        self.rates.insert((from, to), rate);
        Ok(())
    }

    /// Every account, in key order.
    pub fn accounts(&self) -> impl Iterator<Item = (&(LoyaltyId, CurrencyId), &AccountState)> {
        self.accounts.iter().map(|(k, a)| (k, a.as_ref()))
    }

    /// Applies one transaction (a block of one).
    pub fn apply(&mut self, tx: &Transaction) -> Result<(), LedgerError> {
        self.apply_block(std::slice::from_ref(tx))
    }

    /// Applies a block: all transactions or none.
    pub fn apply_block(&mut self, txs: &[Transaction]) -> Result<(), LedgerError> {
        *self = self.after_block(txs)?;
        Ok(())
    }

    /// The state after `txs` applied at the current height (mempool
    /// admission, tests); see [`AccountLedger::after_block_at`].
    pub fn after_block(&self, txs: &[Transaction]) -> Result<AccountLedger, LedgerError> {
        self.after_block_at(self.height, txs)
    }

    /// The state after a block of `txs` at `height`, leaving `self`
    /// untouched: each transaction is prepared against the state as it
    /// evolves inside the block, then every proof of the block is verified
    /// in one batch.
    pub fn after_block_at(
        &self,
        height: u64,
        txs: &[Transaction],
    ) -> Result<AccountLedger, LedgerError> {
        self.after_block_cached(height, txs, None, ApplyMode::Block)
    }

    /// [`AccountLedger::after_block_at`], skipping the proofs `verified`
    /// already holds (for exactly the same statement) and recording the
    /// ones it verifies; `mode` says how much of the state to maintain.
    pub fn after_block_cached(
        &self,
        height: u64,
        txs: &[Transaction],
        verified: Option<&VerifiedProofs>,
        mode: ApplyMode,
    ) -> Result<AccountLedger, LedgerError> {
        let mut next = self.clone();
        next.height = height;
        let mut prepared = Vec::with_capacity(txs.len());
        let mut signed = Vec::new();
        for (index, tx) in txs.iter().enumerate() {
            let reject = |error: TxVerificationError| LedgerError::Rejected { index, error };
            // The cache speaks for the signer this state names (an Issue's
            // is its currency's issuer here, not where admission read it).
            let signer = verified
                .filter(|_| tx.signature().is_some())
                .and_then(|cache| Some((cache, signer(tx, &next)?.loyalty_id())));
            let signature = match signer {
                Some((cache, signer)) => {
                    let key = VerifiedProofs::signature_key(&tx.id(), &signer);
                    if cache.contains_signature(&key) {
                        SignatureCheck::VerifiedFor(signer)
                    } else {
                        signed.push(key);
                        SignatureCheck::Verify
                    }
                }
                None => SignatureCheck::Verify,
            };
            prepared.push((index, prepare_with(tx, &next, signature).map_err(reject)?));
            next.execute(tx, mode).map_err(reject)?;
        }
        let mut fresh = Vec::new();
        let items: Vec<(usize, ProofItem<'_>)> = prepared
            .iter()
            .filter_map(|(index, p)| {
                let item = p.proof_item()?;
                if let Some(cache) = verified {
                    let key = VerifiedProofs::key(p);
                    if cache.contains(&key) {
                        return None;
                    }
                    fresh.push(key);
                }
                Some((*index, item))
            })
            .collect();
        let only_items: Vec<ProofItem<'_>> = items.iter().map(|(_, i)| *i).collect();
        verify_batch(&only_items).map_err(|e| LedgerError::Rejected {
            index: items.get(e.index).map(|(i, _)| *i).unwrap_or(0),
            error: TxVerificationError::Proof(e.error),
        })?;
        if let Some(cache) = verified {
            cache.insert_all(fresh, signed);
        }
        if mode == ApplyMode::Block {
            next.refresh_digests();
            if let Some(pool) = next.pool.as_mut() {
                let root = pool.tree.root();
                pool.roots.push(root);
            }
        } else {
            // A pending ledger keeps no digests (§15.3); without this its
            // scratch set would grow with every account ever admitted.
            next.touched.0.clear();
        }
        Ok(next)
    }

    /// For a ledger kept in [`ApplyMode::Pending`]: takes the note tree,
    /// stored notes and recent-roots window of `committed`, the state the
    /// chain just reached (the nullifier and ρ sets stay: they include
    /// what is still pending).
    pub fn follow_committed_pool(&mut self, committed: &AccountLedger) {
        if let (Some(mine), Some(theirs)) = (self.pool.as_mut(), committed.pool.as_ref()) {
            mine.tree = theirs.tree.clone();
            mine.notes = theirs.notes.clone();
            mine.notes_chain = theirs.notes_chain;
            mine.roots = theirs.roots.clone();
        }
    }

    /// The multiset hash of the revealed nullifiers,
    /// [`SetHash::digest`] labelled `"coalition/v2/nullifier-set"`; all
    /// zeros when the pool is disabled.
    pub fn nullifier_commitment(&self) -> [u8; 32] {
        match &self.pool {
            None => [0; 32],
            Some(pool) => pool.nullifier_hash.digest(b"coalition/v2/nullifier-set"),
        }
    }

    /// The pool's current note-tree root (the empty tree's root when the
    /// pool is disabled).
    pub fn note_root(&self) -> TreeRoot {
        TreeRoot(
            self.pool
                .as_ref()
                .map(|p| p.tree.root())
                .unwrap_or_else(|| {
                    coalition_circuits::merkle::empty_root(coalition_circuits::merkle::DEPTH)
                }),
        )
    }

    /// A hash of the whole state, identical on every replica that applied
    /// the same blocks (spec §15.2): chain, currencies, rates, accounts (by
    /// the multiset hash of their digests), issuance counters and the pool
    /// (tree, recent roots, the multiset hashes of the nullifier and ρ sets,
    /// the hash chain of the stored notes), with explicit lengths. Its cost
    /// does not depend on the number of accounts or notes.
    pub fn state_hash(&self) -> [u8; 32] {
        self.state_hash_with(&self.nullifier_commitment())
    }

    /// The three header commitments (note root, nullifier commitment,
    /// state hash), the nullifier set hashed once for both.
    pub fn commitments(&self) -> (TreeRoot, [u8; 32], [u8; 32]) {
        let nullifiers = self.nullifier_commitment();
        (
            self.note_root(),
            nullifiers,
            self.state_hash_with(&nullifiers),
        )
    }

    fn state_hash_with(&self, nullifier_commitment: &[u8; 32]) -> [u8; 32] {
        use coalition_core::encoding::Encode;
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut put = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        put(b"coalition/v2/state");
        put(&self.chain.0);
        put(&(self.currencies.len() as u64).to_le_bytes());
        for policy in self.currencies.values() {
            put(policy.id.as_bytes());
            put(&policy.issuer.to_bytes());
            match &policy.auditor {
                Some(key) => put(&key.to_bytes()),
                None => put(&[]),
            }
        }
        put(&(self.rates.len() as u64).to_le_bytes());
        for ((from, to), rate) in &self.rates {
            put(from.as_bytes());
            put(to.as_bytes());
            put(&rate.to_bytes());
        }
        put(&self.digest_hash.digest(b"coalition/v2/accounts"));
        put(&self.height.to_le_bytes());
        self.governance.hash_into(&mut put);
        put(&(self.issuer_nonces.len() as u64).to_le_bytes());
        for (currency, nonce) in &self.issuer_nonces {
            put(currency.as_bytes());
            put(&nonce.to_le_bytes());
        }
        match &self.pool {
            None => put(b"no-pool"),
            Some(pool) => {
                put(b"pool");
                put(&coalition_circuits::field::to_bytes(&pool.tree.root()));
                put(&pool.tree.len().to_le_bytes());
                let roots: Vec<[u8; 32]> = pool
                    .roots
                    .iter()
                    .map(coalition_circuits::field::to_bytes)
                    .collect();
                put(&(roots.len() as u64).to_le_bytes());
                for root in roots {
                    put(&root);
                }
                put(nullifier_commitment);
                put(&pool.rho_hash.digest(b"coalition/v2/rho-set"));
                put(&(pool.notes.len() as u64).to_le_bytes());
                put(&pool.notes_chain);
            }
        }
        h.finalize().into()
    }

    /// Recomputes the digests of the accounts changed since the last call,
    /// and moves the account set's hash from their old digests to the new.
    fn refresh_digests(&mut self) {
        let mut removed = Vec::new();
        let mut inserted = Vec::new();
        for key in std::mem::take(&mut self.touched.0) {
            if let Some(account) = self.accounts.get_mut(&key) {
                // Touched accounts were copied on write already, so this
                // does not copy; the encodings kept serve storage too.
                Arc::make_mut(account).remember_encodings();
                let digest = account_digest(&key, account);
                match self.digests.insert(key, digest) {
                    Some(old) if old == digest => {}
                    Some(old) => {
                        removed.push(old);
                        inserted.push(digest);
                    }
                    None => inserted.push(digest),
                }
            }
        }
        self.digest_hash.apply(&removed, &inserted);
    }

    /// Recomputes every account digest (after loading from storage).
    pub(crate) fn rebuild_digests(&mut self) {
        use rayon::prelude::*;
        let accounts: Vec<(&AccountKey, &Arc<AccountState>)> = self.accounts.iter().collect();
        let digests: Vec<(AccountKey, [u8; 32])> = accounts
            .par_iter()
            .map(|(k, a)| (**k, account_digest(k, a)))
            .collect();
        let values: Vec<[u8; 32]> = digests.iter().map(|(_, d)| *d).collect();
        self.digest_hash = SetHash::new(ACCOUNT_DOMAIN);
        self.digest_hash.apply(&[], &values);
        self.digests = digests.into_iter().collect();
    }

    fn pool_mut(&mut self) -> Result<&mut ShieldedPool, TxVerificationError> {
        self.pool.as_mut().ok_or(TxVerificationError::Pool(
            "the shielded pool is not enabled",
        ))
    }

    fn account_mut(
        &mut self,
        owner: LoyaltyId,
        currency: CurrencyId,
        identity: coalition_core::keys::PublicIdentity,
    ) -> &mut AccountState {
        self.touched.0.insert((owner, currency));
        Arc::make_mut(
            self.accounts
                .entry((owner, currency))
                .or_insert_with(|| Arc::new(AccountState::new(identity))),
        )
    }

    /// The state update of a transaction that passed `prepare`.
    fn execute(&mut self, tx: &Transaction, mode: ApplyMode) -> Result<(), TxVerificationError> {
        match tx {
            Transaction::Issue(t) => {
                let amount = t
                    .amount
                    .ciphertext(0)
                    .ok_or(VerificationError::MalformedStatement("no recipient handle"))?;
                self.account_mut(t.recipient.loyalty_id(), t.currency, t.recipient)
                    .credit(&amount)?;
                *self.issuer_nonces.entry(t.currency).or_insert(0) += 1;
            }
            Transaction::Transfer(t) => {
                let debit = t
                    .amount
                    .ciphertext(0)
                    .ok_or(VerificationError::MalformedStatement("no source handle"))?;
                let credit =
                    t.amount
                        .ciphertext(1)
                        .ok_or(VerificationError::MalformedStatement(
                            "no destination handle",
                        ))?;
                self.account_mut(t.source.loyalty_id(), t.currency, t.source)
                    .debit(t.nonce, &debit)?;
                self.account_mut(t.destination.loyalty_id(), t.currency, t.destination)
                    .credit(&credit)?;
            }
            Transaction::ApplyPending(t) => {
                self.account_mut(t.owner.loyalty_id(), t.currency, t.owner)
                    .apply_pending(t.nonce, t.expected_pending_credits)?;
            }
            Transaction::Burn(t) => {
                let debit = t
                    .amount
                    .ciphertext(0)
                    .ok_or(VerificationError::MalformedStatement("no source handle"))?;
                self.account_mut(t.source.loyalty_id(), t.currency, t.source)
                    .debit(t.nonce, &debit)?;
            }
            Transaction::Exchange(t) => {
                let debit = t
                    .amount_from
                    .ciphertext(0)
                    .ok_or(VerificationError::MalformedStatement("no owner handle"))?;
                let credit = t
                    .amount_to
                    .ciphertext(0)
                    .ok_or(VerificationError::MalformedStatement("no owner handle"))?;
                let owner = t.owner.loyalty_id();
                self.account_mut(owner, t.from, t.owner)
                    .debit(t.nonce, &debit)?;
                self.account_mut(owner, t.to, t.owner).credit(&credit)?;
            }
            Transaction::Shield(t) => {
                let debit = Ciphertext::zero().add_amount(t.value);
                self.account_mut(t.source.loyalty_id(), t.currency, t.source)
                    .debit(t.nonce, &debit)?;
                self.pool_mut()?.append(&t.output, t.rho(), mode)?;
            }
            Transaction::Redeem(t) => {
                let pool = self.pool_mut()?;
                for nullifier in &t.nullifiers {
                    pool.insert_nullifier(*nullifier);
                }
                pool.append(&t.change, Rho(t.nullifiers[0].0), mode)?;
                let credit = Ciphertext::zero().add_amount(t.value);
                self.account_mut(t.merchant.loyalty_id(), t.currency, t.merchant)
                    .credit(&credit)?;
            }
            Transaction::ProposeMember(t) => {
                self.governance.use_nonce(&t.proposer, t.nonce)?;
                let changes =
                    self.governance
                        .propose(tx.id(), t.proposer, &t.action, self.height)?;
                self.apply_rate_changes(changes);
            }
            Transaction::Vote(t) => {
                self.governance.use_nonce(&t.voter, t.nonce)?;
                let changes = self
                    .governance
                    .vote(t.voter, &t.proposal, t.approve, self.height)?;
                self.apply_rate_changes(changes);
            }
            Transaction::RegisterCurrency(t) => {
                self.governance.use_nonce(&t.issuer, t.nonce)?;
                if self.currencies.contains_key(&t.currency) {
                    return Err(TxVerificationError::Governance(
                        "the currency is already registered",
                    ));
                }
                let held = self
                    .currencies
                    .values()
                    .filter(|p| p.issuer.loyalty_id() == t.issuer)
                    .count();
                if held >= self.currency_cap as usize {
                    return Err(TxVerificationError::Governance(
                        "the member already issues as many currencies as the genesis allows",
                    ));
                }
                let issuer = self
                    .governance
                    .members()
                    .get(&t.issuer)
                    .map(|m| m.identity)
                    .ok_or(TxVerificationError::Governance(
                        "the signer is not a member",
                    ))?;
                self.currencies.insert(
                    t.currency,
                    CurrencyPolicy {
                        id: t.currency,
                        issuer,
                        auditor: t.auditor,
                    },
                );
                self.governance.record_currency(
                    t.currency,
                    CurrencyInfo {
                        decimals: t.decimals,
                        settlement_value: t.settlement_value,
                        note_lifetime: t.note_lifetime,
                        registered_at: self.height,
                    },
                );
            }
            Transaction::Terms(signed) => {
                let currencies = &self.currencies;
                let changes = self
                    .governance
                    .adopt_terms(signed, |c| currencies.get(c).map(|p| p.issuer.loyalty_id()))?;
                self.apply_rate_changes(changes);
            }
        }
        Ok(())
    }

    fn apply_rate_changes(&mut self, changes: RateChanges) {
        for pair in changes.removed {
            self.rates.remove(&pair);
        }
        for (from, to, rate) in changes.added {
            self.rates.insert((from, to), rate);
        }
    }
}
