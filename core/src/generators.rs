//! The group generators (spec §2).
//!
//! * `G = PedersenGens::default().B`, the Ristretto basepoint: values.
//! * `H = PedersenGens::default().B_blinding`, `RistrettoPoint::hash_from_bytes::<Sha3_512>(G)`:
//!   blinding factors. Nobody knows `log_G(H)`.
//! * Bulletproof vector generators: `BulletproofGens::new(64, 4)`, the crate's
//!   SHAKE256 `GeneratorsChain` labelled `G‖j` / `H‖j` for party `j`.

use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens};
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::Shake256;

/// Largest range-proof bit size used by any Coalition statement.
pub const MAX_RANGE_BITS: usize = 64;
/// Largest number of values aggregated into one range proof (Exchange).
pub const MAX_RANGE_PARTIES: usize = 4;

/// The Pedersen generators `(G, H)`.
pub fn pedersen_gens() -> &'static PedersenGens {
    static GENS: OnceLock<PedersenGens> = OnceLock::new();
    GENS.get_or_init(PedersenGens::default)
}

/// The Bulletproof vector generators, sized for every Coalition range proof.
pub fn bulletproof_gens() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(MAX_RANGE_BITS, MAX_RANGE_PARTIES))
}

/// Precomputed tables for fixed-base multiplication by `G` and `H`
/// (constant time, several times faster than a variable-base multiplication).
fn tables() -> &'static (RistrettoBasepointTable, RistrettoBasepointTable) {
    static TABLES: OnceLock<(RistrettoBasepointTable, RistrettoBasepointTable)> = OnceLock::new();
    TABLES.get_or_init(|| {
        (
            RistrettoBasepointTable::create(&g()),
            RistrettoBasepointTable::create(&h()),
        )
    })
}

/// `s·G` through the fixed-base table.
pub fn mul_g(s: &Scalar) -> RistrettoPoint {
    &tables().0 * s
}

/// `s·H` through the fixed-base table.
pub fn mul_h(s: &Scalar) -> RistrettoPoint {
    &tables().1 * s
}

/// `a·G + b·H`, the Pedersen commitment shape, through the fixed-base tables.
pub fn commit(a: &Scalar, b: &Scalar) -> RistrettoPoint {
    mul_g(a) + mul_h(b)
}

/// `G`, the value generator.
pub fn g() -> RistrettoPoint {
    pedersen_gens().B
}

/// `H`, the blinding generator.
pub fn h() -> RistrettoPoint {
    pedersen_gens().B_blinding
}

/// The Bulletproof vector generators `G_vec` and `H_vec`, flattened as
/// `[party j][i] → j·MAX_RANGE_BITS + i`, for the batched verifier.
///
/// The `bulletproofs` crate does not export `H_vec`, so both are re-derived
/// here exactly as the crate does (SHAKE256 over `"GeneratorsChain" ‖ label`,
/// `label = b'G' or b'H' ‖ u32_le(j)`, 64 bytes per point through
/// `RistrettoPoint::from_uniform_bytes`); a test checks `G_vec` against the
/// crate's public view and the batched verifier is tested against the crate's.
pub struct VectorGenerators {
    /// `G_vec`, flattened.
    pub g: Vec<RistrettoPoint>,
    /// `H_vec`, flattened.
    pub h: Vec<RistrettoPoint>,
}

fn generator_chain(prefix: u8, party: u32, count: usize) -> Vec<RistrettoPoint> {
    let mut label = [prefix, 0, 0, 0, 0];
    label[1..].copy_from_slice(&party.to_le_bytes());
    let mut shake = Shake256::default();
    shake.update(b"GeneratorsChain");
    shake.update(&label);
    let mut reader = shake.finalize_xof();
    (0..count)
        .map(|_| {
            let mut uniform = [0u8; 64];
            reader.read(&mut uniform);
            RistrettoPoint::from_uniform_bytes(&uniform)
        })
        .collect()
}

/// The flattened vector generators (computed once).
pub fn vector_generators() -> &'static VectorGenerators {
    static GENS: OnceLock<VectorGenerators> = OnceLock::new();
    GENS.get_or_init(|| {
        let mut g = Vec::with_capacity(MAX_RANGE_BITS * MAX_RANGE_PARTIES);
        let mut h = Vec::with_capacity(MAX_RANGE_BITS * MAX_RANGE_PARTIES);
        for party in 0..MAX_RANGE_PARTIES as u32 {
            g.extend(generator_chain(b'G', party, MAX_RANGE_BITS));
            h.extend(generator_chain(b'H', party, MAX_RANGE_BITS));
        }
        VectorGenerators { g, h }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_generators_match_the_crate() {
        let ours = vector_generators();
        for party in 0..MAX_RANGE_PARTIES {
            let theirs: Vec<RistrettoPoint> = bulletproof_gens()
                .share(party)
                .G(MAX_RANGE_BITS)
                .copied()
                .collect();
            assert_eq!(
                &ours.g[party * MAX_RANGE_BITS..(party + 1) * MAX_RANGE_BITS],
                &theirs[..]
            );
        }
        assert_ne!(ours.g[0], ours.h[0]);
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn fixed_base_tables_agree_with_plain_multiplication() {
        let a = Scalar::from(123_456_789u64);
        let b = Scalar::from_bytes_mod_order([7u8; 32]);
        assert_eq!(mul_g(&a), a * g());
        assert_eq!(mul_h(&b), b * h());
        assert_eq!(commit(&a, &b), a * g() + b * h());
    }
}
