//! Whole-transaction verification (spec §9): stateless checks, then checks
//! against the ledger's state, then the proofs.
//!
//! [`prepare`] performs every check except the proofs and yields the
//! statement to verify; [`verify_transaction`] also verifies the proofs alone,
//! and a node verifies the proofs of a whole block at once with
//! [`crate::statements::verify_batch`] over [`PreparedTx::proof_item`].

use std::sync::Arc;

use ark_bn254::Fr;
use coalition_circuits::note::{Epoch, Nullifier, Rho, TreeRoot};
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::keys::{LoyaltyId, PublicIdentity};
use coalition_core::shielded::{authorization_message, ShieldStatement};
use coalition_core::statements::{DebitStatement, ExchangeStatement, IssueStatement};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_params::ShieldedVerifyingKeys;

use crate::errors::TxVerificationError;
use crate::groth16::Groth16Item;
use crate::statements::{verify_item, ProofItem, SpendAuthItem};

/// What verification needs to know about the ledger.
pub trait LedgerView {
    /// The ledger's chain ID.
    fn chain(&self) -> ChainId;
    /// A registered currency.
    fn currency(&self, id: &CurrencyId) -> Option<&CurrencyPolicy>;
    /// An account, if it exists.
    fn account(&self, owner: &LoyaltyId, currency: &CurrencyId) -> Option<&AccountState>;
    /// The next issuance sequence number of a currency.
    fn issuer_nonce(&self, currency: &CurrencyId) -> u64;
    /// The agreed exchange rate from one currency to another, if any.
    fn exchange_rate(&self, from: &CurrencyId, to: &CurrencyId) -> Option<ExchangeRate>;
    /// The shielded pool's verifying keys; `None` if the pool is disabled.
    fn shielded_keys(&self) -> Option<&Arc<ShieldedVerifyingKeys>>;
    /// Whether `root` is in the window of recent note-tree roots.
    fn is_recent_root(&self, root: &TreeRoot) -> bool;
    /// Whether `nullifier` was already revealed.
    fn is_nullifier_spent(&self, nullifier: &Nullifier) -> bool;
    /// Whether a note with this `ρ` was already created.
    fn is_rho_used(&self, rho: &Rho) -> bool;
    /// The settlement epoch of the block being applied (for mempool
    /// admission, of the next block); `None` once epochs no longer fit the
    /// pool's 32-bit clock (shielded transactions are then refused).
    fn epoch(&self) -> Option<Epoch>;
    /// How long notes of a registered currency stay spendable.
    fn note_lifetime(&self, currency: &CurrencyId) -> NoteLifetime;
    /// A current coalition member's identity (governance signers and
    /// merchants a `Redeem` may pay). The default knows no members.
    fn member(&self, _id: &LoyaltyId) -> Option<&PublicIdentity> {
        None
    }
    /// Whether membership is enforced: `Redeem` must then pay a member.
    /// Ledgers built without governance (unit tests) enforce nothing.
    fn enforces_membership(&self) -> bool {
        false
    }
}

/// The statement a transaction's proof must satisfy.
#[allow(clippy::large_enum_variant)] // built once per transaction, never copied in bulk
#[derive(Debug, Clone)]
pub enum PreparedStatement {
    /// `Issue`.
    Issue(IssueStatement),
    /// `Transfer` or `Burn`.
    Debit(DebitStatement),
    /// `Exchange`.
    Exchange(ExchangeStatement),
    /// `Shield`: the account statement and the Output proof's inputs.
    Shield {
        /// The account debit statement.
        statement: ShieldStatement,
        /// Output public inputs as field elements.
        output_inputs: Vec<Fr>,
        /// The pool's keys.
        keys: Arc<ShieldedVerifyingKeys>,
    },
    /// `Redeem`: the Spend proof's inputs and the signed message.
    Redeem {
        /// Spend public inputs as field elements.
        spend_inputs: Vec<Fr>,
        /// What the spend-authorization signature signs.
        authorization_message: [u8; 32],
        /// The pool's keys.
        keys: Arc<ShieldedVerifyingKeys>,
    },
    /// `ApplyPending` and governance transactions carry no proof.
    None,
}

/// A transaction that passed every check but its proofs.
#[derive(Debug, Clone)]
pub struct PreparedTx<'t> {
    /// The transaction.
    pub tx: &'t Transaction,
    /// Its statement.
    pub statement: PreparedStatement,
}

