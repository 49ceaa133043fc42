//! MSM backends agree with arkworks, and Groth16 proofs made through any
//! backend are identical to arkworks' own for the same randomness.

use std::sync::OnceLock;

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{BigInteger, Field, PrimeField, UniformRand, Zero};
use ark_groth16::Groth16;
use coalition_circuits::keys::SpendingKey;
use coalition_circuits::note::AssetId;
use coalition_circuits::output::OutputCircuit;
use coalition_circuits::spend::SpendCircuit;
use coalition_circuits::testing::{self, spend_fixture};
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::backend::{BackendError, ProvingBackend};
use coalition_prover::groth16::{prove_batch_with_backend, prove_with_backend, synthesize_checked};
use coalition_prover::msm::pippenger::{num_windows, reduce_chunks, signed_digits, window_bits};
use coalition_prover::msm::{CpuBackend, ReferencePippenger};
use coalition_prover::qap::QapEvaluations;
use coalition_prover::ProofError;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn keys() -> &'static ShieldedProvingKeys {
    static KEYS: OnceLock<ShieldedProvingKeys> = OnceLock::new();
    KEYS.get_or_init(|| ShieldedProvingKeys::insecure_dev(&default_params_dir()).unwrap())
}

fn points<G: PrimeGroup + CurveGroup>(n: usize, rng: &mut ChaCha20Rng) -> Vec<G::Affine>
where
    G::ScalarField: UniformRand,
{
    let g = G::generator();
    let projective: Vec<G> = (0..n).map(|_| g * G::ScalarField::rand(rng)).collect();
    G::normalize_batch(&projective)
}

/// Scalars that stress the digit recoding: 0, 1, r − 1, and values whose
/// windows sit exactly on the 2^(c−1) boundary.
fn edge_scalars(c: usize) -> Vec<Fr> {
    let half = Fr::from(1u64 << (c - 1));
    let mut boundary = Fr::zero();
    for j in 0..num_windows(c) - 1 {
        boundary += half * Fr::from(2u64).pow([(c * j) as u64]);
    }
    vec![
        Fr::zero(),
        Fr::from(1u64),
        -Fr::from(1u64),
        half,
        half + Fr::from(1u64),
        boundary,
        boundary + Fr::from(1u64),
        -boundary,
    ]
}

/// The reference chooses widths and reduction chunks as the device does
/// (`coalition-gpu`'s `layout::window_bits`, `device::reduce_threads`, and
/// `emulate.cpp`): the same values are pinned in `gpu/src/device/msm.rs`.
#[test]
fn reference_widths_and_chunks_follow_the_device() {
    for (n, c) in [
        (1usize, 5usize),
        (100, 5),
        (1 << 10, 8),
        (1 << 14, 13),
        (1 << 20, 16),
    ] {
        assert_eq!(window_bits(n), c, "n = {n}");
    }
    // (B, windows) → T, as pinned for the device.
    for (buckets, windows, chunks) in [
        (16usize, 51usize, 8usize),
        (128, 32, 16),
        (4096, 20, 512),
        (32768, 16, 1024),
        (4096, 1280, 128),
        (32768, 128, 256),
    ] {
        assert_eq!(
            reduce_chunks(buckets, windows),
            chunks,
            "B = {buckets}, {windows} windows"
        );
    }
}

#[test]
fn signed_digits_recompose_the_scalar() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for c in 2..=16 {
        let mut scalars = edge_scalars(c);
        scalars.extend((0..20).map(|_| Fr::rand(&mut rng)));
        for s in scalars {
            let digits = signed_digits(&s, c);
            assert_eq!(digits.len(), num_windows(c));
            let mut acc = Fr::zero();
            for d in digits.iter().rev() {
                assert!(
                    d.unsigned_abs() <= 1 << (c - 1),
                    "digit {d} out of range for c = {c}"
                );
                acc = acc * Fr::from(1u64 << c) + Fr::from(*d as i64);
            }
            assert_eq!(acc, s, "c = {c}, s = {:?}", s.into_bigint().to_bytes_le());
        }
    }
}

