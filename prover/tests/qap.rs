//! The witness map (`qap`) reproduces arkworks' `LibsnarkReduction` on the
//! pool's real statements, and refuses malformed inputs with errors.

use ark_bn254::Fr;
use ark_ff::{UniformRand, Zero};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_poly::GeneralEvaluationDomain;
use coalition_circuits::keys::SpendingKey;
use coalition_circuits::note::AssetId;
use coalition_circuits::output::OutputCircuit;
use coalition_circuits::spend::SpendCircuit;
use coalition_circuits::testing::{self, spend_fixture};
use coalition_prover::backend::{BackendError, ProvingBackend};
use coalition_prover::groth16::{synthesize_checked, R1cs, RowValues, Synthesized};
use coalition_prover::msm::{CpuBackend, ReferencePippenger};
use coalition_prover::qap::{
    self, domain_log2, evaluations, evaluations_from_rows, QapEvaluations, MAX_LOG_N,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn domain<T>(r: Result<T, BackendError>) -> bool {
    matches!(r, Err(BackendError::Domain(_)))
}

fn arkworks_h(s: &Synthesized) -> Vec<Fr> {
    LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
        &s.r1cs().matrices,
        s.r1cs().num_inputs,
        s.r1cs().num_constraints,
        s.assignment(),
    )
    .unwrap()
}

fn ours(s: &Synthesized, backend: &dyn ProvingBackend) -> Vec<Fr> {
    let log_n = domain_log2(s.r1cs()).unwrap();
    let e = evaluations(s.r1cs(), s.assignment(), log_n).unwrap();
    backend.qap_quotients(log_n, &[e]).unwrap().remove(0)
}

#[test]
fn quotients_equal_arkworks_on_spend_and_output() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let f = spend_fixture([3; 32], AssetId(4), (90, Some(10)), 100, 2, &mut rng);
    let spend = synthesize_checked("spend", SpendCircuit::new(f.public, &f.witness)).unwrap();
    // Spend: 17,629 constraints + 8 inputs → 2^15.
    assert_eq!(domain_log2(spend.r1cs()).unwrap(), 15);
    let expected = arkworks_h(&spend);
    // The rows the satisfaction check kept give the same evaluations as
    // computing them from the matrices.
    let log_n = domain_log2(spend.r1cs()).unwrap();
    assert_eq!(
        evaluations_from_rows(spend.r1cs(), spend.assignment(), spend.rows(), log_n).unwrap(),
        evaluations(spend.r1cs(), spend.assignment(), log_n).unwrap()
    );
    assert_eq!(ours(&spend, &CpuBackend), expected);
    assert_eq!(ours(&spend, &ReferencePippenger::default()), expected);

    let owner = SpendingKey::from_seed(&[4; 32]).address();
    let note = testing::note(AssetId(4), 5, owner, &mut rng);
    let output = synthesize_checked("output", OutputCircuit::for_note(&note)).unwrap();
    assert_eq!(ours(&output, &CpuBackend), arkworks_h(&output));
}

#[test]
fn a_batch_gets_each_statement_its_own_quotient() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let owner = SpendingKey::from_seed(&[5; 32]).address();
    let batch: Vec<Synthesized> = (0..3)
        .map(|v| {
            let note = testing::note(AssetId(1), v, owner, &mut rng);
            synthesize_checked("output", OutputCircuit::for_note(&note)).unwrap()
        })
        .collect();
    let log_n = domain_log2(batch[0].r1cs()).unwrap();
    let evals: Vec<QapEvaluations> = batch
        .iter()
        .map(|s| evaluations_from_rows(s.r1cs(), s.assignment(), s.rows(), log_n).unwrap())
        .collect();
    let hs = CpuBackend.qap_quotients(log_n, &evals).unwrap();
    for (s, h) in batch.iter().zip(hs) {
        assert_eq!(h, arkworks_h(s));
    }
}

#[test]
fn malformed_witness_map_inputs_are_errors() {
    let r1cs = R1cs::for_circuit::<OutputCircuit>().unwrap();
    let log_n = domain_log2(&r1cs).unwrap();
    // A domain too small for the rows, or an assignment missing variables.
    let z = vec![Fr::zero(); r1cs.num_variables()];
    assert!(domain(evaluations(&r1cs, &z, log_n - 1)));
    assert!(domain(evaluations(&r1cs, &z[..z.len() / 2], log_n)));
    assert!(evaluations(&r1cs, &z, log_n).is_ok());
    // Row values that are not one per constraint.
    let mut rows = RowValues {
        a: vec![Fr::zero(); r1cs.num_constraints],
        b: vec![Fr::zero(); r1cs.num_constraints],
    };
    assert!(evaluations_from_rows(&r1cs, &z, &rows, log_n).is_ok());
    rows.b.pop();
    assert!(domain(evaluations_from_rows(&r1cs, &z, &rows, log_n)));
    assert!(domain(evaluations_from_rows(&r1cs, &z, &rows, 0)));
    // Domains the field does not have.
    let mut huge = (*r1cs).clone();
    huge.num_constraints = 1 << MAX_LOG_N;
    assert!(domain(domain_log2(&huge)));
    let e = |n: usize| QapEvaluations {
        a: vec![Fr::zero(); n],
        b: vec![Fr::zero(); n],
        c: vec![Fr::zero(); n],
    };
    assert!(domain(qap::quotient(0, &e(1))));
    assert!(domain(qap::quotient(MAX_LOG_N + 1, &e(2))));
    // Vectors not of the domain's size.
    assert!(domain(qap::quotient(3, &e(7))));
    let mut uneven = e(8);
    uneven.c.pop();
    assert!(domain(qap::quotient(3, &uneven)));
    // The zero statement's quotient is zero; a random one is not (the map
    // is not a constant).
    assert!(qap::quotient(3, &e(8)).unwrap().iter().all(Zero::is_zero));
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let mut random = e(8);
    random.a.iter_mut().for_each(|x| *x = Fr::rand(&mut rng));
    random.b.iter_mut().for_each(|x| *x = Fr::rand(&mut rng));
    assert!(!qap::quotient(3, &random).unwrap().iter().all(Zero::is_zero));
}
