//! Shielded-pool benchmarks (numbers recorded in BENCHMARKS.md).
//!
//! Run: `cargo bench -p coalition-benches --bench shielded`
//!
//! Side by side in one run:
//! * the anchor, a bare arkworks Groth16 circuit with exactly as many
//!   constraints (and public inputs) as Spend, proven with
//!   `Groth16::prove`, against our Spend prove (`coalition_prover::groth16`);
//! * a depth-32 Poseidon Merkle path alone (the reference point);
//! * Output prove; Spend and Output verify;
//! * a Spend proof's host phases: synthesis with matrices against the
//!   shared-R1CS synthesis, and the witness map;
//! * 64 Spends verified one by one against one batch;
//! * 64 Redeems' proof items (Spend proof + spend-authorization signature,
//!   what a block verifies per Redeem) one by one against one batch.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::time::Duration;

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey, ProvingKey};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError,
};
use ark_snark::{CircuitSpecificSetupSNARK, SNARK};
use coalition_circuits::keys::SpendingKey;
use coalition_circuits::merkle::{gadget::MerklePathVar, MerklePath, NoteTree};
use coalition_circuits::note::AssetId;
use coalition_circuits::output::OutputCircuit;
use coalition_circuits::spend::{SpendCircuit, SpendPublicInputs, SpendWitness};
use coalition_circuits::spend_auth::Signature as SpendAuthSignature;
use coalition_circuits::testing;
use coalition_core::shielded::Groth16Proof;
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::groth16::{prove, synthesize_checked, R1cs};
use coalition_prover::qap;
use coalition_verifier::groth16::{verify_groth16, verify_groth16_batch, Groth16Item};
use coalition_verifier::{verify_item, BatchVerifier, ProofItem, SpendAuthItem};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// `constraints` multiplications `x ← x·x + input_(i mod 8)`: the same size
/// and number of public inputs as Spend, and nothing else.
#[derive(Clone)]
struct BareCircuit {
    constraints: usize,
    inputs: [Fr; SpendPublicInputs::LEN],
    start: Fr,
}

impl ConstraintSynthesizer<Fr> for BareCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = self
            .inputs
            .iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut x = FpVar::new_witness(cs.clone(), || Ok(self.start))?;
        for i in 0..self.constraints {
            x = &x * &x + &inputs[i % inputs.len()];
        }
        Ok(())
    }
}

/// A depth-32 Merkle path: public root, private leaf and path.
#[derive(Clone)]
struct MerklePathCircuit {
    leaf: Fr,
    path: MerklePath,
    root: Fr,
}

impl ConstraintSynthesizer<Fr> for MerklePathCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let root = FpVar::new_input(cs.clone(), || Ok(self.root))?;
        let leaf = FpVar::new_witness(cs.clone(), || Ok(self.leaf))?;
        let path = MerklePathVar::new_witness(cs.clone(), Some(&self.path))?;
        path.root(&leaf)?.enforce_equal(&root)
    }
}

fn constraints<C: ConstraintSynthesizer<Fr>>(circuit: C) -> usize {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    assert!(cs.is_satisfied().expect("assigned"));
    cs.num_constraints()
}

fn spend_fixture(seed: u64) -> (SpendPublicInputs, SpendWitness) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let f = testing::spend_fixture(
        [7; 32],
        AssetId(1),
        (400 + seed, Some(600)),
        500,
        5,
        &mut rng,
    );
    (f.public, f.witness)
}

