//! Errors: [`GpuError`], why the GPU could not be used, and the
//! conversion of a cudarc driver error into one.

use thiserror::Error;

/// Why the GPU could not be used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GpuError {
    /// `libcuda` is not installed.
    #[error("no CUDA driver library (libcuda) found")]
    NoDriver,
    /// `libnvrtc` is not installed.
    #[error("no NVRTC library found")]
    NoNvrtc,
    /// Creating the context failed (no device, driver error…).
    #[error("CUDA initialisation failed: {0}")]
    Init(String),
    /// A driver call failed.
    #[error("CUDA driver: {0}")]
    Driver(String),
    /// The kernels did not compile.
    #[error("NVRTC compilation failed: {0}")]
    Compile(String),
    /// The kernels gave a wrong result on the self-test at open.
    #[error("GPU self-test failed: {0}")]
    SelfTest(String),
    /// No radix-2 domain of that size (`1 ≤ log2 n ≤ 28`).
    #[error("no NTT domain of size 2^{0}")]
    Domain(usize),
    /// Vectors given to the witness map are not all of the domain's size.
    #[error("witness-map vectors must all have the domain's {0} elements")]
    VectorLength(usize),
    /// Bases and scalars differ in length.
    #[error("MSM of {bases} bases with {scalars} scalars")]
    LengthMismatch {
        /// Bases.
        bases: usize,
        /// Scalars.
        scalars: usize,
    },
}

pub(crate) fn driver(e: impl std::fmt::Debug) -> GpuError {
    GpuError::Driver(format!("{e:?}"))
}
