//! The kernels and their NVRTC compilation: the CUDA source
//! ([`KERNEL_SOURCE`]), how its Montgomery products are rendered
//! ([`Products`]), the architecture and options for a compute capability,
//! a module's name in the PTX cache, compilation through that cache, and
//! [`precompile`] for a machine with NVRTC but without the GPU.

use std::path::PathBuf;

use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};
use sha2::{Digest, Sha256};

use super::kernel_cache::{ptx_cache_dir, read_cached_ptx, write_cached_ptx};
use super::library::libraries_present_nvrtc;
use crate::error::GpuError;

/// The kernels' CUDA C source: field arithmetic, then the MSM and NTT
/// kernels, compiled as one module.
pub const KERNEL_SOURCE: &str = concat!(
    include_str!("../field.cu"),
    include_str!("../msm.cu"),
    include_str!("../ntt.cu")
);

/// How the kernels compute Montgomery products (field.cu).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Products {
    /// PTX carry chains (`mad.lo.cc` / `madc.hi.cc`): the default.
    CarryChains,
    /// Plain C with 64-bit intermediates: the fallback, or forced with
    /// `COALITION_CUDA_PORTABLE=1`.
    Portable,
}

impl std::fmt::Display for Products {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Products::CarryChains => "carry-chain products",
            Products::Portable => "portable products",
        })
    }
}

fn arch(major: i32, minor: i32) -> Option<&'static str> {
    Some(match (major, minor) {
        (7, 0) => "compute_70",
        (7, 5) => "compute_75",
        (8, 0) => "compute_80",
        (8, 6) => "compute_86",
        (8, 9) => "compute_89",
        (9, 0) => "compute_90",
        (10, 0) => "compute_100",
        (12, 0) => "compute_120",
        _ => return None,
    })
}

fn defines(products: Products) -> Vec<String> {
    match products {
        Products::CarryChains => vec![],
        Products::Portable => vec!["-DCOALITION_PORTABLE_ARITHMETIC".into()],
    }
}

/// Where the module for this source, architecture and rendering is cached
/// (`None`: no cache directory).
pub(super) fn ptx_cache_path(major: i32, minor: i32, products: Products) -> Option<PathBuf> {
    Some(ptx_cache_path_in(&ptx_cache_dir()?, major, minor, products))
}

/// The module's name in cache directory `dir`.
fn ptx_cache_path_in(dir: &std::path::Path, major: i32, minor: i32, products: Products) -> PathBuf {
    let mut h = Sha256::new();
    h.update(KERNEL_SOURCE.as_bytes());
    h.update(format!("{:?} {:?}", arch(major, minor), defines(products)).as_bytes());
    dir.join(format!("kernels-{}.ptx", hex::encode(&h.finalize()[..12])))
}

/// The kernels compiled with NVRTC for `major.minor`.
fn compile_kernels(major: i32, minor: i32, products: Products) -> Result<Ptx, GpuError> {
    let opts = CompileOptions {
        arch: arch(major, minor),
        options: [vec!["--std=c++17".to_string()], defines(products)].concat(),
        ..Default::default()
    };
    compile_ptx_with_opts(KERNEL_SOURCE, opts).map_err(|e| GpuError::Compile(format!("{e:?}")))
}

/// PTX for this device: from the cache if the source and architecture match,
/// else compiled with NVRTC and written to the cache.
pub(super) fn compiled_ptx(
    major: i32,
    minor: i32,
    products: Products,
) -> Result<(Ptx, bool), GpuError> {
    let path = ptx_cache_path(major, minor, products);
    if let Some(src) = path.as_deref().and_then(read_cached_ptx) {
        return Ok((Ptx::from_src(src), true));
    }
    let ptx = compile_kernels(major, minor, products)?;
    if let Some(path) = path {
        write_cached_ptx(&path, &ptx.to_src());
    }
    Ok((ptx, false))
}

/// Compiles the kernels for compute capability `major.minor` into the PTX
/// cache directory `dir` without a device, for a machine where NVRTC is
/// present but the GPU is elsewhere: `scripts/gpu-build.sh` fills a cache
/// here that the device-machine scripts install as `$COALITION_CUDA_CACHE`
/// there, which then skips NVRTC (the driver still compiles the PTX for
/// the chip at load). The directory is created private, as the cache
/// requires. Returns the module's path.
pub fn precompile(
    dir: &std::path::Path,
    major: i32,
    minor: i32,
    products: Products,
) -> Result<PathBuf, GpuError> {
    libraries_present_nvrtc()?;
    if arch(major, minor).is_none() {
        return Err(GpuError::Compile(format!(
            "no known architecture for compute capability {major}.{minor}"
        )));
    }
    let path = ptx_cache_path_in(dir, major, minor, products);
    write_cached_ptx(&path, &compile_kernels(major, minor, products)?.to_src());
    if read_cached_ptx(&path).is_none() {
        return Err(GpuError::Compile(format!(
            "the module was compiled but {} could not be written privately",
            path.display()
        )));
    }
    Ok(path)
}
