//! The CUDA side: library detection, NVRTC compilation with an on-disk PTX
//! cache, resident bases and NTT tables, and the kernel pipelines of
//! `msm.cu` (MSM) and `ntt.cu` (the witness map).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ark_bn254::Fr;
use ark_ec::{CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{Field, One, Zero};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchConfig, PinnedHostSlice,
    PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::layout::{
    bases_to_words, combine_windows, fr_to_words, fr_words, num_windows, window_bits,
    xyzz_to_projective, DeviceCurve, DeviceField, FR_WORDS,
};
use crate::ntt::{fr_from_words_serial, reference_quotient, NttTables};

/// The kernels' CUDA C source: field arithmetic, then the MSM and NTT
/// kernels, compiled as one module.
pub const KERNEL_SOURCE: &str = concat!(
    include_str!("field.cu"),
    include_str!("msm.cu"),
    include_str!("ntt.cu")
);

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
    libraries_present_nvrtc()
}

#[allow(unsafe_code)]
fn libraries_present_nvrtc() -> Result<(), GpuError> {
    // SAFETY: only tries to dlopen the library by name and drops the
    // handle; no symbol is resolved or called.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(GpuError::NoNvrtc);
    }
    Ok(())
}

/// `$COALITION_CUDA_CACHE`, else `$HOME/.cache/coalition/cuda`; `None` when
/// neither is set: the kernels are then compiled at every start rather
/// than cached in a shared directory such as `/tmp`, where another user
/// could leave a module for this process to load.
pub fn ptx_cache_dir() -> Option<PathBuf> {
    cache_dir(
        std::env::var_os("COALITION_CUDA_CACHE"),
        std::env::var_os("HOME"),
    )
}

fn cache_dir(
    explicit: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    match (explicit, home) {
        (Some(dir), _) if !dir.is_empty() => Some(PathBuf::from(dir)),
        (_, Some(home)) if !home.is_empty() => {
            Some(PathBuf::from(home).join(".cache/coalition/cuda"))
        }
        _ => None,
    }
}

/// Largest cached module read back: the kernels' PTX is a few MiB.
const MAX_CACHED_PTX_BYTES: u64 = 64 << 20;

/// This process's effective user: the owner of `/proc/self` (Linux). `None`
/// where that cannot be read: nothing is then cached.
#[cfg(unix)]
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Whether a file or directory belongs to this user and no one else may
/// write to it (nobody else could have put a module there).
#[cfg(unix)]
fn private(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    own_uid() == Some(meta.uid()) && meta.mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn private(_: &std::fs::Metadata) -> bool {
    true
}

/// Whether `dir` exists, is a directory (not a link to one) and private.
fn private_dir(dir: &std::path::Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && private(&m))
}

