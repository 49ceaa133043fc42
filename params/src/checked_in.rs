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
        "a9f077370dbcdfec830531d77979d2f3db3bc68426c33e066682a57712675943",
        "35b4f0ac8faf76145b30e72b83efda7448c4e76e2ce45115488a2588759dac1b",
    ),
    (
        CircuitId::Spend,
        "16c9df69bebd9b935dd50d338e597c1ed119918bd1c07594d3bd7895b4fddd19",
        "3ac1dedf30663222b9aef8fe53d5319ba30be61ad8c68334f8d5f0baec8f06da",
    ),
];

/// SHA-256 of the compressed verifying key.
pub fn verifying_key_hash(vk: &VerifyingKey<Bn254>) -> [u8; 32] {
    let mut bytes = Vec::new();
    vk.serialize_compressed(&mut bytes)
        .expect("serializing into a Vec cannot fail");
    Sha256::digest(&bytes).into()
}
