//! Gadgets equal their native counterparts; the Output and Spend circuits
//! are satisfied by honest witnesses and by nothing else we can think of.

use ark_bn254::Fr;
use ark_ff::{Field, PrimeField, UniformRand};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef};
use coalition_circuits::babyjub::{self, Scalar};
use coalition_circuits::{
    keys::SpendingKey,
    merkle::{gadget::MerklePathVar, NoteTree, DEPTH},
    note::{self, AssetId, Epoch, Expiry, Note, NoteCommitment, Nullifier, Rho, TreeRoot},
    output::{OutputCircuit, OutputPublicInputs},
    poseidon::{self, Domain},
    spend::{
        dummy_input, SpendAssignment, SpendCircuit, SpendInput, SpendPublicInputs, SpendWitness,
    },
    spend_auth::{Randomizer, VerificationKey},
    testing::{self, FIXTURE_EPOCH, FIXTURE_EXPIRIES},
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0xC0A1)
}

fn satisfied<C: ConstraintSynthesizer<Fr>>(circuit: C) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs.is_satisfied().expect("assigned")
}

fn count<C: ConstraintSynthesizer<Fr>>(circuit: C) -> usize {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs.num_constraints()
}

fn alloc(cs: &ConstraintSystemRef<Fr>, values: &[Fr]) -> Vec<FpVar<Fr>> {
    values
        .iter()
        .map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap())
        .collect()
}

#[test]
fn poseidon_gadget_equals_native_for_every_arity_and_domain() {
    let mut rng = rng();
    for arity in 1..=5 {
        let inputs: Vec<Fr> = (0..arity).map(|_| Fr::rand(&mut rng)).collect();
        for domain in Domain::ALL {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars = alloc(&cs, &inputs);
            let out = poseidon::gadget::hash(domain, &vars).unwrap();
            assert_eq!(
                out.value().unwrap(),
                poseidon::hash(domain, &inputs),
                "arity {arity}, {domain:?}"
            );
            assert!(cs.is_satisfied().unwrap());
        }
    }
    // Cost of the tree's 2-to-1 hash: 3 constraints per S-box, less the
    // first round's S-box on the constant capacity element (the domain tag
    // is free).
    let cs = ConstraintSystem::<Fr>::new_ref();
    let vars = alloc(&cs, &[Fr::from(1u64), Fr::from(2u64)]);
    let _ = poseidon::gadget::hash(Domain::MerkleNode, &vars).unwrap();
    assert_eq!(cs.num_constraints(), 3 * (8 * 3 + 57) - 3);
}

/// The permutation is circomlib's: its published outputs (circomlibjs
/// `test/poseidon.js`) for the plain, untagged hash.
#[test]
fn poseidon_matches_circomlibs_published_outputs() {
    let hex = |h: &str| Fr::from_be_bytes_mod_order(&hex::decode(h).unwrap());
    let small = |xs: &[u64]| xs.iter().map(|&x| Fr::from(x)).collect::<Vec<_>>();
    for (inputs, expected) in [
        (
            small(&[1]),
            "29176100eaa962bdc1fe6c654d6a3c130e96a4d1168b33848b897dc502820133",
        ),
        (
            small(&[1, 2]),
            "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a",
        ),
        (
            small(&[1, 2, 3, 4]),
            "299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465",
        ),
        (
            small(&[1, 2, 3, 4, 5]),
            "0dab9449e4a1398a15224c0b15a49d598b2174d305a316c918125f8feeb123c0",
        ),
    ] {
        assert_eq!(
            poseidon::circomlib_hash(&inputs),
            hex(expected),
            "{inputs:?}"
        );
    }
}

/// Every protocol use of one width runs a different function: the same
/// inputs give a different output in every domain, and none equals the
/// untagged circomlib hash.
#[test]
fn poseidon_domains_are_separated() {
    let mut rng = rng();
    for arity in 1..=5 {
        let inputs: Vec<Fr> = (0..arity).map(|_| Fr::rand(&mut rng)).collect();
        let mut outputs: Vec<Fr> = Domain::ALL
            .iter()
            .map(|d| poseidon::hash(*d, &inputs))
            .collect();
        outputs.push(poseidon::circomlib_hash(&inputs));
        let n = outputs.len();
        outputs.sort();
        outputs.dedup();
        assert_eq!(outputs.len(), n, "arity {arity}");
    }
    // Tags are distinct and non-zero (0 is circomlib's own capacity).
    let mut tags: Vec<Fr> = Domain::ALL.iter().map(|d| d.tag()).collect();
    assert!(!tags.contains(&Fr::from(0u64)));
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), Domain::ALL.len());
}

