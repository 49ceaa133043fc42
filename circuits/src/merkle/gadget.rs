//! Merkle authentication path as an R1CS gadget.

use ark_bn254::Fr;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use super::tree::{MerklePath, DEPTH};
use crate::poseidon::{gadget as poseidon, Domain};

/// An allocated path: position bits (each constrained boolean) and siblings.
pub struct MerklePathVar {
    position_bits: Vec<Boolean<Fr>>,
    siblings: Vec<FpVar<Fr>>,
}

impl MerklePathVar {
    /// Allocates `path` as witnesses (`None` in setup mode).
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        path: Option<&MerklePath>,
    ) -> Result<Self, SynthesisError> {
        let position_bits = (0..DEPTH)
            .map(|h| {
                Boolean::new_witness(cs.clone(), || {
                    path.map(|p| (p.position >> h) & 1 == 1)
                        .ok_or(SynthesisError::AssignmentMissing)
                })
            })
            .collect::<Result<_, _>>()?;
        let siblings = (0..DEPTH)
            .map(|h| {
                FpVar::new_witness(cs.clone(), || {
                    path.map(|p| p.siblings[h])
                        .ok_or(SynthesisError::AssignmentMissing)
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(MerklePathVar {
            position_bits,
            siblings,
        })
    }

    /// The root reached from `leaf`.
    ///
    /// Per level one constraint orders the pair: `left = node + b·(sibling −
    /// node)`, `right = node + sibling − left`; then one Poseidon hash.
    pub fn root(&self, leaf: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        let mut node = leaf.clone();
        for (bit, sibling) in self.position_bits.iter().zip(&self.siblings) {
            let bit = FpVar::from(bit.clone());
            let left = &node + bit * (sibling - &node);
            let right = &node + sibling - &left;
            node = poseidon::hash(Domain::MerkleNode, &[left, right])?;
        }
        Ok(node)
    }
}