fn bench_shielded(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let keys = ShieldedProvingKeys::insecure_dev(&default_params_dir()).expect("dev keys");
    let vks = keys.verifying_keys();

    let (spend_public, spend_witness) = spend_fixture(0);
    let spend_constraints = constraints(SpendCircuit::new(spend_public, &spend_witness));
    let note = testing::note(
        AssetId(1),
        77,
        SpendingKey::from_seed(&[8; 32]).address(),
        &mut rng,
    );
    let output_constraints = constraints(OutputCircuit::for_note(&note));

    let bare = BareCircuit {
        constraints: spend_constraints,
        inputs: spend_public
            .to_field_elements()
            .try_into()
            .expect("8 inputs"),
        start: Fr::from(3u64),
    };
    assert_eq!(constraints(bare.clone()), spend_constraints);
    let (bare_pk, _): (ProvingKey<Bn254>, _) =
        Groth16::<Bn254>::setup(bare.clone(), &mut rng).expect("bare setup");

    let mut tree = NoteTree::new();
    for i in 0..9u64 {
        tree.append(Fr::from(i + 100)).expect("room");
    }
    let merkle = MerklePathCircuit {
        leaf: Fr::from(104u64),
        path: tree.path(4).expect("leaf"),
        root: tree.root(),
    };
    let merkle_constraints = constraints(merkle.clone());
    let (merkle_pk, _): (ProvingKey<Bn254>, _) =
        Groth16::<Bn254>::setup(merkle.clone(), &mut rng).expect("merkle setup");
    println!(
        "constraints: spend {spend_constraints}, output {output_constraints}, \
         merkle path (depth 32) {merkle_constraints}, bare anchor {spend_constraints}"
    );

    let mut group = c.benchmark_group("shielded/prove");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(12));
    group.bench_function("anchor: bare arkworks circuit, Spend-sized", |b| {
        b.iter(|| Groth16::<Bn254>::prove(&bare_pk, bare.clone(), &mut rng).expect("prove"))
    });
    group.bench_function("spend", |b| {
        b.iter(|| {
            prove(
                "spend",
                &keys.spend,
                SpendCircuit::new(spend_public, &spend_witness),
                &mut rng,
            )
            .expect("prove")
        })
    });
    group.bench_function("output", |b| {
        b.iter(|| {
            prove(
                "output",
                &keys.output,
                OutputCircuit::for_note(&note),
                &mut rng,
            )
            .expect("prove")
        })
    });
    group.bench_function("merkle path depth 32 (reference)", |b| {
        b.iter(|| Groth16::<Bn254>::prove(&merkle_pk, merkle.clone(), &mut rng).expect("prove"))
    });
    group.finish();

    // Where a Spend proof's host time goes: synthesis as arkworks does it
    // (building the matrices every time) against the shared-R1CS synthesis
    // (witness values only, then the row check), and the witness map.
    let spend_circuit = SpendCircuit::new(spend_public, &spend_witness);
    let synthesized = synthesize_checked("spend", spend_circuit.clone()).expect("satisfied");
    let log_n = qap::domain_log2(synthesized.r1cs()).expect("domain");
    let mut group = c.benchmark_group("shielded/prove-phases");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("spend synthesis with matrices (arkworks' way)", |b| {
        b.iter(|| R1cs::of_statement(spend_circuit.clone()).expect("synthesis"))
    });
    group.bench_function("spend synthesis, shared R1CS, checked", |b| {
        b.iter(|| synthesize_checked("spend", spend_circuit.clone()).expect("satisfied"))
    });
    group.bench_function("spend witness map (CPU)", |b| {
        b.iter(|| {
            let e = qap::evaluations_from_rows(
                synthesized.r1cs(),
                synthesized.assignment(),
                synthesized.rows(),
                log_n,
            )
            .expect("evaluations");
            qap::quotient(log_n, &e).expect("quotient")
        })
    });
    group.finish();

    // 16 distinct Spend proofs, cycled to 64 (the batch's cost does not
    // depend on proofs being distinct: each gets its own random weight).
    let distinct: Vec<(Vec<Fr>, Groth16Proof)> = (0..16)
        .map(|seed| {
            let (public, witness) = spend_fixture(seed);
            let proof = prove(
                "spend",
                &keys.spend,
                SpendCircuit::new(public, &witness),
                &mut rng,
            )
            .expect("prove");
            (public.to_field_elements(), proof)
        })
        .collect();
    let item = |i: usize, key: &'static PreparedVerifyingKey<Bn254>| {
        let (inputs, proof) = &distinct[i % distinct.len()];
        (key, inputs, proof)
    };
    // The same 16 statements signed as their Redeems are: by rsk = ask + α
    // over the binding hash, under rk.
    let signed: Vec<(SpendPublicInputs, SpendAuthSignature)> = (0..16)
        .map(|seed| {
            let (public, witness) = spend_fixture(seed);
            let rsk = SpendingKey::from_seed(&[7; 32])
                .spend_authorizing_key()
                .randomize(&witness.alpha);
            let message = coalition_circuits::field::to_bytes(&public.binding);
            (public, rsk.sign(&message, &mut rng))
        })
        .collect();
    let spend_key: &'static PreparedVerifyingKey<Bn254> = Box::leak(Box::new(vks.spend.clone()));
    let redeem_items: Vec<ProofItem<'_>> = (0..64)
        .map(|i| {
            let (public, signature) = &signed[i % signed.len()];
            let (inputs, proof) = &distinct[i % distinct.len()];
            ProofItem::Redeem(
                Groth16Item {
                    key: spend_key,
                    inputs,
                    proof,
                },
                SpendAuthItem {
                    key: &public.rk,
                    message: coalition_circuits::field::to_bytes(&public.binding),
                    signature,
                },
            )
        })
        .collect();
    let items: Vec<Groth16Item<'_>> = (0..64)
        .map(|i| {
            let (key, inputs, proof) = item(i, spend_key);
            Groth16Item { key, inputs, proof }
        })
        .collect();
    let output_proof = prove(
        "output",
        &keys.output,
        OutputCircuit::for_note(&note),
        &mut rng,
    )
    .expect("prove");
    let output_inputs =
        coalition_circuits::output::OutputPublicInputs::for_note(&note).to_field_elements();

    let outputs: Vec<(Vec<Fr>, Groth16Proof)> = (0..16)
        .map(|_| {
            let note = testing::note(
                AssetId(1),
                5,
                SpendingKey::from_seed(&[8; 32]).address(),
                &mut rng,
            );
            let proof = prove(
                "output",
                &keys.output,
                OutputCircuit::for_note(&note),
                &mut rng,
            )
            .expect("prove");
            let inputs =
                coalition_circuits::output::OutputPublicInputs::for_note(&note).to_field_elements();
            (inputs, proof)
        })
        .collect();
    let output_items: Vec<Groth16Item<'_>> = (0..64)
        .map(|i| {
            let (inputs, proof) = &outputs[i % outputs.len()];
            Groth16Item {
                key: &vks.output,
                inputs,
                proof,
            }
        })
        .collect();

    let mut group = c.benchmark_group("shielded/verify");
    group.bench_function("spend", |b| {
        b.iter(|| verify_groth16(&items[0]).expect("valid"))
    });
    group.bench_function("output", |b| {
        b.iter(|| {
            verify_groth16(&Groth16Item {
                key: &vks.output,
                inputs: &output_inputs,
                proof: &output_proof,
            })
            .expect("valid")
        })
    });
    group.throughput(Throughput::Elements(64));
    group.sample_size(20);
    group.bench_function("64 spends one by one", |b| {
        b.iter(|| {
            for it in &items {
                verify_groth16(it).expect("valid");
            }
        })
    });
    group.bench_function("64 spends batched", |b| {
        b.iter(|| verify_groth16_batch(&items, &mut rng).expect("valid"))
    });
    group.bench_function("64 redeems (proof + authorization) one by one", |b| {
        b.iter(|| {
            for it in &redeem_items {
                verify_item(it).expect("valid");
            }
        })
    });
    group.bench_function("64 redeems (proof + authorization) batched", |b| {
        b.iter(|| {
            let mut batch = BatchVerifier::new();
            for it in &redeem_items {
                batch.queue(it).expect("well formed");
            }
            batch.verify().expect("valid")
        })
    });
    group.bench_function("64 outputs one by one", |b| {
        b.iter(|| {
            for it in &output_items {
                verify_groth16(it).expect("valid");
            }
        })
    });
    group.bench_function("64 outputs batched", |b| {
        b.iter(|| verify_groth16_batch(&output_items, &mut rng).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, bench_shielded);
criterion_main!(benches);