/// A cached module, if `path` is a regular file (not a link) of at most
/// [`MAX_CACHED_PTX_BYTES`] in a private directory, owned by this user and
/// writable by no one else: a module anyone else could have placed or
/// replaced is compiled afresh instead, since it is code this process hands
/// the device along with its witnesses.
fn read_cached_ptx(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    if !private_dir(path.parent()?) {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    let named = std::fs::symlink_metadata(path).ok()?;
    if !named.is_file() || !meta.is_file() || !private(&meta) || meta.len() > MAX_CACHED_PTX_BYTES {
        return None;
    }
    #[cfg(unix)]
    {
        // The file opened is the one named (no link swapped in between).
        use std::os::unix::fs::MetadataExt;
        if (meta.dev(), meta.ino()) != (named.dev(), named.ino()) {
            return None;
        }
    }
    let mut src = String::new();
    file.take(MAX_CACHED_PTX_BYTES + 1)
        .read_to_string(&mut src)
        .ok()?;
    (src.len() as u64 <= MAX_CACHED_PTX_BYTES).then_some(src)
}

/// Writes `src` to `path` through a new temporary file (never one already
/// there) and a rename, so a crash mid-write never leaves a truncated
/// module under the cache's name, in a directory created private to this
/// user; a directory that is not private is not written to. A failure only
/// costs a recompilation next time.
fn write_cached_ptx(path: &std::path::Path, src: &str) {
    use std::io::Write;
    let Some(dir) = path.parent() else { return };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    if builder.create(dir).is_err() || !private_dir(dir) {
        return;
    }
    let temp = path.with_extension(format!("ptx.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let Ok(mut file) = options.open(&temp) else {
        return;
    };
    let written = file.write_all(src.as_bytes()).is_ok();
    drop(file);
    if !written || std::fs::rename(&temp, path).is_err() {
        let _ = std::fs::remove_file(&temp);
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
fn ptx_cache_path(major: i32, minor: i32, products: Products) -> Option<PathBuf> {
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
fn compiled_ptx(major: i32, minor: i32, products: Products) -> Result<(Ptx, bool), GpuError> {
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

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ResidentKey {
    curve: &'static str,
    address: usize,
    len: usize,
    fingerprint: [u8; 32],
}

/// The kernels of one curve.
struct CurveKernels {
    accumulate: CudaFunction,
    reduce: CudaFunction,
    fold: CudaFunction,
    window_sum: CudaFunction,
}

/// Every kernel of `msm.cu` and `ntt.cu`, looked up once when the device
/// opens.
struct Kernels {
    digits: CudaFunction,
    histogram: CudaFunction,
    scan: CudaFunction,
    scatter: CudaFunction,
    g1: CurveKernels,
    g2: CurveKernels,
    bit_reverse: CudaFunction,
    butterflies: CudaFunction,
    scale: CudaFunction,
    qap_combine: CudaFunction,
}

impl Kernels {
    fn load(module: &Arc<CudaModule>) -> Result<Self, GpuError> {
        let f = |name: &str| module.load_function(name).map_err(driver);
        let curve = |suffix: &str| -> Result<CurveKernels, GpuError> {
            Ok(CurveKernels {
                accumulate: f(&format!("msm_accumulate_{suffix}"))?,
                reduce: f(&format!("msm_reduce_{suffix}"))?,
                fold: f(&format!("msm_fold_{suffix}"))?,
                window_sum: f(&format!("msm_window_sum_{suffix}"))?,
            })
        };
        Ok(Kernels {
            digits: f("msm_digits")?,
            histogram: f("msm_histogram")?,
            scan: f("msm_scan")?,
            scatter: f("msm_scatter")?,
            g1: curve("g1")?,
            g2: curve("g2")?,
            bit_reverse: f("ntt_bit_reverse")?,
            butterflies: f("ntt_butterflies")?,
            scale: f("ntt_scale")?,
            qap_combine: f("qap_combine")?,
        })
    }

    fn curve<C: DeviceCurve>(&self) -> &CurveKernels {
        if C::SUFFIX == "g2" {
            &self.g2
        } else {
            &self.g1
        }
    }
}

/// Device buffers reused from one MSM to the next (allocating and freeing
/// them per call cost more than the kernels at small sizes). Each grows to
/// the largest size asked for and stays; kernels only ever index the prefix
/// the current call needs.
struct Scratch {
    /// The stream the copies and kernels run on, synchronised before the
    /// buffers are freed (see `Drop`).
    stream: Arc<CudaStream>,
    /// Page-locked host memory the MSM's scalars and the witness map's
    /// `a, b, c` are written into and its `h` read back through, so each
    /// copy is one DMA at the bus's rate rather than the driver's copy
    /// through a bounce buffer; `None` until first needed, or where the
    /// host refused to lock memory (then copies go through a `Vec`). It
    /// holds the last call's witness-derived values until the next call
    /// overwrites them (papers/protocol.md §14.3).
    staging: Option<PinnedHostSlice<u32>>,
    scalars: CudaSlice<u32>,
    keys: CudaSlice<u32>,
    vals: CudaSlice<u32>,
    sorted: CudaSlice<u32>,
    counts: CudaSlice<u32>,
    cursors: CudaSlice<u32>,
    bucket_sums: CudaSlice<u32>,
    partial: CudaSlice<u32>,
    window_sums: CudaSlice<u32>,
}

impl Scratch {
    fn empty(stream: &Arc<CudaStream>) -> Result<Self, GpuError> {
        let e = || stream.null::<u32>().map_err(driver);
        Ok(Scratch {
            stream: stream.clone(),
            staging: None,
            scalars: e()?,
            keys: e()?,
            vals: e()?,
            sorted: e()?,
            counts: e()?,
            cursors: e()?,
            bucket_sums: e()?,
            partial: e()?,
            window_sums: e()?,
        })
    }
}

impl Drop for Scratch {
    /// The copies out of and into `staging` go through plain slices, so
    /// cudarc records no event on the pinned buffer: synchronising here is
    /// what keeps a copy still in flight (after a call that failed
    /// half-way) from touching freed host memory.
    fn drop(&mut self) {
        let _ = self.stream.synchronize();
    }
}

/// `buf` with room for at least `len` words: kept if large enough, else
/// replaced by a fresh, uninitialised allocation.
#[allow(unsafe_code)]
fn reserve(stream: &Arc<CudaStream>, buf: &mut CudaSlice<u32>, len: usize) -> Result<(), GpuError> {
    if buf.len() < len {
        // SAFETY: the memory is uninitialised. Every buffer is either
        // written in full by a kernel before any kernel reads it (digits
        // writes every key and value, scatter every sorted slot a bucket
        // range covers, scan every cursor, accumulate / reduce / window_sum
        // every output) or zeroed before use (counts), or overwritten by a
        // host copy (scalars).
        *buf = unsafe { stream.alloc::<u32>(len) }.map_err(driver)?;
    }
    Ok(())
}

/// `len` words of page-locked staging memory (`staging` grown to fit and
/// kept), or `None` where the host cannot lock that much. The stream is
/// synchronised first: no copy out of or into the staging memory can
/// still be in flight when it is written again or freed. (cudarc tracks
/// copies from a `PinnedHostSlice` by an event, but these copies pass plain
/// sub-slices of it, so that synchronisation and `Scratch`'s `Drop` are the
/// only guards.)
#[allow(unsafe_code)]
fn staging_words<'a>(
    ctx: &Arc<CudaContext>,
    stream: &Arc<CudaStream>,
    staging: &'a mut Option<PinnedHostSlice<u32>>,
    len: usize,
) -> Result<Option<&'a mut [u32]>, GpuError> {
    stream.synchronize().map_err(driver)?;
    if staging.as_ref().is_none_or(|p| p.len() < len) {
        // Free the smaller one first.
        *staging = None;
        // SAFETY: the memory is uninitialised; it is zeroed below before
        // any slice of it exists.
        *staging = match unsafe { ctx.alloc_pinned::<u32>(len) } {
            Ok(mut pinned) => {
                let ptr = pinned.as_mut_ptr().map_err(driver)?;
                // SAFETY: `ptr` points to `len` u32 the allocation owns.
                unsafe { std::ptr::write_bytes(ptr, 0, len) };
                Some(pinned)
            }
            Err(_) => None,
        };
    }
    match staging {
        Some(pinned) => Ok(Some(&mut pinned.as_mut_slice().map_err(driver)?[..len])),
        None => Ok(None),
    }
}

/// The words of `sets`, one vector after another, in the staging memory
/// ([`staging_words`]), or in `fallback` where the host cannot lock that
/// much; returned as the slice to upload (and, for the witness map, to
/// download into).
fn stage_words<'a>(
    ctx: &Arc<CudaContext>,
    stream: &Arc<CudaStream>,
    staging: &'a mut Option<PinnedHostSlice<u32>>,
    fallback: &'a mut Vec<u32>,
    sets: &[&[Fr]],
) -> Result<&'a mut [u32], GpuError> {
    let len = sets.iter().map(|s| s.len()).sum::<usize>() * FR_WORDS;
    let words = match staging_words(ctx, stream, staging, len)? {
        Some(words) => words,
        None => {
            *fallback = vec![0u32; len];
            fallback
        }
    };
    fr_words_into_scoped(sets, words);
    Ok(words)
}

/// Elements a conversion thread gets at least: below that, spawning costs
/// more than it saves (a small MSM converts on the calling thread).
const MIN_ELEMENTS_PER_THREAD: usize = 1 << 14;

/// Host threads for a conversion of `elements` made while the device lock
/// is held. These are scoped OS threads, never rayon's: a rayon thread
/// waiting on its own jobs while it holds the lock can pick up a job that
/// asks for the lock (with `prove_batch_with_backend`, the batch's MSMs run
/// in a `rayon::join` beside the witness map; with any caller that proves
/// from inside a rayon loop, another proof) and would wait for itself.
fn scoped_threads(elements: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    elements.div_ceil(MIN_ELEMENTS_PER_THREAD).clamp(1, cores)
}

/// [`crate::layout::fr_words_into`] on [`scoped_threads`]: `vectors`, one after another,
/// as Montgomery words into `out` (exactly `FR_WORDS` per element), split
/// by elements, so one long vector (a single MSM's scalars) is shared out
/// as well as many short ones.
///
/// # Panics
/// If `out` has another length (a caller's sizing bug, never input).
fn fr_words_into_scoped(vectors: &[&[Fr]], out: &mut [u32]) {
    let total: usize = vectors.iter().map(|v| v.len()).sum();
    assert_eq!(out.len(), total * FR_WORDS, "staging sized for the vectors");
    let per = total.div_ceil(scoped_threads(total)).max(1);
    let fill = |first: usize, out: &mut [u32]| {
        let mut words = out.chunks_exact_mut(FR_WORDS);
        let mut skip = first;
        for vector in vectors {
            if skip >= vector.len() {
                skip -= vector.len();
                continue;
            }
            for x in &vector[skip..] {
                let Some(w) = words.next() else { return };
                fr_to_words(x, w);
            }
            skip = 0;
        }
    };
    if per >= total {
        fill(0, out);
        return;
    }
    std::thread::scope(|scope| {
        for (t, chunk) in out.chunks_mut(per * FR_WORDS).enumerate() {
            scope.spawn(move || fill(t * per, chunk));
        }
    });
}

/// Device words back as `count` vectors of `n` elements each, on
/// [`scoped_threads`], each element checked below the modulus.
fn fr_vectors_scoped(words: &[u32], n: usize) -> Result<Vec<Vec<Fr>>, GpuError> {
    let n = n.max(1);
    let count = words.len() / (n * FR_WORDS);
    // Whole vectors per thread.
    let threads = scoped_threads(count * n).min(count.max(1));
    let per = count.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = words
            .chunks(per * n * FR_WORDS)
            .map(|group| {
                scope.spawn(move || {
                    group
                        .chunks_exact(n * FR_WORDS)
                        .map(fr_from_words_serial)
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(count);
        for handle in handles {
            let vectors = handle
                .join()
                .map_err(|_| GpuError::Driver("a conversion thread panicked".into()))??;
            out.extend(vectors);
        }
        Ok(out)
    })
}

/// [`NttTables`] on the device.
struct DeviceNttTables {
    omega: CudaSlice<u32>,
    omega_inv: CudaSlice<u32>,
    into_coset: CudaSlice<u32>,
    out_of_coset: CudaSlice<u32>,
    z_inv: CudaSlice<u32>,
}

/// Groth16's heavy arithmetic on one CUDA device: MSMs over G1 and G2
/// (bases uploaded once per distinct base slice, a proving key's queries,
/// and kept resident) and the witness map's NTTs (tables resident per
/// domain size).
pub struct CudaDevice {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    kernels: Kernels,
    name: String,
    products: Products,
    ptx_from_cache: bool,
    resident: Mutex<HashMap<ResidentKey, Arc<CudaSlice<u32>>>>,
    ntt_tables: Mutex<HashMap<usize, Arc<DeviceNttTables>>>,
    /// One MSM at a time on the stream; the lock holds its buffers.
    scratch: Mutex<Scratch>,
    /// Whether stage times are kept (`COALITION_GPU_PROFILE=1` at open,
    /// or [`CudaDevice::set_profiling`]).
    profiling: AtomicBool,
    profile: Mutex<Vec<StageTime>>,
    /// Reduction threads per window instead of [`reduce_threads`]' rule
    /// (0: the rule); see [`CudaDevice::set_reduce_threads`].
    reduce_threads_override: AtomicU32,
}

/// Time spent in one pipeline stage, summed over calls (see
/// [`CudaDevice::take_profile`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageTime {
    /// The stage, e.g. `"msm: accumulate"`.
    pub stage: &'static str,
    /// Wall-clock time, the stream synchronised at both ends.
    pub total: Duration,
    /// Calls summed.
    pub calls: u32,
}

/// Laps of one call's pipeline; a no-op unless profiling is on.
struct StageClock<'a> {
    device: &'a CudaDevice,
    last: Instant,
}

impl StageClock<'_> {
    fn lap(&mut self, stage: &'static str) -> Result<(), GpuError> {
        if !self.device.profiling.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.device.stream.synchronize().map_err(driver)?;
        let now = Instant::now();
        let elapsed = now - self.last;
        self.last = now;
        self.device.record(stage, elapsed)
    }
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaDevice")
            .field("device", &self.name)
            .finish()
    }
}

