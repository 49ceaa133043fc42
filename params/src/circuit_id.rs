//! Which circuit a key belongs to, and the hash of its constraint system.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode, R1CS_PREDICATE_LABEL,
};
use coalition_circuits::{output::OutputCircuit, spend::SpendCircuit};
use sha2::{Digest, Sha256};

use crate::errors::ParamsError;

/// The pool's circuits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CircuitId {
    /// Output, proved by Shield.
    Output,
    /// Spend, proved by Redeem.
    Spend,
}

impl CircuitId {
    /// Both circuits.
    pub const ALL: [CircuitId; 2] = [CircuitId::Output, CircuitId::Spend];

    /// Versioned name, written into key-file headers.
    pub fn name(self) -> &'static str {
        match self {
            CircuitId::Output => "coalition.output.v2",
            CircuitId::Spend => "coalition.spend.v2",
        }
    }

    /// Parses [`Self::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|id| id.name() == name)
    }

    /// Runs `f` on the blank (shape-only) circuit.
    pub(crate) fn synthesize_blank(
        self,
        cs: ark_relations::gr1cs::ConstraintSystemRef<Fr>,
    ) -> Result<(), ParamsError> {
        match self {
            CircuitId::Output => OutputCircuit::default().generate_constraints(cs)?,
            CircuitId::Spend => SpendCircuit::default().generate_constraints(cs)?,
        }
        Ok(())
    }

    /// SHA-256 over the circuit's R1CS: sizes, then every row of `A`, `B`,
    /// `C` as `(column, coefficient)` pairs. Any change to a constraint,
    /// variable order or constant changes it; keys are cached under it.
    pub fn shape_hash(self) -> Result<[u8; 32], ParamsError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        self.synthesize_blank(cs.clone())?;
        cs.finalize();
        let matrices = cs.to_matrices()?;
        let r1cs = matrices
            .get(R1CS_PREDICATE_LABEL)
            .ok_or(ParamsError::NotR1cs)?;
        let mut h = Sha256::new();
        h.update(b"coalition/v1/circuit-shape");
        h.update(self.name().as_bytes());
        for n in [
            cs.num_instance_variables(),
            cs.num_witness_variables(),
            cs.num_constraints(),
            r1cs.len(),
        ] {
            h.update((n as u64).to_le_bytes());
        }
        for matrix in r1cs {
            h.update((matrix.len() as u64).to_le_bytes());
            for row in matrix {
                h.update((row.len() as u64).to_le_bytes());
                for (coeff, column) in row {
                    h.update((*column as u64).to_le_bytes());
                    h.update(coeff.into_bigint().to_bytes_le());
                }
            }
        }
        Ok(h.finalize().into())
    }

    /// Number of constraints.
    pub fn num_constraints(self) -> Result<usize, ParamsError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        self.synthesize_blank(cs.clone())?;
        Ok(cs.num_constraints())
    }
}
