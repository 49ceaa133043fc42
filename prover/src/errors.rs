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
    /// The witness does not satisfy the circuit: the statement is false
    /// (the message names the first failing constraint, never a value).
    #[error("the witness does not satisfy the {circuit} circuit: {detail}")]
    Unsatisfied {
        /// Which circuit.
        circuit: &'static str,
        /// The first unsatisfied constraint's name, if known.
        detail: String,
    },
    /// Circuit synthesis or the Groth16 prover failed.
    #[error("groth16 prover: {0}")]
    Groth16(String),
    /// A note to spend is not owned by the spending key, or has another asset.
    #[error("note not spendable here: {0}")]
    NoteNotSpendable(&'static str),
    /// A note's path does not lead to the root the spend is proven under.
    #[error("note's authentication path does not lead to the anchor root")]
    NotInTree,
    /// The note could not be encrypted to its recipient.
    #[error(transparent)]
    NoteEncryption(#[from] coalition_circuits::encryption::NoteEncryptionError),
    /// The Bulletproofs prover failed.
    #[error("range proof: {0}")]
    RangeProof(String),
}

impl ProofError {
    /// An arkworks Groth16 or constraint-system failure, as text.
    pub(crate) fn groth16(e: impl std::fmt::Display) -> Self {
        ProofError::Groth16(e.to_string())
    }
}

/// Why a backend could not compute what it was asked.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BackendError {
    /// Bases and scalars differ in length.
    #[error("MSM of {bases} bases with {scalars} scalars")]
    LengthMismatch {
        /// Number of bases.
        bases: usize,
        /// Number of scalars.
        scalars: usize,
    },
    /// No radix-2 domain of that size, or vectors not of its size.
    #[error("witness map: {0}")]
    Domain(String),
    /// The device failed (the message names the failing call).
    #[error("proving device error: {0}")]
    Device(String),
}
