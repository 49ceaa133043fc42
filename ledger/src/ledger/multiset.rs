//! An incremental, order-independent hash of a set (spec §15.2).
//!
//! The state hash must cover sets that only grow or change a little per
//! block (accounts, nullifiers, ρ values) without hashing all of them at
//! every block. An elliptic-curve multiset hash (ECMH, Maitin-Shepard,
//! Tibouchi and Aranha 2016) does that: each element is hashed to a point of
//! the Ristretto group, and the set is represented by the sum of its points
//! and its size,
//!
//! ```text
//! M(S)      = Σ_{x ∈ S} H2C(len(domain) ‖ domain ‖ x)    H2C = RistrettoPoint::hash_from_bytes::<SHA-512>
//! digest(S) = SHA-256(len(label) ‖ label ‖ |S| ‖ compress(M(S)))
//! ```
//!
//! (lengths and `|S|` as u64 little-endian)
//!
//! so adding or removing an element is one hash-to-curve and one point
//! addition, whatever the size of the set, and the result does not depend
//! on the order of insertion: a replica that rebuilds the set from storage
//! gets the same digest as one that built it block by block. Finding two
//! different multisets with the same sum means finding a non-trivial linear
//! relation among random-oracle points of a prime-order group, which is as
//! hard as computing discrete logarithms there.
//!
//! A hash-to-curve costs about 15 µs on the 2-core VM of `BENCHMARKS.md`;
//! callers with many elements at once use [`SetHash::apply`], which hashes
//! them in parallel.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use rayon::prelude::*;
use sha2::{Digest, Sha256, Sha512};

/// The multiset hash of one set, kept in step with the set itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetHash {
    /// Separates the sets from each other (and from every other hash).
    domain: &'static [u8],
    sum: RistrettoPoint,
    count: u64,
}

impl SetHash {
    /// The hash of the empty set in `domain`.
    pub fn new(domain: &'static [u8]) -> Self {
        SetHash {
            domain,
            sum: RistrettoPoint::identity(),
            count: 0,
        }
    }

    fn point(&self, element: &[u8]) -> RistrettoPoint {
        let mut input = Vec::with_capacity(self.domain.len() + 8 + element.len());
        input.extend_from_slice(&(self.domain.len() as u64).to_le_bytes());
        input.extend_from_slice(self.domain);
        input.extend_from_slice(element);
        RistrettoPoint::hash_from_bytes::<Sha512>(&input)
    }

    /// Adds one element (the caller keeps the set free of duplicates).
    pub fn insert(&mut self, element: &[u8]) {
        self.sum += self.point(element);
        self.count += 1;
    }

    /// Removes elements and adds others in one step, hashing them in
    /// parallel: what a block does to the account set (each changed account
    /// leaves with its old digest and comes back with its new one).
    pub fn apply<E: AsRef<[u8]> + Sync>(&mut self, removed: &[E], inserted: &[E]) {
        let sum = |elements: &[E]| {
            elements
                .par_iter()
                .map(|e| self.point(e.as_ref()))
                .reduce(RistrettoPoint::identity, |a, b| a + b)
        };
        debug_assert!(
            removed.len() as u64 <= self.count,
            "removing more than the set holds"
        );
        let (gone, new) = rayon::join(|| sum(removed), || sum(inserted));
        self.sum = self.sum - gone + new;
        self.count = self.count.saturating_sub(removed.len() as u64) + inserted.len() as u64;
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `SHA-256(len(label) ‖ label ‖ count ‖ compress(sum))`: what the state
    /// hash and block headers commit to.
    pub fn digest(&self, label: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((label.len() as u64).to_le_bytes());
        h.update(label);
        h.update(self.count.to_le_bytes());
        h.update(self.sum.compress().as_bytes());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(domain: &'static [u8], elements: &[&[u8]]) -> SetHash {
        let mut h = SetHash::new(domain);
        for e in elements {
            h.insert(e);
        }
        h
    }

    #[test]
    fn order_of_insertion_does_not_matter() {
        let a = of(b"d", &[b"x", b"y", b"z"]);
        let b = of(b"d", &[b"z", b"x", b"y"]);
        assert_eq!(a.digest(b"l"), b.digest(b"l"));
        let mut c = SetHash::new(b"d");
        c.apply::<&[u8]>(&[], &[b"y", b"z", b"x"]);
        assert_eq!(a.digest(b"l"), c.digest(b"l"));
    }

    #[test]
    fn removing_undoes_inserting() {
        let mut a = of(b"d", &[b"x", b"y"]);
        a.apply(&[b"y".as_slice()], &[b"w".as_slice()]);
        assert_eq!(a, of(b"d", &[b"x", b"w"]));
        a.apply(&[b"x".as_slice(), b"w".as_slice()], &[]);
        assert_eq!(a.digest(b"l"), SetHash::new(b"d").digest(b"l"));
        assert!(a.is_empty());
    }

    #[test]
    fn different_sets_domains_and_labels_differ() {
        let base = of(b"d", &[b"x", b"y"]).digest(b"l");
        for other in [
            of(b"d", &[b"x"]).digest(b"l"),
            of(b"d", &[b"x", b"z"]).digest(b"l"),
            of(b"d", &[b"x", b"y", b"y"]).digest(b"l"),
            of(b"e", &[b"x", b"y"]).digest(b"l"),
            of(b"d", &[b"x", b"y"]).digest(b"m"),
            // Element boundaries are part of each element's hash.
            of(b"d", &[b"xy"]).digest(b"l"),
            SetHash::new(b"d").digest(b"l"),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(of(b"d", &[b"x", b"y"]).len(), 2);
    }
}
