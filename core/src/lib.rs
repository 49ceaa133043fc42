//! # coalition-core
//!
//! Shared types of the Coalition ledger's confidential-account layer
//! (specification: `papers/protocol.md`):
//!
//! * [`keys`]: the key hierarchy derived from one 32-byte seed (§3), loyalty IDs;
//! * [`elgamal`]: twisted-ElGamal ciphertexts over Ristretto255 (§4) and
//!   [`discrete_log`] decryption tables;
//! * [`proofs`]: the byte-level data structures of every proof (§6);
//! * [`statements`]: what each proof proves, and how it is absorbed into its
//!   merlin transcript ([`transcript`], §7);
//! * [`transaction`]: the ledger's account transactions and their canonical
//!   encodings (§8), [`account`]: the account model and its homomorphic update rules (§5);
//! * [`shielded`]: the shielded pool's `Shield` and `Redeem` transactions (§13);
//! * [`encoding`]: the canonical, bounded decoder every byte string goes through.
//!
//! This crate does no proving and no verifying: `coalition-prover` makes proofs,
//! `coalition-verifier` checks them.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod account;
pub mod currency;
pub mod discrete_log;
pub mod elgamal;
pub mod encoding;
pub mod errors;
pub mod generators;
pub mod governance;
pub mod ids;
pub mod keys;
pub mod partnership;
pub mod proofs;
pub mod shielded;
pub mod statements;
pub mod transaction;
pub mod transcript;

pub use errors::{DecodeError, DecryptionError, KeyError};
