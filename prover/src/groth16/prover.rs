//! The Groth16 prover over a [`ProvingBackend`], for one statement or a batch.

use std::sync::Arc;

use ark_bn254::{Bn254, Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{UniformRand, Zero};
use ark_groth16::{Proof, ProvingKey};
use ark_relations::gr1cs::ConstraintSynthesizer;
use coalition_core::shielded::Groth16Proof;
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;

use crate::backend::ProvingBackend;
use crate::errors::BackendError;
use crate::errors::ProofError;
use crate::msm::CpuBackend;
use crate::qap;

use super::synthesis::{synthesize_checked, Synthesized};

/// Proves `circuit` with `pk` on the CPU, zero-knowledge randomness `r, s`
/// drawn from `rng`.
pub fn prove<C, R>(
    name: &'static str,
    pk: &ProvingKey<Bn254>,
    circuit: C,
    rng: &mut R,
) -> Result<Groth16Proof, ProofError>
where
    C: ConstraintSynthesizer<Fr> + Default + 'static,
    R: RngCore + CryptoRng,
{
    let synthesized = synthesize_checked(name, circuit)?;
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    prove_with_backend(pk, &synthesized, r, s, &CpuBackend)
}

/// The proof of `synthesized` under `pk` with randomness `r, s`, every MSM
/// computed by `backend`.
pub fn prove_with_backend(
    pk: &ProvingKey<Bn254>,
    synthesized: &Synthesized,
    r: Fr,
    s: Fr,
    backend: &dyn ProvingBackend,
) -> Result<Groth16Proof, ProofError> {
    let mut proofs =
        prove_batch_with_backend(pk, std::slice::from_ref(synthesized), &[(r, s)], backend)?;
    proofs
        .pop()
        .ok_or_else(|| ProofError::Groth16("empty batch".into()))
}

/// Statements whose evaluations are held at once (see the prover).
const QUOTIENT_CHUNK: usize = 64;

/// The four MSMs over `z` (or its witness part) for every statement.
struct AssignmentMsms {
    a: Vec<G1Projective>,
    b_g1: Vec<G1Projective>,
    b_g2: Vec<G2Projective>,
    l: Vec<G1Projective>,
}

fn assignment_msms(
    pk: &ProvingKey<Bn254>,
    batch: &[Synthesized],
    backend: &dyn ProvingBackend,
) -> Result<AssignmentMsms, BackendError> {
    let z_sets: Vec<&[Fr]> = batch.iter().map(|b| &b.assignment()[1..]).collect();
    let w_sets: Vec<&[Fr]> = batch
        .iter()
        .map(|b| &b.assignment()[b.num_inputs()..])
        .collect();
    Ok(AssignmentMsms {
        l: backend.msm_g1_batch(&pk.l_query, &w_sets)?,
        a: backend.msm_g1_batch(&pk.a_query[1..], &z_sets)?,
        b_g1: backend.msm_g1_batch(&pk.b_g1_query[1..], &z_sets)?,
        b_g2: backend.msm_g2_batch(&pk.b_g2_query[1..], &z_sets)?,
    })
}

/// Proofs of many statements of one circuit under `pk`, `randomness[i]` the
/// `(r, s)` of proof `i`. Each of the five MSMs runs once for the whole
/// batch through [`ProvingBackend::msm_g1_batch`] / [`ProvingBackend::msm_g2_batch`]
/// (one pass over the key's bases on the GPU), and the witness maps (the
/// QAP quotients `h`, [`qap`]) through [`ProvingBackend::qap_quotients`].
/// The four MSMs over the assignment run while the quotients, which only
/// the fifth needs, are computed. Every proof equals the one
/// [`prove_with_backend`] makes alone.
pub fn prove_batch_with_backend(
    pk: &ProvingKey<Bn254>,
    batch: &[Synthesized],
    randomness: &[(Fr, Fr)],
    backend: &dyn ProvingBackend,
) -> Result<Vec<Groth16Proof>, ProofError> {
    if batch.len() != randomness.len() {
        return Err(ProofError::Groth16("one (r, s) pair per statement".into()));
    }
    let Some(first) = batch.first() else {
        return Ok(Vec::new());
    };
    let num_variables = first.assignment().len();
    let num_inputs = first.num_inputs();
    for synthesized in batch {
        if synthesized.assignment().len() != num_variables
            || synthesized.num_inputs() != num_inputs
            || synthesized.r1cs().num_variables() != num_variables
            || !Arc::ptr_eq(synthesized.r1cs(), first.r1cs())
            || pk.a_query.len() != num_variables
            || pk.b_g1_query.len() != num_variables
            || pk.b_g2_query.len() != num_variables
            || pk.l_query.len() + num_inputs != num_variables
        {
            return Err(ProofError::Groth16(
                "proving key does not match the circuit".into(),
            ));
        }
    }
    let backend_error = |e: BackendError| ProofError::Groth16(e.to_string());
    let log_n = qap::domain_log2(first.r1cs()).map_err(backend_error)?;
    let quotients = || -> Result<Vec<Vec<Fr>>, BackendError> {
        // Evaluations for QUOTIENT_CHUNK statements at a time: each is
        // 3·n field elements (3 MiB for Spend), so a batch of 256 would
        // otherwise hold most of a GiB at once.
        let mut hs = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(QUOTIENT_CHUNK) {
            let evaluations = chunk
                .par_iter()
                .map(|syn| {
                    qap::evaluations_from_rows(syn.r1cs(), syn.assignment(), syn.rows(), log_n)
                })
                .collect::<Result<Vec<_>, _>>()?;
            hs.extend(backend.qap_quotients(log_n, &evaluations)?);
        }
        Ok(hs)
    };
    let (hs, assignment) = rayon::join(quotients, || assignment_msms(pk, batch, backend));
    let (hs, z) = (
        hs.map_err(backend_error)?,
        assignment.map_err(backend_error)?,
    );
    // h has n coefficients and h_query n − 1 (the top one is zero for a
    // satisfying witness; arkworks drops it too). Anything else is a key
    // for another domain or a faulty backend: refused, never truncated
    // into proofs that do not verify.
    let n = 1usize << log_n;
    if pk.h_query.len() + 1 != n {
        return Err(ProofError::Groth16(
            "proving key does not match the circuit's domain".into(),
        ));
    }
    if hs.len() != batch.len() || hs.iter().any(|h| h.len() != n) {
        return Err(ProofError::Groth16(
            "backend returned a quotient of the wrong size".into(),
        ));
    }
    let h_len = n - 1;
    let h_sets: Vec<&[Fr]> = hs.iter().map(|h| &h[..h_len]).collect();
    let h_acc = backend
        .msm_g1_batch(&pk.h_query[..h_len], &h_sets)
        .map_err(backend_error)?;
    let n = batch.len();
    if [
        h_acc.len(),
        z.l.len(),
        z.a.len(),
        z.b_g1.len(),
        z.b_g2.len(),
    ]
    .iter()
    .any(|&len| len != n)
    {
        return Err(ProofError::Groth16("backend returned a short batch".into()));
    }
    Ok(randomness
        .iter()
        .enumerate()
        .map(|(i, &(r, s))| {
            let a = pk.delta_g1 * r + pk.a_query[0] + z.a[i] + pk.vk.alpha_g1;
            let b_g1 = if r.is_zero() {
                G1Projective::zero()
            } else {
                pk.delta_g1 * s + pk.b_g1_query[0] + z.b_g1[i] + pk.beta_g1
            };
            let b_g2 = pk.vk.delta_g2 * s + pk.b_g2_query[0] + z.b_g2[i] + pk.vk.beta_g2;
            let c = a * s + b_g1 * r - pk.delta_g1 * (r * s) + z.l[i] + h_acc[i];
            Groth16Proof(Proof {
                a: a.into_affine(),
                b: b_g2.into_affine(),
                c: c.into_affine(),
            })
        })
        .collect())
}