#[test]
fn merkle_gadget_equals_native_and_rejects_wrong_paths() {
    let mut tree = NoteTree::new();
    for i in 0..5u64 {
        tree.append(Fr::from(77 + i)).unwrap();
    }
    for position in 0..5u64 {
        let leaf = tree.leaf(position).unwrap();
        let path = tree.path(position).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let leaf_var = FpVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
        let path_var = MerklePathVar::new_witness(cs.clone(), Some(&path)).unwrap();
        let root = path_var.root(&leaf_var).unwrap();
        assert_eq!(root.value().unwrap(), tree.root());
        assert!(cs.is_satisfied().unwrap());

        // In the gadget, against the tree's root as a public input: the
        // honest path holds, a wrong position or sibling (at the bottom or
        // the top) does not.
        let mut wrong_position = path.clone();
        wrong_position.position ^= 1;
        assert_ne!(wrong_position.root(leaf), tree.root());
        let mut wrong_bottom = path.clone();
        wrong_bottom.siblings[0] += Fr::ONE;
        let mut wrong_top = path.clone();
        wrong_top.siblings[DEPTH - 1] += Fr::ONE;
        for (what, candidate, holds) in [
            ("honest", &path, true),
            ("wrong position", &wrong_position, false),
            ("wrong bottom sibling", &wrong_bottom, false),
            ("wrong top sibling", &wrong_top, false),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let expected = FpVar::new_input(cs.clone(), || Ok(tree.root())).unwrap();
            let leaf_var = FpVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
            let path_var = MerklePathVar::new_witness(cs.clone(), Some(candidate)).unwrap();
            path_var
                .root(&leaf_var)
                .unwrap()
                .enforce_equal(&expected)
                .unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), holds, "{what} at {position}");
        }
    }
}

#[test]
fn output_accepts_honest_witness_and_rejects_every_mutation() {
    let mut rng = rng();
    let address = SpendingKey::from_seed(&[9; 32]).address();
    let note = testing::note(AssetId(5), 1234, address, &mut rng);
    let honest = OutputCircuit::for_note(&note);
    assert!(satisfied(honest.clone()));
    println!("Output constraints: {}", count(honest.clone()));

    type Mutation = Box<dyn Fn(&mut OutputPublicInputs)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        (
            "cm",
            Box::new(|p| p.commitment = NoteCommitment(p.commitment.0 + Fr::ONE)),
        ),
        ("asset", Box::new(|p| p.asset = AssetId(p.asset.0 + 1))),
        ("value", Box::new(|p| p.value += 1)),
        ("rho", Box::new(|p| p.rho = Rho(p.rho.0 + Fr::ONE))),
        ("expiry", Box::new(|p| p.expiry = Expiry(p.expiry.0 - 1))),
        ("expiry 0", Box::new(|p| p.expiry = Expiry(0))),
    ];
    for (name, mutate) in mutations {
        let mut circuit = honest.clone();
        mutate(circuit.public.as_mut().unwrap());
        assert!(!satisfied(circuit), "mutated {name} accepted");
    }
    let mut wrong_owner = honest.clone();
    wrong_owner.assignment.as_mut().unwrap().owner += Fr::ONE;
    assert!(!satisfied(wrong_owner));
    let mut wrong_rcm = honest;
    wrong_rcm.assignment.as_mut().unwrap().rcm += Fr::ONE;
    assert!(!satisfied(wrong_rcm));
}

/// Two notes of asset 7 (300 and 500) after two other leaves; pays 650,
/// change 150 (or 300 and a dummy, paying 150).
fn spend_fixture(second_is_dummy: bool) -> testing::SpendFixture {
    let (second, paid) = if second_is_dummy {
        (None, 150)
    } else {
        (Some(500), 650)
    };
    testing::spend_fixture([4; 32], AssetId(7), (300, second), paid, 2, &mut rng())
}

fn spend(public: SpendPublicInputs, assignment: SpendAssignment) -> SpendCircuit {
    SpendCircuit {
        public: Some(public),
        assignment: Some(assignment),
    }
}

