//! Groth16 soundness at the proof level: every public input mutated, proofs
//! swapped, batches with a bad member, non-canonical encodings, and a prover
//! that refuses false statements.

use std::sync::OnceLock;

use ark_bn254::{Fr, G1Affine};
use ark_ec::AffineRepr;
use ark_serialize::CanonicalSerialize;
use coalition_circuits::keys::SpendingKey;
use coalition_circuits::note::{AssetId, Epoch, Expiry, Rho};
use coalition_circuits::output::{OutputCircuit, OutputPublicInputs};
use coalition_circuits::spend::{SpendCircuit, SpendPublicInputs, SpendWitness};
use coalition_circuits::testing::{self, spend_fixture};
use coalition_core::currency::NoteLifetime;
use coalition_core::encoding::decode_exact;
use coalition_core::shielded::Groth16Proof;
use coalition_core::DecodeError;
use coalition_params::{default_params_dir, ShieldedProvingKeys, ShieldedVerifyingKeys};
use coalition_prover::groth16::prove;
use coalition_prover::ProofError;
use coalition_verifier::groth16::{verify_groth16, verify_groth16_batch, Groth16Item};
use coalition_verifier::VerificationError;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

struct Keys {
    proving: ShieldedProvingKeys,
    verifying: ShieldedVerifyingKeys,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let proving = ShieldedProvingKeys::insecure_dev(&default_params_dir()).unwrap();
        let verifying = proving.verifying_keys();
        Keys { proving, verifying }
    })
}

/// A valid Spend statement and proof: notes of 40 and 60, pays `paid`.
fn spend(seed: u64, paid: u64) -> (SpendPublicInputs, Groth16Proof, SpendWitness) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut f = spend_fixture(
        [seed as u8; 32],
        AssetId(3),
        (40, Some(60)),
        paid,
        0,
        &mut rng,
    );
    f.public.merchant = Fr::from(seed);
    f.public.binding = Fr::from(seed + 1000);
    let circuit = SpendCircuit::new(f.public, &f.witness);
    let proof = prove("spend", &keys().proving.spend, circuit, &mut rng).unwrap();
    (f.public, proof, f.witness)
}

fn output(seed: u64) -> (OutputPublicInputs, Groth16Proof) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let note = testing::note(
        AssetId(3),
        77,
        SpendingKey::from_seed(&[1; 32]).address(),
        &mut rng,
    );
    let proof = prove(
        "output",
        &keys().proving.output,
        OutputCircuit::for_note(&note),
        &mut rng,
    )
    .unwrap();
    (OutputPublicInputs::for_note(&note), proof)
}

fn check(
    key: &ark_groth16::PreparedVerifyingKey<ark_bn254::Bn254>,
    inputs: &[Fr],
    proof: &Groth16Proof,
) -> Result<(), VerificationError> {
    let item = Groth16Item { key, inputs, proof };
    let single = verify_groth16(&item);
    let batch = verify_groth16_batch(&[item], &mut ChaCha20Rng::seed_from_u64(1));
    assert_eq!(single.is_ok(), batch.is_ok(), "single and batch disagree");
    single
}

#[test]
fn every_spend_public_input_is_bound() {
    let (public, proof, _) = spend(1, 70);
    let inputs = public.to_field_elements();
    check(&keys().verifying.spend, &inputs, &proof).unwrap();
    for i in 0..inputs.len() {
        let mut mutated = inputs.clone();
        mutated[i] += Fr::from(1u64);
        assert_eq!(
            check(&keys().verifying.spend, &mutated, &proof),
            Err(VerificationError::Groth16),
            "spend input {i} mutated and accepted"
        );
    }
    // Wrong number of inputs.
    assert!(matches!(
        check(&keys().verifying.spend, &inputs[..7], &proof),
        Err(VerificationError::MalformedStatement(_))
    ));
}

#[test]
fn every_output_public_input_is_bound() {
    let (public, proof) = output(2);
    let inputs = public.to_field_elements();
    check(&keys().verifying.output, &inputs, &proof).unwrap();
    for i in 0..inputs.len() {
        let mut mutated = inputs.clone();
        mutated[i] += Fr::from(1u64);
        assert_eq!(
            check(&keys().verifying.output, &mutated, &proof),
            Err(VerificationError::Groth16),
            "output input {i}"
        );
    }
}

