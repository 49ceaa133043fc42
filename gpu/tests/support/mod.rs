//! Helpers shared by the GPU crate's tests: random bases, and arkworks'
//! witness-map quotient as the reference the kernels must reproduce.
#![allow(dead_code)] // each test file uses its own subset

use ark_bn254::Fr;
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::UniformRand;
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
    coalition_gpu::ntt::reference_quotient(a, b, c).expect("a power-of-two domain")
}
