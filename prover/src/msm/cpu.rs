//! arkworks' MSM on the host's cores.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::VariableBaseMSM;

use super::check_lengths;
use crate::backend::ProvingBackend;
use crate::errors::BackendError;

/// arkworks' `VariableBaseMSM` (Pippenger, parallel over the rayon pool).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

impl ProvingBackend for CpuBackend {
    fn name(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        G1Projective::msm(bases, scalars).map_err(|n| BackendError::LengthMismatch {
            bases: n,
            scalars: scalars.len(),
        })
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        G2Projective::msm(bases, scalars).map_err(|n| BackendError::LengthMismatch {
            bases: n,
            scalars: scalars.len(),
        })
    }
}
