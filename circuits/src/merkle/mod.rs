//! The append-only note-commitment tree.
//!
//! A binary Merkle tree of depth [`DEPTH`] = 32 (4.29 · 10⁹ notes) whose
//! leaves are note commitments in insertion order and whose inner nodes are
//! `Poseidon_node(left, right)` (width 3, domain tag
//! [`crate::poseidon::Domain::MerkleNode`]). An unused leaf is `0`;
//! an unused subtree of height `h` is `E_h` with `E_0 = 0`,
//! `E_{h+1} = Poseidon_node(E_h, E_h)`, so the root of a partly filled tree is
//! well defined and every append costs 32 hashes.
//!
//! A leaf's authentication path is its 32 siblings from the leaf upwards and
//! its position; bit `h` of the position says whether the running node is the
//! right (1) or left (0) child at height `h`. The verifier accepts spends
//! against any root in a window of recent roots ([`RecentRoots`]), so a wallet
//! can prove against the root it synced while new notes keep arriving.

pub mod gadget;
pub mod tree;

pub use tree::{empty_root, node_hash, MerklePath, NoteTree, RecentRoots, TreeError, DEPTH};