#[test]
fn spend_accepts_two_notes_and_one_note_with_dummy() {
    for dummy in [false, true] {
        let f = spend_fixture(dummy);
        let circuit = SpendCircuit::new(f.public, &f.witness);
        assert!(satisfied(circuit.clone()), "dummy = {dummy}");
        let n = count(circuit);
        println!("Spend constraints: {n}");
        assert!(n <= 24_000, "Spend has {n} constraints");
    }
}

#[test]
fn spend_rejects_every_public_input_mutation() {
    let f = spend_fixture(false);
    let assignment = f.witness.assignment();
    let ak = f.witness.ak;
    let other_rk = SpendingKey::from_seed(&[5; 32])
        .spend_authorizing_key()
        .verification_key()
        .randomize(&f.witness.alpha);
    let bump = |x: Fr| x + Fr::ONE;
    type Mutation = Box<dyn Fn(&mut SpendPublicInputs)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("root", Box::new(move |p| p.root = TreeRoot(bump(p.root.0)))),
        (
            "nf1",
            Box::new(move |p| p.nullifiers[0] = Nullifier(bump(p.nullifiers[0].0))),
        ),
        (
            "nf2",
            Box::new(move |p| p.nullifiers[1] = Nullifier(bump(p.nullifiers[1].0))),
        ),
        ("nf swap", Box::new(|p| p.nullifiers.swap(0, 1))),
        (
            "change cm",
            Box::new(move |p| p.change_commitment = NoteCommitment(bump(p.change_commitment.0))),
        ),
        ("asset", Box::new(|p| p.asset = AssetId(p.asset.0 + 1))),
        ("value", Box::new(|p| p.value += 1)),
        ("value down", Box::new(|p| p.value -= 1)),
        // rk: another key, the unrandomized ak, and rk negated (same y).
        ("rk other", Box::new(move |p| p.rk = other_rk)),
        ("rk = ak", Box::new(move |p| p.rk = ak)),
        // epoch is otherwise bound by its Groth16 input term (the verifier
        // tests mutate it); past an input's expiry it is unsatisfiable.
        (
            "epoch past expiry",
            Box::new(|p| p.epoch = Epoch(FIXTURE_EXPIRIES[1].0 + 1)),
        ),
        ("epoch max", Box::new(|p| p.epoch = Epoch(u32::MAX))),
        (
            "rk negated",
            Box::new(move |p| {
                p.rk = VerificationKey::from_bytes(&babyjub::encode(&-p.rk.point())).unwrap()
            }),
        ),
    ];
    for (name, mutate) in mutations {
        let mut public = f.public;
        mutate(&mut public);
        assert!(
            !satisfied(spend(public, assignment.clone())),
            "{name} accepted"
        );
    }
    // merchant and binding are free in R1CS (any value satisfies); they are
    // bound by the Groth16 input terms, which the verifier tests mutate.
}

#[test]
fn spend_refuses_expired_inputs_and_refreshed_change() {
    // Two real inputs expiring at 20 and 12 (b = 0), and one at 20 beside a
    // dummy that never expires (b = 1).
    for (dummy, earliest) in [(false, FIXTURE_EXPIRIES[1]), (true, FIXTURE_EXPIRIES[0])] {
        let f = spend_fixture(dummy);
        assert_eq!(f.witness.change.expiry, earliest, "dummy = {dummy}");
        let at = |epoch: u32| {
            let mut public = f.public;
            public.epoch = Epoch(epoch);
            satisfied(SpendCircuit::new(public, &f.witness))
        };
        assert!(at(0) && at(earliest.0), "dummy = {dummy}");
        assert!(!at(earliest.0 + 1), "expired input spent, dummy = {dummy}");
        assert!(!at(FIXTURE_EXPIRIES[0].0 + 1), "dummy = {dummy}");

        // The change must carry exactly the earliest expiry: neither a later
        // one (refreshing points) nor, for determinism, an earlier one.
        for change_expiry in [
            Expiry(earliest.0 + 1),
            FIXTURE_EXPIRIES[0],
            Expiry::NEVER,
            Expiry(earliest.0 - 1),
        ] {
            if change_expiry == earliest {
                continue;
            }
            let mut witness = f.witness.clone();
            witness.change.expiry = change_expiry;
            let public = witness.public_inputs(
                f.public.root,
                f.public.value,
                f.public.merchant,
                f.public.binding,
                f.public.epoch,
            );
            assert!(
                !satisfied(SpendCircuit::new(public, &witness)),
                "change expiry {change_expiry:?} accepted, dummy = {dummy}"
            );
        }

        // An input claiming a later expiry than its commitment holds.
        let mut assignment = f.witness.assignment();
        assignment.inputs[1].expiry += Fr::from(100u64);
        assert!(!satisfied(spend(f.public, assignment)), "dummy = {dummy}");
    }

    // A note that expired is unspendable even as a "dummy" of value 0
    // (wallets give dummies no expiry).
    let f = spend_fixture(true);
    let mut witness = f.witness.clone();
    witness.inputs[1].note.expiry = Expiry(FIXTURE_EPOCH.0 - 1);
    witness.change.expiry = witness.change_expiry();
    let at = |epoch: Epoch| {
        let public = witness.public_inputs(
            f.public.root,
            f.public.value,
            f.public.merchant,
            f.public.binding,
            epoch,
        );
        satisfied(SpendCircuit::new(public, &witness))
    };
    // The same witness holds one epoch earlier: only the expiry check fails.
    assert!(at(Epoch(FIXTURE_EPOCH.0 - 1)));
    assert!(!at(FIXTURE_EPOCH));
}

