//! The viewing-key freeze attack (issue 19, spec §13.3): whoever holds a
//! victim's nullifier key `nk` (an auditor, a delegated prover, anyone given
//! the full viewing key) must not be able to reveal the nullifier of a note
//! the victim owns, because the ledger would then refuse the victim's own
//! spend of it forever.
//!
//! Under `coalition.spend.v1` (`nf = Poseidon(nk, ρ)`) the attack worked:
//! the attacker keeps its own `ask`, takes the victim's `nk`, owns a note
//! under `owner' = P(P(ask_a), nk_v)`, and spends it beside a dummy (value 0,
//! membership not enforced) whose `ρ` is the victim's note's `ρ`; the dummy's
//! nullifier was the victim's. Since v2 the nullifier is keyed by `nk` over
//! `(ρ, cm)`, and the dummy's commitment names another owner and value.
//!
//! Since v2 the circuit takes `ak` (not `ask`), so a holder of the victim's
//! whole full viewing key can even prove a spend of the victim's real note
//! (revealing its real nullifier); such a Redeem still needs a signature
//! under `rk = ak + [α]·B`, which takes `ask`. That end of the attack is
//! tested where signatures are checked (`ledger/tests/shielded.rs`,
//! `verifier/tests/soundness.rs`).

use ark_bn254::Fr;
use ark_ff::{Field, UniformRand};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use coalition_circuits::{
    keys::{FullViewingKey, SpendingKey},
    merkle::{MerklePath, NoteTree},
    note::{AssetId, Epoch, Expiry, Note, Rho, TreeRoot},
    spend::{SpendCircuit, SpendInput, SpendWitness},
    spend_auth::Randomizer,
    testing,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn satisfied<C: ConstraintSynthesizer<Fr>>(circuit: C) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).expect("synthesis");
    cs.is_satisfied().expect("assigned")
}

struct Attack {
    /// The victim's note's nullifier (what its owner reveals to spend it).
    victim_nullifier: Fr,
    /// The attacker's witness: its own note plus a dummy aimed at the victim.
    witness: SpendWitness,
    root: TreeRoot,
}

/// The victim's note (500 points) and the attacker's note (1 point, owned
/// under the attacker's `ask` and the victim's `nk`) in one tree, and the
/// attacker's Spend witness whose dummy second input copies `ρ` — and, with
/// `copy_rcm`, also `rcm` — from the victim's note.
fn attack(copy_rcm: bool) -> Attack {
    let mut rng = ChaCha20Rng::seed_from_u64(0xF2EE);
    let asset = AssetId(7);
    let victim = SpendingKey::from_seed(&[1; 32]);
    let mut tree = NoteTree::new();
    let victim_note = testing::note(asset, 500, victim.address(), &mut rng);
    tree.append(victim_note.commitment().0).unwrap();
    let victim_nullifier = victim_note.nullifier(&victim.nullifier_key()).0;

    // What the attacker holds: the victim's full viewing key, and its own
    // authorization secret.
    let victim_fvk = victim.full_viewing_key();
    let attacker = SpendingKey::from_seed(&[2; 32]);
    let hybrid = FullViewingKey {
        ak: attacker.spend_authorizing_key().verification_key(),
        nk: victim_fvk.nk.clone(),
        ivk: attacker.incoming_viewing_key(),
    };
    let address = hybrid.address();
    let own = testing::note(asset, 1, address, &mut rng);
    let position = tree.append(own.commitment().0).unwrap();

    let mut dummy = Note::new(asset, Expiry::NEVER, 0, address, victim_note.rho, &mut rng);
    if copy_rcm {
        dummy.rcm = victim_note.rcm;
    }
    let change = Note::new(
        asset,
        Expiry::NEVER,
        0,
        address,
        Rho(own.nullifier(&hybrid.nk).0),
        &mut rng,
    );
    let witness = SpendWitness {
        ak: hybrid.ak,
        nk: hybrid.nk.clone(),
        alpha: Randomizer::random(&mut rng),
        inputs: [
            SpendInput {
                note: own,
                path: tree.path(position).unwrap(),
            },
            SpendInput {
                note: dummy,
                path: MerklePath::dummy(),
            },
        ],
        change,
    };
    Attack {
        victim_nullifier,
        witness,
        root: TreeRoot(tree.root()),
    }
}

#[test]
fn a_dummy_input_cannot_reveal_a_victims_nullifier() {
    for copy_rcm in [false, true] {
        let a = attack(copy_rcm);
        let public = a
            .witness
            .public_inputs(a.root, 1, Fr::ONE, Fr::ONE, Epoch(0));
        // The attacker may spend its own note beside a dummy …
        assert!(satisfied(SpendCircuit::new(public, &a.witness)));
        // … but the dummy's nullifier is not the victim's.
        assert_ne!(
            public.nullifiers[1].0, a.victim_nullifier,
            "the dummy revealed the victim's nullifier (copy_rcm = {copy_rcm})"
        );
        // Nor can the victim's nullifier be claimed as the public nf₂ with
        // this witness.
        let mut forced = public;
        forced.nullifiers[1].0 = a.victim_nullifier;
        assert!(!satisfied(SpendCircuit::new(forced, &a.witness)));
    }
}

#[test]
fn no_choice_of_dummy_commitment_randomness_reaches_the_victims_nullifier() {
    // The dummy's free wires are ρ and rcm (its value is 0 and its owner is
    // the spender's). Whatever they are, with the victim's ρ the nullifier
    // differs from the victim's: here a few hundred random rcm.
    let a = attack(false);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let nk = a.witness.nk.clone();
    let mut dummy = a.witness.inputs[1].note.clone();
    for _ in 0..256 {
        dummy.rcm = Fr::rand(&mut rng);
        assert_ne!(dummy.nullifier(&nk).0, a.victim_nullifier);
    }
}
