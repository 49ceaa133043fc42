//! Witness synthesis against a circuit's shared R1CS, and the check that
//! the witness satisfies it.
//!
//! arkworks' prover only `debug_assert!`s satisfaction; a release build
//! would return a proof that fails verification, a debug build would panic.
//! [`synthesize_checked`] computes `z = (1, x, w)` without building
//! constraint matrices, checks that `z` has the shape of the circuit's
//! R1CS ([`R1cs::for_circuit`]) and that `(A·z) ∘ (B·z) = C·z` row by row,
//! and returns [`ProofError::Unsatisfied`] for a false statement.

use std::sync::Arc;

use ark_bn254::Fr;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisMode,
};

use crate::errors::ProofError;
use crate::r1cs::{R1cs, RowValues};
use zeroize::{Zeroize, Zeroizing};

/// A statement of one circuit, synthesized with a satisfying assignment.
/// Only [`synthesize_checked`] makes one, and its parts are read-only: the
/// witness map starts from `rows` and the MSMs from `assignment`, so the two
/// must stay the pair the check computed.
///
/// The assignment holds the witness (spending keys, note secrets): it and
/// the row values derived from it are wiped on drop, and `Debug` shows
/// neither.
#[derive(Clone)]
pub struct Synthesized {
    r1cs: Arc<R1cs>,
    assignment: Vec<Fr>,
    rows: RowValues,
}

impl Drop for Synthesized {
    fn drop(&mut self) {
        self.assignment.zeroize();
        self.rows.a.zeroize();
        self.rows.b.zeroize();
    }
}

impl std::fmt::Debug for Synthesized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Synthesized")
            .field("num_variables", &self.assignment.len())
            .field("num_inputs", &self.r1cs.num_inputs)
            .finish_non_exhaustive()
    }
}

impl Synthesized {
    /// The circuit's R1CS, shared by every statement of the circuit.
    pub fn r1cs(&self) -> &Arc<R1cs> {
        &self.r1cs
    }

    /// `z = (1, public inputs, witness)`.
    pub fn assignment(&self) -> &[Fr] {
        &self.assignment
    }

    /// `⟨A_i, z⟩`, `⟨B_i, z⟩` per constraint, from the satisfaction check;
    /// the witness map starts from them.
    pub fn rows(&self) -> &RowValues {
        &self.rows
    }

    /// Instance variables, the leading 1 included.
    pub fn num_inputs(&self) -> usize {
        self.r1cs.num_inputs
    }
}

/// Synthesizes `circuit` (named `name` in errors) and checks its witness
/// against the R1CS of its circuit type.
pub fn synthesize_checked<C>(name: &'static str, circuit: C) -> Result<Synthesized, ProofError>
where
    C: ConstraintSynthesizer<Fr> + Default + 'static,
{
    let r1cs = R1cs::for_circuit::<C>()?;
    // The constraint system holds the whole witness, gadget intermediates
    // included: it is wiped when this function returns, on every path.
    let wiped = WipedOnDrop(ConstraintSystem::<Fr>::new_ref());
    let cs = &wiped.0;
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    circuit
        .generate_constraints(cs.clone())
        .map_err(ProofError::groth16)?;
    cs.finalize();
    let (num_instance, num_witness) = (cs.num_instance_variables(), cs.num_witness_variables());
    // Sized once, so no reallocation leaves a copy behind; wiped unless
    // it becomes the statement's.
    let mut assignment = Zeroizing::new(Vec::with_capacity(num_instance + num_witness));
    {
        let inner = cs
            .borrow()
            .ok_or_else(|| ProofError::Groth16("the constraint system is gone".into()))?;
        assignment.extend_from_slice(&inner.assignments.instance_assignment);
        assignment.extend_from_slice(&inner.assignments.witness_assignment);
    }
    if num_instance != r1cs.num_inputs || assignment.len() != r1cs.num_variables() {
        return Err(ProofError::Groth16(format!(
            "the {name} statement has {num_instance} inputs and {} variables; the circuit has {} and {}",
            assignment.len(),
            r1cs.num_inputs,
            r1cs.num_variables()
        )));
    }
    let rows = r1cs
        .row_values(&assignment)
        .map_err(|row| ProofError::Unsatisfied {
            circuit: name,
            detail: format!("constraint #{row} does not hold"),
        })?;
    Ok(Synthesized {
        r1cs,
        assignment: std::mem::take(&mut *assignment),
        rows,
    })
}

/// A constraint system whose assignments are wiped when it is dropped.
struct WipedOnDrop(ConstraintSystemRef<Fr>);

impl Drop for WipedOnDrop {
    fn drop(&mut self) {
        if let Some(mut cs) = self.0.borrow_mut() {
            cs.assignments.instance_assignment.zeroize();
            cs.assignments.witness_assignment.zeroize();
            cs.assignments.lc_assignment.zeroize();
        }
    }
}
