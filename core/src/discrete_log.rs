//! Bounded discrete logarithms for decryption (spec §4.2).
//!
//! Decrypting a twisted-ElGamal ciphertext yields `Q = v·G`; recovering `v`
//! needs a discrete log, feasible only because `v` is small. We use
//! baby-step giant-step with a precomputed table:
//!
//! * baby steps: the table holds a 40-bit fingerprint of `compress(2·j·G)` for
//!   `j ∈ [0, N)`, `N = 2^baby_bits`, sorted and bucketed (8 bytes per entry);
//! * giant steps: for `i = 0, 1, …, 2^giant_bits − 1` compute `Q − i·N·G`, compress
//!   (doubled, so a whole batch shares one field inversion through
//!   `RistrettoPoint::double_and_compress_batch`) and look the fingerprint up;
//!   a hit `j` gives the candidate `v = i·N + j`, confirmed by `v·G == Q`
//!   (fingerprint collisions are therefore harmless).
//!
//! The decryption bound is `2^(baby_bits + giant_bits)`; the work is at most
//! `2^giant_bits` giant steps, proportional to `v / N`, so small balances decrypt
//! fastest. Two sizes are provided:
//!
//! | table | memory | bound | worst case |
//! |---|---|---|---|
//! | [`DecryptionTable::standard`] (2^20 entries) | 8 MiB | 2^40 | 2^20 giant steps |
//! | [`DecryptionTable::large`] (2^24 entries) | 128 MiB | 2^40 | 2^16 giant steps |
//!
//! Measured times are in `BENCHMARKS.md`. A wallet that tracks its balance
//! never needs the search: [`crate::elgamal::Ciphertext::decrypts_to`] confirms
//! an expected value in one scalar multiplication.

use std::sync::atomic::{AtomicBool, Ordering};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;

use crate::errors::DecryptionError;
use crate::generators;

const BATCH: usize = 256;
const BUCKET_BITS: u32 = 16;

/// A precomputed baby-step table. Build once per process and share.
#[derive(Debug)]
pub struct DecryptionTable {
    baby_bits: u32,
    giant_bits: u32,
    /// `(fingerprint40 << 24) | j`, sorted.
    entries: Vec<u64>,
    /// `offsets[b]..offsets[b+1]` are the entries whose fingerprint's top 16 bits are `b`.
    offsets: Vec<u32>,
}

fn fingerprint(compressed: &CompressedRistretto) -> u64 {
    // Byte 0's low bit is always 0 in a canonical encoding; bytes 1..6 are uniform.
    let b = compressed.as_bytes();
    u64::from_le_bytes([b[1], b[2], b[3], b[4], b[5], 0, 0, 0])
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 16)
}