impl PreparedTx<'_> {
    /// The statement and proof, for (batch) verification.
    pub fn proof_item(&self) -> Option<ProofItem<'_>> {
        match (&self.statement, self.tx) {
            (PreparedStatement::Issue(s), Transaction::Issue(tx)) => {
                Some(ProofItem::Issue(s, &tx.proof))
            }
            (PreparedStatement::Debit(s), Transaction::Transfer(tx)) => {
                Some(ProofItem::Debit(s, &tx.proof))
            }
            (PreparedStatement::Debit(s), Transaction::Burn(tx)) => {
                Some(ProofItem::Debit(s, &tx.proof))
            }
            (PreparedStatement::Exchange(s), Transaction::Exchange(tx)) => {
                Some(ProofItem::Exchange(s, &tx.proof))
            }
            (
                PreparedStatement::Shield {
                    statement,
                    output_inputs,
                    keys,
                },
                Transaction::Shield(tx),
            ) => Some(ProofItem::Shield(
                statement,
                &tx.balance_proof,
                Groth16Item {
                    key: &keys.output,
                    inputs: output_inputs,
                    proof: &tx.output_proof,
                },
            )),
            (
                PreparedStatement::Redeem {
                    spend_inputs,
                    authorization_message,
                    keys,
                },
                Transaction::Redeem(tx),
            ) => Some(ProofItem::Redeem(
                Groth16Item {
                    key: &keys.spend,
                    inputs: spend_inputs,
                    proof: &tx.proof,
                },
                SpendAuthItem {
                    key: &tx.rk,
                    message: *authorization_message,
                    signature: &tx.spend_auth,
                },
            )),
            _ => None,
        }
    }
}

/// Whether [`prepare_with`] verifies the transaction's signature.
///
/// A caller that already verified a transaction's signature (keyed by the
/// transaction ID, which hashes the signature) may skip it later, but only
/// against the identity it verified it with: the signer `prepare` finds
/// in the state it is given can differ (an Issue's signer is its
/// currency's registered issuer, and two registrations of one currency
/// can race across a leader change), and then the signature is verified
/// again. The rest of `prepare` (who may sign, membership, nonces) is
/// checked either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Verify it.
    Verify,
    /// The caller already verified this exact transaction's signature
    /// under the identity with this loyalty ID (a hash of its keys); under
    /// any other it is verified.
    VerifiedFor(LoyaltyId),
}

impl SignatureCheck {
    fn check(self, tx: &Transaction, signer: &PublicIdentity) -> Result<(), TxVerificationError> {
        match self {
            SignatureCheck::VerifiedFor(verified) if verified == signer.loyalty_id() => Ok(()),
            SignatureCheck::Verify | SignatureCheck::VerifiedFor(_) => check_signature(tx, signer),
        }
    }
}

/// Verifies `tx`'s signature against `signer`.
pub fn check_signature(
    tx: &Transaction,
    signer: &PublicIdentity,
) -> Result<(), TxVerificationError> {
    let signature = tx.signature().ok_or(TxVerificationError::Signature)?;
    signer
        .signing
        .verify(&tx.signing_message(), signature)
        .map_err(|_| TxVerificationError::Signature)
}

/// Who must have signed `tx`, where `view` can tell: the key a transaction
/// carries, a currency's issuer, or a member. `None` for unsigned types
/// (`Redeem`; `Terms`, signed by each partner inside) and where the
/// signer is not (yet) known to `view` — [`prepare`] decides those.
pub fn signer<V: LedgerView>(tx: &Transaction, view: &V) -> Option<PublicIdentity> {
    match tx {
        Transaction::Issue(t) => view.currency(&t.currency).map(|p| p.issuer),
        Transaction::Transfer(t) => Some(t.source),
        Transaction::ApplyPending(t) => Some(t.owner),
        Transaction::Burn(t) => Some(t.source),
        Transaction::Exchange(t) => Some(t.owner),
        Transaction::Shield(t) => Some(t.source),
        Transaction::ProposeMember(t) => view.member(&t.proposer).copied(),
        Transaction::Vote(t) => view.member(&t.voter).copied(),
        Transaction::RegisterCurrency(t) => view.member(&t.issuer).copied(),
        Transaction::Redeem(_) | Transaction::Terms(_) => None,
    }
}

fn member_signature<V: LedgerView>(
    tx: &Transaction,
    view: &V,
    signer: &LoyaltyId,
    signature: SignatureCheck,
) -> Result<(), TxVerificationError> {
    let identity = view.member(signer).ok_or(TxVerificationError::Governance(
        "the signer is not a member",
    ))?;
    signature.check(tx, identity)
}

