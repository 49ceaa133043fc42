//! Whole-transaction verification (spec §9): stateless checks, then checks
//! against the ledger's state, then the proofs.
//!
//! [`prepare`] performs every check except the proofs and yields the
//! statement to verify; [`verify_transaction`] also verifies the proofs alone,
//! and a node verifies the proofs of a whole block at once with
//! [`crate::statements::verify_batch`] over [`PreparedTx::proof_item`].

use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use coalition_core::keys::{LoyaltyId, PublicIdentity};
use coalition_core::statements::{DebitStatement, ExchangeStatement, IssueStatement};
use coalition_core::transaction::{ChainId, Transaction};

use crate::errors::TxVerificationError;
use crate::statements::{verify_item, ProofItem};

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
    /// `ApplyPending` carries no proof.
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
            _ => None,
        }
    }
}

fn check_signature(tx: &Transaction, signer: &PublicIdentity) -> Result<(), TxVerificationError> {
    signer
        .signing
        .verify(&tx.signing_message(), tx.signature())
        .map_err(|_| TxVerificationError::Signature)
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

/// Every check but the proofs: chain, currency, signer, signature, nonce,
/// account existence and capacity, and the agreed exchange rate.
pub fn prepare<'t, V: LedgerView>(
    tx: &'t Transaction,
    view: &V,
) -> Result<PreparedTx<'t>, TxVerificationError> {
    let statement = match tx {
        Transaction::Issue(t) => {
            if t.chain != view.chain() {
                return Err(TxVerificationError::WrongChain);
            }
            let policy = currency(view, &t.currency)?;
            check_signature(tx, &policy.issuer)?;
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
            if t.chain != view.chain() {
                return Err(TxVerificationError::WrongChain);
            }
            if t.source.loyalty_id() == t.destination.loyalty_id() {
                return Err(TxVerificationError::Degenerate("transfer to oneself"));
            }
            let policy = currency(view, &t.currency)?;
            check_signature(tx, &t.source)?;
            let account = spending_account(view, &t.source, &t.currency, t.nonce)?;
            creditable(view, &t.destination, &t.currency)?;
            PreparedStatement::Debit(t.statement(policy, &account.available))
        }
        Transaction::ApplyPending(t) => {
            if t.chain != view.chain() {
                return Err(TxVerificationError::WrongChain);
            }
            currency(view, &t.currency)?;
            check_signature(tx, &t.owner)?;
            let account = spending_account(view, &t.owner, &t.currency, t.nonce)?;
            if account.pending_credits != t.expected_pending_credits {
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
            if t.chain != view.chain() {
                return Err(TxVerificationError::WrongChain);
            }
            let policy = currency(view, &t.currency)?;
            check_signature(tx, &t.source)?;
            let account = spending_account(view, &t.source, &t.currency, t.nonce)?;
            PreparedStatement::Debit(t.statement(policy, &account.available))
        }
        Transaction::Exchange(t) => {
            if t.chain != view.chain() {
                return Err(TxVerificationError::WrongChain);
            }
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
            check_signature(tx, &t.owner)?;
            let account = spending_account(view, &t.owner, &t.from, t.nonce)?;
            creditable(view, &t.owner, &t.to)?;
            PreparedStatement::Exchange(t.statement(from, to, &account.available))
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
