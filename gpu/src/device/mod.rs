//! The CUDA side: library detection, NVRTC compilation with an on-disk PTX
//! cache, resident bases and NTT tables, and the kernel pipelines of
//! `msm.cu` (MSM) and `ntt.cu` (the witness map).
//!
//! One file per concern, each using only those listed before it (and
//! [`crate::error`] for [`GpuError`]):
//!
//! * `library`: whether `libcuda` and `libnvrtc` load
//!   ([`libraries_present`]);
//! * `kernel_cache`: the on-disk PTX cache, private to this user
//!   ([`ptx_cache_dir`]);
//! * `compile`: [`KERNEL_SOURCE`], [`Products`], NVRTC compilation through
//!   the cache, [`precompile`];
//! * `kernels`: the kernel functions and launch geometry;
//! * `conversion`: `Fr` words on scoped threads;
//! * `scratch`: reused device buffers and page-locked staging memory;
//! * `cuda_device`: the [`CudaDevice`] handle, its accessors and profiling
//!   ([`StageTime`]);
//! * `msm`: the MSM pipeline;
//! * `witness_map`: the witness-map (NTT) pipeline;
//!
//! and here, opening a device: compile or load the kernels, then check
//! both pipelines against arkworks.

mod compile;
mod conversion;
mod cuda_device;
mod kernel_cache;
mod kernels;
mod library;
mod msm;
mod scratch;
mod witness_map;

pub use crate::error::GpuError;
pub use compile::{precompile, Products, KERNEL_SOURCE};
pub use cuda_device::{CudaDevice, StageTime};
pub use kernel_cache::ptx_cache_dir;
pub use library::libraries_present;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Mutex;

