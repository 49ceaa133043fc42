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
        Self::with_offsets(baby_bits, giant_bits, entries)
    }

    /// The table over sorted `entries`, with its bucket offsets.
    fn with_offsets(baby_bits: u32, giant_bits: u32, entries: Vec<u64>) -> Self {
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

    /// [`Self::standard`], kept in the file at `path` between processes
    /// ([`Self::load_or_build`]).
    pub fn standard_cached(path: &std::path::Path) -> Self {
        Self::load_or_build(path, 20, 20)
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

/// Why a stored table was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableFileError {
    /// Not a table file of this format, or damaged.
    #[error("decryption table file: {0}")]
    Malformed(&'static str),
}

const FILE_MAGIC: &[u8; 8] = b"CDLTAB01";
const FILE_HEAD: usize = 8 + 4 + 4 + 8;

impl DecryptionTable {
    /// The table as a file: `"CDLTAB01" ‖ baby_bits (u32 LE) ‖ giant_bits
    /// (u32 LE) ‖ count (u64 LE) ‖ entries (u64 LE each) ‖ SHA-256 of all
    /// before`. The bucket offsets are rebuilt on load.
    pub fn to_bytes(&self) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut out = Vec::with_capacity(FILE_HEAD + 8 * self.entries.len() + 32);
        out.extend_from_slice(FILE_MAGIC);
        out.extend_from_slice(&self.baby_bits.to_le_bytes());
        out.extend_from_slice(&self.giant_bits.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.to_le_bytes());
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// A table from [`Self::to_bytes`]'s format, checked: the checksum, the
    /// sizes (`baby_bits` in `8..=24`, bound ≤ 2^48, exactly `2^baby_bits`
    /// entries), entries in ascending order and every baby step `j < N`
    /// present exactly once. (A fingerprint that is wrong for its `j` is
    /// harmless: every hit is confirmed by `v·G = Q`, so a damaged table can
    /// fail to decrypt, never decrypt wrongly.)
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TableFileError> {
        use sha2::{Digest, Sha256};
        let malformed = TableFileError::Malformed;
        if bytes.len() < FILE_HEAD + 32 || &bytes[..8] != FILE_MAGIC {
            return Err(malformed("not a decryption table"));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != checksum {
            return Err(malformed("checksum does not match"));
        }
        let word =
            |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        let (baby_bits, giant_bits) = (word(8), word(12));
        if !(8..=24).contains(&baby_bits) || giant_bits > 48 - baby_bits {
            return Err(malformed("sizes out of range"));
        }
        let n = 1usize << baby_bits;
        let mut count = [0u8; 8];
        count.copy_from_slice(&body[16..24]);
        if u64::from_le_bytes(count) != n as u64 || body.len() != FILE_HEAD + 8 * n {
            return Err(malformed("entry count does not match the sizes"));
        }
        let entries: Vec<u64> = body[FILE_HEAD..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("chunks of 8")))
            .collect();
        if entries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(malformed("entries out of order"));
        }
        let mut seen = vec![false; n];
        for e in &entries {
            let j = (e & 0xFF_FFFF) as usize;
            if j >= n || std::mem::replace(&mut seen[j], true) {
                return Err(malformed("a baby step missing or repeated"));
            }
        }
        Ok(Self::with_offsets(baby_bits, giant_bits, entries))
    }

    /// The table at `path` if it holds these sizes and passes
    /// [`Self::from_bytes`]' checks; otherwise built with [`Self::new`] and
    /// written there for next time (atomically; a failed write only costs
    /// the next caller a rebuild). Building the standard table takes about
    /// 0.6 s on two cores, loading it a few milliseconds.
    pub fn load_or_build(path: &std::path::Path, baby_bits: u32, giant_bits: u32) -> Self {
        use std::io::{Read, Write};
        // Read only a file of exactly the size these sizes give, and never
        // more than that however it changes while being read.
        let expected = (FILE_HEAD + 8 * (1usize << baby_bits.clamp(8, 24)) + 32) as u64;
        let stored = std::fs::File::open(path).ok().and_then(|file| {
            if file.metadata().ok()?.len() != expected {
                return None;
            }
            let mut bytes = Vec::with_capacity(expected as usize);
            file.take(expected + 1).read_to_end(&mut bytes).ok()?;
            Self::from_bytes(&bytes).ok()
        });
        if let Some(table) = stored {
            if table.baby_bits == baby_bits && table.giant_bits == giant_bits {
                return table;
            }
        }
        let table = Self::new(baby_bits, giant_bits);
        if let Some(dir) = path.parent() {
            // A fresh temporary name, created exclusively (never through a
            // file or link already there), then renamed over the target.
            let nonce = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let tmp = path.with_extension(format!("tmp-{}-{nonce}", std::process::id()));
            let written = std::fs::create_dir_all(dir)
                .and_then(|()| {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&tmp)
                })
                .and_then(|mut file| file.write_all(&table.to_bytes()))
                .and_then(|()| std::fs::rename(&tmp, path));
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_table_loads_equal_and_damage_is_refused() {
        let table = DecryptionTable::new(10, 6);
        let bytes = table.to_bytes();
        let loaded = DecryptionTable::from_bytes(&bytes).unwrap();
        assert_eq!(loaded.entries, table.entries);
        assert_eq!(loaded.offsets, table.offsets);
        let v = 12_345u64;
        assert_eq!(loaded.solve(&(Scalar::from(v) * generators::g())), Ok(v));
        // Every byte is covered by the checksum (or is the checksum).
        for i in (0..bytes.len())
            .step_by(97)
            .chain([0, 8, 12, 16, bytes.len() - 1])
        {
            let mut damaged = bytes.clone();
            damaged[i] ^= 1;
            assert!(DecryptionTable::from_bytes(&damaged).is_err(), "byte {i}");
        }
        // Sizes out of range, however well checksummed (a giant_bits that
        // would overflow the bound's sum included).
        for (baby, giant) in [(7u32, 4u32), (25, 4), (10, 39), (10, u32::MAX)] {
            let mut body = bytes[..bytes.len() - 32].to_vec();
            body[8..12].copy_from_slice(&baby.to_le_bytes());
            body[12..16].copy_from_slice(&giant.to_le_bytes());
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(&body);
            body.extend_from_slice(&digest);
            assert_eq!(
                DecryptionTable::from_bytes(&body).err(),
                Some(TableFileError::Malformed("sizes out of range")),
                "{baby}, {giant}"
            );
        }
        for cut in [0, 7, FILE_HEAD, bytes.len() - 1] {
            assert!(
                DecryptionTable::from_bytes(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        // Well checksummed but inconsistent: a repeated baby step.
        let mut entries = table.entries.clone();
        entries[1] = (entries[1] & !0xFF_FFFF) | (entries[0] & 0xFF_FFFF);
        entries.sort_unstable();
        let forged = DecryptionTable {
            entries,
            ..DecryptionTable::new(10, 6)
        };
        assert_eq!(
            DecryptionTable::from_bytes(&forged.to_bytes()).err(),
            Some(TableFileError::Malformed("a baby step missing or repeated"))
        );
    }

    #[test]
    fn load_or_build_writes_once_and_rebuilds_what_does_not_fit() {
        let dir = std::env::temp_dir().join(format!("coalition-dlog-{}", std::process::id()));
        let path = dir.join("table.bin");
        let _ = std::fs::remove_file(&path);
        let built = DecryptionTable::load_or_build(&path, 9, 5);
        let stored = std::fs::read(&path).unwrap();
        assert_eq!(stored, built.to_bytes());
        // Loaded, not rebuilt: a stored table with a (harmless) wrong
        // fingerprint comes back as stored.
        let mut tweaked = built.entries.clone();
        tweaked[0] ^= 1 << 63;
        tweaked.sort_unstable();
        let marked = DecryptionTable::with_offsets(9, 5, tweaked.clone());
        std::fs::write(&path, marked.to_bytes()).unwrap();
        assert_eq!(DecryptionTable::load_or_build(&path, 9, 5).entries, tweaked);
        // Other sizes, or damage: rebuilt and rewritten.
        let other = DecryptionTable::load_or_build(&path, 10, 5);
        assert_eq!(other.entries, DecryptionTable::new(10, 5).entries);
        std::fs::write(&path, b"junk").unwrap();
        assert_eq!(
            DecryptionTable::load_or_build(&path, 9, 5).entries,
            built.entries
        );
        assert_eq!(std::fs::read(&path).unwrap(), built.to_bytes());
        let _ = std::fs::remove_dir_all(&dir);
    }

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
