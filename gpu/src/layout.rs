//! The device representation of field elements and points, and back.
//!
//! `Fq` and `Fr` travel as their arkworks Montgomery limbs (4 × u64 =
//! 8 × u32, little endian, `R = 2^256`), so nothing is converted on the
//! way in: the host only copies, and the MSM's digit kernel takes each
//! scalar out of Montgomery form itself (one product by 1, cheap on the
//! device; on the host it was the costliest step of an upload). An affine point is `x ‖ y` with the
//! identity as `(0, 0)` (not on either curve). Results come back in XYZZ
//! coordinates `(X, Y, ZZ, ZZZ)`, `x = X/ZZ`, `y = Y/ZZZ`, `ZZ = 0` the
//! identity.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, BigInt, Field, PrimeField, Zero};
use rayon::prelude::*;

/// u32 words of one `Fq`.
pub const FQ_WORDS: usize = 8;

/// A field the kernels are instantiated for.
pub trait DeviceField: Field {
    /// Words per element.
    const WORDS: usize;
    /// Appends the Montgomery limbs.
    fn push_words(&self, out: &mut Vec<u32>);
    /// Reads Montgomery limbs.
    fn from_words(words: &[u32]) -> Self;
}

fn fq_words(f: &Fq, out: &mut Vec<u32>) {
    for limb in f.0 .0 {
        out.push(limb as u32);
        out.push((limb >> 32) as u32);
    }
}

fn fq_from_words(words: &[u32]) -> Fq {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        *limb = u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32);
    }
    Fq::new_unchecked(BigInt(limbs))
}

impl DeviceField for Fq {
    const WORDS: usize = FQ_WORDS;
    fn push_words(&self, out: &mut Vec<u32>) {
        fq_words(self, out);
    }
    fn from_words(words: &[u32]) -> Self {
        fq_from_words(words)
    }
}

impl DeviceField for Fq2 {
    const WORDS: usize = 2 * FQ_WORDS;
    fn push_words(&self, out: &mut Vec<u32>) {
        fq_words(&self.c0, out);
        fq_words(&self.c1, out);
    }
    fn from_words(words: &[u32]) -> Self {
        Fq2::new(fq_from_words(&words[..8]), fq_from_words(&words[8..16]))
    }
}

/// A curve the kernels are instantiated for.
pub trait DeviceCurve {
    /// Coordinate field.
    type Base: DeviceField;
    /// Affine points.
    type Affine: AffineRepr<BaseField = Self::Base, Group = Self::Projective>;
    /// Projective points.
    type Projective: ark_ec::CurveGroup<Affine = Self::Affine> + From<Self::Affine>;
    /// Kernel-name suffix.
    const SUFFIX: &'static str;
    /// The affine point `(x, y)`, trusted to be on the curve (it comes from
    /// group operations on curve points).
    fn affine_from_xy(x: Self::Base, y: Self::Base) -> Self::Affine;
    /// The Jacobian point `(X, Y, Z)` (`x = X/Z², y = Y/Z³`, arkworks'
    /// projective form), trusted likewise.
    fn jacobian(x: Self::Base, y: Self::Base, z: Self::Base) -> Self::Projective;
}

/// BN254 G1 (coordinates in `Fq`).
pub struct G1;
/// BN254 G2 (coordinates in `Fq2`).
pub struct G2;

impl DeviceCurve for G1 {
    type Base = Fq;
    type Affine = G1Affine;
    type Projective = G1Projective;
    const SUFFIX: &'static str = "g1";
    fn affine_from_xy(x: Fq, y: Fq) -> G1Affine {
        G1Affine::new_unchecked(x, y)
    }
    fn jacobian(x: Fq, y: Fq, z: Fq) -> G1Projective {
        G1Projective::new_unchecked(x, y, z)
    }
}

impl DeviceCurve for G2 {
    type Base = Fq2;
    type Affine = G2Affine;
    type Projective = G2Projective;
    const SUFFIX: &'static str = "g2";
    fn affine_from_xy(x: Fq2, y: Fq2) -> G2Affine {
        G2Affine::new_unchecked(x, y)
    }
    fn jacobian(x: Fq2, y: Fq2, z: Fq2) -> G2Projective {
        G2Projective::new_unchecked(x, y, z)
    }
}

/// `x ‖ y` for every point, `(0, 0)` for the identity.
pub fn bases_to_words<C: DeviceCurve>(bases: &[C::Affine]) -> Vec<u32> {
    let mut out = Vec::with_capacity(bases.len() * 2 * C::Base::WORDS);
    for p in bases {
        match p.xy() {
            Some((x, y)) => {
                x.push_words(&mut out);
                y.push_words(&mut out);
            }
            None => out.extend(std::iter::repeat_n(0, 2 * C::Base::WORDS)),
        }
    }
    out
}

/// u32 words of one `Fr`.
pub const FR_WORDS: usize = 8;

/// The Montgomery words of every element of every vector, one vector after
/// another.
pub fn fr_words(vectors: &[&[Fr]]) -> Vec<u32> {
    let total: usize = vectors.iter().map(|v| v.len()).sum();
    let mut out = vec![0u32; total * FR_WORDS];
    fr_words_into(vectors, &mut out);
    out
}

