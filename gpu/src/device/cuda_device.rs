//! The [`CudaDevice`] handle: what an opened device holds (context,
//! stream, kernels, resident bases and NTT tables, scratch, stage times),
//! its accessors, profiling, and clearing what is resident. Opening is in
//! the module root, the pipelines in `msm` and `witness_map`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cudarc::driver::{CudaContext, CudaSlice, CudaStream};

use super::compile::Products;
use super::kernels::Kernels;
use super::scratch::Scratch;
use crate::error::{driver, GpuError};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct ResidentKey {
    pub(super) curve: &'static str,
    pub(super) address: usize,
    pub(super) len: usize,
    pub(super) fingerprint: [u8; 32],
}

/// [`NttTables`](crate::ntt::NttTables) on the device.
pub(super) struct DeviceNttTables {
    pub(super) omega: CudaSlice<u32>,
    pub(super) omega_inv: CudaSlice<u32>,
    pub(super) into_coset: CudaSlice<u32>,
    pub(super) out_of_coset: CudaSlice<u32>,
    pub(super) z_inv: CudaSlice<u32>,
}

/// Groth16's heavy arithmetic on one CUDA device: MSMs over G1 and G2
/// (bases uploaded once per distinct base slice, a proving key's queries,
/// and kept resident) and the witness map's NTTs (tables resident per
/// domain size).
pub struct CudaDevice {
    pub(super) ctx: Arc<CudaContext>,
    pub(super) stream: Arc<CudaStream>,
    pub(super) kernels: Kernels,
    pub(super) name: String,
    pub(super) products: Products,
    pub(super) ptx_from_cache: bool,
    pub(super) resident: Mutex<HashMap<ResidentKey, Arc<CudaSlice<u32>>>>,
    pub(super) ntt_tables: Mutex<HashMap<usize, Arc<DeviceNttTables>>>,
    /// One MSM at a time on the stream; the lock holds its buffers.
    pub(super) scratch: Mutex<Scratch>,
    /// Whether stage times are kept (`COALITION_GPU_PROFILE=1` at open,
    /// or [`CudaDevice::set_profiling`]).
    pub(super) profiling: AtomicBool,
    pub(super) profile: Mutex<Vec<StageTime>>,
    /// Reduction threads per window instead of
    /// [`reduce_threads`](super::msm::reduce_threads)' rule (0: the rule);
    /// see [`CudaDevice::set_reduce_threads`].
    pub(super) reduce_threads_override: AtomicU32,
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
pub(super) struct StageClock<'a> {
    device: &'a CudaDevice,
    last: Instant,
}

impl StageClock<'_> {
    pub(super) fn lap(&mut self, stage: &'static str) -> Result<(), GpuError> {
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

impl CudaDevice {
    /// Keeps (or stops keeping) per-stage times. Each stage then
    /// synchronises the stream, so a profiled call runs slightly slower.
    pub fn set_profiling(&self, on: bool) {
        self.profiling.store(on, Ordering::Relaxed);
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
    pub(super) fn record(&self, stage: &'static str, elapsed: Duration) -> Result<(), GpuError> {
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
    pub(super) fn clock(&self) -> StageClock<'_> {
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
}