impl DecryptionTable {
    /// Builds a table with `2^baby_bits` entries that decrypts values below
    /// `2^(baby_bits + giant_bits)`. `baby_bits` must be in `8..=24` and the
    /// bound at most 2^48; other values are clamped.
    pub fn new(baby_bits: u32, giant_bits: u32) -> Self {
        let baby_bits = baby_bits.clamp(8, 24);
        let giant_bits = giant_bits.min(48 - baby_bits);
        let n = 1usize << baby_bits;
        let workers = threads().min(n / BATCH).max(1);
        let per_worker = n.div_ceil(workers);
        let mut entries: Vec<u64> = Vec::with_capacity(n);
        let g = generators::g();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    scope.spawn(move || {
                        let start = w * per_worker;
                        let end = ((w + 1) * per_worker).min(n);
                        let mut out = Vec::with_capacity(end.saturating_sub(start));
                        let mut point = Scalar::from(start as u64) * g;
                        let mut batch = Vec::with_capacity(BATCH);
                        let mut j = start;
                        while j < end {
                            batch.clear();
                            let count = BATCH.min(end - j);
                            for _ in 0..count {
                                batch.push(point);
                                point += g;
                            }
                            for (k, c) in RistrettoPoint::double_and_compress_batch(&batch)
                                .iter()
                                .enumerate()
                            {
                                out.push((fingerprint(c) << 24) | (j + k) as u64);
                            }
                            j += count;
                        }
                        out
                    })
                })
                .collect();
            for handle in handles {
                // A worker only panics on allocation failure; propagate it.
                match handle.join() {
                    Ok(part) => entries.extend(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        entries.sort_unstable();
        let mut offsets = vec![0u32; (1 << BUCKET_BITS) + 1];
        for e in &entries {
            offsets[(e >> (64 - BUCKET_BITS)) as usize + 1] += 1;
        }
        for b in 0..(1 << BUCKET_BITS) {
            offsets[b + 1] += offsets[b];
        }
        Self {
            baby_bits,
            giant_bits,
            entries,
            offsets,
        }
    }

    /// 2^20 entries (8 MiB), bound 2^40: the wallet default.
    pub fn standard() -> Self {
        Self::new(20, 20)
    }

    /// 2^24 entries (128 MiB), bound 2^40 with at most 2^16 giant steps.
    pub fn large() -> Self {
        Self::new(24, 16)
    }

    /// log2 of the decryption bound.
    pub fn bound_bits(&self) -> u32 {
        self.baby_bits + self.giant_bits
    }

    fn candidates(&self, fp: u64) -> impl Iterator<Item = u64> + '_ {
        let key = fp << 24;
        let bucket = (key >> (64 - BUCKET_BITS)) as usize;
        let lo = self.offsets[bucket] as usize;
        let hi = self.offsets[bucket + 1] as usize;
        let slice = &self.entries[lo..hi];
        let start = slice.partition_point(|e| (e >> 24) < fp);
        slice[start..]
            .iter()
            .take_while(move |e| (*e >> 24) == fp)
            .map(|e| e & 0xFF_FFFF)
    }

    /// Finds `v < 2^bound_bits` with `v·G = target`.
    pub fn solve(&self, target: &RistrettoPoint) -> Result<u64, DecryptionError> {
        let not_found = DecryptionError::OutOfRange {
            bound_bits: self.bound_bits(),
        };
        if *target == RistrettoPoint::identity() {
            return Ok(0);
        }
        let n = 1u64 << self.baby_bits;
        let giant_steps = 1u64 << self.giant_bits;
        let step = Scalar::from(n) * generators::g();
        let workers = (threads() as u64)
            .min(giant_steps.div_ceil(BATCH as u64))
            .max(1);
        let per_worker = giant_steps.div_ceil(workers);
        let done = AtomicBool::new(false);
        let result = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let done = &done;
                    scope.spawn(move || {
                        let start = w * per_worker;
                        let end = ((w + 1) * per_worker).min(giant_steps);
                        let mut point = target - Scalar::from(start) * step;
                        let mut batch = Vec::with_capacity(BATCH);
                        let mut i = start;
                        while i < end {
                            if done.load(Ordering::Relaxed) {
                                return None;
                            }
                            batch.clear();
                            let count = (BATCH as u64).min(end - i);
                            for _ in 0..count {
                                batch.push(point);
                                point -= step;
                            }
                            let compressed = RistrettoPoint::double_and_compress_batch(&batch);
                            for (k, c) in compressed.iter().enumerate() {
                                for j in self.candidates(fingerprint(c)) {
                                    let v = (i + k as u64) * n + j;
                                    if Scalar::from(v) * generators::g() == *target {
                                        done.store(true, Ordering::Relaxed);
                                        return Some(v);
                                    }
                                }
                            }
                            i += count;
                        }
                        None
                    })
                })
                .collect();
            let mut found = None;
            for handle in handles {
                if let Ok(Some(v)) = handle.join() {
                    found = Some(v);
                }
            }
            found
        });
        result.ok_or(not_found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_small_and_edge_values() {
        let table = DecryptionTable::new(10, 10);
        for v in [0u64, 1, 2, 1023, 1024, 1025, 77_777, (1 << 20) - 1] {
            assert_eq!(
                table.solve(&(Scalar::from(v) * generators::g())),
                Ok(v),
                "v = {v}"
            );
        }
    }

    #[test]
    fn refuses_values_beyond_the_bound() {
        let table = DecryptionTable::new(10, 4);
        let target = Scalar::from(1u64 << 14) * generators::g();
        assert_eq!(
            table.solve(&target),
            Err(DecryptionError::OutOfRange { bound_bits: 14 })
        );
        // A "negative" value (ℓ − 1) is not a small plaintext either.
        assert!(table.solve(&(-generators::g())).is_err());
    }
}