/// [`fr_words`] written into `out`, which must hold exactly
/// `FR_WORDS` words per element (e.g. page-locked staging memory), on
/// every core.
///
/// # Panics
/// If `out` has another length (a caller's sizing bug, never input).
pub fn fr_words_into(vectors: &[&[Fr]], out: &mut [u32]) {
    let total: usize = vectors.iter().map(|v| v.len()).sum();
    assert_eq!(out.len(), total * FR_WORDS, "staging sized for the vectors");
    let mut rest = out;
    for vector in vectors {
        let (head, tail) = rest.split_at_mut(vector.len() * FR_WORDS);
        head.par_chunks_exact_mut(FR_WORDS)
            .zip(vector.par_iter())
            .for_each(|(words, x)| fr_to_words(x, words));
        rest = tail;
    }
}

/// One `Fr`'s Montgomery limbs as `FR_WORDS` words (low half first).
pub fn fr_to_words(x: &Fr, words: &mut [u32]) {
    for (pair, limb) in words.chunks_exact_mut(2).zip(x.0 .0) {
        pair[0] = limb as u32;
        pair[1] = (limb >> 32) as u32;
    }
}

/// An XYZZ point (`4 · WORDS` words) as a projective point, without an
/// inversion: with `Z = ZZ·ZZZ`,
///
/// ```text
/// X_J = x·Z² = X·ZZ·ZZZ²,   Y_J = y·Z³ = Y·ZZ³·ZZZ²,
/// ```
///
/// seven products where the affine form took two inversions (a batch of
/// 64 Spends brings back 6,400 window sums, five MSM calls of 64 × 20
/// windows: their inversions were most of the 188 ms this host step took
/// in the first H100 run).
pub fn xyzz_to_projective<C: DeviceCurve>(words: &[u32]) -> C::Projective {
    let w = C::Base::WORDS;
    let zz = C::Base::from_words(&words[2 * w..3 * w]);
    if zz.is_zero() {
        return C::Projective::zero();
    }
    let x = C::Base::from_words(&words[..w]);
    let y = C::Base::from_words(&words[w..2 * w]);
    let zzz = C::Base::from_words(&words[3 * w..4 * w]);
    let t = zz * zzz.square();
    let x_j = x * t;
    let y_j = y * zz.square() * t;
    // ZZZ = 0 with ZZ ≠ 0 is no point: Z = 0, the identity, as before.
    C::jacobian(x_j, y_j, zz * zzz)
}

/// Window width for `n` points on the device.
///
/// One thread sums one bucket, so a window whose digits take few values
/// serialises: the top window holds only the scalar's top
/// `255 − (w − 1)·c` bits, and for `c` = 11, 12 or 14 that is 2–3 bits, so
/// nearly every point lands in two or three buckets of that window and one
/// thread adds them one by one (the first H200 run measured 2^14 and 2^18,
/// which used `c` = 11 and 14, 7–50× slower than their neighbours). Only
/// widths whose top window keeps ≥ 7 bits are used — 5, 8, 13, 15, 16 — and
/// among them the one with the fewest additions `w·(n + 2^(c−1))`.
pub fn window_bits(n: usize) -> usize {
    const BALANCED: [usize; 5] = [5, 8, 13, 15, 16];
    BALANCED
        .into_iter()
        .min_by_key(|&c| num_windows(c) * (n + (1 << (c - 1))))
        .unwrap_or(16)
}

/// Windows for 254-bit scalars with a final carry.
pub fn num_windows(c: usize) -> usize {
    (Fr::MODULUS_BIT_SIZE as usize + 1).div_ceil(c)
}

/// `Σ_j 2^{cj}·W_j` by Horner's rule over the window sums (lowest first).
pub fn combine_windows<C: DeviceCurve>(windows: &[C::Projective], c: usize) -> C::Projective {
    let mut total = C::Projective::zero();
    for w in windows.iter().rev() {
        for _ in 0..c {
            total.double_in_place();
        }
        total += w;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// `(x·λ², y·λ³, λ², λ³)` as words: one of the many XYZZ forms of `p`.
    fn xyzz_words<C: DeviceCurve>(p: &C::Affine, lambda: C::Base) -> Vec<u32> {
        let (x, y) = p.xy().expect("not the identity");
        let (zz, zzz) = (lambda.square(), lambda.square() * lambda);
        let mut out = Vec::new();
        for f in [x * zz, y * zzz, zz, zzz] {
            f.push_words(&mut out);
        }
        out
    }

    fn round_trip<C: DeviceCurve>()
    where
        C::Projective: PrimeGroup<ScalarField = Fr>,
    {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        for _ in 0..8 {
            let p = (C::Projective::generator() * Fr::rand(&mut rng)).into_affine();
            let words = xyzz_words::<C>(&p, C::Base::rand(&mut rng));
            assert_eq!(xyzz_to_projective::<C>(&words).into_affine(), p);
        }
        // ZZ = 0 is the identity whatever the rest holds; so is ZZZ = 0.
        let p = (C::Projective::generator() * Fr::from(5u64)).into_affine();
        let mut words = xyzz_words::<C>(&p, C::Base::from(3u64));
        let w = C::Base::WORDS;
        words[3 * w..].fill(0);
        assert!(xyzz_to_projective::<C>(&words).is_zero());
        words[2 * w..3 * w].fill(0);
        assert!(xyzz_to_projective::<C>(&words).is_zero());
    }

    #[test]
    fn xyzz_results_come_back_as_the_same_point_without_inversions() {
        round_trip::<G1>();
        round_trip::<G2>();
    }
}
