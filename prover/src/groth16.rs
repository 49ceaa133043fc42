//! Groth16 proving for the pool's circuits.
//!
//! arkworks' prover only `debug_assert!`s that the witness satisfies the
//! circuit; a release build would return a proof that fails verification, a
//! debug build would panic. [`synthesize_checked`] synthesizes once, checks
//! `(A·z) ∘ (B·z) = C·z` row by row on the constraint matrices (in parallel;
//! about 2% of proving time, where `ConstraintSystem::is_satisfied` costs a
//! third) and returns [`ProofError::Unsatisfied`] for a false statement.
//! [`prove_with_backend`] then computes the proof with every MSM routed
//! through an [`MsmBackend`]:
//!
//! ```text
//! h   = witness map (QAP quotient, FFTs)            z = (1, x, w)
//! A   = α + a₀ + Σ z_i·a_i + r·δ                     (G1)
//! B   = β + b₀ + Σ z_i·b_i + s·δ                     (G2, and in G1 for C)
//! C   = Σ w_i·l_i + Σ h_i·h_i + s·A + r·B₁ − r·s·δ   (G1)
//! ```
//!
//! exactly as arkworks' `create_proof_with_reduction_and_matrices`, so with
//! the same `r, s` every backend yields the same proof bytes.

use ark_bn254::{Bn254, Fr};
use ark_ec::CurveGroup;
use ark_ff::{UniformRand, Zero};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_groth16::{Proof, ProvingKey};
use ark_poly::GeneralEvaluationDomain;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use coalition_core::shielded::Groth16Proof;
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;

use crate::errors::ProofError;
use crate::msm::{CpuBackend, MsmBackend};

fn groth16_error(e: impl std::fmt::Display) -> ProofError {
    ProofError::Groth16(e.to_string())
}

/// A circuit synthesized with a satisfying assignment.
#[derive(Clone, Debug)]
pub struct Synthesized {
    /// The R1CS matrices `A, B, C`.
    pub matrices: Vec<Matrix<Fr>>,
    /// `z = (1, public inputs, witness)`.
    pub assignment: Vec<Fr>,
    /// Number of instance variables (including the leading 1).
    pub num_inputs: usize,
    /// Number of constraints.
    pub num_constraints: usize,
}

/// Synthesizes `circuit` (named `name` in errors) and checks its witness.
pub fn synthesize_checked<C: ConstraintSynthesizer<Fr>>(
    name: &'static str,
    circuit: C,
) -> Result<Synthesized, ProofError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: true,
        generate_lc_assignments: false,
    });
    circuit
        .generate_constraints(cs.clone())
        .map_err(groth16_error)?;
    cs.finalize();
    let mut matrices = cs.to_matrices().map_err(groth16_error)?;
    let r1cs = matrices
        .remove(R1CS_PREDICATE_LABEL)
        .ok_or_else(|| ProofError::Groth16("circuit has no R1CS constraints".into()))?;
    let mut assignment = cs.instance_assignment().map_err(groth16_error)?;
    assignment.extend(cs.witness_assignment().map_err(groth16_error)?);
    if let Some(row) = first_unsatisfied_row(&r1cs, &assignment)? {
        return Err(ProofError::Unsatisfied {
            circuit: name,
            detail: format!("constraint #{row} does not hold"),
        });
    }
    Ok(Synthesized {
        matrices: r1cs,
        assignment,
        num_inputs: cs.num_instance_variables(),
        num_constraints: cs.num_constraints(),
    })
}

/// Proves `circuit` with `pk` on the CPU, zero-knowledge randomness `r, s`
/// drawn from `rng`.
pub fn prove<C, R>(
    name: &'static str,
    pk: &ProvingKey<Bn254>,
    circuit: C,
    rng: &mut R,
) -> Result<Groth16Proof, ProofError>
where
    C: ConstraintSynthesizer<Fr>,
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
    backend: &dyn MsmBackend,
) -> Result<Groth16Proof, ProofError> {
    let mut proofs =
        prove_batch_with_backend(pk, std::slice::from_ref(synthesized), &[(r, s)], backend)?;
    proofs
        .pop()
        .ok_or_else(|| ProofError::Groth16("empty batch".into()))
}

