//! Proving errors: why a proof or transaction could not be made. Nothing
//! secret is ever included in an error.

use coalition_core::account::AccountError;
use thiserror::Error;

/// Why a proof or a transaction could not be built.
#[derive(Debug, Error)]
pub enum ProofError {
    /// The amount exceeds the available balance.
    #[error("insufficient balance: the amount exceeds the available balance")]
    InsufficientBalance,
    /// The amount is outside the range its statement allows.
    #[error("amount out of range: {0}")]
    AmountOutOfRange(&'static str),
    /// The wallet's idea of its balance does not match the ledger ciphertext.
    #[error("the ledger's available balance does not decrypt to the wallet's balance; sync first")]
    BalanceOutOfSync,
    /// The exchange rate does not convert the amount to an integer.
    #[error("amount {amount} does not convert exactly at rate {numerator}/{denominator}")]
    InexactConversion {
        /// `x`.
        amount: u64,
        /// `p`.
        numerator: u32,
        /// `q`.
        denominator: u32,
    },
    /// The signer is not the account owner the transaction names.
    #[error("the signing keys do not own this account")]
    NotOwner,
    /// The account refused the operation (nonce, pending counter).
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The Bulletproofs prover failed.
    #[error("range proof: {0}")]
    RangeProof(String),
}
