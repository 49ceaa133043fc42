//! # coalition-gpu
//!
//! Multi-scalar multiplication over BN254 G1 and G2 on a CUDA GPU, for the
//! prover's `gpu` backend (papers/protocol.md §14, BENCHMARKS.md).
//!
//! * [`layout`]: how field elements, points and scalars cross to the device
//!   (arkworks' Montgomery limbs as they are) and how XYZZ results come back;
//! * [`device`]: library detection (cudarc panics on a missing library, so
//!   presence is checked first), NVRTC compilation of `msm.cu` with an
//!   on-disk PTX cache, bases kept resident per proving key, and the kernel
//!   pipeline: signed digits, counting sort by bucket, bucket accumulation
//!   with mixed XYZZ additions, chunked running-sum reduction.
//!
//! Nothing here needs CUDA to build, link or test: the library is loaded at
//! run time. `msm.cu` also compiles as C++ on the host, and
//! `tests/host_emulation.rs` runs its arithmetic and its whole pipeline
//! against arkworks on every CI run.

pub mod device;
pub mod layout;

pub use device::{libraries_present, CudaMsm, GpuError, KERNEL_SOURCE};
