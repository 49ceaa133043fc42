//! The CUDA backend (feature `gpu`), and backend selection with CPU fallback.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use coalition_gpu::layout::{G1, G2};
use coalition_gpu::CudaMsm;

use super::{check_lengths, MsmBackend, MsmError};

/// MSMs on a CUDA device (kernels in `gpu/src/msm.cu`).
#[derive(Debug)]
pub struct CudaBackend {
    device: CudaMsm,
}

impl CudaBackend {
    /// Opens device `ordinal`; an error (no library, no device, compile
    /// failure) never panics.
    pub fn new(ordinal: usize) -> Result<Self, MsmError> {
        CudaMsm::new(ordinal)
            .map(|device| CudaBackend { device })
            .map_err(|e| MsmError::Device(e.to_string()))
    }

    /// The underlying device.
    pub fn device(&self) -> &CudaMsm {
        &self.device
    }
}

impl MsmBackend for CudaBackend {
    fn name(&self) -> String {
        self.device.name().to_string()
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, MsmError> {
        check_lengths(bases.len(), scalars.len())?;
        self.device
            .msm::<G1>(bases, scalars)
            .map_err(|e| MsmError::Device(e.to_string()))
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, MsmError> {
        check_lengths(bases.len(), scalars.len())?;
        self.device
            .msm::<G2>(bases, scalars)
            .map_err(|e| MsmError::Device(e.to_string()))
    }

    fn msm_g1_batch(
        &self,
        bases: &[G1Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G1Projective>, MsmError> {
        self.device
            .msm_batch::<G1>(bases, sets)
            .map_err(|e| MsmError::Device(e.to_string()))
    }

    fn msm_g2_batch(
        &self,
        bases: &[G2Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G2Projective>, MsmError> {
        self.device
            .msm_batch::<G2>(bases, sets)
            .map_err(|e| MsmError::Device(e.to_string()))
    }
}