#[test]
fn proofs_swapped_between_statements_fail() {
    let (pa, proof_a, _) = spend(3, 10);
    let (pb, proof_b, _) = spend(4, 20);
    let (po, proof_o) = output(5);
    let (a, b) = (pa.to_field_elements(), pb.to_field_elements());
    assert_eq!(
        check(&keys().verifying.spend, &a, &proof_b),
        Err(VerificationError::Groth16)
    );
    assert_eq!(
        check(&keys().verifying.spend, &b, &proof_a),
        Err(VerificationError::Groth16)
    );
    // An Output proof under the Spend key (and inputs padded to fit).
    let mut padded = po.to_field_elements();
    padded.resize(a.len(), Fr::from(0u64));
    assert_eq!(
        check(&keys().verifying.spend, &padded, &proof_o),
        Err(VerificationError::Groth16)
    );
    // A Spend proof under the Output key with as many of its inputs.
    assert_eq!(
        check(
            &keys().verifying.output,
            &a[..po.to_field_elements().len()],
            &proof_a
        ),
        Err(VerificationError::Groth16)
    );
}

#[test]
fn batch_accepts_valid_mixed_keys_and_rejects_one_bad_member() {
    let spends: Vec<_> = (10..14).map(|s| spend(s, 5 * s)).collect();
    let outputs: Vec<_> = (20..23).map(output).collect();
    let spend_inputs: Vec<Vec<Fr>> = spends
        .iter()
        .map(|(p, _, _)| p.to_field_elements())
        .collect();
    let output_inputs: Vec<Vec<Fr>> = outputs.iter().map(|(p, _)| p.to_field_elements()).collect();
    let mut items: Vec<Groth16Item<'_>> = Vec::new();
    for (i, (_, proof, _)) in spends.iter().enumerate() {
        items.push(Groth16Item {
            key: &keys().verifying.spend,
            inputs: &spend_inputs[i],
            proof,
        });
    }
    for (i, (_, proof)) in outputs.iter().enumerate() {
        items.push(Groth16Item {
            key: &keys().verifying.output,
            inputs: &output_inputs[i],
            proof,
        });
    }
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    verify_groth16_batch(&items, &mut rng).unwrap();
    // One bad member anywhere sinks the batch.
    let mut wrong = spend_inputs[2].clone();
    wrong[5] += Fr::from(1u64);
    for position in [0, 2, items.len() - 1] {
        let mut bad = items.clone();
        bad[position] = Groth16Item {
            inputs: &wrong,
            ..items[2]
        };
        assert_eq!(
            verify_groth16_batch(&bad, &mut rng),
            Err(VerificationError::Groth16)
        );
    }
    // Two compensating errors (same proof counted under swapped inputs) fail too.
    let mut swapped = items.clone();
    swapped[0].inputs = &spend_inputs[1];
    swapped[1].inputs = &spend_inputs[0];
    assert_eq!(
        verify_groth16_batch(&swapped, &mut rng),
        Err(VerificationError::Groth16)
    );
}

#[test]
fn prover_refuses_false_statements() {
    let (public, _, witness) = spend(30, 50);
    let mut rng = ChaCha20Rng::seed_from_u64(30);
    let mut assignment = witness.assignment();
    assignment.change_value += Fr::from(1u64);
    let circuit = SpendCircuit {
        public: Some(public),
        assignment: Some(assignment),
    };
    assert!(matches!(
        prove("spend", &keys().proving.spend, circuit, &mut rng),
        Err(ProofError::Unsatisfied {
            circuit: "spend",
            ..
        })
    ));
    let mut wrong_public = public;
    wrong_public.value += 1;
    assert!(matches!(
        prove(
            "spend",
            &keys().proving.spend,
            SpendCircuit::new(wrong_public, &witness),
            &mut rng
        ),
        Err(ProofError::Unsatisfied { .. })
    ));
}

