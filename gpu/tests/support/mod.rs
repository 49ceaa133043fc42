//! Helpers shared by the GPU crate's tests: random bases, and arkworks'
//! witness-map quotient as the reference the kernels must reproduce.
#![allow(dead_code)] // each test file uses its own subset

use ark_bn254::Fr;
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{FftField, Field, UniformRand};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rand_chacha::ChaCha20Rng;

/// `n` random points of `G`.
pub fn random_points<G: PrimeGroup + CurveGroup>(
    n: usize,
    rng: &mut ChaCha20Rng,
) -> Vec<G::Affine> {
    let g = G::generator();
    let projective: Vec<G> = (0..n).map(|_| g * G::ScalarField::rand(rng)).collect();
    G::normalize_batch(&projective)
}

/// `n` random scalars.
pub fn random_scalars(n: usize, rng: &mut ChaCha20Rng) -> Vec<Fr> {
    (0..n).map(|_| Fr::rand(rng)).collect()
}

/// arkworks' `LibsnarkReduction` quotient step, from given evaluations.
pub fn arkworks_quotient(a: &[Fr], b: &[Fr], c: &[Fr]) -> Vec<Fr> {
    let domain = Radix2EvaluationDomain::<Fr>::new(a.len()).unwrap();
    let coset = domain.get_coset(Fr::GENERATOR).unwrap();
    let to_coset = |v: &[Fr]| {
        let mut v = v.to_vec();
        domain.ifft_in_place(&mut v);
        coset.fft_in_place(&mut v);
        v
    };
    let (a, b, c) = (to_coset(a), to_coset(b), to_coset(c));
    let mut ab = domain.mul_polynomials_in_evaluation_domain(&a, &b);
    let z_inv = domain
        .evaluate_vanishing_polynomial(Fr::GENERATOR)
        .inverse()
        .unwrap();
    for (x, c) in ab.iter_mut().zip(c) {
        *x = (*x - c) * z_inv;
    }
    coset.ifft_in_place(&mut ab);
    ab
}
