//! Native incremental tree, authentication paths and the recent-roots window.

use std::collections::VecDeque;
use std::sync::OnceLock;

use ark_bn254::Fr;
use thiserror::Error;

use crate::poseidon::{self, Domain};

/// Tree depth: every path has this many siblings.
pub const DEPTH: usize = 32;

/// Largest number of leaves the tree can hold.
pub const CAPACITY: u64 = 1 << DEPTH;

/// Errors of the native tree.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TreeError {
    /// All `2^32` leaves are used.
    #[error("note tree is full")]
    Full,
    /// A path was requested for a leaf that was never appended.
    #[error("no leaf at position {0}")]
    NoSuchLeaf(u64),
}

/// An inner node: `Poseidon_node(left, right)` (spec §13.4).
pub fn node_hash(left: Fr, right: Fr) -> Fr {
    poseidon::hash(Domain::MerkleNode, &[left, right])
}

/// `E_h`, the root of an empty subtree of height `h` (`0 ≤ h ≤ DEPTH`).
pub fn empty_root(height: usize) -> Fr {
    static EMPTY: OnceLock<Vec<Fr>> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut roots = vec![Fr::from(0u64)];
        for h in 0..DEPTH {
            roots.push(node_hash(roots[h], roots[h]));
        }
        roots
    })[height]
}

/// A leaf's position and its siblings from the leaf to just below the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// Leaf index; bit `h` is 1 when the running node is a right child.
    pub position: u64,
    /// `siblings[h]` is the sibling at height `h`.
    pub siblings: [Fr; DEPTH],
}

impl MerklePath {
    /// The root this path leads to from `leaf`.
    pub fn root(&self, leaf: Fr) -> Fr {
        let mut node = leaf;
        for (h, sibling) in self.siblings.iter().enumerate() {
            node = if (self.position >> h) & 1 == 1 {
                node_hash(*sibling, node)
            } else {
                node_hash(node, *sibling)
            };
        }
        node
    }

    /// A path of empty siblings at position 0 (used by dummy spend inputs,
    /// whose membership is not checked).
    pub fn dummy() -> Self {
        MerklePath {
            position: 0,
            siblings: std::array::from_fn(empty_root),
        }
    }
}

/// The append-only tree, keeping every non-empty node so paths are `O(DEPTH)`.
///
/// `levels[h]` holds the non-empty nodes at height `h` from the left;
/// `levels[DEPTH]` holds at most the root. Each level is a persistent
/// vector: a clone shares every node with the original, and an append
/// copies only the few chunks it writes, so a ledger can clone its tree for
/// every block (and every mempool batch) at a cost independent of the
/// number of notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteTree {
    levels: Vec<imbl::Vector<Fr>>,
}

impl Default for NoteTree {
    fn default() -> Self {
        Self::new()
    }
}

impl NoteTree {
    /// An empty tree.
    pub fn new() -> Self {
        NoteTree {
            levels: vec![imbl::Vector::new(); DEPTH + 1],
        }
    }

    /// The tree over `leaves` in order, equal to appending them one by one,
    /// built level by level: about `2n` hashes, computed in parallel,
    /// instead of the `DEPTH · n` of `n` appends (what a node pays to
    /// rebuild its tree at start-up).
    pub fn from_leaves(leaves: Vec<Fr>) -> Result<Self, TreeError> {
        use rayon::prelude::*;
        if leaves.len() as u64 > CAPACITY {
            return Err(TreeError::Full);
        }
        let mut levels = Vec::with_capacity(DEPTH + 1);
        let mut level = leaves;
        for h in 0..DEPTH {
            // A last node without a right sibling pairs with the empty
            // subtree, as `append` does.
            let parents: Vec<Fr> = level
                .par_chunks(2)
                .map(|pair| {
                    let right = pair.get(1).copied().unwrap_or_else(|| empty_root(h));
                    node_hash(pair[0], right)
                })
                .collect();
            levels.push(level.into_iter().collect());
            level = parents;
        }
        levels.push(level.into_iter().collect());
        Ok(NoteTree { levels })
    }

    /// Leaves appended so far.
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Whether no leaf was appended yet.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The current root.
    pub fn root(&self) -> Fr {
        self.levels[DEPTH]
            .front()
            .copied()
            .unwrap_or_else(|| empty_root(DEPTH))
    }

    /// The leaf at `position`.
    pub fn leaf(&self, position: u64) -> Option<Fr> {
        self.levels[0].get(usize::try_from(position).ok()?).copied()
    }

    /// Appends `leaf` and returns its position.
    pub fn append(&mut self, leaf: Fr) -> Result<u64, TreeError> {
        let position = self.len();
        if position >= CAPACITY {
            return Err(TreeError::Full);
        }
        let mut index = position as usize;
        let mut node = leaf;
        for h in 0..=DEPTH {
            let level = &mut self.levels[h];
            if index == level.len() {
                level.push_back(node);
            } else {
                level.set(index, node);
            }
            if h == DEPTH {
                break;
            }
            let sibling = self.sibling(h, index);
            node = if index & 1 == 1 {
                node_hash(sibling, node)
            } else {
                node_hash(node, sibling)
            };
            index >>= 1;
        }
        Ok(position)
    }