#[test]
fn groth16_proof_encoding_is_strict() {
    let (_, proof) = output(40);
    let mut bytes = Vec::new();
    proof.0.serialize_compressed(&mut bytes).unwrap();
    assert_eq!(bytes.len(), Groth16Proof::LEN);
    assert_eq!(decode_exact::<Groth16Proof>(&bytes).unwrap(), proof);
    // Truncated and trailing.
    assert!(matches!(
        decode_exact::<Groth16Proof>(&bytes[..127]),
        Err(DecodeError::Truncated { .. })
    ));
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        decode_exact::<Groth16Proof>(&long),
        Err(DecodeError::TrailingBytes { .. })
    ));
    // An x coordinate ≥ p (all ones, flags aside) and points off the curve.
    let mut big = bytes.clone();
    big[..31].fill(0xff);
    big[31] = 0x3f;
    assert!(decode_exact::<Groth16Proof>(&big).is_err());
    let mut off_curve_seen = 0;
    for i in 0..32u8 {
        let mut bad = bytes.clone();
        bad[0] = bad[0].wrapping_add(i + 1);
        if decode_exact::<Groth16Proof>(&bad).is_err() {
            off_curve_seen += 1;
        }
    }
    assert!(off_curve_seen > 0, "no off-curve A was rejected");
    // B's bytes (G2) corrupted: on-curve or subgroup check refuses most.
    let mut rejected_b = 0;
    for i in 0..32u8 {
        let mut bad = bytes.clone();
        bad[32] = bad[32].wrapping_add(i + 1);
        if decode_exact::<Groth16Proof>(&bad).is_err() {
            rejected_b += 1;
        }
    }
    assert!(rejected_b > 0);
    // The identity in A, B or C is refused.
    for part in ["A", "B", "C"] {
        let mut identity = proof.clone();
        match part {
            "A" => identity.0.a = G1Affine::zero(),
            "B" => identity.0.b = ark_bn254::G2Affine::zero(),
            _ => identity.0.c = G1Affine::zero(),
        }
        let mut id_bytes = Vec::new();
        identity.0.serialize_compressed(&mut id_bytes).unwrap();
        assert!(
            matches!(
                decode_exact::<Groth16Proof>(&id_bytes),
                Err(DecodeError::IdentityPoint { .. })
            ),
            "identity {part} accepted"
        );
    }
}

#[test]
fn field_elements_at_or_above_the_modulus_are_refused() {
    use ark_ff::{BigInteger, PrimeField};
    use coalition_circuits::note::Nullifier;
    let mut modulus = [0u8; 32];
    modulus.copy_from_slice(&Fr::MODULUS.to_bytes_le());
    assert!(decode_exact::<Nullifier>(&modulus).is_err());
    let mut below = Fr::MODULUS;
    below.sub_with_borrow(&ark_ff::BigInt::from(1u64));
    let mut ok = [0u8; 32];
    ok.copy_from_slice(&below.to_bytes_le());
    assert!(decode_exact::<Nullifier>(&ok).is_ok());
}

/// A Shield of `value` out of a balance of 1,000 (nonce 4), its statement
/// and the Output proof's public inputs.
fn shield(
    seed: u64,
    value: u64,
) -> (
    coalition_core::shielded::ShieldTx,
    coalition_core::shielded::ShieldStatement,
    Vec<Fr>,
) {
    use coalition_core::account::AccountState;
    use coalition_core::elgamal::Ciphertext;
    use coalition_core::keys::IdentityKeys;
    use coalition_core::transaction::{ChainId, Transaction};
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let owner = IdentityKeys::random(&mut ChaCha20Rng::seed_from_u64(99));
    let mut state = AccountState::new(*owner.public());
    state.available = Ciphertext::encrypt(&owner.public().encryption, 1_000, &mut rng).0;
    state.nonce = 4;
    let shielded = coalition_prover::shielded::shield(
        ChainId([9; 32]),
        coalition_core::currency::CurrencyId::new("MILES").unwrap(),
        Epoch(0),
        NoteLifetime::Unlimited,
        &owner,
        &coalition_prover::transactions::SpendingAccount {
            state: &state,
            balance: 1_000,
        },
        value,
        &SpendingKey::from_seed(&[2; 32]).address(),
        &keys().proving.output,
        &mut rng,
    )
    .unwrap();
    let Transaction::Shield(tx) = shielded.tx else {
        unreachable!()
    };
    let statement = tx.statement(&state.available);
    let inputs = tx.output_public_inputs(Expiry::NEVER).to_field_elements();
    (tx, statement, inputs)
}

