//! # coalition-verifier
//!
//! Everything in Coalition that checks proofs, used by nodes and auditors
//! (spec `papers/protocol.md` §6–§9):
//!
//! * `sigma` (crate-private: its functions rely on a transcript that absorbed
//!   the whole statement): the verification equations of the sigma protocols, written
//!   into a multiscalar-multiplication accumulator ([`msm`]) with random weights;
//! * [`range`]: Bulletproofs range proofs, one at a time with the crate's own
//!   verifier, or many at once with our batched verifier (Bulletproofs paper
//!   §6.2) that folds every proof into one multiscalar multiplication;
//! * [`groth16`]: Groth16 proofs of the shielded pool, singly or batched with
//!   one final exponentiation;
//! * [`statements`]: `verify(&statement, &proof)` for every proof type, and
//!   [`BatchVerifier`] for many;
//! * [`transactions`]: signatures plus proofs for whole transactions.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod errors;
pub mod groth16;
pub mod msm;
pub mod range;
pub(crate) mod sigma;
pub mod statements;
pub mod transactions;

pub use errors::{TxVerificationError, VerificationError};
pub use statements::{
    verify_batch, verify_debit, verify_exchange, verify_issue, verify_item, BatchError,
    BatchVerifier, ProofItem, SpendAuthItem,
};
