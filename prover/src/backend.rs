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
//! whichever backend made them.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use rayon::prelude::*;
use thiserror::Error;

use crate::msm::CpuBackend;
#[cfg(feature = "gpu")]
use crate::msm::CudaBackend;
use crate::qap::{self, QapEvaluations};

/// The fastest backend available: the first CUDA device when this build has
/// the `gpu` feature and a device opens, otherwise the CPU. The reason for a
/// fallback is returned for the caller to log; nothing here panics.
pub fn best_available() -> (Box<dyn ProvingBackend>, Option<String>) {
    #[cfg(feature = "gpu")]
    {
        match CudaBackend::new(0) {
            Ok(gpu) => return (Box::new(gpu), None),
            Err(e) => {
                return (
                    Box::new(CpuBackend),
                    Some(format!("GPU unavailable ({e}); proving on the CPU")),
                )
            }
        }
    }
    #[allow(unreachable_code)]
    (
        Box::new(CpuBackend),
        Some("built without the `gpu` feature; proving on the CPU".into()),
    )
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
}
