//! The bucket MSM the GPU kernels implement, in plain Rust.
//!
//! For `Q = Σ k_i·P_i` with `b`-bit scalars and window width `c`:
//!
//! 1. **Signed digits.** Each scalar is cut into `w = ⌈(b + 1)/c⌉` windows
//!    `k = Σ_j d_j·2^{cj}` with `d_j ∈ [−2^{c−1}, 2^{c−1}]` (a digit above
//!    `2^{c−1}` becomes `d − 2^c` and carries 1 into the next window). A
//!    negative digit adds `−P`, which is free to compute, so each window
//!    needs only `2^{c−1}` buckets instead of `2^c − 1`.
//! 2. **Bucket sorting.** Per window, the pairs `(|d| − 1, i, sign)` are
//!    sorted by bucket (a counting sort), so each bucket's points are
//!    contiguous: on the GPU one thread sums one bucket without atomics.
//! 3. **Accumulation.** `B_m = Σ_{|d_{ij}| = m+1} ±P_i` (mixed additions).
//! 4. **Reduction.** `W_j = Σ_m (m+1)·B_m` by running sums from the top
//!    bucket down (`S ← S + B_m; W ← W + S`), in `T` chunks as the device
//!    runs them, one thread each ([`reduce_chunks`]): chunk `[lo, hi)` adds
//!    `lo·S` for the weights it starts above.
//! 5. **Windows.** `Q = Σ_j 2^{cj}·W_j` by Horner's rule (`c` doublings
//!    between windows).
//!
//! Cost: about `w·(n + 2^(c−1))` additions; the width is chosen as on the
//! device ([`window_bits`]).

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ff::{AdditiveGroup, BigInteger, PrimeField, Zero};

use super::check_lengths;
use crate::backend::ProvingBackend;
use crate::errors::BackendError;

/// Window width for `n` points, the device's rule (`coalition-gpu`'s
/// `layout::window_bits`): one thread sums one bucket, so a top window of
/// only 2–3 bits would funnel nearly every point into two or three buckets;
/// only widths whose top window keeps at least 7 bits (5, 8, 13, 15, 16)
/// are used, the one with the fewest additions `w·(n + 2^(c−1))`.
pub fn window_bits(n: usize) -> usize {
    const BALANCED: [usize; 5] = [5, 8, 13, 15, 16];
    BALANCED
        .into_iter()
        .min_by_key(|&c| num_windows(c) * (n + (1 << (c - 1))))
        .unwrap_or(16)
}

/// Chunks a window's reduction is split into when `windows` windows are
/// reduced together, the device's rule (one thread each there): start at
/// the least power of two `T` with `T² ≥ 2B`, then double while
/// `windows·T` is under 2^14 threads and each chunk keeps at least 8
/// buckets; at most `B`. The device sums the `T` chunk results as a tree;
/// here they are added in order, the same sum.
pub fn reduce_chunks(buckets: usize, windows: usize) -> usize {
    let mut t = 1usize;
    while t * t < 2 * buckets {
        t *= 2;
    }
    while t * windows < (1 << 14) && 16 * t <= buckets {
        t *= 2;
    }
    t.min(buckets)
}

/// One nonzero signed digit: bucket `|d| − 1`, point index, sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigitEntry {
    /// `|d| − 1`.
    pub bucket: u32,
    /// Index of the point.
    pub point: u32,
    /// Whether `d < 0`.
    pub negative: bool,
}

/// Number of windows for 254-bit scalars (one more bit for the last carry).
pub fn num_windows(c: usize) -> usize {
    (Fr::MODULUS_BIT_SIZE as usize + 1).div_ceil(c)
}

/// The signed digits of `scalar` in windows of `c` bits, lowest first.
pub fn signed_digits(scalar: &Fr, c: usize) -> Vec<i32> {
    let bits = scalar.into_bigint().to_bits_le();
    let windows = num_windows(c);
    let half = 1i64 << (c - 1);
    let mut carry = 0i64;
    let mut digits = Vec::with_capacity(windows);
    for j in 0..windows {
        let mut raw = 0i64;
        for b in 0..c {
            if bits.get(j * c + b).copied().unwrap_or(false) {
                raw |= 1 << b;
            }
        }
        let mut d = raw + carry;
        carry = 0;
        if d > half {
            d -= 1 << c;
            carry = 1;
        }
        digits.push(d as i32);
    }
    debug_assert_eq!(carry, 0, "254-bit scalars fit in the windows");
    digits
}

