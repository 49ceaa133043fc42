//! Verification errors. A failed check never says more than which check failed.

use coalition_core::account::AccountError;
use thiserror::Error;

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerificationError {
    /// The statement and the proof do not have matching shapes
    /// (handle counts, auditor presence, range-proof size).
    #[error("malformed statement: {0}")]
    MalformedStatement(&'static str),
    /// A proof point was the identity where that is forbidden.
    #[error("proof element {0} is the identity point")]
    IdentityPoint(&'static str),
    /// The sigma-protocol equations do not hold.
    #[error("sigma proof does not verify")]
    SigmaProof,
    /// The range proof does not verify.
    #[error("range proof does not verify")]
    RangeProof,
    /// The Groth16 proof does not verify.
    #[error("groth16 proof does not verify")]
    Groth16,
    /// A Redeem's spend-authorization signature does not verify under its
    /// `rk`.
    #[error("spend authorization signature does not verify")]
    SpendAuthorization,
    /// The batch's combined check failed (individual checks locate the culprit).
    #[error("batch verification failed")]
    Batch,
}

impl From<coalition_core::transcript::IdentityInTranscript> for VerificationError {
    fn from(e: coalition_core::transcript::IdentityInTranscript) -> Self {
        VerificationError::IdentityPoint(e.0)
    }
}

/// Why a whole transaction was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxVerificationError {
    /// The signature does not verify under the signer the transaction names.
    #[error("invalid signature")]
    Signature,
    /// The transaction is for another ledger.
    #[error("transaction is for another chain")]
    WrongChain,
    /// The currency policy supplied does not match the transaction's currency.
    #[error("currency mismatch: {0}")]
    Currency(&'static str),
    /// A transfer to oneself, or an exchange into the same currency.
    #[error("degenerate transaction: {0}")]
    Degenerate(&'static str),
    /// A shielded-pool rule failed (spent nullifier, stale root, reused ρ,
    /// pool disabled).
    #[error("shielded pool: {0}")]
    Pool(&'static str),
    /// A Shield or Redeem names an epoch other than the ledger's current
    /// one or the one before.
    #[error("the transaction names settlement epoch {named}; the ledger is in epoch {current} and accepts it or the one before")]
    Epoch {
        /// The epoch the transaction names.
        named: u32,
        /// The ledger's.
        current: u32,
    },
    /// A proof failed.
    #[error(transparent)]
    Proof(#[from] VerificationError),
    /// The account refused the operation.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A governance rule failed (not a member, wrong nonce, closed
    /// proposal, double vote, …).
    #[error("governance: {0}")]
    Governance(&'static str),
    /// Partnership terms were refused.
    #[error("partnership terms: {0}")]
    Terms(coalition_core::partnership::TermsError),
}