/// Reduction threads in flight that keep the device busy: below this, a
/// reduction launch is a few warps per SM, each running a long chain of
/// dependent additions.
const REDUCE_FILL_THREADS: usize = 1 << 14;

/// Reduction threads per window. A window's critical path is one thread's
/// running sum over `B/T` buckets (two additions each), its `lo·S`
/// correction (about `2·log2 B`), then the tree sum of the `T` partial
/// results (`log2 T`). Start at `T ≈ √(2B)` (256 for `c` = 16) and double
/// while all windows together run fewer than [`REDUCE_FILL_THREADS`]
/// threads and each thread keeps at least 8 buckets: one MSM of 2^20
/// points (16 windows) gets 1024, a batch of 64 Spend MSMs (1,280 windows)
/// stays at 128. The extra work, `23·T` additions per window, is a few per
/// cent of the accumulation's.
fn reduce_threads(buckets: usize, windows: usize) -> u32 {
    let mut t = 1usize;
    while t * t < 2 * buckets {
        t *= 2;
    }
    while t * windows < REDUCE_FILL_THREADS && 16 * t <= buckets {
        t *= 2;
    }
    t.min(buckets) as u32
}
const BLOCK: u32 = 256;

/// Points hashed to recognise a resident base slice.
const FINGERPRINT_POINTS: usize = 64;

