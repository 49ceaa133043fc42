//! The proving backends (see [`crate::backend`]), named for what most of
//! their work is, multi-scalar multiplication:
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

use crate::errors::BackendError;

pub use cpu::CpuBackend;
#[cfg(feature = "gpu")]
pub use cuda::CudaBackend;
pub use pippenger::ReferencePippenger;

pub(crate) fn check_lengths(bases: usize, scalars: usize) -> Result<(), BackendError> {
    if bases != scalars {
        return Err(BackendError::LengthMismatch { bases, scalars });
    }
    Ok(())
}
