//! The MSM pipeline: bases kept resident per proving key, then, for a
//! batch of scalar sets over them, signed digits, a counting sort by
//! bucket, bucket accumulation with mixed XYZZ additions, the chunked
//! running-sum reduction and a tree sum per window on the device, and the
//! windows combined on the host.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use ark_bn254::Fr;
use ark_ff::Zero;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::cuda_device::{CudaDevice, ResidentKey};
use super::kernels::{grid, BLOCK};
use super::scratch::{reserve, stage_words, Scratch};
use crate::error::{driver, GpuError};
use crate::layout::{
    bases_to_words, combine_windows, num_windows, window_bits, xyzz_to_projective, DeviceCurve,
    DeviceField,
};

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
pub(super) fn reduce_threads(buckets: usize, windows: usize) -> u32 {
    let mut t = 1usize;
    while t * t < 2 * buckets {
        t *= 2;
    }
    while t * windows < REDUCE_FILL_THREADS && 16 * t <= buckets {
        t *= 2;
    }
    t.min(buckets) as u32
}

/// Points hashed to recognise a resident base slice.
const FINGERPRINT_POINTS: usize = 64;

impl CudaDevice {
    /// Fixes the reduction threads per window (`None`: the size rule), to
    /// compare settings side by side on one device. The value is rounded
    /// down to a power of two and kept within `2 ..= B` for each MSM, so
    /// every setting gives the same, correct results.
    pub fn set_reduce_threads(&self, threads: Option<u32>) {
        self.reduce_threads_override
            .store(threads.unwrap_or(0), Ordering::Relaxed);
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
