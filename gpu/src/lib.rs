//! # coalition-gpu
//!
//! Groth16's heavy arithmetic on a CUDA GPU, for the prover's `gpu` backend
//! (papers/protocol.md §14, BENCHMARKS.md): multi-scalar multiplication over
//! BN254 G1 and G2, and the witness map's NTTs over `Fr`.
//!
//! * [`error`]: [`GpuError`], why the GPU could not be used;
//! * [`layout`]: how field elements, points and scalars cross to the device
//!   (arkworks' Montgomery limbs as they are) and how XYZZ results come back;
//! * [`ntt`]: the tables a witness-map domain needs, and `Fr` vectors as
//!   device words;
//! * [`device`]: library detection (cudarc panics on a missing library, so
//!   presence is checked first), NVRTC compilation of `field.cu`, `msm.cu`
//!   and `ntt.cu` with an on-disk PTX cache, bases kept resident per proving
//!   key, and the kernel pipelines: for an MSM, signed digits, counting sort
//!   by bucket, bucket accumulation with mixed XYZZ additions, chunked
//!   running-sum reduction; for the witness map, bit reversal and radix-2
//!   rounds over a whole batch, coset scaling, the quotient by `Z`.
//!
//! Nothing here needs CUDA to build, link or test: the library is loaded at
//! run time. The kernel sources also compile as C++ on the host, and
//! `tests/host_emulation.rs` runs their arithmetic and both pipelines
//! against arkworks on every CI run.

pub mod device;
pub mod error;
pub mod layout;
pub mod ntt;

pub use device::{
    libraries_present, precompile, CudaDevice, GpuError, Products, StageTime, KERNEL_SOURCE,
};
