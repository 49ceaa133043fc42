//! Proofs share one R1CS per circuit type, built from the blank circuit:
//! that is sound only if no statement's shape differs from the blank one.
//! These tests pin it for both pool circuits, and check that a statement
//! whose shape does differ is refused rather than proven.

use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use coalition_circuits::keys::SpendingKey;
use coalition_circuits::note::AssetId;
use coalition_circuits::output::OutputCircuit;
use coalition_circuits::spend::SpendCircuit;
use coalition_circuits::testing::{self, spend_fixture};
use coalition_prover::groth16::{synthesize_checked, R1cs};
use coalition_prover::ProofError;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[test]
fn every_spend_statement_has_the_blank_circuits_r1cs() {
    let shared = R1cs::for_circuit::<SpendCircuit>().unwrap();
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
        assert_eq!(synthesized.assignment().len(), shared.num_variables());
        assert!(std::sync::Arc::ptr_eq(synthesized.r1cs(), &shared));
    }
}

#[test]
fn every_output_statement_has_the_blank_circuits_r1cs() {
    let shared = R1cs::for_circuit::<OutputCircuit>().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for value in [0, 1, u64::MAX] {
        let owner = SpendingKey::from_seed(&[value as u8; 32]).address();
        let note = testing::note(AssetId(2), value, owner, &mut rng);
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

/// `w = k·x` with `k` a constant of the statement: the blank instance has
/// `k = 0`, so its R1CS says `w = 0`, whatever `k` a statement carries.
#[derive(Clone, Default)]
struct ScaledBy {
    k: u64,
    x: u64,
}

impl ConstraintSynthesizer<Fr> for ScaledBy {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let w = FpVar::new_input(cs.clone(), || Ok(Fr::from(self.k * self.x)))?;
        let x = FpVar::new_witness(cs.clone(), || Ok(Fr::from(self.x)))?;
        w.enforce_equal(&(x * Fr::from(self.k)))?;
        Ok(())
    }
}

#[test]
fn statements_are_checked_against_the_shared_matrices_not_their_own() {
    // Same variables as the blank instance, different coefficients: the
    // statement's own constraint holds (6 = 2·3), the shared one (w = 0·x)
    // does not, and the shared one is what a proof would be made for.
    assert!(matches!(
        synthesize_checked("scaled", ScaledBy { k: 2, x: 3 }),
        Err(ProofError::Unsatisfied { .. })
    ));
    synthesize_checked("scaled", ScaledBy { k: 0, x: 3 }).unwrap();
}

/// A circuit no other test touches, so its R1CS is not yet built when
/// many threads ask for it at once.
#[derive(Clone, Default)]
struct ColdChain {
    x: u64,
}

impl ConstraintSynthesizer<Fr> for ColdChain {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let input = FpVar::new_input(cs.clone(), || Ok(Fr::from(self.x)))?;
        let mut acc = FpVar::new_witness(cs.clone(), || Ok(Fr::from(self.x)))?;
        for i in 0..2000u64 {
            acc = &acc * &input + Fr::from(i);
        }
        acc.enforce_equal(&acc)?;
        Ok(())
    }
}

#[test]
fn many_threads_building_the_shared_r1cs_at_once_all_get_it() {
    use rayon::prelude::*;
    // Concurrent first use from inside rayon: every caller gets the same
    // R1CS, and nobody waits on the cache's lock while it is being built
    // (r1cs.rs explains the deadlock that would risk).
    let results: Vec<_> = (0..64u64)
        .into_par_iter()
        .map(|x| synthesize_checked("cold", ColdChain { x }))
        .collect();
    // One R1CS for all: whichever thread built first, every caller holds
    // that very instance.
    let first = results[0].as_ref().unwrap().r1cs().clone();
    for r in results {
        assert!(std::sync::Arc::ptr_eq(r.unwrap().r1cs(), &first));
    }
}