#[test]
fn spend_rejects_bad_witnesses() {
    let f = spend_fixture(false);
    let honest = f.witness.assignment();
    let check = |name: &str, edit: &dyn Fn(&mut SpendAssignment)| {
        let mut a = honest.clone();
        edit(&mut a);
        assert!(!satisfied(spend(f.public, a)), "{name} accepted");
    };
    let other = SpendingKey::from_seed(&[5; 32]);
    check("wrong ak", &|a| {
        a.ak = other.spend_authorizing_key().verification_key().point()
    });
    check("ak off the curve", &|a| a.ak.y += Fr::ONE);
    check("ak negated", &|a| a.ak = -a.ak);
    check("wrong alpha", &|a| a.alpha += Scalar::from(1u64));
    check("alpha + l/2 (another point)", &|a| {
        a.alpha += Scalar::from(2u64).inverse().unwrap()
    });
    check("wrong nk", &|a| a.nk = other.nullifier_key().to_field());
    check("wrong sibling", &|a| {
        a.inputs[0].path.siblings[3] += Fr::ONE
    });
    check("wrong position", &|a| a.inputs[1].path.position ^= 1);
    check("wrong rcm", &|a| a.inputs[0].rcm += Fr::ONE);
    check("wrong rho", &|a| a.inputs[1].rho += Fr::ONE);
    check("inflated input", &|a| a.inputs[0].value += Fr::ONE);
    check("change worth more", &|a| a.change_value += Fr::ONE);
    // Overflow: keep the sum right modulo p with a "negative" change, or an
    // input just past 2^64.
    check("negative change", &|a| {
        a.change_value = -Fr::ONE;
        a.inputs[0].value += Fr::from(151u64);
    });
    check("input of 2^64", &|a| {
        a.inputs[0].value = Fr::from(2u64).pow([64])
    });
    // A dummy (value 0) input may have any path, but not a non-zero value.
    check("valued note off the tree", &|a| {
        a.inputs[1].path.siblings[0] += Fr::ONE;
    });
}

