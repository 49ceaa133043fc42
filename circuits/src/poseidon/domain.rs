//! Domain separation: which protocol role a Poseidon call plays.
//!
//! circomlib's `Poseidon(n)` starts from the state `[0, x_1, …, x_n]`; the
//! first element is the *capacity* element, never an input. Every hash the
//! protocol computes starts it from a distinct non-zero constant instead,
//! `[D, x_1, …, x_n]` (the Poseidon paper's §4.2 way of separating domains;
//! circomlibjs computes it as `poseidon(inputs, D)`). Two uses of the same
//! width therefore run different functions: a Merkle node can never be read
//! as an owner tag or a nullifier, whatever the inputs.
//!
//! A constant capacity element costs no constraint in-circuit (the first
//! round's S-box on a constant folds to a constant), so the tags are free.
//!
//! | tag | domain | width `t` | use |
//! |---|---|---|---|
//! | 1 | [`Domain::Owner`] | 4 | `owner = P₁(ak.x, ak.y, nk)` |
//! | 2 | [`Domain::NoteCommitment`] | 6 | `cm = P₂(asset, value, owner, ρ, rcm)` |
//! | 3 | [`Domain::Nullifier`] | 4 | `nf = P₃(nk, ρ, cm)` |
//! | 4 | [`Domain::MerkleNode`] | 3 | tree node `P₄(left, right)` |
//!
//! The owner tag and the nullifier both hash three elements: only their
//! tags tell them apart, which is what the tags are for.
//!
//! Tag 0 is circomlib's plain `Poseidon(n)`; the protocol never uses it.

use ark_bn254::Fr;

/// A protocol role of Poseidon, named by its capacity constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Domain {
    /// `owner = P(ak.x, ak.y, nk)`: an address's owner tag.
    Owner = 1,
    /// `cm = P(asset, value, owner, ρ, rcm)`: a note commitment.
    NoteCommitment = 2,
    /// `nf = P(nk, ρ, cm)`: a nullifier, keyed by `nk` over the note.
    Nullifier = 3,
    /// `P(left, right)`: an inner node of the note tree.
    MerkleNode = 4,
}

impl Domain {
    /// Every domain, for tests that check the tags differ.
    pub const ALL: [Domain; 4] = [
        Domain::Owner,
        Domain::NoteCommitment,
        Domain::Nullifier,
        Domain::MerkleNode,
    ];

    /// The capacity element this domain's hashes start from.
    pub fn tag(self) -> Fr {
        Fr::from(self as u64)
    }
}
