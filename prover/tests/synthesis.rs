//! Proofs share one R1CS per circuit type, built from the blank circuit:
//! that is sound only if no statement's shape differs from the blank one.
//! These tests pin it for both pool circuits, and check that a statement
//! whose shape does differ is refused rather than proven.

use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use coalition_circuits::keys::SpendingKey;
use coalition_circuits::note::{AssetId, Note, Rho};
use coalition_circuits::output::OutputCircuit;
use coalition_circuits::spend::SpendCircuit;
use coalition_circuits::testing::spend_fixture;
use coalition_prover::groth16::{synthesize_checked, R1cs};
use coalition_prover::ProofError;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[test]
fn every_spend_statement_has_the_blank_circuits_r1cs() {
    let shared = R1cs::for_circuit::<SpendCircuit>().unwrap();
    assert_eq!(*shared, R1cs::of_blank::<SpendCircuit>().unwrap());
    // One note or two, small and large values, different tree fillings.
    for (seed, values, paid, filler) in [
        (1u64, (400, Some(600)), 500, 3),
        (2, (7, None), 7, 0),
        (3, (u64::MAX >> 1, Some(1)), 1, 9),
    ] {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let f = spend_fixture(
            [seed as u8; 32],
            AssetId(seed),
            values,
            paid,
            filler,
            &mut rng,
        );
        let statement = SpendCircuit::new(f.public, &f.witness);
        assert_eq!(R1cs::of_statement(statement.clone()).unwrap(), *shared);
        let synthesized = synthesize_checked("spend", statement).unwrap();
        assert_eq!(synthesized.assignment.len(), shared.num_variables());
        assert!(std::sync::Arc::ptr_eq(&synthesized.r1cs, &shared));
    }
}

#[test]
fn every_output_statement_has_the_blank_circuits_r1cs() {
    let shared = R1cs::for_circuit::<OutputCircuit>().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for value in [0, 1, u64::MAX] {
        let owner = SpendingKey::from_seed(&[value as u8; 32]).address();
        let note = Note::new(AssetId(2), value, owner, Rho::random(&mut rng), &mut rng);
        let statement = OutputCircuit::for_note(&note);
        assert_eq!(R1cs::of_statement(statement.clone()).unwrap(), *shared);
        synthesize_checked("output", statement).unwrap();
    }
}

/// `x == y` over `rounds` allocated pairs: a circuit whose shape depends on
/// its statement, which the shared-R1CS prover must refuse.
#[derive(Clone, Default)]
struct ShapeShifter {
    rounds: usize,
    value: u64,
}

impl ConstraintSynthesizer<Fr> for ShapeShifter {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let input = FpVar::new_input(cs.clone(), || Ok(Fr::from(self.value)))?;
        for _ in 0..self.rounds.max(1) {
            let w = FpVar::new_witness(cs.clone(), || Ok(Fr::from(self.value)))?;
            w.enforce_equal(&input)?;
        }
        Ok(())
    }
}

#[test]
fn a_statement_shaped_unlike_its_circuit_is_refused() {
    // The blank instance has one round; this statement has three.
    let err = synthesize_checked(
        "shape-shifter",
        ShapeShifter {
            rounds: 3,
            value: 4,
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, ProofError::Groth16(m) if m.contains("variables")),
        "{err}"
    );
    // Same shape as the blank instance: accepted.
    synthesize_checked(
        "shape-shifter",
        ShapeShifter {
            rounds: 1,
            value: 4,
        },
    )
    .unwrap();
}
