//! The CUDA side: library detection, NVRTC compilation with an on-disk PTX
//! cache, resident bases, and the kernel pipeline of `msm.cu`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ark_bn254::Fr;
use ark_ff::Zero;
use cudarc::driver::{CudaContext, CudaModule, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::layout::{
    bases_to_words, combine_windows, num_windows, scalars_to_words, window_bits,
    xyzz_to_projective, DeviceCurve, DeviceField,
};

/// The kernels' CUDA C source.
pub const KERNEL_SOURCE: &str = include_str!("msm.cu");

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
    /// Bases and scalars differ in length.
    #[error("MSM of {bases} bases with {scalars} scalars")]
    LengthMismatch {
        /// Bases.
        bases: usize,
        /// Scalars.
        scalars: usize,
    },
}

fn driver(e: impl std::fmt::Debug) -> GpuError {
    GpuError::Driver(format!("{e:?}"))
}

/// Whether the CUDA driver and NVRTC libraries can be loaded. Checked
/// before any other cudarc call, because cudarc panics when a library is
/// missing.
#[allow(unsafe_code)]
pub fn libraries_present() -> Result<(), GpuError> {
    // SAFETY: both functions only try to dlopen the libraries by name and
    // drop the handle; no symbol is resolved or called.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(GpuError::NoDriver);
    }
    // SAFETY: as above.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(GpuError::NoNvrtc);
    }
    Ok(())
}

/// `$COALITION_CUDA_CACHE`, else `$HOME/.cache/coalition/cuda`.
pub fn ptx_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("COALITION_CUDA_CACHE") {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/coalition/cuda"),
        None => std::env::temp_dir().join("coalition-cuda"),
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

/// PTX for this device: from the cache if the source and architecture match,
/// else compiled with NVRTC and written to the cache.
fn compiled_ptx(major: i32, minor: i32) -> Result<(Ptx, bool), GpuError> {
    let arch = arch(major, minor);
    let mut h = Sha256::new();
    h.update(KERNEL_SOURCE.as_bytes());
    h.update(format!("{arch:?}").as_bytes());
    let path = ptx_cache_dir().join(format!("msm-{}.ptx", hex::encode(&h.finalize()[..12])));
    if let Ok(src) = std::fs::read_to_string(&path) {
        return Ok((Ptx::from_src(src), true));
    }
    let opts = CompileOptions {
        arch,
        options: vec!["--std=c++17".into()],
        ..Default::default()
    };
    let ptx = compile_ptx_with_opts(KERNEL_SOURCE, opts)
        .map_err(|e| GpuError::Compile(format!("{e:?}")))?;
    // A failed cache write only costs a recompilation next time.
    let _ = std::fs::create_dir_all(ptx_cache_dir());
    let _ = std::fs::write(&path, ptx.to_src());
    Ok((ptx, false))
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ResidentKey {
    curve: &'static str,
    address: usize,
    len: usize,
    fingerprint: [u8; 32],
}

/// MSMs on one CUDA device. Bases are uploaded once per distinct base
/// slice (a proving key's queries) and stay resident.
pub struct CudaMsm {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    module: Arc<CudaModule>,
    name: String,
    ptx_from_cache: bool,
    resident: Mutex<HashMap<ResidentKey, Arc<CudaSlice<u32>>>>,
    launch: Mutex<()>,
}

impl std::fmt::Debug for CudaMsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaMsm")
            .field("device", &self.name)
            .finish()
    }
}

/// Threads per window in the bucket reduction.
const REDUCE_THREADS: u32 = 256;
const BLOCK: u32 = 256;

fn grid(items: usize, block: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((items as u32).div_ceil(block).max(1), 1, 1),
        block_dim: (block, 1, 1),
        shared_mem_bytes: 0,
    }
}

