//! Honest Spend statements over a small note tree, shared by tests and
//! benchmarks (not used by the protocol itself).

use ark_bn254::Fr;
use rand_core::{CryptoRng, RngCore};

use crate::keys::{ShieldedAddress, SpendingKey};
use crate::merkle::NoteTree;
use crate::note::{AssetId, Epoch, Expiry, Note, Rho, TreeRoot};
use crate::spend::{dummy_input, SpendInput, SpendPublicInputs, SpendWitness};
use crate::spend_auth::Randomizer;

/// A note of `value` to `address` that never expires, with a fresh `ρ`.
pub fn note<R: RngCore + CryptoRng>(
    asset: AssetId,
    value: u64,
    address: ShieldedAddress,
    rng: &mut R,
) -> Note {
    Note::new(asset, Expiry::NEVER, value, address, Rho::random(rng), rng)
}

/// The epoch fixtures spend in.
pub const FIXTURE_EPOCH: Epoch = Epoch(7);
/// The expiries of a fixture's first and second (real) inputs: the second
/// expires first, so the change takes its expiry.
pub const FIXTURE_EXPIRIES: [Expiry; 2] = [Expiry(20), Expiry(12)];

/// A Spend witness, its public inputs and the tree its paths come from.
pub struct SpendFixture {
    /// The witness.
    pub witness: SpendWitness,
    /// Its public inputs.
    pub public: SpendPublicInputs,
    /// The tree (filler leaves, then the spent notes).
    pub tree: NoteTree,
}

/// Notes worth `values[0]` and `values[1]` (a dummy second input when
/// `values[1]` is `None`) owned by the key from `key_seed`, appended after
/// `filler` unrelated leaves; pays `paid`, keeps the rest as change. The
/// inputs expire at [`FIXTURE_EXPIRIES`], the proof is for [`FIXTURE_EPOCH`].
///
/// # Panics
/// If `paid` exceeds the inputs: fixtures are honest by construction.
pub fn spend_fixture<R: RngCore + CryptoRng>(
    key_seed: [u8; 32],
    asset: AssetId,
    values: (u64, Option<u64>),
    paid: u64,
    filler: u64,
    rng: &mut R,
) -> SpendFixture {
    let sk = SpendingKey::from_seed(&key_seed);
    let address = sk.address();
    let nk = sk.nullifier_key();
    let mut tree = NoteTree::new();
    for i in 0..filler {
        tree.append(Fr::from(1000 + i)).expect("small tree");
    }
    let mut input = |value: u64, expiry: Expiry, tree: &mut NoteTree| {
        let note = Note::new(asset, expiry, value, address, Rho::random(rng), rng);
        let position = tree.append(note.commitment().0).expect("small tree");
        (note, position)
    };
    let (n1, p1) = input(values.0, FIXTURE_EXPIRIES[0], &mut tree);
    let second = values.1.map(|v| input(v, FIXTURE_EXPIRIES[1], &mut tree));
    let total = values.0 + values.1.unwrap_or(0);
    let change_value = total
        .checked_sub(paid)
        .expect("fixture pays at most its inputs");
    let second = match second {
        Some((note, position)) => SpendInput {
            note,
            path: tree.path(position).expect("appended"),
        },
        None => dummy_input(asset, address, rng),
    };
    let change_expiry = n1.expiry.earliest(second.note.expiry);
    let change = Note::new(
        asset,
        change_expiry,
        change_value,
        address,
        Rho(n1.nullifier(&nk).0),
        rng,
    );
    let witness = SpendWitness {
        ak: sk.spend_authorizing_key().verification_key(),
        nk,
        alpha: Randomizer::random(rng),
        inputs: [
            SpendInput {
                note: n1,
                path: tree.path(p1).expect("appended"),
            },
            second,
        ],
        change,
    };
    let public = witness.public_inputs(
        TreeRoot(tree.root()),
        paid,
        Fr::from(99u64),
        Fr::from(1234u64),
        FIXTURE_EPOCH,
    );
    SpendFixture {
        witness,
        public,
        tree,
    }
}
