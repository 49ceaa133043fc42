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
        "94cc52212ebf3d8b135b47a17f4e41b0b4c13f7ee701536b31cfcab06761aeef",
        "0468ffa5a330f3a09ed91148c0e82c431c27d77ba678c516081108e3dfc4efbf",
    ),
    (
        CircuitId::Spend,
        "1e42ec6ade2a702eeda25e907dcd41351d055cd71a7f88ab8aa6d2c7e4aafa6e",
        "82e2aabec8b49786cc0b340321affaab07d96e79c9e53b9db08a0ef3db1ef76d",
    ),
];

/// SHA-256 of the compressed verifying key.
pub fn verifying_key_hash(vk: &VerifyingKey<Bn254>) -> [u8; 32] {
    let mut bytes = Vec::new();
    vk.serialize_compressed(&mut bytes)
        .expect("serializing into a Vec cannot fail");
    Sha256::digest(&bytes).into()
}
