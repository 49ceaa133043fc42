//! The host side of the NTT kernels (`ntt.cu`): the tables a domain needs,
//! and `Fr` vectors as device words.
//!
//! `Fr` travels in Montgomery form, arkworks' limbs as they are, so the
//! witness map's vectors cross to the device and back without conversion.

use ark_bn254::Fr;
use ark_ff::{BigInt, FftField, Field, One, PrimeField};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rayon::prelude::*;

use crate::error::GpuError;
use crate::layout::FR_WORDS;

/// The largest domain the kernels take: BN254's `Fr` has 2-adicity 28.
pub const MAX_LOG_N: usize = 28;

/// Everything the witness map's transforms over the domain of size
/// `n = 2^log_n` (and its coset `g·⟨ω⟩`, `g` = `Fr::GENERATOR`, as in
/// arkworks) need besides the vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NttTables {
    /// `log2 n`.
    pub log_n: usize,
    /// `ω^k`, `k < n/2`.
    pub omega: Vec<Fr>,
    /// `ω^−k`, `k < n/2`.
    pub omega_inv: Vec<Fr>,
    /// `g^i / n`, `i < n`: the inverse transform's `1/n` and the move to
    /// the coset in one scaling.
    pub into_coset: Vec<Fr>,
    /// `g^−i / n`, `i < n`: the inverse transform's `1/n` and the move back
    /// from the coset.
    pub out_of_coset: Vec<Fr>,
    /// `1/Z(g) = 1/(g^n − 1)`, the vanishing polynomial on the coset.
    pub z_inv: Fr,
}

fn powers(base: Fr, start: Fr, len: usize) -> Vec<Fr> {
    let mut out = Vec::with_capacity(len);
    let mut acc = start;
    for _ in 0..len {
        out.push(acc);
        acc *= base;
    }
    out
}

impl NttTables {
    /// The tables for `n = 2^log_n`, `1 ≤ log_n ≤` [`MAX_LOG_N`].
    pub fn new(log_n: usize) -> Result<Self, GpuError> {
        if !(1..=MAX_LOG_N).contains(&log_n) {
            return Err(GpuError::Domain(log_n));
        }
        let n = 1usize << log_n;
        let omega = Fr::get_root_of_unity(n as u64).ok_or(GpuError::Domain(log_n))?;
        let omega_inv = omega.inverse().ok_or(GpuError::Domain(log_n))?;
        let n_inv = Fr::from(n as u64)
            .inverse()
            .ok_or(GpuError::Domain(log_n))?;
        let g = Fr::GENERATOR;
        let g_inv = g.inverse().ok_or(GpuError::Domain(log_n))?;
        let z_inv = (g.pow([n as u64]) - Fr::one())
            .inverse()
            .ok_or(GpuError::Domain(log_n))?;
        Ok(NttTables {
            log_n,
            omega: powers(omega, Fr::one(), n / 2),
            omega_inv: powers(omega_inv, Fr::one(), n / 2),
            into_coset: powers(g, n_inv, n),
            out_of_coset: powers(g_inv, n_inv, n),
            z_inv,
        })
    }
}

/// arkworks' `LibsnarkReduction` quotient step on the host (ark-poly's
/// radix-2 NTTs), from evaluations `a, b, c` of one power-of-two length:
/// the value the device's witness map must reproduce (its self-test and
/// the differential tests compare against it).
pub fn reference_quotient(a: &[Fr], b: &[Fr], c: &[Fr]) -> Result<Vec<Fr>, GpuError> {
    let n = a.len();
    let log_n = n.trailing_zeros() as usize;
    if !n.is_power_of_two() || b.len() != n || c.len() != n {
        return Err(GpuError::VectorLength(n));
    }
    let domain = Radix2EvaluationDomain::<Fr>::new(n)
        .filter(|d| d.size() == n && log_n >= 1)
        .ok_or(GpuError::Domain(log_n))?;
    let coset = domain
        .get_coset(Fr::GENERATOR)
        .ok_or(GpuError::Domain(log_n))?;
    let on_coset = |v: &[Fr]| {
        let mut v = v.to_vec();
        domain.ifft_in_place(&mut v);
        coset.fft_in_place(&mut v);
        v
    };
    let (a, b, c) = (on_coset(a), on_coset(b), on_coset(c));
    let z_inv = domain
        .evaluate_vanishing_polynomial(Fr::GENERATOR)
        .inverse()
        .ok_or(GpuError::Domain(log_n))?;
    let mut h: Vec<Fr> = a
        .iter()
        .zip(&b)
        .zip(&c)
        .map(|((a, b), c)| (*a * b - c) * z_inv)
        .collect();
    coset.ifft_in_place(&mut h);
    Ok(h)
}

/// Elements from Montgomery words. Every kernel reduces below the modulus;
/// a word group that is not (a device fault) is an error, never an `Fr`
/// outside the field.
pub fn fr_from_words(words: &[u32]) -> Result<Vec<Fr>, GpuError> {
    words
        .par_chunks_exact(FR_WORDS)
        .map(fr_from_element_words)
        .collect()
}

/// [`fr_from_words`] on the calling thread only (for callers that must not
/// wait on rayon, see `CudaDevice::qap_quotients`).
pub fn fr_from_words_serial(words: &[u32]) -> Result<Vec<Fr>, GpuError> {
    words
        .chunks_exact(FR_WORDS)
        .map(fr_from_element_words)
        .collect()
}

fn fr_from_element_words(w: &[u32]) -> Result<Fr, GpuError> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        *limb = u64::from(w[2 * i]) | (u64::from(w[2 * i + 1]) << 32);
    }
    let limbs = BigInt(limbs);
    if limbs >= Fr::MODULUS {
        return Err(GpuError::Driver("device returned an unreduced Fr".into()));
    }
    Ok(Fr::new_unchecked(limbs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::fr_words;
    use ark_ff::{UniformRand, Zero};
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn tables_exist_only_for_radix2_domains_the_field_has() {
        assert_eq!(NttTables::new(0), Err(GpuError::Domain(0)));
        assert_eq!(
            NttTables::new(MAX_LOG_N + 1),
            Err(GpuError::Domain(MAX_LOG_N + 1))
        );
        let t = NttTables::new(3).unwrap();
        assert_eq!(t.omega.len(), 4);
        assert_eq!(t.into_coset.len(), 8);
        // ω has order exactly n: ω^(n/2) = −1.
        assert_eq!(t.omega[3] * t.omega[1], -Fr::one());
        assert_eq!(t.omega[1] * t.omega_inv[1], Fr::one());
    }

    #[test]
    fn words_round_trip_and_unreduced_words_are_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let v: Vec<Fr> = (0..9)
            .map(|_| Fr::rand(&mut rng))
            .chain([Fr::zero(), -Fr::one()])
            .collect();
        assert_eq!(fr_from_words(&fr_words(&[&v])).unwrap(), v);
        let mut modulus = Vec::new();
        for limb in Fr::MODULUS.0 {
            modulus.extend([limb as u32, (limb >> 32) as u32]);
        }
        assert!(fr_from_words(&modulus).is_err());
        assert!(fr_from_words(&[u32::MAX; FR_WORDS]).is_err());
    }
}