/// For each window, its nonzero digits sorted by bucket (counting sort).
pub fn sorted_windows(scalars: &[Fr], c: usize) -> Vec<Vec<DigitEntry>> {
    let windows = num_windows(c);
    let buckets = 1usize << (c - 1);
    let digits: Vec<Vec<i32>> = scalars.iter().map(|s| signed_digits(s, c)).collect();
    (0..windows)
        .map(|j| {
            let mut counts = vec![0usize; buckets + 1];
            for d in &digits {
                if d[j] != 0 {
                    counts[d[j].unsigned_abs() as usize] += 1;
                }
            }
            // counts[m] becomes the start of bucket m − 1.
            let mut start = 0;
            for count in counts.iter_mut() {
                let n = *count;
                *count = start;
                start += n;
            }
            let mut sorted = vec![
                DigitEntry {
                    bucket: 0,
                    point: 0,
                    negative: false
                };
                start
            ];
            for (i, d) in digits.iter().enumerate() {
                let digit = d[j];
                if digit != 0 {
                    let bucket = digit.unsigned_abs() as usize - 1;
                    let slot = &mut counts[bucket + 1];
                    sorted[*slot] = DigitEntry {
                        bucket: bucket as u32,
                        point: i as u32,
                        negative: digit < 0,
                    };
                    *slot += 1;
                }
            }
            sorted
        })
        .collect()
}

fn bucket_msm<P: SWCurveConfig>(
    bases: &[ark_ec::short_weierstrass::Affine<P>],
    scalars: &[Fr],
    c: usize,
) -> ark_ec::short_weierstrass::Projective<P> {
    type Proj<P> = ark_ec::short_weierstrass::Projective<P>;
    let buckets = 1usize << (c - 1);
    let mut total = Proj::<P>::zero();
    for entries in sorted_windows(scalars, c).iter().rev() {
        for _ in 0..c {
            total.double_in_place();
        }
        let mut sums = vec![Proj::<P>::zero(); buckets];
        for e in entries {
            let p = bases[e.point as usize];
            if e.negative {
                sums[e.bucket as usize] -= p;
            } else {
                sums[e.bucket as usize] += p;
            }
        }
        // Chunk [lo, hi): a running sum from the top gives
        // Σ (m − lo + 1)·B_m; adding lo·Σ B_m makes every weight m + 1.
        let chunks = reduce_chunks(buckets, num_windows(c));
        let per = buckets.div_ceil(chunks);
        let mut window = Proj::<P>::zero();
        for lo in (0..buckets).step_by(per) {
            let hi = (lo + per).min(buckets);
            let mut running = Proj::<P>::zero();
            let mut acc = Proj::<P>::zero();
            for sum in sums[lo..hi].iter().rev() {
                running += sum;
                acc += running;
            }
            window += acc + running * P::ScalarField::from(lo as u64);
        }
        total += window;
    }
    total
}

/// The bucket algorithm above, single-threaded; the CPU reference for the
/// GPU kernels.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReferencePippenger {
    /// Fixed window width (`None`: [`window_bits`] of the input size).
    pub window_bits: Option<usize>,
}

impl ReferencePippenger {
    fn c(&self, n: usize) -> usize {
        self.window_bits
            .unwrap_or_else(|| window_bits(n))
            .clamp(2, 16)
    }
}

impl ProvingBackend for ReferencePippenger {
    fn name(&self) -> String {
        "reference-pippenger".into()
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        Ok(bucket_msm(bases, scalars, self.c(bases.len())))
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        check_lengths(bases.len(), scalars.len())?;
        Ok(bucket_msm(bases, scalars, self.c(bases.len())))
    }
}
