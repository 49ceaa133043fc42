//! The witness-map pipeline: NTT tables resident per domain size, and the
//! QAP quotients `h` of a batch of statements by bit reversal and radix-2
//! rounds over the whole batch, coset scaling and the quotient by `Z`,
//! arkworks' `LibsnarkReduction` step for step.

use std::sync::Arc;

use ark_bn254::Fr;
use cudarc::driver::{CudaSlice, PushKernelArg};

use super::conversion::fr_vectors_scoped;
use super::cuda_device::{CudaDevice, DeviceNttTables};
use super::kernels::{grid, BLOCK};
use super::scratch::stage_words;
use crate::error::{driver, GpuError};
use crate::layout::{fr_words, FR_WORDS};
use crate::ntt::NttTables;

impl CudaDevice {
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
