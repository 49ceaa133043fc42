//! The Output circuit (`coalition.output.v2`), proved by `Shield`.
//!
//! Statement: *I know `owner, rcm` such that
//! `cm = Poseidon_cm(asset + 2^64·expiry, value, owner, ρ, rcm)`* for public
//! `(cm, asset, value, ρ, expiry)`. The ledger credits the pool with exactly
//! `value` of `asset`, expiring when the currency's policy says (the node
//! computes `expiry`, the sender does not choose it), and the recipient
//! stays hidden. `value < 2^64`, `asset < 2^64` and `expiry < 2^32` hold
//! because the verifier builds those inputs from integers of those sizes.

use ark_bn254::Fr;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use zeroize::Zeroize;

use crate::gadgets;
use crate::note::{AssetId, Expiry, Note, NoteCommitment, Rho};

/// The Output proof's public inputs, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputPublicInputs {
    /// The new note's commitment.
    pub commitment: NoteCommitment,
    /// Its asset.
    pub asset: AssetId,
    /// Its value.
    pub value: u64,
    /// Its `ρ` (fresh, checked unused by the ledger).
    pub rho: Rho,
    /// Its expiry, set by the currency's policy.
    pub expiry: Expiry,
}

impl OutputPublicInputs {
    /// The public inputs of an Output proof for `note`.
    pub fn for_note(note: &Note) -> Self {
        OutputPublicInputs {
            commitment: note.commitment(),
            asset: note.asset,
            value: note.value,
            rho: note.rho,
            expiry: note.expiry,
        }
    }

    /// The Groth16 input vector: `[cm, asset, value, ρ, expiry]`.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        vec![
            self.commitment.0,
            self.asset.to_field(),
            Fr::from(self.value),
            self.rho.0,
            self.expiry.to_field(),
        ]
    }
}

/// The private part of the Output statement (wiped on drop; `Debug` shows
/// none of it).
#[derive(Clone)]
pub struct OutputAssignment {
    /// Recipient owner tag.
    pub owner: Fr,
    /// Commitment randomness.
    pub rcm: Fr,
}

impl Drop for OutputAssignment {
    fn drop(&mut self) {
        self.owner.zeroize();
        self.rcm.zeroize();
    }
}

impl std::fmt::Debug for OutputAssignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputAssignment(<secret>)")
    }
}

/// The Output circuit; `None` fields synthesize the shape only (setup).
#[derive(Clone, Debug, Default)]
pub struct OutputCircuit {
    /// Public inputs.
    pub public: Option<OutputPublicInputs>,
    /// Witness.
    pub assignment: Option<OutputAssignment>,
}

impl OutputCircuit {
    /// The circuit proving `note` well formed.
    pub fn for_note(note: &Note) -> Self {
        OutputCircuit {
            public: Some(OutputPublicInputs::for_note(note)),
            assignment: Some(OutputAssignment {
                owner: note.address.owner,
                rcm: note.rcm,
            }),
        }
    }
}

impl ConstraintSynthesizer<Fr> for OutputCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = self.public.map(|p| p.to_field_elements());
        let input = |i: usize| {
            FpVar::new_input(cs.clone(), || {
                inputs
                    .as_ref()
                    .map(|v| v[i])
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        };
        let (cm, asset, value, rho, expiry) =
            (input(0)?, input(1)?, input(2)?, input(3)?, input(4)?);
        let a = self.assignment.as_ref();
        let owner = FpVar::new_witness(cs.clone(), || {
            a.map(|a| a.owner).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let rcm = FpVar::new_witness(cs.clone(), || {
            a.map(|a| a.rcm).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let tag = gadgets::asset_tag(&asset, &expiry);
        gadgets::note_commitment(&tag, &value, &owner, &rho, &rcm)?.enforce_equal(&cm)
    }
}
