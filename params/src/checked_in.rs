//! Checked-in hashes of the dev verifying keys and circuit shapes.
//!
//! Changing a circuit changes its shape hash and hence its keys; the test in
//! `tests/params.rs` then fails until these constants are updated on
//! purpose, in the same commit as the circuit change.

use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use ark_serialize::CanonicalSerialize;
use sha2::{Digest, Sha256};

use crate::circuit_id::CircuitId;

/// `(circuit, shape hash, dev verifying-key SHA-256)`, hex.
pub const DEV_KEYS: [(CircuitId, &str, &str); 2] = [
    (
        CircuitId::Output,
        "5e5b8cd2a84b92679da07d34fcbe6d56f27a79802a259b054334ce829d232d0e",
        "bb33f1cf456cd012672bb9ff780080b83f57b2706aef73c1c5c4cc11a3742fe6",
    ),
    (
        CircuitId::Spend,
        "99ca5ad4c6966931379d4d235e2fd3d36dc7923cf65d924d9058b70f7191707b",
        "da7a61c46b9243b5b589214ea85efceafefedadf54c034ef3be0239014715660",
    ),
];

/// SHA-256 of the compressed verifying key.
pub fn verifying_key_hash(vk: &VerifyingKey<Bn254>) -> [u8; 32] {
    let mut bytes = Vec::new();
    vk.serialize_compressed(&mut bytes)
        .expect("serializing into a Vec cannot fail");
    Sha256::digest(&bytes).into()
}
