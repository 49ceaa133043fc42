//! Multi-scalar multiplication backends for Groth16 proving.
//!
//! A Groth16 proof is four MSMs over the proving key (`A`, `B` in G1, `B`
//! in G2, `C`'s `l` and `h` terms) plus the witness-map FFTs. Every MSM of
//! [`crate::groth16::prove_with_backend`] goes through an [`MsmBackend`]:
//!
//! * [`CpuBackend`]: arkworks' `VariableBaseMSM` on all host cores;
//! * `CudaBackend` (feature `gpu`): the kernels of `coalition-gpu` on a CUDA
//!   device, bases resident per proving key;
//! * [`ReferencePippenger`]: a plain-Rust rendering of the bucket algorithm
//!   the GPU kernels run (signed digits, bucket sorting, running-sum
//!   reduction), always built and tested against arkworks so the algorithm
//!   is checked on machines without a GPU.
//!
//! Every backend computes the same group element, so proofs made with fixed
//! randomness are byte-identical whichever backend made them.

mod cpu;
#[cfg(feature = "gpu")]
mod cuda;
pub mod pippenger;

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use thiserror::Error;

pub use cpu::CpuBackend;
#[cfg(feature = "gpu")]
pub use cuda::CudaBackend;
pub use pippenger::ReferencePippenger;

/// The fastest backend available: the first CUDA device when this build has
/// the `gpu` feature and a device opens, otherwise the CPU. The reason for a
/// fallback is returned for the caller to log; nothing here panics.
pub fn best_available() -> (Box<dyn MsmBackend>, Option<String>) {
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

/// Why an MSM could not be computed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MsmError {
    /// Bases and scalars differ in length.
    #[error("MSM of {bases} bases with {scalars} scalars")]
    LengthMismatch {
        /// Number of bases.
        bases: usize,
        /// Number of scalars.
        scalars: usize,
    },
    /// The device failed (the message names the failing call).
    #[error("MSM device error: {0}")]
    Device(String),
}

/// Computes `Σ scalars[i]·bases[i]` in G1 and G2.
pub trait MsmBackend: Send + Sync {
    /// A short name for logs and metrics (`"cpu"`, `"cuda:0"`…).
    fn name(&self) -> String;

    /// `Σ scalars[i]·bases[i]` in G1; the slices must have equal lengths.
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, MsmError>;

    /// `Σ scalars[i]·bases[i]` in G2; the slices must have equal lengths.
    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, MsmError>;

    /// One G1 MSM per scalar set over the same bases (a batch of proofs
    /// sharing a proving key). The GPU does the whole batch in one pass.
    fn msm_g1_batch(
        &self,
        bases: &[G1Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G1Projective>, MsmError> {
        sets.iter().map(|s| self.msm_g1(bases, s)).collect()
    }

    /// One G2 MSM per scalar set over the same bases.
    fn msm_g2_batch(
        &self,
        bases: &[G2Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G2Projective>, MsmError> {
        sets.iter().map(|s| self.msm_g2(bases, s)).collect()
    }
}

pub(crate) fn check_lengths(bases: usize, scalars: usize) -> Result<(), MsmError> {
    if bases != scalars {
        return Err(MsmError::LengthMismatch { bases, scalars });
    }
    Ok(())
}