#[test]
fn row_values_name_the_first_failing_row() {
    let r1cs = R1cs::for_circuit::<ShapeShifter>().unwrap();
    // The blank shape: z = (1, input x, witness w), one row saying w = x.
    let good = vec![Fr::from(1u64), Fr::from(4u64), Fr::from(4u64)];
    let rows = r1cs.row_values(&good).unwrap();
    assert_eq!(rows.a.len(), r1cs.num_constraints);
    assert_eq!(rows.b.len(), r1cs.num_constraints);
    let mut bad = good.clone();
    bad[2] = Fr::from(5u64);
    assert_eq!(r1cs.row_values(&bad), Err(0));
    // An assignment missing a variable the rows name: refused, no panic.
    assert_eq!(r1cs.row_values(&good[..2]), Err(0));
}

/// The witness columns of `r1cs` that can change alone, by one, with every
/// constraint still holding on `z` (which satisfies them all): free
/// variables, the mark of an under-constrained gadget. Only the rows that
/// hold a column are re-evaluated, so every column of Spend is tried.
fn free_witness_columns(r1cs: &R1cs, z: &[Fr]) -> Vec<usize> {
    use ark_ff::One;
    assert!(r1cs.row_values(z).is_ok(), "the assignment must satisfy");
    let [a, b, c] = &r1cs.matrices[..] else {
        panic!("three matrices")
    };
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); z.len()];
    for matrix in [a, b, c] {
        for (i, row) in matrix.iter().enumerate() {
            for (_, column) in row {
                rows_of[*column].push(i);
            }
        }
    }
    let dot = |row: Option<&Vec<(Fr, usize)>>, changed: usize| -> Fr {
        row.map_or(Fr::from(0u64), |row| {
            row.iter()
                .map(|(coeff, column)| {
                    let bump = if *column == changed {
                        Fr::one()
                    } else {
                        Fr::from(0u64)
                    };
                    *coeff * (z[*column] + bump)
                })
                .sum()
        })
    };
    (r1cs.num_inputs..z.len())
        .filter(|&j| {
            rows_of[j]
                .iter()
                .all(|&i| dot(a.get(i), j) * dot(b.get(i), j) == dot(c.get(i), j))
        })
        .collect()
}

/// `w` allocated and never used: the check must name it.
#[derive(Clone, Default)]
struct Careless;

impl ConstraintSynthesizer<Fr> for Careless {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let x = FpVar::new_input(cs.clone(), || Ok(Fr::from(3u64)))?;
        let y = FpVar::new_witness(cs.clone(), || Ok(Fr::from(3u64)))?;
        let _unused = FpVar::new_witness(cs.clone(), || Ok(Fr::from(5u64)))?;
        y.enforce_equal(&x)?;
        Ok(())
    }
}

/// No witness variable of either pool circuit is free: each one changed
/// alone breaks some constraint (both Spend shapes: two notes, and one
/// note with a dummy, whose path is free only through the zero value it
/// multiplies, not variable by variable).
#[test]
fn no_witness_variable_of_the_pool_circuits_is_free() {
    let careless = synthesize_checked("careless", Careless).unwrap();
    assert_eq!(
        free_witness_columns(careless.r1cs(), careless.assignment()),
        vec![careless.assignment().len() - 1]
    );
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let note = testing::note(
        AssetId(2),
        77,
        SpendingKey::from_seed(&[8; 32]).address(),
        &mut rng,
    );
    let output = synthesize_checked("output", OutputCircuit::for_note(&note)).unwrap();
    let free = free_witness_columns(output.r1cs(), output.assignment());
    assert!(free.is_empty(), "free Output witness columns: {free:?}");
    for (values, paid) in [((300, Some(500)), 650), ((300, None), 120)] {
        let f = spend_fixture([9; 32], AssetId(2), values, paid, 2, &mut rng);
        let spend = synthesize_checked("spend", SpendCircuit::new(f.public, &f.witness)).unwrap();
        let free = free_witness_columns(spend.r1cs(), spend.assignment());
        assert!(free.is_empty(), "free Spend witness columns: {free:?}");
    }
}