use ark_bn254::Fr;
use ark_ec::{CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{Field, One, Zero};
use cudarc::driver::CudaContext;

use crate::error::driver;
use crate::ntt::reference_quotient;
use compile::{compiled_ptx, ptx_cache_path};
use kernels::Kernels;
use scratch::Scratch;

impl CudaDevice {
    /// Opens device `ordinal`, compiling (or loading cached) kernels, and
    /// checks them against arkworks before returning.
    /// Never panics: a missing library or device is an error.
    ///
    /// The kernels are compiled with carry-chain products first; if that
    /// compile, load or self-test fails, they are compiled again with the
    /// portable products (the reason is kept in [`Self::name`]).
    /// `COALITION_CUDA_PORTABLE=1` goes straight to the portable ones.
    pub fn new(ordinal: usize) -> Result<Self, GpuError> {
        if std::env::var("COALITION_CUDA_PORTABLE").as_deref() == Ok("1") {
            return Self::open(ordinal, Products::Portable, None);
        }
        match Self::open(ordinal, Products::CarryChains, None) {
            Err(e @ (GpuError::SelfTest(_) | GpuError::Compile(_) | GpuError::Driver(_))) => {
                // The reason goes into the device name (logs, metrics): its
                // first line, at most 160 characters, not a whole NVRTC log.
                let why: String = e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(160)
                    .collect();
                Self::open(ordinal, Products::Portable, Some(why))
            }
            other => other,
        }
    }

    /// Opens device `ordinal` with the given product rendering only (no
    /// fallback), e.g. to compare the two.
    pub fn with_products(ordinal: usize, products: Products) -> Result<Self, GpuError> {
        Self::open(ordinal, products, None)
    }

    fn open(
        ordinal: usize,
        products: Products,
        fallback: Option<String>,
    ) -> Result<Self, GpuError> {
        libraries_present()?;
        let ctx = std::panic::catch_unwind(|| CudaContext::new(ordinal))
            .map_err(|_| GpuError::Init("cudarc panicked while opening the device".into()))?
            .map_err(|e| GpuError::Init(format!("{e:?}")))?;
        let (major, minor) = ctx.compute_capability().map_err(driver)?;
        let name = ctx.name().map_err(driver)?;
        let (ptx, ptx_from_cache) = compiled_ptx(major, minor, products)?;
        let (module, ptx_from_cache) = match ctx.load_module(ptx) {
            Ok(module) => (module, ptx_from_cache),
            // A cached module that does not load (damaged, or from another
            // driver) is dropped and compiled afresh once.
            Err(_) if ptx_from_cache => {
                if let Some(path) = ptx_cache_path(major, minor, products) {
                    let _ = std::fs::remove_file(path);
                }
                let (ptx, _) = compiled_ptx(major, minor, products)?;
                (ctx.load_module(ptx).map_err(driver)?, false)
            }
            Err(e) => return Err(driver(e)),
        };
        let kernels = Kernels::load(&module)?;
        let stream = ctx.default_stream();
        let scratch = Mutex::new(Scratch::empty(&stream)?);
        let device = CudaDevice {
            ctx,
            stream,
            kernels,
            name: match fallback {
                None => format!("cuda:{ordinal} {name} (sm_{major}{minor}, {products})"),
                Some(why) => {
                    format!("cuda:{ordinal} {name} (sm_{major}{minor}, {products}; {why})")
                }
            },
            products,
            ptx_from_cache,
            resident: Mutex::new(HashMap::new()),
            ntt_tables: Mutex::new(HashMap::new()),
            scratch,
            profiling: AtomicBool::new(
                std::env::var("COALITION_GPU_PROFILE").as_deref() == Ok("1"),
            ),
            profile: Mutex::new(Vec::new()),
            reduce_threads_override: AtomicU32::new(0),
        };
        device.self_test()?;
        Ok(device)
    }

    /// Checks the kernels against arkworks on small inputs (G1 and G2 MSMs
    /// with edge scalars, one witness map) before the device is used, so a
    /// miscompiled kernel or a faulty device is an error at open, and the
    /// caller falls back to the CPU, rather than a stream of proofs that
    /// do not verify.
    fn self_test(&self) -> Result<(), GpuError> {
        fn bases<G: PrimeGroup<ScalarField = Fr> + CurveGroup>(n: u64) -> Vec<G::Affine> {
            let points: Vec<G> = (1..=n)
                .map(|i| G::generator() * Fr::from(i * i + 7))
                .collect();
            G::normalize_batch(&points)
        }
        let scalars: Vec<Fr> = (0..9u64)
            .map(|i| match i {
                0 => -Fr::one(),
                1 => Fr::zero(),
                2 => Fr::one(),
                _ => Fr::from(0x9e37_79b9_7f4a_7c15u64 ^ i).pow([i]),
            })
            .collect();
        let g1 = bases::<ark_bn254::G1Projective>(9);
        let g2 = bases::<ark_bn254::G2Projective>(9);
        let failed = |what: &str| GpuError::SelfTest(what.to_string());
        let g1_ok = self.msm::<crate::layout::G1>(&g1, &scalars)?
            == ark_bn254::G1Projective::msm(&g1, &scalars).map_err(|_| failed("G1 reference"))?;
        let g2_ok = self.msm::<crate::layout::G2>(&g2, &scalars)?
            == ark_bn254::G2Projective::msm(&g2, &scalars).map_err(|_| failed("G2 reference"))?;
        let a: Vec<Fr> = scalars[1..].to_vec();
        let b: Vec<Fr> = scalars[1..]
            .iter()
            .map(|x| x.square() + Fr::one())
            .collect();
        let c: Vec<Fr> = a.iter().zip(&b).map(|(x, y)| *x * y).collect();
        let ntt_ok =
            self.qap_quotients(3, &[&a], &[&b], &[&c])? == vec![reference_quotient(&a, &b, &c)?];
        // The test's bases must not stay resident under a freed address.
        self.clear_resident();
        self.take_profile();
        match (g1_ok, g2_ok, ntt_ok) {
            (true, true, true) => Ok(()),
            (false, _, _) => Err(failed("G1 MSM differs from arkworks")),
            (_, false, _) => Err(failed("G2 MSM differs from arkworks")),
            _ => Err(failed("witness map differs from arkworks")),
        }
    }
}
