//! The CUDA backend (feature `gpu`): MSMs and witness-map NTTs on the device.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use coalition_gpu::layout::{G1, G2};
use coalition_gpu::{CudaDevice, GpuError};

use crate::qap::QapEvaluations;

use super::check_lengths;
use crate::backend::ProvingBackend;
use crate::errors::BackendError;

/// Groth16's MSMs and witness-map NTTs on a CUDA device (kernels in
/// `gpu/src/msm.cu` and `gpu/src/ntt.cu`).
#[derive(Debug)]
pub struct CudaBackend {
    device: CudaDevice,
}

impl CudaBackend {
    /// Opens device `ordinal`; an error (no library, no device, compile
    /// failure) never panics.
    pub fn new(ordinal: usize) -> Result<Self, BackendError> {
        CudaDevice::new(ordinal)
            .map(|device| CudaBackend { device })
            .map_err(|e| BackendError::Device(e.to_string()))
    }

    /// The underlying device.
    pub fn device(&self) -> &CudaDevice {
        &self.device
    }
}

impl ProvingBackend for CudaBackend {
    fn name(&self) -> String {
        self.device.name().to_string()
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        self.device
            .msm::<G1>(bases, scalars)
            .map_err(|e| BackendError::Device(e.to_string()))
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        self.device
            .msm::<G2>(bases, scalars)
            .map_err(|e| BackendError::Device(e.to_string()))
    }

    fn msm_g1_batch(
        &self,
        bases: &[G1Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G1Projective>, BackendError> {
        self.device
            .msm_batch::<G1>(bases, sets)
            .map_err(|e| BackendError::Device(e.to_string()))
    }

    fn msm_g2_batch(
        &self,
        bases: &[G2Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G2Projective>, BackendError> {
        self.device
            .msm_batch::<G2>(bases, sets)
            .map_err(|e| BackendError::Device(e.to_string()))
    }

    fn qap_quotients(
        &self,
        log_n: usize,
        evaluations: &[QapEvaluations],
    ) -> Result<Vec<Vec<Fr>>, BackendError> {
        let column = |pick: fn(&QapEvaluations) -> &Vec<Fr>| -> Vec<&[Fr]> {
            evaluations.iter().map(|e| pick(e).as_slice()).collect()
        };
        self.device
            .qap_quotients(
                log_n,
                &column(|e| &e.a),
                &column(|e| &e.b),
                &column(|e| &e.c),
            )
            .map_err(|e| match e {
                GpuError::Domain(_) | GpuError::VectorLength(_) => {
                    BackendError::Domain(e.to_string())
                }
                other => BackendError::Device(other.to_string()),
            })
    }
}
