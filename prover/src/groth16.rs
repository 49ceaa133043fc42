//! Groth16 proving for the pool's circuits.
//!
//! arkworks' prover only `debug_assert!`s that the witness satisfies the
//! circuit; a release build would return a proof that fails verification, a
//! debug build would panic. [`prove`] synthesizes once, checks
//! `(A·z) ∘ (B·z) = C·z` row by row on the constraint matrices (in parallel;
//! about 2% of proving time, where `ConstraintSystem::is_satisfied` costs a
//! third), returns [`ProofError::Unsatisfied`] for a false statement, then
//! proves from the same matrices and assignment.

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode, R1CS_PREDICATE_LABEL,
};
use coalition_core::shielded::Groth16Proof;
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;

use crate::errors::ProofError;

fn groth16_error(e: impl std::fmt::Display) -> ProofError {
    ProofError::Groth16(e.to_string())
}

/// Proves `circuit` (named `name` in errors) with `pk`, zero-knowledge
/// randomness `r, s` drawn from `rng`.
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
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        pk,
        r,
        s,
        &r1cs,
        cs.num_instance_variables(),
        cs.num_constraints(),
        &assignment,
    )
    .map_err(groth16_error)?;
    Ok(Groth16Proof(proof))
}

/// The first row `i` with `⟨A_i, z⟩·⟨B_i, z⟩ ≠ ⟨C_i, z⟩`, if any.
fn first_unsatisfied_row(
    matrices: &[ark_relations::gr1cs::Matrix<Fr>],
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
