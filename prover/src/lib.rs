//! # coalition-prover
//!
//! Everything in Coalition that makes proofs (spec `papers/protocol.md` §6, §8):
//!
//! * [`sigma`]: the three sigma protocols (grouped-ciphertext validity,
//!   ciphertext–commitment equality, exchange rate);
//! * [`range`]: Bulletproofs range proofs over the shared transcript;
//! * [`groth16`]: Groth16 proving of the shielded pool's circuits, refusing
//!   unsatisfied witnesses with a typed error;
//! * [`backend`]: what Groth16 proving asks of its hardware (MSMs, witness-map
//!   NTTs), and the choice of the fastest backend present;
//! * [`msm`]: the backends: CPU, the reference of the GPU bucket algorithm,
//!   and CUDA (feature `gpu`);
//! * [`r1cs`]: a circuit's constraint matrices, built once per circuit type;
//! * [`qap`]: the witness map, from an assignment to the quotient `h`;
//! * [`shielded`]: `Shield` and `Redeem` builders;
//! * [`transactions`]: builders that turn a wallet's or an issuer's intent into a
//!   signed, proven transaction.
//!
//! Every function takes its randomness from the caller: `OsRng` in production,
//! a seeded RNG only in tests and benchmarks.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod backend;
pub mod errors;
pub mod failover;
pub mod governance;
pub mod groth16;
pub mod msm;
pub mod qap;
pub mod r1cs;
pub mod range;
pub mod shielded;
pub mod sigma;
pub mod transactions;

pub use errors::ProofError;