fn currency<'v, V: LedgerView>(
    view: &'v V,
    id: &CurrencyId,
) -> Result<&'v CurrencyPolicy, TxVerificationError> {
    view.currency(id)
        .ok_or(TxVerificationError::Currency("currency is not registered"))
}

fn spending_account<'v, V: LedgerView>(
    view: &'v V,
    owner: &PublicIdentity,
    currency: &CurrencyId,
    nonce: u64,
) -> Result<&'v AccountState, TxVerificationError> {
    let account =
        view.account(&owner.loyalty_id(), currency)
            .ok_or(TxVerificationError::Degenerate(
                "the account does not exist",
            ))?;
    account.check_nonce(nonce)?;
    Ok(account)
}

fn creditable<V: LedgerView>(
    view: &V,
    owner: &PublicIdentity,
    currency: &CurrencyId,
) -> Result<(), TxVerificationError> {
    if let Some(account) = view.account(&owner.loyalty_id(), currency) {
        account.check_credit()?;
    }
    Ok(())
}

/// A Shield or Redeem may name the ledger's current settlement epoch or the
/// one before: a wallet names the epoch of the last block it saw, and the
/// transaction may land in the next block, across an epoch boundary.
fn pool_epoch<V: LedgerView>(view: &V, named: Epoch) -> Result<(), TxVerificationError> {
    let current = view.epoch().ok_or(TxVerificationError::Pool(
        "the settlement epoch no longer fits the pool's 32-bit clock",
    ))?;
    if named == current || named.0.checked_add(1) == Some(current.0) {
        Ok(())
    } else {
        Err(TxVerificationError::Epoch {
            named: named.0,
            current: current.0,
        })
    }
}

fn pool_keys<V: LedgerView>(view: &V) -> Result<Arc<ShieldedVerifyingKeys>, TxVerificationError> {
    view.shielded_keys()
        .cloned()
        .ok_or(TxVerificationError::Pool(
            "the shielded pool is not enabled",
        ))
}

/// Every check but the proofs: chain, currency, signer, signature, nonce,
/// account existence and capacity, and the agreed exchange rate.
pub fn prepare<'t, V: LedgerView>(
    tx: &'t Transaction,
    view: &V,
) -> Result<PreparedTx<'t>, TxVerificationError> {
    prepare_with(tx, view, SignatureCheck::Verify)
}