/// An input "worth" `p − 1` (−1 in the field) whose commitment is in the
/// tree, with a second input of 101, pays 50 and keeps 50: the sum holds
/// modulo p, the commitment, path and nullifier are right, so only the
/// input's 64-bit range check can refuse it (the ledger never stores such
/// a note, so this is the check's own test, not a reachable attack). The
/// same spend with honest values (0 and 100) is satisfied.
#[test]
fn spend_refuses_an_input_outside_64_bits_by_its_range_check_alone() {
    let mut rng = rng();
    let sk = SpendingKey::from_seed(&[7; 32]);
    let (address, nk) = (sk.address(), sk.nullifier_key());
    let asset = AssetId(7);
    let build = |first: Fr, second: u64, rng: &mut ChaCha20Rng| {
        let mut tree = NoteTree::new();
        let n1 = testing::note(asset, 0, address, rng);
        let cm1 = note::commit(asset, Expiry::NEVER, first, address.owner, n1.rho, n1.rcm);
        let p1 = tree.append(cm1.0).unwrap();
        let n2 = testing::note(asset, second, address, rng);
        let p2 = tree.append(n2.commitment().0).unwrap();
        // The nullifier of the note the tree holds (value `first`).
        let nf1 = note::nullifier(nk.to_field(), n1.rho, cm1);
        let change = Note::new(asset, Expiry::NEVER, 50, address, Rho(nf1.0), rng);
        let witness = SpendWitness {
            ak: sk.spend_authorizing_key().verification_key(),
            nk: nk.clone(),
            alpha: Randomizer::random(rng),
            inputs: [
                SpendInput {
                    note: n1,
                    path: tree.path(p1).unwrap(),
                },
                SpendInput {
                    note: n2,
                    path: tree.path(p2).unwrap(),
                },
            ],
            change,
        };
        let mut public =
            witness.public_inputs(TreeRoot(tree.root()), 50, Fr::ONE, Fr::ONE, Epoch(0));
        public.nullifiers[0] = nf1;
        let mut assignment = witness.assignment();
        assignment.inputs[0].value = first;
        spend(public, assignment)
    };
    assert!(satisfied(build(Fr::from(0u64), 100, &mut rng)));
    assert!(!satisfied(build(-Fr::ONE, 101, &mut rng)));
}

#[test]
fn spend_rejects_asset_mismatch_and_range_overflow_notes() {
    // Input notes of another asset cannot be used for asset 7: their
    // commitments (with asset 7) are not in the tree.
    let mut rng = rng();
    let sk = SpendingKey::from_seed(&[6; 32]);
    let address = sk.address();
    let mut tree = NoteTree::new();
    let foreign = testing::note(AssetId(8), 100, address, &mut rng);
    let pos = tree.append(foreign.commitment().0).unwrap();
    let nk = sk.nullifier_key();
    let mut as_seven = foreign.clone();
    as_seven.asset = AssetId(7);
    let change = Note::new(
        AssetId(7),
        Expiry::NEVER,
        0,
        address,
        Rho(foreign.nullifier(&nk).0),
        &mut rng,
    );
    let witness = SpendWitness {
        ak: sk.spend_authorizing_key().verification_key(),
        nk,
        alpha: Randomizer::random(&mut rng),
        inputs: [
            SpendInput {
                note: as_seven,
                path: tree.path(pos).unwrap(),
            },
            dummy_input(AssetId(7), address, &mut rng),
        ],
        change,
    };
    let public = witness.public_inputs(TreeRoot(tree.root()), 100, Fr::ONE, Fr::ONE, Epoch(0));
    assert!(!satisfied(SpendCircuit::new(public, &witness)));

    // Two notes near 2^64 paying more than 2^64: the sum is honest in the
    // field, but the change would need ≥ 2^64, which the range check refuses.
    let big = u64::MAX - 1;
    let n1 = testing::note(AssetId(7), big, address, &mut rng);
    let n2 = testing::note(AssetId(7), big, address, &mut rng);
    let p1 = tree.append(n1.commitment().0).unwrap();
    let p2 = tree.append(n2.commitment().0).unwrap();
    let nk = sk.nullifier_key();
    let witness = SpendWitness {
        ak: sk.spend_authorizing_key().verification_key(),
        nk: nk.clone(),
        alpha: Randomizer::random(&mut rng),
        inputs: [
            SpendInput {
                note: n1.clone(),
                path: tree.path(p1).unwrap(),
            },
            SpendInput {
                note: n2,
                path: tree.path(p2).unwrap(),
            },
        ],
        change: Note::new(
            AssetId(7),
            Expiry::NEVER,
            0,
            address,
            Rho(n1.nullifier(&nk).0),
            &mut rng,
        ),
    };
    let mut assignment = witness.assignment();
    // change = 2·(2^64 − 2) − 1 ≥ 2^64, paying 1.
    assignment.change_value = Fr::from(big) + Fr::from(big) - Fr::ONE;
    let mut public = witness.public_inputs(TreeRoot(tree.root()), 1, Fr::ONE, Fr::ONE, Epoch(0));
    let change_note = Note {
        value: 0,
        ..witness.change.clone()
    };
    // Recompute the change commitment with the out-of-range value so only
    // the range check can object.
    public.change_commitment = note::commit(
        AssetId(7),
        Expiry::NEVER,
        assignment.change_value,
        address.owner,
        change_note.rho,
        change_note.rcm,
    );
    assert!(!satisfied(spend(public, assignment)));
}
