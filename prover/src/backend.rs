//! What Groth16 proving asks of the hardware it runs on.
//!
//! A Groth16 proof is five MSMs over the proving key (`A`, `B` in G1 and
//! G2, `C`'s `l` and `h` terms) and the witness map's seven NTTs (the QAP
//! quotient `h`, [`crate::qap`]). [`crate::groth16::prover`] routes all of
//! them through a [`ProvingBackend`]: the CPU
//! ([`CpuBackend`](crate::msm::CpuBackend)), the plain-Rust reference of the
//! GPU's bucket algorithm ([`ReferencePippenger`](crate::msm::ReferencePippenger)),
//! or a CUDA device (`CudaBackend`, feature `gpu`). Every backend computes
//! the same values, so proofs made with fixed randomness are byte-identical
//! whichever backend made them. `failover.rs` chooses among the backends
//! (`best_available`, `Failover`); this file is only the trait.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use rayon::prelude::*;

pub use crate::errors::BackendError;
use crate::qap::{self, QapEvaluations};

/// Computes Groth16's MSMs (`Σ scalars[i]·bases[i]` in G1 and G2) and
/// witness-map quotients.
pub trait ProvingBackend: Send + Sync {
    /// A short name for logs and metrics (`"cpu"`, `"cuda:0"`…).
    fn name(&self) -> String;

    /// `Σ scalars[i]·bases[i]` in G1; the slices must have equal lengths.
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError>;

    /// `Σ scalars[i]·bases[i]` in G2; the slices must have equal lengths.
    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError>;

    /// One G1 MSM per scalar set over the same bases (a batch of proofs
    /// sharing a proving key). The GPU does the whole batch in one pass.
    fn msm_g1_batch(
        &self,
        bases: &[G1Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G1Projective>, BackendError> {
        sets.iter().map(|s| self.msm_g1(bases, s)).collect()
    }

    /// One G2 MSM per scalar set over the same bases.
    fn msm_g2_batch(
        &self,
        bases: &[G2Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G2Projective>, BackendError> {
        sets.iter().map(|s| self.msm_g2(bases, s)).collect()
    }

    /// The QAP quotient `h` of each statement's evaluations over the
    /// domain of size `2^log_n` ([`qap::quotient`]); by default on the CPU,
    /// statements in parallel.
    fn qap_quotients(
        &self,
        log_n: usize,
        evaluations: &[QapEvaluations],
    ) -> Result<Vec<Vec<Fr>>, BackendError> {
        evaluations
            .par_iter()
            .map(|e| qap::quotient(log_n, e))
            .collect()
    }

    /// Told that something it computed was wrong (a proof made with it
    /// does not verify): a backend that can step aside for a more
    /// trustworthy one does so and returns `true` (the caller then
    /// recomputes); by default it cannot, and returns `false`.
    fn distrust(&self, why: &str) -> bool {
        let _ = why;
        false
    }
}
