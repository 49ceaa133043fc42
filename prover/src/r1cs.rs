//! A circuit's R1CS, computed once per circuit type.
//!
//! The matrices `A, B, C` of a circuit do not depend on the statement: the
//! proving key was generated from the blank circuit (`C::default()`, see
//! `coalition-params`), and every statement must have that very shape or its
//! proof would not verify. Building the matrices costs most of a synthesis
//! (on Spend about 120 ms of the 130 ms; a witness-only synthesis takes
//! about 8 ms), so they are built once from the blank circuit and shared by
//! every later proof of the same circuit type ([`R1cs::for_circuit`]).
//! Witnesses are then synthesized without matrices and checked against the
//! shared ones (`crate::groth16::synthesis`).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ark_bn254::Fr;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};

use crate::errors::ProofError;

/// `⟨A_i, z⟩` and `⟨B_i, z⟩` for every constraint row `i` of a satisfying
/// `z` (their product is `⟨C_i, z⟩`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RowValues {
    /// `⟨A_i, z⟩`.
    pub a: Vec<Fr>,
    /// `⟨B_i, z⟩`.
    pub b: Vec<Fr>,
}

/// The R1CS of one circuit: `A·z ∘ B·z = C·z` over `z = (1, x, w)`.
#[derive(Clone, Debug, PartialEq)]
pub struct R1cs {
    /// `[A, B, C]`, one row per constraint, each row `(coefficient, column)`.
    pub matrices: Vec<Matrix<Fr>>,
    /// Instance variables, the leading 1 included.
    pub num_inputs: usize,
    /// Witness variables.
    pub num_witnesses: usize,
    /// Constraints (rows of each matrix).
    pub num_constraints: usize,
}

impl R1cs {
    /// The R1CS of `C`'s blank instance, built in setup mode (no witness).
    pub fn of_blank<C: ConstraintSynthesizer<Fr> + Default>() -> Result<Self, ProofError> {
        Self::synthesize(C::default(), SynthesisMode::Setup)
    }

    /// The R1CS `circuit` produces when synthesized with its witness. Only
    /// for checking that a circuit's shape does not depend on its witness
    /// (tests); proving uses [`Self::for_circuit`].
    pub fn of_statement<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Self, ProofError> {
        Self::synthesize(
            circuit,
            SynthesisMode::Prove {
                construct_matrices: true,
                generate_lc_assignments: false,
            },
        )
    }

    fn synthesize<C: ConstraintSynthesizer<Fr>>(
        circuit: C,
        mode: SynthesisMode,
    ) -> Result<Self, ProofError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(mode);
        circuit
            .generate_constraints(cs.clone())
            .map_err(ProofError::groth16)?;
        cs.finalize();
        let matrices = cs
            .to_matrices()
            .map_err(ProofError::groth16)?
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or_else(|| ProofError::Groth16("circuit has no R1CS constraints".into()))?;
        let num_constraints = cs.num_constraints();
        if matrices.len() != 3 || matrices.iter().any(|m| m.len() > num_constraints) {
            return Err(ProofError::Groth16(
                "circuit's R1CS is not three matrices of one row per constraint".into(),
            ));
        }
        Ok(R1cs {
            matrices,
            num_inputs: cs.num_instance_variables(),
            num_witnesses: cs.num_witness_variables(),
            num_constraints,
        })
    }

    /// The shared R1CS of circuit type `C`, built from its blank instance
    /// on first use and kept for the life of the process.
    pub fn for_circuit<C>() -> Result<Arc<Self>, ProofError>
    where
        C: ConstraintSynthesizer<Fr> + Default + 'static,
    {
        static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<R1cs>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        // The lock is never held while building: synthesis uses rayon, and a
        // thread waiting inside rayon may run another job of the caller's
        // parallel loop, which would then ask for this lock on the same
        // thread and deadlock. Two threads may both build on first use; the
        // first to insert wins and both results are equal. A poisoned lock
        // only means another thread panicked mid-insert; the map itself is
        // always consistent.
        let lock = || {
            cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(r1cs) = lock().get(&TypeId::of::<C>()) {
            return Ok(r1cs.clone());
        }
        let built = Arc::new(Self::of_blank::<C>()?);
        Ok(lock().entry(TypeId::of::<C>()).or_insert(built).clone())
    }

    /// `|z| = num_inputs + num_witnesses`.
    pub fn num_variables(&self) -> usize {
        self.num_inputs + self.num_witnesses
    }

    /// `(⟨A_i, z⟩, ⟨B_i, z⟩)` for every row `i` if `z` satisfies every
    /// row (`⟨A_i, z⟩·⟨B_i, z⟩ = ⟨C_i, z⟩`), else the first row that it
    /// does not satisfy (rows computed in parallel; a column outside `z`
    /// counts as unsatisfied). The pairs are the witness map's evaluations
    /// ([`crate::qap`]), so the check costs the prover nothing extra.
    pub fn row_values(&self, z: &[Fr]) -> Result<RowValues, usize> {
        use rayon::prelude::*;
        let [a, b, c] = &self.matrices[..] else {
            return Err(0);
        };
        let dot = |row: &[(Fr, usize)]| -> Option<Fr> {
            row.iter()
                .map(|(coeff, column)| z.get(*column).map(|value| *coeff * value))
                .sum()
        };
        fn row(m: &Matrix<Fr>, i: usize) -> &[(Fr, usize)] {
            m.get(i).map_or(&[][..], |r| &r[..])
        }
        let rows: Vec<Option<(Fr, Fr)>> = (0..self.num_constraints)
            .into_par_iter()
            .map(|i| match (dot(row(a, i)), dot(row(b, i)), dot(row(c, i))) {
                (Some(x), Some(y), Some(w)) if x * y == w => Some((x, y)),
                _ => None,
            })
            .collect();
        if let Some(bad) = rows.iter().position(Option::is_none) {
            return Err(bad);
        }
        let (a, b) = rows.into_iter().flatten().unzip();
        Ok(RowValues { a, b })
    }
}