#[test]
fn reference_pippenger_equals_arkworks_in_g1_and_g2() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let g1: Vec<G1Affine> = points::<G1Projective>(700, &mut rng);
    let g2: Vec<G2Affine> = points::<G2Projective>(150, &mut rng);
    for &n in &[0usize, 1, 2, 7, 31, 100, 700] {
        let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        for (slot, edge) in scalars.iter_mut().zip(edge_scalars(window_bits(n))) {
            *slot = edge;
        }
        let expected = G1Projective::msm(&g1[..n], &scalars).unwrap();
        for backend in [
            ReferencePippenger::default(),
            ReferencePippenger {
                window_bits: Some(2),
            },
            ReferencePippenger {
                window_bits: Some(11),
            },
        ] {
            assert_eq!(
                backend.msm_g1(&g1[..n], &scalars).unwrap(),
                expected,
                "n = {n}"
            );
        }
        assert_eq!(CpuBackend.msm_g1(&g1[..n], &scalars).unwrap(), expected);
        if n <= 150 {
            let expected = G2Projective::msm(&g2[..n], &scalars).unwrap();
            assert_eq!(
                ReferencePippenger::default()
                    .msm_g2(&g2[..n], &scalars)
                    .unwrap(),
                expected
            );
            assert_eq!(CpuBackend.msm_g2(&g2[..n], &scalars).unwrap(), expected);
        }
    }
    // The identity as a base, repeated bases.
    let mut bases = g1[..10].to_vec();
    bases[3] = G1Affine::zero();
    bases[4] = bases[5];
    let scalars: Vec<Fr> = (0..10).map(|_| Fr::rand(&mut rng)).collect();
    assert_eq!(
        ReferencePippenger::default()
            .msm_g1(&bases, &scalars)
            .unwrap(),
        G1Projective::msm(&bases, &scalars).unwrap()
    );
    assert_eq!(
        ReferencePippenger::default().msm_g1(&bases, &scalars[..9]),
        Err(BackendError::LengthMismatch {
            bases: 10,
            scalars: 9
        })
    );
}

#[test]
fn proofs_are_identical_across_backends_and_arkworks() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let note = testing::note(
        AssetId(1),
        42,
        SpendingKey::from_seed(&[1; 32]).address(),
        &mut rng,
    );
    let synthesized = synthesize_checked("output", OutputCircuit::for_note(&note)).unwrap();
    let inputs =
        coalition_circuits::output::OutputPublicInputs::for_note(&note).to_field_elements();
    let (r, s) = assert_backends_agree(&keys().output, &synthesized, &inputs, &mut rng);
    // A key for another circuit is refused, not misused.
    assert!(prove_with_backend(&keys().spend, &synthesized, r, s, &CpuBackend).is_err());
}

/// Proves `synthesized` under `pk` with arkworks, the CPU backend and the
/// reference of the device's Pippenger for the same fresh `(r, s)`: the
/// three proofs are identical, and verify against `inputs`. Returns
/// `(r, s)`.
fn assert_backends_agree(
    pk: &ark_groth16::ProvingKey<Bn254>,
    synthesized: &coalition_prover::groth16::Synthesized,
    inputs: &[Fr],
    rng: &mut ChaCha20Rng,
) -> (Fr, Fr) {
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    let arkworks = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        pk,
        r,
        s,
        &synthesized.r1cs().matrices,
        synthesized.r1cs().num_inputs,
        synthesized.r1cs().num_constraints,
        synthesized.assignment(),
    )
    .unwrap();
    let cpu = prove_with_backend(pk, synthesized, r, s, &CpuBackend).unwrap();
    let reference =
        prove_with_backend(pk, synthesized, r, s, &ReferencePippenger::default()).unwrap();
    assert_eq!(cpu.0, arkworks);
    assert_eq!(reference.0, arkworks);
    let pvk = ark_groth16::prepare_verifying_key(&pk.vk);
    assert!(Groth16::<Bn254>::verify_proof(&pvk, &cpu.0, inputs).unwrap());
    (r, s)
}

/// Pool v2's Spend (Baby Jubjub key, expiry checks) through every backend:
/// the CPU backend and the reference of the device's Pippenger (what
/// `--features gpu` runs on the card, checked byte for byte against it by
/// `scripts/gpu-check.sh`) give arkworks' proof exactly.
#[test]
fn spend_v2_proofs_are_identical_across_backends_and_arkworks() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let f = spend_fixture([6; 32], AssetId(3), (40, Some(2)), 30, 3, &mut rng);
    let synthesized = synthesize_checked("spend", SpendCircuit::new(f.public, &f.witness)).unwrap();
    let inputs = f.public.to_field_elements();
    assert_backends_agree(&keys().spend, &synthesized, &inputs, &mut rng);
}

