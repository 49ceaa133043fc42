//! The account model (spec §5).
//!
//! An account is `(loyalty ID, currency)`. It holds two ciphertexts under the
//! owner's ElGamal key:
//!
//! * `available`: what the owner can spend. Only the owner's own operations
//!   (Transfer, Burn, Exchange, ApplyPending) change it, so a proof made
//!   against it stays valid however many credits arrive meanwhile;
//! * `pending`: where credits (Issue, incoming Transfer, Exchange) land,
//!   counted by `pending_credits`.
//!
//! `ApplyPending` adds all of `pending` into `available` (the owner names at
//! least the credits it saw; later ones are folded too), so no credit is
//! lost or counted twice.
//! `nonce` counts the owner's operations and makes each one single-use.

use crate::elgamal::Ciphertext;
use crate::keys::PublicIdentity;

/// Most credits a pending balance accepts before its owner must apply it.
/// Bounds the ledger's per-account work and a wallet's scan. It does not by
/// itself keep the sum below the decryption bound (a Transfer credit may be
/// up to 2^64 − 1); wallets read each credit's own amount ciphertext instead.
pub const MAX_PENDING_CREDITS: u64 = 1 << 16;

/// Why an account update was refused. The account is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The pending balance is full; the owner must apply it first.
    #[error("pending balance holds {0} credits, the maximum; the owner must apply it")]
    PendingFull(u64),
    /// `ApplyPending` named more credits than the account's pending balance
    /// holds (it applies every credit there, at least those its owner saw).
    #[error("expected at least {expected} pending credits, the account has {actual}")]
    PendingCounterMismatch {
        /// What the transaction named.
        expected: u64,
        /// What the ledger has.
        actual: u64,
    },
    /// An operation's nonce is not the account's next.
    #[error("nonce {got} but the account expects {expected}")]
    WrongNonce {
        /// The transaction's nonce.
        got: u64,
        /// The account's.
        expected: u64,
    },
}

/// The ledger state of one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountState {
    /// Who owns it (its loyalty ID is `owner.loyalty_id()`).
    pub owner: PublicIdentity,
    /// Spendable balance.
    pub available: Ciphertext,
    /// Credits not yet applied.
    pub pending: Ciphertext,
    /// Number of credits in `pending`.
    pub pending_credits: u64,
    /// Number of owner operations applied.
    pub nonce: u64,
}

impl AccountState {
    /// A new, empty account.
    pub fn new(owner: PublicIdentity) -> Self {
        Self {
            owner,
            available: Ciphertext::zero(),
            pending: Ciphertext::zero(),
            pending_credits: 0,
            nonce: 0,
        }
    }

    /// Keeps the encodings of both balances (see
    /// [`Ciphertext::remember_encoding`]).
    pub fn remember_encodings(&mut self) {
        self.available.remember_encoding();
        self.pending.remember_encoding();
    }

    /// Checks that an owner operation carries the next nonce.
    pub fn check_nonce(&self, nonce: u64) -> Result<(), AccountError> {
        if nonce != self.nonce {
            return Err(AccountError::WrongNonce {
                got: nonce,
                expected: self.nonce,
            });
        }
        Ok(())
    }

    /// Checks a credit can be accepted.
    pub fn check_credit(&self) -> Result<(), AccountError> {
        if self.pending_credits >= MAX_PENDING_CREDITS {
            return Err(AccountError::PendingFull(self.pending_credits));
        }
        Ok(())
    }

    /// Adds a credit to the pending balance.
    pub fn credit(&mut self, amount: &Ciphertext) -> Result<(), AccountError> {
        self.check_credit()?;
        self.pending = self.pending + *amount;
        self.pending_credits += 1;
        Ok(())
    }

    /// Debits the available balance (the proof has shown it stays ≥ 0) and
    /// consumes the nonce.
    pub fn debit(&mut self, nonce: u64, amount: &Ciphertext) -> Result<(), AccountError> {
        self.check_nonce(nonce)?;
        self.available = self.available - *amount;
        self.nonce += 1;
        Ok(())
    }

    /// Folds pending into available: every credit there, at least the
    /// `expected_credits` its owner saw. Credits that landed after the owner
    /// read the account are folded too, so nobody can keep an owner from
    /// applying by crediting it between its reading and its ApplyPending
    /// (issue 21 §4); the wallet decrypts the resulting available balance.
    pub fn apply_pending(&mut self, nonce: u64, expected_credits: u64) -> Result<(), AccountError> {
        self.check_nonce(nonce)?;
        if expected_credits > self.pending_credits {
            return Err(AccountError::PendingCounterMismatch {
                expected: expected_credits,
                actual: self.pending_credits,
            });
        }
        self.available = self.available + self.pending;
        self.pending = Ciphertext::zero();
        self.pending_credits = 0;
        self.nonce += 1;
        Ok(())
    }
}