/// Both verifiers on one Shield item.
fn check_shield(
    statement: &coalition_core::shielded::ShieldStatement,
    proof: &coalition_core::shielded::ShieldBalanceProof,
    inputs: &[Fr],
    output_proof: &Groth16Proof,
) -> bool {
    use coalition_verifier::statements::verify_batch;
    use coalition_verifier::{verify_item, ProofItem};
    let item = || {
        ProofItem::Shield(
            statement,
            proof,
            Groth16Item {
                key: &keys().verifying.output,
                inputs,
                proof: output_proof,
            },
        )
    };
    let single = verify_item(&item()).is_ok();
    let batch = verify_batch(&[item()]).is_ok();
    assert_eq!(single, batch, "single and batch disagree");
    single
}

/// The Shield's account proof binds every element of its statement: each
/// mutated alone (the honest Output proof kept, so only the balance
/// proof's transcript can refuse it) is refused, and so is a balance proof
/// taken from another Shield.
#[test]
fn every_shield_statement_element_is_bound_by_its_balance_proof() {
    use coalition_circuits::note::NoteCommitment;
    use coalition_core::elgamal::{Ciphertext, PedersenCommitment, PedersenOpening};
    use coalition_core::keys::IdentityKeys;
    use coalition_core::shielded::ShieldStatement;
    use coalition_core::transaction::ChainId;
    let (tx, honest, inputs) = shield(1, 300);
    assert!(check_shield(
        &honest,
        &tx.balance_proof,
        &inputs,
        &tx.output_proof
    ));
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let stranger = IdentityKeys::random(&mut rng);
    type Mutation = Box<dyn Fn(&mut ShieldStatement)>;
    let other_available = Ciphertext::encrypt(&honest.source, 1_000, &mut rng).0;
    let other_balance = PedersenCommitment::new(700, &PedersenOpening::random(&mut rng));
    let mutations: Vec<(&str, Mutation)> = vec![
        ("chain", Box::new(|s| s.chain = ChainId([8; 32]))),
        (
            "currency",
            Box::new(|s| s.currency = coalition_core::currency::CurrencyId::new("HPTS").unwrap()),
        ),
        ("nonce", Box::new(|s| s.nonce += 1)),
        ("epoch", Box::new(|s| s.epoch = Epoch(s.epoch.0 + 1))),
        (
            "source id",
            Box::new(move |s| s.source_id = stranger.loyalty_id()),
        ),
        (
            "source key",
            Box::new({
                let key = IdentityKeys::random(&mut ChaCha20Rng::seed_from_u64(6))
                    .public()
                    .encryption;
                move |s| s.source = key
            }),
        ),
        (
            "available balance",
            Box::new(move |s| s.source_available = other_available),
        ),
        ("value", Box::new(|s| s.value += 1)),
        ("value down", Box::new(|s| s.value -= 1)),
        (
            "new balance",
            Box::new(move |s| s.new_balance = other_balance),
        ),
        (
            "note commitment",
            Box::new(|s| s.note_commitment = NoteCommitment(s.note_commitment.0 + Fr::from(1u64))),
        ),
        ("rho", Box::new(|s| s.rho = Rho(s.rho.0 + Fr::from(1u64)))),
        (
            "encrypted note",
            Box::new(|s| s.encrypted_note.ciphertext[0] ^= 1),
        ),
    ];
    for (name, mutate) in mutations {
        let mut statement = honest.clone();
        mutate(&mut statement);
        assert!(
            !check_shield(&statement, &tx.balance_proof, &inputs, &tx.output_proof),
            "{name} accepted"
        );
    }
    // Another Shield's balance proof (same owner and balance, another
    // value), whole or in part.
    let (other, _, _) = shield(2, 300);
    assert!(!check_shield(
        &honest,
        &other.balance_proof,
        &inputs,
        &tx.output_proof
    ));
    let mut mixed = tx.balance_proof.clone();
    mixed.equality = other.balance_proof.equality.clone();
    assert!(!check_shield(&honest, &mixed, &inputs, &tx.output_proof));
    let mut mixed = tx.balance_proof.clone();
    mixed.range = other.balance_proof.range.clone();
    assert!(!check_shield(&honest, &mixed, &inputs, &tx.output_proof));
    // The Output proof of another Shield under this statement's inputs.
    assert!(!check_shield(
        &honest,
        &tx.balance_proof,
        &inputs,
        &other.output_proof
    ));
}
