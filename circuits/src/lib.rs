//! Shielded-pool primitives for Coalition on BN254, each natively and as an
//! R1CS gadget (tested equal), and the Groth16 circuits built from them.
//!
//! | module | what |
//! |---|---|
//! | [`poseidon`] | circomlib-compatible Poseidon, domain-separated (native + gadget) |
//! | [`babyjub`] | Baby Jubjub in circomlib's coordinates (native + gadget) |
//! | [`spend_auth`] | re-randomizable spend-authorization signatures over Baby Jubjub |
//! | [`merkle`] | depth-32 note tree, paths, recent roots (native + gadget) |
//! | [`keys`] | spending key → `ask`, `nk`, `ivk`; address |
//! | [`note`] | notes, commitments, nullifiers |
//! | [`encryption`] | note encryption to the recipient |
//! | [`output`], [`spend`] | the two circuits and their typed public inputs |
//!
//! The math of each module is in its documentation and in
//! `papers/protocol.md` §13.

pub mod babyjub;
pub mod encryption;
pub mod field;
pub mod gadgets;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod output;
pub mod poseidon;
pub mod spend;
pub mod spend_auth;
pub mod testing;

pub use ark_bn254::Fr;
