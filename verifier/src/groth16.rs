//! Groth16 verification, one proof at a time or many at once.
//!
//! A proof `(A, B, C)` for inputs `x` under key `(α, β, γ, δ, IC)` verifies iff
//!
//! ```text
//! e(A, B) = e(α, β) · e(IC(x), γ) · e(C, δ),   IC(x) = IC₀ + Σ_j x_j·IC_j.
//! ```
//!
//! **Batch** (random linear combination): draw independent 128-bit `r_i` and
//! check the product of the `r_i`-th powers of all equations,
//!
//! ```text
//! Π_i e(r_i·A_i, B_i) · Π_k [ e(−Σ_{i∈k} r_i·IC_k(x_i), γ_k) · e(−Σ_{i∈k} r_i·C_i, δ_k) ]
//!     = Π_k e(α_k, β_k)^{Σ_{i∈k} r_i}
//! ```
//!
//! grouping proofs by verifying key `k`. The left side is one multi-Miller
//! loop over `N + 2K` pairs and **one** final exponentiation, instead of
//! `N` final exponentiations and `3N` Miller loops; `Σ r_i·IC(x_i)` is one
//! MSM over the `IC` bases per key. If any proof is invalid the batch
//! passes with probability at most `1/(2^128 − 1)` (Schwartz–Zippel over the
//! `r_i`); a failing batch is re-checked proof by proof by the caller.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{Field, PrimeField, Zero};
use ark_groth16::{Groth16, PreparedVerifyingKey};
use coalition_core::shielded::Groth16Proof;
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;

use crate::errors::VerificationError;

/// A proof, its public inputs and the key to check them under.
#[derive(Clone, Copy, Debug)]
pub struct Groth16Item<'a> {
    /// The prepared verifying key.
    pub key: &'a PreparedVerifyingKey<Bn254>,
    /// Public inputs (without the leading 1).
    pub inputs: &'a [Fr],
    /// The proof.
    pub proof: &'a Groth16Proof,
}

impl Groth16Item<'_> {
    /// Refuses an input vector whose length does not match the key.
    pub(crate) fn check_shape(&self) -> Result<(), VerificationError> {
        if self.inputs.len() + 1 != self.key.vk.gamma_abc_g1.len() {
            return Err(VerificationError::MalformedStatement(
                "number of public inputs does not match the verifying key",
            ));
        }
        Ok(())
    }
}

/// Verifies one proof: `IC(x)` as one MSM, then three Miller loops and one
/// final exponentiation.
pub fn verify_groth16(item: &Groth16Item<'_>) -> Result<(), VerificationError> {
    item.check_shape()?;
    let bases = &item.key.vk.gamma_abc_g1;
    let ic = G1Projective::msm(&bases[1..], item.inputs).map_err(|_| VerificationError::Groth16)?
        + bases[0];
    match Groth16::<Bn254>::verify_proof_with_prepared_inputs(item.key, &item.proof.0, &ic) {
        Ok(true) => Ok(()),
        _ => Err(VerificationError::Groth16),
    }
}

/// Verifies many proofs with one final exponentiation (see module docs).
/// Accepts iff every proof verifies, except with probability `≤ 2^-128`.
pub fn verify_groth16_batch<R: RngCore + CryptoRng>(
    items: &[Groth16Item<'_>],
    rng: &mut R,
) -> Result<(), VerificationError> {
    for item in items {
        item.check_shape()?;
    }
    if items.is_empty() {
        return Ok(());
    }
    let weights: Vec<Fr> = items
        .iter()
        .map(|_| loop {
            let mut bytes = [0u8; 16];
            rng.fill_bytes(&mut bytes);
            // Uniform over the 2^128 − 1 non-zero values: no proof drops out.
            let weight = u128::from_le_bytes(bytes);
            if weight != 0 {
                break Fr::from(weight);
            }
        })
        .collect();

    // r_i·A_i paired with B_i.
    let (mut g1, mut g2): (Vec<_>, Vec<_>) = items
        .par_iter()
        .zip(weights.par_iter())
        .map(|(item, r)| {
            let a: <Bn254 as Pairing>::G1Prepared = (item.proof.0.a * r).into_affine().into();
            let b: <Bn254 as Pairing>::G2Prepared = item.proof.0.b.into();
            (a, b)
        })
        .unzip();

    // Per verifying key: Σ r_i·IC(x_i), Σ r_i·C_i and e(α, β)^{Σ r_i}.
    let mut expected = PairingOutput::<Bn254>::zero();
    let mut done = vec![false; items.len()];
    for start in 0..items.len() {
        if done[start] {
            continue;
        }
        let key = items[start].key;
        let group: Vec<usize> = (start..items.len())
            .filter(|&i| !done[i] && std::ptr::eq(items[i].key, key))
            .collect();
        let mut ic_scalars = vec![Fr::zero(); key.vk.gamma_abc_g1.len()];
        let mut c_bases: Vec<G1Affine> = Vec::with_capacity(group.len());
        let mut c_scalars: Vec<Fr> = Vec::with_capacity(group.len());
        for &i in &group {
            done[i] = true;
            let r = weights[i];
            ic_scalars[0] += r;
            for (slot, x) in ic_scalars[1..].iter_mut().zip(items[i].inputs) {
                *slot += r * x;
            }
            c_bases.push(items[i].proof.0.c);
            c_scalars.push(r);
        }
        let ic = G1Projective::msm(&key.vk.gamma_abc_g1, &ic_scalars)
            .map_err(|_| VerificationError::Groth16)?;
        let c = G1Projective::msm(&c_bases, &c_scalars).map_err(|_| VerificationError::Groth16)?;
        g1.push(ic.into_affine().into());
        g2.push(key.gamma_g2_neg_pc.clone());
        g1.push(c.into_affine().into());
        g2.push(key.delta_g2_neg_pc.clone());
        expected += PairingOutput(key.alpha_g1_beta_g2.pow(ic_scalars[0].into_bigint()));
    }

    let miller = Bn254::multi_miller_loop(g1, g2);
    match Bn254::final_exponentiation(miller) {
        Some(result) if result == expected => Ok(()),
        _ => Err(VerificationError::Groth16),
    }
}