fn grid(items: usize, block: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((items as u32).div_ceil(block).max(1), 1, 1),
        block_dim: (block, 1, 1),
        shared_mem_bytes: 0,
    }
}

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

    /// Keeps (or stops keeping) per-stage times. Each stage then
    /// synchronises the stream, so a profiled call runs slightly slower.
    pub fn set_profiling(&self, on: bool) {
        self.profiling.store(on, Ordering::Relaxed);
    }

    /// Fixes the reduction threads per window (`None`: the size rule), to
    /// compare settings side by side on one device. The value is rounded
    /// down to a power of two and kept within `2 ..= B` for each MSM, so
    /// every setting gives the same, correct results.
    pub fn set_reduce_threads(&self, threads: Option<u32>) {
        self.reduce_threads_override
            .store(threads.unwrap_or(0), Ordering::Relaxed);
    }

    /// The stage times gathered since the last call (empty unless
    /// profiling is on).
    pub fn take_profile(&self) -> Vec<StageTime> {
        self.profile
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// Adds `elapsed` to `stage` when profiling (host-side stages, timed
    /// without synchronising the stream).
    fn record(&self, stage: &'static str, elapsed: Duration) -> Result<(), GpuError> {
        if !self.profiling.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut stages = self
            .profile
            .lock()
            .map_err(|_| GpuError::Driver("poisoned".into()))?;
        match stages.iter_mut().find(|s| s.stage == stage) {
            Some(s) => {
                s.total += elapsed;
                s.calls += 1;
            }
            None => stages.push(StageTime {
                stage,
                total: elapsed,
                calls: 1,
            }),
        }
        Ok(())
    }

    /// A stage clock for one call; each lap synchronises the stream. Taken
    /// with the device lock held, so laps time this call's kernels only.
    fn clock(&self) -> StageClock<'_> {
        StageClock {
            device: self,
            last: Instant::now(),
        }
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How this device's kernels compute Montgomery products.
    pub fn products(&self) -> Products {
        self.products
    }

    /// Whether the kernels came from the on-disk PTX cache.
    pub fn ptx_from_cache(&self) -> bool {
        self.ptx_from_cache
    }

    fn resident_bases<C: DeviceCurve>(
        &self,
        bases: &[C::Affine],
    ) -> Result<Arc<CudaSlice<u32>>, GpuError> {
        // Address and length name the slice; 64 points spread over it (and
        // both ends) tell a proving key's queries from another slice that
        // reuses the same memory after the first was freed.
        let mut h = Sha256::new();
        let step = (bases.len() / FINGERPRINT_POINTS).max(1);
        let sampled = bases.iter().step_by(step).chain(bases.last());
        for p in sampled {
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

    /// Drops every resident base buffer and the reusable scratch buffers.
    pub fn clear_resident(&self) {
        if let Ok(mut resident) = self.resident.lock() {
            resident.clear();
        }
        if let Ok(mut scratch) = self.scratch.lock() {
            if let Ok(empty) = Scratch::empty(&self.stream) {
                *scratch = empty;
            }
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
        let mut scratch = self
            .scratch
            .lock()
            .map_err(|_| GpuError::Driver("poisoned".into()))?;
        let mut clock = self.clock();
        self.ctx.bind_to_thread().map_err(driver)?;
        let c = window_bits(n);
        let per_msm = num_windows(c);
        let windows = per_msm * sets.len();
        let count = n * sets.len();
        let buckets = 1usize << (c - 1);
        let stride = buckets + 2;
        let total = windows * n;
        let point_words = 4 * C::Base::WORDS;
        if total > u32::MAX as usize / 2 {
            return Err(GpuError::Driver(
                "batch too large for 32-bit indices".into(),
            ));
        }
        let threads = match self.reduce_threads_override.load(Ordering::Relaxed) {
            0 => reduce_threads(buckets, windows),
            fixed => (1u32 << fixed.ilog2()).clamp(2, buckets as u32),
        };
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
        let s = &self.stream;
        let bases_dev = self.resident_bases::<C>(bases)?;
        clock.lap("msm: resident bases (uploaded on first use)")?;
        let Scratch {
            stream: _,
            staging,
            scalars,
            keys,
            vals,
            sorted,
            counts,
            cursors,
            bucket_sums,
            partial,
            window_sums,
        } = &mut *scratch;
        // Copied (no conversion: the digit kernel leaves Montgomery form)
        // into page-locked memory, then one DMA.
        let mut fallback = Vec::new();
        let words = stage_words(&self.ctx, s, staging, &mut fallback, sets)?;
        clock.lap("msm: stage scalars (host)")?;
        reserve(s, scalars, words.len())?;
        reserve(s, keys, total)?;
        reserve(s, vals, total)?;
        reserve(s, sorted, total)?;
        reserve(s, counts, windows * stride)?;
        reserve(s, cursors, windows * stride)?;
        reserve(s, bucket_sums, windows * buckets * point_words)?;
        reserve(s, partial, windows * threads as usize * point_words)?;
        reserve(s, window_sums, windows * point_words)?;
        s.memcpy_htod(words, scalars).map_err(driver)?;
        s.memset_zeros(&mut counts.slice_mut(..windows * stride))
            .map_err(driver)?;
        clock.lap("msm: upload scalars")?;
        let k = &self.kernels;
        let curve = k.curve::<C>();

        // SAFETY (every launch below): the argument lists match the kernel
        // signatures in msm.cu one for one (device buffers as pointers, u32
        // by value); every buffer was reserved above with at least the
        // sizes the kernels index up to (`total`, `windows × stride`,
        // `windows × buckets × point_words`…), and each grid covers exactly
        // the index range its kernel bounds-checks.
        unsafe {
            s.launch_builder(&k.digits)
                .arg(&*scalars)
                .arg(&n32)
                .arg(&count32)
                .arg(&c32)
                .arg(&per32)
                .arg(&mut *keys)
                .arg(&mut *vals)
                .launch(grid(count, BLOCK))
                .map_err(driver)?;
            clock.lap("msm: digits")?;
            s.launch_builder(&k.histogram)
                .arg(&*keys)
                .arg(&t32)
                .arg(&n32)
                .arg(&s32)
                .arg(&mut *counts)
                .launch(grid(total, BLOCK))
                .map_err(driver)?;
            s.launch_builder(&k.scan)
                .arg(&mut *counts)
                .arg(&mut *cursors)
                .arg(&s32)
                .launch(LaunchConfig {
                    grid_dim: (w32, 1, 1),
                    block_dim: (256, 1, 1),
                    shared_mem_bytes: 0,
                })
                .map_err(driver)?;
            s.launch_builder(&k.scatter)
                .arg(&*keys)
                .arg(&*vals)
                .arg(&t32)
                .arg(&n32)
                .arg(&s32)
                .arg(&mut *cursors)
                .arg(&mut *sorted)
                .launch(grid(total, BLOCK))
                .map_err(driver)?;
            clock.lap("msm: sort")?;
            s.launch_builder(&curve.accumulate)
                .arg(&*bases_dev)
                .arg(&*sorted)
                .arg(&*counts)
                .arg(&n32)
                .arg(&s32)
                .arg(&b32)
                .arg(&w32)
                .arg(&per32)
                .arg(&mut *bucket_sums)
                .launch(grid(windows * buckets, 128))
                .map_err(driver)?;
            clock.lap("msm: accumulate")?;
            s.launch_builder(&curve.reduce)
                .arg(&*bucket_sums)
                .arg(&b32)
                .arg(&w32)
                .arg(&threads)
                .arg(&mut *partial)
                .launch(grid(windows * threads as usize, 64))
                .map_err(driver)?;
            clock.lap("msm: reduce")?;
            // Tree sum of each window's `threads` partial results, in place
            // (`threads` is a power of two, at least 2), down to two.
            let mut width = threads;
            while width > 2 {
                let half = width / 2;
                s.launch_builder(&curve.fold)
                    .arg(&mut *partial)
                    .arg(&threads)
                    .arg(&half)
                    .arg(&w32)
                    .launch(grid(windows * half as usize, 64))
                    .map_err(driver)?;
                width = half;
            }
            s.launch_builder(&curve.window_sum)
                .arg(&*partial)
                .arg(&threads)
                .arg(&width)
                .arg(&w32)
                .arg(&mut *window_sums)
                .launch(grid(windows, 32))
                .map_err(driver)?;
            clock.lap("msm: window sums")?;
        }
        let host = s
            .clone_dtoh(&window_sums.slice(..windows * point_words))
            .map_err(driver)?;
        clock.lap("msm: download window sums")?;
        // The device is released before the host's share, which runs on
        // rayon: a waiting rayon thread must not hold the lock (it can pick
        // up a job that asks for it). Timed without the stream, which the
        // next holder may already be using.
        drop(scratch);
        let combining = Instant::now();
        let results = host
            .par_chunks_exact(point_words * per_msm)
            .map(|msm| {
                let sums: Vec<C::Projective> = msm
                    .chunks_exact(point_words)
                    .map(xyzz_to_projective::<C>)
                    .collect();
                combine_windows::<C>(&sums, c)
            })
            .collect();
        self.record("msm: combine windows (host)", combining.elapsed())?;
        Ok(results)
    }

    fn resident_ntt_tables(&self, log_n: usize) -> Result<Arc<DeviceNttTables>, GpuError> {
        // Never hold the lock while building: the word conversion runs on
        // rayon, and a caller inside a rayon loop must not wait on it there.
        let lock = || {
            self.ntt_tables
                .lock()
                .map_err(|_| GpuError::Driver("poisoned".into()))
        };
        if let Some(t) = lock()?.get(&log_n) {
            return Ok(t.clone());
        }
        let host = NttTables::new(log_n)?;
        let s = &self.stream;
        let up = |v: &[Fr]| s.clone_htod(&fr_words(&[v])).map_err(driver);
        let built = Arc::new(DeviceNttTables {
            omega: up(&host.omega)?,
            omega_inv: up(&host.omega_inv)?,
            into_coset: up(&host.into_coset)?,
            out_of_coset: up(&host.out_of_coset)?,
            z_inv: up(std::slice::from_ref(&host.z_inv))?,
        });
        Ok(lock()?.entry(log_n).or_insert(built).clone())
    }

    /// The QAP quotients `h` of a batch of statements over the domain of
    /// size `n = 2^log_n`: for each `i`, from the evaluation vectors
    /// `a[i], b[i], c[i]` (each of `n` elements),
    /// `h = coset_iNTT((coset_NTT(iNTT(a)) ∘ coset_NTT(iNTT(b)) − coset_NTT(iNTT(c))) / Z(g))`,
    /// the vector arkworks' `LibsnarkReduction` computes on the CPU.
    #[allow(unsafe_code)]
    pub fn qap_quotients(
        &self,
        log_n: usize,
        a: &[&[Fr]],
        b: &[&[Fr]],
        c: &[&[Fr]],
    ) -> Result<Vec<Vec<Fr>>, GpuError> {
        let count = a.len();
        if !(1..=crate::ntt::MAX_LOG_N).contains(&log_n) {
            return Err(GpuError::Domain(log_n));
        }
        let n = 1usize << log_n;
        if b.len() != count || c.len() != count || a.iter().chain(b).chain(c).any(|v| v.len() != n)
        {
            return Err(GpuError::VectorLength(n));
        }
        if count == 0 {
            return Ok(Vec::new());
        }
        let total = count * n;
        if total > u32::MAX as usize / 2 {
            return Err(GpuError::Driver(
                "batch too large for 32-bit indices".into(),
            ));
        }
        let tables = self.resident_ntt_tables(log_n)?;
        // The device is taken for the rest (the MSM's lock), so stage times
        // never include another call's kernels.
        let mut device = self
            .scratch
            .lock()
            .map_err(|_| GpuError::Driver("poisoned".into()))?;
        let mut clock = self.clock();
        self.ctx.bind_to_thread().map_err(driver)?;
        let s = &self.stream;
        let k = &self.kernels;
        // a, b, c as words in the page-locked staging memory (three DMAs
        // at the bus's rate; h comes back through it too), or in a `Vec`
        // where the host cannot lock that much.
        let vectors: Vec<&[Fr]> = a.iter().chain(b).chain(c).copied().collect();
        let mut fallback = Vec::new();
        let words = stage_words(&self.ctx, s, &mut device.staging, &mut fallback, &vectors)?;
        clock.lap("ntt: vectors to words (host)")?;
        let part = total * FR_WORDS;
        let mut a_dev = s.clone_htod(&words[..part]).map_err(driver)?;
        let mut b_dev = s.clone_htod(&words[part..2 * part]).map_err(driver)?;
        let mut c_dev = s.clone_htod(&words[2 * part..]).map_err(driver)?;
        clock.lap("ntt: upload")?;
        let (log_n32, total32, pairs32) = (log_n as u32, total as u32, (total / 2) as u32);

        // SAFETY (every launch below): the arguments match the kernel
        // signatures in ntt.cu one for one (device buffers as pointers, u32
        // by value). Each vector buffer holds `total = count·n` elements and
        // each table `n/2`, `n` or one element, as `NttTables` builds them;
        // every grid covers exactly the `total` (or `total/2` butterflies)
        // threads its kernel bounds-checks, and no index a kernel forms
        // leaves its vector (`ntt.cu`).
        let transform = |data: &mut CudaSlice<u32>, twiddles: &CudaSlice<u32>| unsafe {
            s.launch_builder(&k.bit_reverse)
                .arg(&mut *data)
                .arg(&log_n32)
                .arg(&total32)
                .launch(grid(total, BLOCK))
                .map_err(driver)?;
            for log_half in 0..log_n32 {
                s.launch_builder(&k.butterflies)
                    .arg(&mut *data)
                    .arg(&log_n32)
                    .arg(&log_half)
                    .arg(twiddles)
                    .arg(&pairs32)
                    .launch(grid(total / 2, BLOCK))
                    .map_err(driver)?;
            }
            Ok::<(), GpuError>(())
        };
        let scale = |data: &mut CudaSlice<u32>, factors: &CudaSlice<u32>| unsafe {
            s.launch_builder(&k.scale)
                .arg(&mut *data)
                .arg(&log_n32)
                .arg(factors)
                .arg(&total32)
                .launch(grid(total, BLOCK))
                .map(|_| ())
                .map_err(driver)
        };
        // Each of a, b, c: to coefficients, then to evaluations on the coset.
        for data in [&mut a_dev, &mut b_dev, &mut c_dev] {
            transform(data, &tables.omega_inv)?;
            scale(data, &tables.into_coset)?;
            transform(data, &tables.omega)?;
        }
        clock.lap("ntt: a, b, c to the coset")?;
        // SAFETY: as above; a, b, c each hold `total` elements.
        unsafe {
            s.launch_builder(&k.qap_combine)
                .arg(&mut a_dev)
                .arg(&b_dev)
                .arg(&c_dev)
                .arg(&tables.z_inv)
                .arg(&total32)
                .launch(grid(total, BLOCK))
                .map_err(driver)?;
        }
        clock.lap("ntt: combine")?;
        // Back from the coset to coefficients: h.
        transform(&mut a_dev, &tables.omega_inv)?;
        scale(&mut a_dev, &tables.out_of_coset)?;
        clock.lap("ntt: h from the coset")?;
        // h back into the staging memory (the stream runs the uploads out
        // of it before this copy into it), then waited for: a copy into
        // page-locked memory returns before it lands.
        let h_words = &mut words[..part];
        s.memcpy_dtoh(&a_dev, h_words).map_err(driver)?;
        s.synchronize().map_err(driver)?;
        clock.lap("ntt: download")?;
        let hs = fr_vectors_scoped(h_words, n)?;
        clock.lap("ntt: words to vectors (host)")?;
        drop(device);
        Ok(hs)
    }
}

#[cfg(test)]
mod scoped_conversion_tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn scoped_conversions_match_the_rayon_ones_in_order() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let n = 16;
        // 3·count vectors (a, b, c of a batch), more and fewer than threads.
        for count in [1usize, 7, 40] {
            let vectors: Vec<Vec<Fr>> = (0..3 * count)
                .map(|_| (0..n).map(|_| Fr::rand(&mut rng)).collect())
                .collect();
            let refs: Vec<&[Fr]> = vectors.iter().map(Vec::as_slice).collect();
            let mut words = vec![u32::MAX; 3 * count * n * FR_WORDS];
            fr_words_into_scoped(&refs, &mut words);
            assert_eq!(words, fr_words(&refs));
            assert_eq!(fr_vectors_scoped(&words, n).unwrap(), vectors);
        }
        // Long vectors of uneven lengths: the threads' element ranges start
        // and end inside vectors (one MSM's scalars are one long vector).
        let lengths = [20_000usize, 7, 13_001, 3 * MIN_ELEMENTS_PER_THREAD + 5];
        let vectors: Vec<Vec<Fr>> = lengths
            .iter()
            .map(|&len| (0..len).map(|_| Fr::rand(&mut rng)).collect())
            .collect();
        let refs: Vec<&[Fr]> = vectors.iter().map(Vec::as_slice).collect();
        let mut words = vec![u32::MAX; lengths.iter().sum::<usize>() * FR_WORDS];
        fr_words_into_scoped(&refs, &mut words);
        assert_eq!(words, fr_words(&refs));
        // An unreduced element anywhere is an error, not an `Fr`.
        let vectors: Vec<Vec<Fr>> = (0..9).map(|_| vec![Fr::from(1u64); n]).collect();
        let refs: Vec<&[Fr]> = vectors.iter().map(Vec::as_slice).collect();
        let mut words = fr_words(&refs);
        let last = words.len() - FR_WORDS;
        words[last..].fill(u32::MAX);
        assert!(fr_vectors_scoped(&words, n).is_err());
    }
}

#[cfg(test)]
mod ptx_cache_tests {
    use super::*;

    #[test]
    fn the_cache_is_explicit_or_in_home_never_a_shared_directory() {
        let some = |s: &str| Some(std::ffi::OsString::from(s));
        assert_eq!(
            cache_dir(some("/srv/cuda"), some("/home/op")),
            Some("/srv/cuda".into())
        );
        assert_eq!(
            cache_dir(None, some("/home/op")),
            Some("/home/op/.cache/coalition/cuda".into())
        );
        assert_eq!(
            cache_dir(some(""), some("/home/op")),
            Some("/home/op/.cache/coalition/cuda".into())
        );
        assert_eq!(cache_dir(None, None), None);
        assert_eq!(cache_dir(some(""), some("")), None);
    }

    #[test]
    fn a_cached_module_is_read_back_only_if_private_and_bounded() {
        let dir = std::env::temp_dir().join(format!("coalition-ptx-test-{}", std::process::id()));
        let cache = dir.join("cache");
        let path = cache.join("kernels-test.ptx");
        write_cached_ptx(&path, "// ptx");
        assert_eq!(read_cached_ptx(&path).as_deref(), Some("// ptx"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
            let chmod = |p: &std::path::Path, m: u32| {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
            };
            assert_eq!(mode(&path) & 0o777, 0o600);
            assert_eq!(mode(&cache) & 0o777, 0o700);
            // A module others could write, or in a directory others could
            // write to: not trusted, and nothing is written there either.
            chmod(&path, 0o666);
            assert_eq!(read_cached_ptx(&path), None);
            chmod(&path, 0o600);
            chmod(&cache, 0o777);
            assert_eq!(read_cached_ptx(&path), None);
            let other = cache.join("kernels-other.ptx");
            write_cached_ptx(&other, "// other");
            assert!(!other.exists());
            chmod(&cache, 0o700);
            // A link to a module, even a private one: not followed.
            let link = cache.join("kernels-link.ptx");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert_eq!(read_cached_ptx(&link), None);
            // Another user's module (only root can make one to test with).
            if own_uid() == Some(0) {
                std::os::unix::fs::chown(&path, Some(1), None).unwrap();
                assert_eq!(read_cached_ptx(&path), None);
                std::os::unix::fs::chown(&path, Some(0), None).unwrap();
            }
            assert_eq!(read_cached_ptx(&path).as_deref(), Some("// ptx"));
        }
        // Larger than any module: not read.
        let big = cache.join("big.ptx");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_CACHED_PTX_BYTES + 1).unwrap();
        assert_eq!(read_cached_ptx(&big), None);
        // Missing, or a directory.
        assert_eq!(read_cached_ptx(&cache.join("none.ptx")), None);
        assert_eq!(read_cached_ptx(&cache), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::reduce_threads;
    use crate::layout::window_bits;

    /// The same values are pinned for the CPU reference in
    /// `prover/tests/backends.rs`: both must model one algorithm.
    #[test]
    fn widths_and_reduction_threads_are_pinned() {
        for (n, c) in [
            (1usize, 5usize),
            (100, 5),
            (1 << 10, 8),
            (1 << 14, 13),
            (1 << 20, 16),
        ] {
            assert_eq!(window_bits(n), c, "n = {n}");
        }
        // (B, windows) → T: one MSM of 2^5, 2^10, 2^14 and 2^20 points; a
        // batch of 64 at 2^15; a batch of 8 at 2^20.
        for (buckets, windows, threads) in [
            (16usize, 51usize, 8u32),
            (128, 32, 16),
            (4096, 20, 512),
            (32768, 16, 1024),
            (4096, 1280, 128),
            (32768, 128, 256),
        ] {
            assert_eq!(
                reduce_threads(buckets, windows),
                threads,
                "B = {buckets}, {windows} windows"
            );
        }
    }
}