    /// The authentication path of the leaf at `position`.
    pub fn path(&self, position: u64) -> Result<MerklePath, TreeError> {
        if position >= self.len() {
            return Err(TreeError::NoSuchLeaf(position));
        }
        let mut index = position as usize;
        let siblings = std::array::from_fn(|h| {
            let s = self.sibling(h, index);
            index >>= 1;
            s
        });
        Ok(MerklePath { position, siblings })
    }

    fn sibling(&self, height: usize, index: usize) -> Fr {
        self.levels[height]
            .get(index ^ 1)
            .copied()
            .unwrap_or_else(|| empty_root(height))
    }
}

/// The last `capacity` roots the ledger has published (one per block).
///
/// A spend may prove membership against any of them; older roots fall out,
/// which bounds how stale a wallet may be and how much the verifier keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentRoots {
    capacity: usize,
    roots: VecDeque<Fr>,
}

impl RecentRoots {
    /// A window of `capacity ≥ 1` roots, holding the empty tree's root.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let mut roots = VecDeque::with_capacity(capacity);
        roots.push_back(empty_root(DEPTH));
        RecentRoots { capacity, roots }
    }

    /// Records `root` as the newest; drops the oldest beyond the window.
    /// Pushing the newest root again (a block with no notes) is a no-op.
    pub fn push(&mut self, root: Fr) {
        if self.roots.back() == Some(&root) {
            return;
        }
        if self.roots.len() == self.capacity {
            self.roots.pop_front();
        }
        self.roots.push_back(root);
    }

    /// Whether `root` is in the window.
    pub fn contains(&self, root: &Fr) -> bool {
        self.roots.contains(root)
    }

    /// The newest root.
    pub fn latest(&self) -> Fr {
        *self.roots.back().expect("window is never empty")
    }

    /// Roots from oldest to newest.
    pub fn iter(&self) -> impl Iterator<Item = &Fr> {
        self.roots.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Root of the tree over `leaves` computed level by level from scratch.
    fn naive_root(leaves: &[Fr]) -> Fr {
        let mut level: Vec<Fr> = leaves.to_vec();
        for h in 0..DEPTH {
            let mut next = Vec::new();
            for pair in level.chunks(2) {
                let right = pair.get(1).copied().unwrap_or_else(|| empty_root(h));
                next.push(node_hash(pair[0], right));
            }
            if next.is_empty() {
                next.push(empty_root(h + 1));
            }
            level = next;
        }
        level[0]
    }

    #[test]
    fn incremental_matches_naive_and_paths_verify() {
        let mut tree = NoteTree::new();
        assert_eq!(tree.root(), naive_root(&[]));
        let mut leaves = Vec::new();
        for i in 0..11u64 {
            let leaf = Fr::from(1000 + i);
            assert_eq!(tree.append(leaf).unwrap(), i);
            leaves.push(leaf);
            assert_eq!(tree.root(), naive_root(&leaves));
        }
        for (i, leaf) in leaves.iter().enumerate() {
            let path = tree.path(i as u64).unwrap();
            assert_eq!(path.root(*leaf), tree.root());
            assert_ne!(path.root(*leaf + Fr::from(1u64)), tree.root());
        }
        assert_eq!(tree.path(11), Err(TreeError::NoSuchLeaf(11)));
    }

    #[test]
    fn built_from_leaves_equals_appended_one_by_one() {
        let mut appended = NoteTree::new();
        let mut leaves = Vec::new();
        for n in 0..=131u64 {
            let built = NoteTree::from_leaves(leaves.clone()).unwrap();
            assert_eq!(built, appended, "{n} leaves");
            assert_eq!(built.root(), naive_root(&leaves));
            let leaf = Fr::from(7 * n + 3);
            appended.append(leaf).unwrap();
            leaves.push(leaf);
        }
        let built = NoteTree::from_leaves(leaves.clone()).unwrap();
        for position in [0, 1, 64, 130, 131] {
            assert_eq!(built.path(position), appended.path(position));
        }
        // Appending goes on from a built tree exactly as from an appended one.
        let mut built = built;
        built.append(Fr::from(1u64)).unwrap();
        appended.append(Fr::from(1u64)).unwrap();
        assert_eq!(built, appended);
    }

    #[test]
    fn recent_roots_window_slides() {
        let mut window = RecentRoots::new(3);
        let r = |i: u64| Fr::from(i);
        window.push(r(1));
        window.push(r(1));
        window.push(r(2));
        window.push(r(3));
        assert!(!window.contains(&empty_root(DEPTH)));
        assert!(window.contains(&r(1)) && window.contains(&r(3)));
        window.push(r(4));
        assert!(!window.contains(&r(1)));
        assert_eq!(window.latest(), r(4));
    }
}
