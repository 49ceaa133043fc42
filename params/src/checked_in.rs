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
        "199e326afba662c41e3efb0caca411e2b17498bb0b532f59fce6487ca3b6a7ab",
        "56a9ada45c91cbe3ee26798f3d15d2120ab847a80dcf7d27bd8379358ad1ebdd",
    ),
    (
        CircuitId::Spend,
        "6046567d15c873ab5affe867c17a9e6000966fb629750e3bb836251df89b48e4",
        "c5441ce3a5349dca0d34fb2c1134150e1d475105c02b8a79fd73de1a6d789608",
    ),
];

/// SHA-256 of the compressed verifying key.
pub fn verifying_key_hash(vk: &VerifyingKey<Bn254>) -> [u8; 32] {
    let mut bytes = Vec::new();
    vk.serialize_compressed(&mut bytes)
        .expect("serializing into a Vec cannot fail");
    Sha256::digest(&bytes).into()
}