impl CudaMsm {
    /// Opens device `ordinal`, compiling (or loading cached) kernels.
    /// Never panics: a missing library or device is an error.
    pub fn new(ordinal: usize) -> Result<Self, GpuError> {
        libraries_present()?;
        let ctx = std::panic::catch_unwind(|| CudaContext::new(ordinal))
            .map_err(|_| GpuError::Init("cudarc panicked while opening the device".into()))?
            .map_err(|e| GpuError::Init(format!("{e:?}")))?;
        let (major, minor) = ctx.compute_capability().map_err(driver)?;
        let name = ctx.name().map_err(driver)?;
        let (ptx, ptx_from_cache) = compiled_ptx(major, minor)?;
        let module = ctx.load_module(ptx).map_err(driver)?;
        let stream = ctx.default_stream();
        Ok(CudaMsm {
            ctx,
            stream,
            module,
            name: format!("cuda:{ordinal} {name} (sm_{major}{minor})"),
            ptx_from_cache,
            resident: Mutex::new(HashMap::new()),
            launch: Mutex::new(()),
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the kernels came from the on-disk PTX cache.
    pub fn ptx_from_cache(&self) -> bool {
        self.ptx_from_cache
    }

    fn resident_bases<C: DeviceCurve>(
        &self,
        bases: &[C::Affine],
    ) -> Result<Arc<CudaSlice<u32>>, GpuError> {
        let mut h = Sha256::new();
        for p in [bases.first(), bases.last()].into_iter().flatten() {
            for w in bases_to_words::<C>(std::slice::from_ref(p)) {
                h.update(w.to_le_bytes());
            }
        }
        let key = ResidentKey {
            curve: C::SUFFIX,
            address: bases.as_ptr() as usize,
            len: bases.len(),
            fingerprint: h.finalize().into(),
        };
        let mut resident = self
            .resident
            .lock()
            .map_err(|_| GpuError::Driver("poisoned".into()))?;
        if let Some(buf) = resident.get(&key) {
            return Ok(buf.clone());
        }
        let buf = Arc::new(
            self.stream
                .clone_htod(&bases_to_words::<C>(bases))
                .map_err(driver)?,
        );
        resident.insert(key, buf.clone());
        Ok(buf)
    }

    /// Drops every resident base buffer.
    pub fn clear_resident(&self) {
        if let Ok(mut resident) = self.resident.lock() {
            resident.clear();
        }
    }

    /// `Σ scalars[i]·bases[i]` on the device.
    pub fn msm<C: DeviceCurve>(
        &self,
        bases: &[C::Affine],
        scalars: &[Fr],
    ) -> Result<C::Projective, GpuError> {
        Ok(self
            .msm_batch::<C>(bases, &[scalars])?
            .pop()
            .unwrap_or_else(C::Projective::zero))
    }

    /// One MSM per scalar set, all over the same `bases`, in one pass of
    /// the kernels (a batch of proofs sharing a proving key): MSM `p`'s
    /// windows are windows `p·W … p·W + W − 1` of one big sort.
    #[allow(unsafe_code)]
    pub fn msm_batch<C: DeviceCurve>(
        &self,
        bases: &[C::Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<C::Projective>, GpuError> {
        for set in sets {
            if set.len() != bases.len() {
                return Err(GpuError::LengthMismatch {
                    bases: bases.len(),
                    scalars: set.len(),
                });
            }
        }
        let n = bases.len();
        if n == 0 || sets.is_empty() {
            return Ok(vec![C::Projective::zero(); sets.len()]);
        }
        let _one_at_a_time = self
            .launch
            .lock()
            .map_err(|_| GpuError::Driver("poisoned".into()))?;
        self.ctx.bind_to_thread().map_err(driver)?;
        let c = window_bits(n);
        let per_msm = num_windows(c);
        let windows = per_msm * sets.len();
        let count = n * sets.len();
        let buckets = 1usize << (c - 1);
        let stride = buckets + 2;
        let total = windows * n;
        let point_words = 4 * C::Base::WORDS;
        let (n32, count32, c32, per32, w32, s32, b32, t32) = (
            n as u32,
            count as u32,
            c as u32,
            per_msm as u32,
            windows as u32,
            stride as u32,
            buckets as u32,
            total as u32,
        );
        if total > u32::MAX as usize / 2 {
            return Err(GpuError::Driver(
                "batch too large for 32-bit indices".into(),
            ));
        }
        let s = &self.stream;
        let f = |name: &str| self.module.load_function(name).map_err(driver);

        let bases_dev = self.resident_bases::<C>(bases)?;
        let mut words = Vec::with_capacity(count * 8);
        for set in sets {
            words.extend(scalars_to_words(set));
        }
        let scalars_dev = s.clone_htod(&words).map_err(driver)?;
        let mut keys = s.alloc_zeros::<u32>(total).map_err(driver)?;
        let mut vals = s.alloc_zeros::<u32>(total).map_err(driver)?;
        let mut sorted = s.alloc_zeros::<u32>(total).map_err(driver)?;
        let mut counts = s.alloc_zeros::<u32>(windows * stride).map_err(driver)?;
        let mut cursors = s.alloc_zeros::<u32>(windows * stride).map_err(driver)?;
        let mut bucket_sums = s
            .alloc_zeros::<u32>(windows * buckets * point_words)
            .map_err(driver)?;
        let reduce_threads = REDUCE_THREADS.min(b32);
        let mut partial = s
            .alloc_zeros::<u32>(windows * reduce_threads as usize * point_words)
            .map_err(driver)?;
        let mut window_sums = s
            .alloc_zeros::<u32>(windows * point_words)
            .map_err(driver)?;

        let digits = f("msm_digits")?;
        let histogram = f("msm_histogram")?;
        let scan = f("msm_scan")?;
        let scatter = f("msm_scatter")?;
        let accumulate = f(&format!("msm_accumulate_{}", C::SUFFIX))?;
        let reduce = f(&format!("msm_reduce_{}", C::SUFFIX))?;
        let window_sum = f(&format!("msm_window_sum_{}", C::SUFFIX))?;

        // SAFETY (every launch below): the argument lists match the kernel
        // signatures in msm.cu one for one (device buffers as pointers, u32
        // by value); every buffer was allocated above with the sizes the
        // kernels index up to (`total`, `windows × stride`, `windows ×
        // buckets × point_words`…), and each grid covers exactly the index
        // range its kernel bounds-checks.
        unsafe {
            s.launch_builder(&digits)
                .arg(&scalars_dev)
                .arg(&n32)
                .arg(&count32)
                .arg(&c32)
                .arg(&per32)
                .arg(&mut keys)
                .arg(&mut vals)
                .launch(grid(count, BLOCK))
                .map_err(driver)?;
            s.launch_builder(&histogram)
                .arg(&keys)
                .arg(&t32)
                .arg(&n32)
                .arg(&s32)
                .arg(&mut counts)
                .launch(grid(total, BLOCK))
                .map_err(driver)?;
            s.launch_builder(&scan)
                .arg(&mut counts)
                .arg(&mut cursors)
                .arg(&s32)
                .launch(LaunchConfig {
                    grid_dim: (w32, 1, 1),
                    block_dim: (256, 1, 1),
                    shared_mem_bytes: 0,
                })
                .map_err(driver)?;
            s.launch_builder(&scatter)
                .arg(&keys)
                .arg(&vals)
                .arg(&t32)
                .arg(&n32)
                .arg(&s32)
                .arg(&mut cursors)
                .arg(&mut sorted)
                .launch(grid(total, BLOCK))
                .map_err(driver)?;
            s.launch_builder(&accumulate)
                .arg(&*bases_dev)
                .arg(&sorted)
                .arg(&counts)
                .arg(&n32)
                .arg(&s32)
                .arg(&b32)
                .arg(&w32)
                .arg(&mut bucket_sums)
                .launch(grid(windows * buckets, 128))
                .map_err(driver)?;
            s.launch_builder(&reduce)
                .arg(&bucket_sums)
                .arg(&b32)
                .arg(&w32)
                .arg(&reduce_threads)
                .arg(&mut partial)
                .launch(grid(windows * reduce_threads as usize, 64))
                .map_err(driver)?;
            s.launch_builder(&window_sum)
                .arg(&partial)
                .arg(&reduce_threads)
                .arg(&w32)
                .arg(&mut window_sums)
                .launch(grid(windows, 32))
                .map_err(driver)?;
        }
        let host = s.clone_dtoh(&window_sums).map_err(driver)?;
        let sums: Vec<C::Projective> = host
            .chunks_exact(point_words)
            .map(xyzz_to_projective::<C>)
            .collect();
        Ok(sums
            .chunks(per_msm)
            .map(|w| combine_windows::<C>(w, c))
            .collect())
    }
}
