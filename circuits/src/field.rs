//! Canonical 32-byte encoding of BN254 scalars, shared by every type that
//! puts a field element on the wire.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use sha2::{Digest, Sha512};
use thiserror::Error;

/// A byte string that is not the canonical encoding of a field element.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("not a canonical BN254 scalar (value ≥ the field modulus)")]
pub struct NonCanonicalField;

/// Little-endian 32 bytes of `f`'s canonical representative.
pub fn to_bytes(f: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&f.into_bigint().to_bytes_le());
    out
}

/// Parses 32 little-endian bytes, refusing values `≥ p` (so each element has
/// exactly one encoding and nothing is silently reduced).
pub fn from_bytes(bytes: &[u8; 32]) -> Result<Fr, NonCanonicalField> {
    let mut bits = Vec::with_capacity(256);
    for byte in bytes {
        for i in 0..8 {
            bits.push((byte >> i) & 1 == 1);
        }
    }
    Fr::from_bigint(<Fr as PrimeField>::BigInt::from_bits_le(&bits)).ok_or(NonCanonicalField)
}

/// `SHA-512(label ‖ parts…) mod p`: a uniform field element (statistical
/// distance 2⁻²⁵⁸) from domain-separated bytes.
pub fn hash_to_field(label: &[u8], parts: &[&[u8]]) -> Fr {
    let mut hasher = Sha512::new();
    hasher.update((label.len() as u64).to_le_bytes());
    hasher.update(label);
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Fr::from_le_bytes_mod_order(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_roundtrip_and_rejection() {
        let f = hash_to_field(b"t", &[b"x"]);
        assert_eq!(from_bytes(&to_bytes(&f)), Ok(f));
        let mut modulus = [0u8; 32];
        modulus.copy_from_slice(&Fr::MODULUS.to_bytes_le());
        assert_eq!(from_bytes(&modulus), Err(NonCanonicalField));
        assert_eq!(from_bytes(&[0xff; 32]), Err(NonCanonicalField));
    }
}