#[test]
fn batch_proofs_equal_single_proofs() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let address = SpendingKey::from_seed(&[2; 32]).address();
    let batch: Vec<_> = (0..3)
        .map(|v| {
            let note = testing::note(AssetId(1), v, address, &mut rng);
            synthesize_checked("output", OutputCircuit::for_note(&note)).unwrap()
        })
        .collect();
    let randomness: Vec<(Fr, Fr)> = (0..3)
        .map(|_| (Fr::rand(&mut rng), Fr::rand(&mut rng)))
        .collect();
    let pk = &keys().output;
    for backend in [
        &CpuBackend as &dyn ProvingBackend,
        &ReferencePippenger::default(),
    ] {
        let proofs = prove_batch_with_backend(pk, &batch, &randomness, backend).unwrap();
        for ((syn, (r, s)), proof) in batch.iter().zip(&randomness).zip(&proofs) {
            assert_eq!(
                *proof,
                prove_with_backend(pk, syn, *r, *s, &CpuBackend).unwrap()
            );
        }
    }
    assert!(prove_batch_with_backend(pk, &batch, &randomness[..2], &CpuBackend).is_err());
    assert!(prove_batch_with_backend(pk, &[], &[], &CpuBackend)
        .unwrap()
        .is_empty());
}

/// The CPU backend, except that its quotients lose their last coefficient.
struct ShortQuotients;

impl ProvingBackend for ShortQuotients {
    fn name(&self) -> String {
        "short-quotients".into()
    }
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        CpuBackend.msm_g1(bases, scalars)
    }
    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        CpuBackend.msm_g2(bases, scalars)
    }
    fn qap_quotients(
        &self,
        log_n: usize,
        evaluations: &[QapEvaluations],
    ) -> Result<Vec<Vec<Fr>>, BackendError> {
        let mut hs = CpuBackend.qap_quotients(log_n, evaluations)?;
        for h in &mut hs {
            h.pop();
        }
        Ok(hs)
    }
}

#[test]
fn wrong_sized_quotients_or_h_query_are_refused_not_truncated() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let owner = SpendingKey::from_seed(&[3; 32]).address();
    let note = testing::note(AssetId(1), 9, owner, &mut rng);
    let synthesized = synthesize_checked("output", OutputCircuit::for_note(&note)).unwrap();
    let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let pk = &keys().output;
    assert!(matches!(
        prove_with_backend(pk, &synthesized, r, s, &ShortQuotients),
        Err(ProofError::Groth16(m)) if m.contains("quotient")
    ));
    let mut short_key = pk.clone();
    short_key.h_query.pop();
    assert!(matches!(
        prove_with_backend(&short_key, &synthesized, r, s, &CpuBackend),
        Err(ProofError::Groth16(m)) if m.contains("domain")
    ));
    assert!(prove_with_backend(pk, &synthesized, r, s, &CpuBackend).is_ok());
}

#[test]
fn batches_larger_than_a_quotient_chunk_keep_every_proof_its_own() {
    // 65 statements: the witness maps go in chunks of 64.
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let owner = SpendingKey::from_seed(&[4; 32]).address();
    let batch: Vec<_> = (0..65)
        .map(|v| {
            let note = testing::note(AssetId(2), v, owner, &mut rng);
            synthesize_checked("output", OutputCircuit::for_note(&note)).unwrap()
        })
        .collect();
    let randomness: Vec<(Fr, Fr)> = (0..65)
        .map(|_| (Fr::rand(&mut rng), Fr::rand(&mut rng)))
        .collect();
    let pk = &keys().output;
    let proofs = prove_batch_with_backend(pk, &batch, &randomness, &CpuBackend).unwrap();
    for i in [0, 63, 64] {
        let (r, s) = randomness[i];
        assert_eq!(
            proofs[i],
            prove_with_backend(pk, &batch[i], r, s, &CpuBackend).unwrap()
        );
    }
}