/// Proofs of many statements of one circuit under `pk`, `randomness[i]` the
/// `(r, s)` of proof `i`. Each of the five MSMs runs once for the whole
/// batch through [`MsmBackend::msm_g1_batch`] / [`MsmBackend::msm_g2_batch`]
/// (one pass over the key's bases on the GPU). Every proof equals the one
/// [`prove_with_backend`] makes alone.
pub fn prove_batch_with_backend(
    pk: &ProvingKey<Bn254>,
    batch: &[Synthesized],
    randomness: &[(Fr, Fr)],
    backend: &dyn MsmBackend,
) -> Result<Vec<Groth16Proof>, ProofError> {
    if batch.len() != randomness.len() {
        return Err(ProofError::Groth16("one (r, s) pair per statement".into()));
    }
    let Some(first) = batch.first() else {
        return Ok(Vec::new());
    };
    let num_variables = first.assignment.len();
    let num_inputs = first.num_inputs;
    for synthesized in batch {
        if synthesized.assignment.len() != num_variables
            || synthesized.num_inputs != num_inputs
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
    let hs = batch
        .par_iter()
        .map(|syn| {
            LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
                &syn.matrices,
                syn.num_inputs,
                syn.num_constraints,
                &syn.assignment,
            )
            .map_err(groth16_error)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let msm_error = |e: crate::msm::MsmError| ProofError::Groth16(e.to_string());
    // h has one more coefficient than h_query (the top one is zero for a
    // satisfying witness), as in arkworks, which truncates to the shorter.
    let h_len = hs
        .iter()
        .map(Vec::len)
        .chain([pk.h_query.len()])
        .min()
        .unwrap_or(0);
    let h_sets: Vec<&[Fr]> = hs.iter().map(|h| &h[..h_len]).collect();
    let z_sets: Vec<&[Fr]> = batch.iter().map(|b| &b.assignment[1..]).collect();
    let w_sets: Vec<&[Fr]> = batch.iter().map(|b| &b.assignment[num_inputs..]).collect();

    let h_acc = backend
        .msm_g1_batch(&pk.h_query[..h_len], &h_sets)
        .map_err(msm_error)?;
    let l_acc = backend
        .msm_g1_batch(&pk.l_query, &w_sets)
        .map_err(msm_error)?;
    let a_acc = backend
        .msm_g1_batch(&pk.a_query[1..], &z_sets)
        .map_err(msm_error)?;
    let b1_acc = backend
        .msm_g1_batch(&pk.b_g1_query[1..], &z_sets)
        .map_err(msm_error)?;
    let b2_acc = backend
        .msm_g2_batch(&pk.b_g2_query[1..], &z_sets)
        .map_err(msm_error)?;
    let results = [&h_acc, &l_acc, &a_acc, &b1_acc];
    if results.iter().any(|v| v.len() != batch.len()) || b2_acc.len() != batch.len() {
        return Err(ProofError::Groth16("backend returned a short batch".into()));
    }
    Ok(randomness
        .iter()
        .enumerate()
        .map(|(i, &(r, s))| {
            let a = pk.delta_g1 * r + pk.a_query[0] + a_acc[i] + pk.vk.alpha_g1;
            let b_g1 = if r.is_zero() {
                ark_bn254::G1Projective::zero()
            } else {
                pk.delta_g1 * s + pk.b_g1_query[0] + b1_acc[i] + pk.beta_g1
            };
            let b_g2 = pk.vk.delta_g2 * s + pk.b_g2_query[0] + b2_acc[i] + pk.vk.beta_g2;
            let c = a * s + b_g1 * r - pk.delta_g1 * (r * s) + l_acc[i] + h_acc[i];
            Groth16Proof(Proof {
                a: a.into_affine(),
                b: b_g2.into_affine(),
                c: c.into_affine(),
            })
        })
        .collect())
}

/// The first row `i` with `⟨A_i, z⟩·⟨B_i, z⟩ ≠ ⟨C_i, z⟩`, if any.
fn first_unsatisfied_row(
    matrices: &[Matrix<Fr>],
    assignment: &[Fr],
) -> Result<Option<usize>, ProofError> {
    let [a, b, c] = matrices else {
        return Err(ProofError::Groth16("R1CS must have three matrices".into()));
    };
    let dot = |row: &[(Fr, usize)]| -> Option<Fr> {
        row.iter()
            .map(|(coeff, column)| assignment.get(*column).map(|z| *coeff * z))
            .sum()
    };
    let bad = (0..a.len()).into_par_iter().find_first(|&i| {
        match (dot(&a[i]), dot(&b[i]), dot(c.get(i).map_or(&[][..], |r| r))) {
            (Some(x), Some(y), Some(z)) => x * y != z,
            _ => true,
        }
    });
    Ok(bad)
}
