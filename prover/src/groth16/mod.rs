//! Groth16 proving for the pool's circuits.
//!
//! * [`crate::r1cs`]: a circuit's constraint matrices, built once per
//!   circuit type from its blank instance (the instance its proving key came
//!   from; a module of its own, since the witness map uses it too);
//! * [`synthesis`]: witness-only synthesis, checked row by row against the
//!   shared matrices; a false statement is [`ProofError::Unsatisfied`];
//! * [`prover`]: the proof, every MSM routed through an
//!   [`ProvingBackend`](crate::msm::ProvingBackend), one pass per MSM for a batch:
//!
//! ```text
//! h   = witness map (QAP quotient, FFTs)            z = (1, x, w)
//! A   = α + a₀ + Σ z_i·a_i + r·δ                     (G1)
//! B   = β + b₀ + Σ z_i·b_i + s·δ                     (G2, and in G1 for C)
//! C   = Σ w_i·l_i + Σ h_i·h_i + s·A + r·B₁ − r·s·δ   (G1)
//! ```
//!
//! exactly as arkworks' `create_proof_with_reduction_and_matrices`, so with
//! the same `r, s` every backend yields the same proof bytes.

pub mod prover;
pub mod synthesis;

pub use crate::r1cs::{R1cs, RowValues};
pub use prover::{prove, prove_batch_with_backend, prove_with_backend};
pub use synthesis::{synthesize_checked, Synthesized};