/// [`prepare`], skipping the signature verification when `signature` says
/// the caller already did it.
pub fn prepare_with<'t, V: LedgerView>(
    tx: &'t Transaction,
    view: &V,
    signature: SignatureCheck,
) -> Result<PreparedTx<'t>, TxVerificationError> {
    if tx.chain() != view.chain() {
        return Err(TxVerificationError::WrongChain);
    }
    let statement = match tx {
        Transaction::Issue(t) => {
            let policy = currency(view, &t.currency)?;
            // Removal freezes issuance (spec §16.2): the currency's points
            // stay usable, but a former member mints no more.
            if view.enforces_membership() && view.member(&policy.issuer.loyalty_id()).is_none() {
                return Err(TxVerificationError::Governance(
                    "the issuer is no longer a member: its currency's issuance is frozen",
                ));
            }
            signature.check(tx, &policy.issuer)?;
            let expected = view.issuer_nonce(&t.currency);
            if t.issuer_nonce != expected {
                return Err(coalition_core::account::AccountError::WrongNonce {
                    got: t.issuer_nonce,
                    expected,
                }
                .into());
            }
            creditable(view, &t.recipient, &t.currency)?;
            PreparedStatement::Issue(t.statement(policy))
        }
        Transaction::Transfer(t) => {
            if t.source.loyalty_id() == t.destination.loyalty_id() {
                return Err(TxVerificationError::Degenerate("transfer to oneself"));
            }
            let policy = currency(view, &t.currency)?;
            signature.check(tx, &t.source)?;
            let account = spending_account(view, &t.source, &t.currency, t.nonce)?;
            creditable(view, &t.destination, &t.currency)?;
            PreparedStatement::Debit(t.statement(policy, &account.available))
        }
        Transaction::ApplyPending(t) => {
            currency(view, &t.currency)?;
            signature.check(tx, &t.owner)?;
            let account = spending_account(view, &t.owner, &t.currency, t.nonce)?;
            // At least the credits the owner saw: later ones are folded too
            // (AccountState::apply_pending).
            if t.expected_pending_credits > account.pending_credits {
                return Err(
                    coalition_core::account::AccountError::PendingCounterMismatch {
                        expected: t.expected_pending_credits,
                        actual: account.pending_credits,
                    }
                    .into(),
                );
            }
            PreparedStatement::None
        }
        Transaction::Burn(t) => {
            let policy = currency(view, &t.currency)?;
            signature.check(tx, &t.source)?;
            let account = spending_account(view, &t.source, &t.currency, t.nonce)?;
            PreparedStatement::Debit(t.statement(policy, &account.available))
        }
        Transaction::Exchange(t) => {
            if t.from == t.to {
                return Err(TxVerificationError::Degenerate(
                    "exchange into the same currency",
                ));
            }
            let from = currency(view, &t.from)?;
            let to = currency(view, &t.to)?;
            if view.exchange_rate(&t.from, &t.to) != Some(t.rate) {
                return Err(TxVerificationError::Currency(
                    "no agreed exchange rate, or another rate than the agreed one",
                ));
            }
            signature.check(tx, &t.owner)?;
            let account = spending_account(view, &t.owner, &t.from, t.nonce)?;
            creditable(view, &t.owner, &t.to)?;
            PreparedStatement::Exchange(t.statement(from, to, &account.available))
        }
        Transaction::Shield(t) => {
            let keys = pool_keys(view)?;
            currency(view, &t.currency)?;
            if t.value == 0 {
                return Err(TxVerificationError::Degenerate("shield of zero points"));
            }
            signature.check(tx, &t.source)?;
            let account = spending_account(view, &t.source, &t.currency, t.nonce)?;
            // Derived, so unique by construction; checked anyway so the
            // ρ-set invariant never rests silently on a hash assumption.
            if view.is_rho_used(&t.rho()) {
                return Err(TxVerificationError::Pool(
                    "rho already used by another note",
                ));
            }
            pool_epoch(view, t.epoch)?;
            let expiry = view.note_lifetime(&t.currency).expiry(t.epoch);
            PreparedStatement::Shield {
                statement: t.statement(&account.available),
                output_inputs: t.output_public_inputs(expiry).to_field_elements(),
                keys,
            }
        }
        Transaction::Redeem(t) => {
            let keys = pool_keys(view)?;
            currency(view, &t.currency)?;
            if t.value == 0 {
                return Err(TxVerificationError::Degenerate("redeem of zero points"));
            }
            let [first, second] = &t.nullifiers;
            if first == second {
                return Err(TxVerificationError::Pool("the two nullifiers are equal"));
            }
            if view.is_nullifier_spent(first) || view.is_nullifier_spent(second) {
                return Err(TxVerificationError::Pool("nullifier already spent"));
            }
            if view.is_rho_used(&Rho(first.0)) {
                return Err(TxVerificationError::Pool("change rho already used"));
            }
            pool_epoch(view, t.epoch)?;
            if !view.is_recent_root(&t.root) {
                return Err(TxVerificationError::Pool(
                    "anchor root is not a recent note-tree root",
                ));
            }
            if view.enforces_membership() && view.member(&t.merchant.loyalty_id()).is_none() {
                return Err(TxVerificationError::Governance(
                    "a redemption must pay a coalition member",
                ));
            }
            creditable(view, &t.merchant, &t.currency)?;
            let public = t.public_inputs();
            PreparedStatement::Redeem {
                authorization_message: authorization_message(&public.binding),
                spend_inputs: public.to_field_elements(),
                keys,
            }
        }
        // Governance: the verifier checks who signed; the node's state
        // machine checks the rules (nonces, thresholds, duplicates).
        Transaction::ProposeMember(t) => {
            member_signature(tx, view, &t.proposer, signature)?;
            PreparedStatement::None
        }
        Transaction::Vote(t) => {
            member_signature(tx, view, &t.voter, signature)?;
            PreparedStatement::None
        }
        Transaction::RegisterCurrency(t) => {
            member_signature(tx, view, &t.issuer, signature)?;
            PreparedStatement::None
        }
        Transaction::Terms(signed) => {
            signed.verify().map_err(TxVerificationError::Terms)?;
            for partner in &signed.terms.partners {
                if view.member(&partner.loyalty_id()) != Some(partner) {
                    return Err(TxVerificationError::Governance(
                        "terms name a partner that is not a member",
                    ));
                }
            }
            PreparedStatement::None
        }
    };
    Ok(PreparedTx { tx, statement })
}

/// Verifies one transaction completely against the ledger's state.
pub fn verify_transaction<V: LedgerView>(
    tx: &Transaction,
    view: &V,
) -> Result<(), TxVerificationError> {
    let prepared = prepare(tx, view)?;
    if let Some(item) = prepared.proof_item() {
        verify_item(&item)?;
    }
    Ok(())
}
