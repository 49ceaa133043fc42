//! Byte-level data structures of every proof (spec §6). Proving is in
//! `coalition-prover`, verification in `coalition-verifier`.
//!
//! Decoding is strict: points must be canonical, non-identity Ristretto
//! encodings, scalars canonical, lengths exact for the statement.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;

use crate::encoding::{put_scalar, Decode, Encode, Reader};
use crate::errors::DecodeError;

/// A prover's first-round point, kept both compressed (for the transcript)
/// and decompressed (for the verifier's multiscalar multiplication).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofPoint {
    compressed: CompressedRistretto,
    point: RistrettoPoint,
}

impl ProofPoint {
    /// Wraps a point computed by a prover.
    pub fn new(point: RistrettoPoint) -> Self {
        Self {
            compressed: point.compress(),
            point,
        }
    }

    /// The 32-byte encoding.
    pub fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }

    /// The point.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    fn read(reader: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError> {
        let (point, compressed) = reader.point_with_encoding(what)?;
        if point.is_identity() {
            return Err(DecodeError::IdentityPoint { what });
        }
        Ok(Self { compressed, point })
    }
}

impl Encode for ProofPoint {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.compressed.as_bytes());
    }
}

/// Grouped-ciphertext validity proof (spec §6.1): knowledge of `(v, r)` with
/// `C = v·G + r·H` and `D_i = r·P_i` for every handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupedValidityProof {
    /// `Y_0 = y_v·G + y_r·H`.
    pub y_commitment: ProofPoint,
    /// `Y_i = y_r·P_i`, one per handle.
    pub y_handles: Vec<ProofPoint>,
    /// `z_r = c·r + y_r`.
    pub z_r: Scalar,
    /// `z_v = c·v + y_v`.
    pub z_v: Scalar,
}

impl GroupedValidityProof {
    /// Decodes a proof for a ciphertext with `handles` handles (2 or 3).
    pub fn decode_for(reader: &mut Reader<'_>, handles: usize) -> Result<Self, DecodeError> {
        if !(2..=3).contains(&handles) {
            return Err(DecodeError::OutOfBounds {
                what: "validity proof handles",
                value: handles as u64,
            });
        }
        let y_commitment = ProofPoint::read(reader, "validity Y_0")?;
        let mut y_handles = Vec::with_capacity(handles);
        for _ in 0..handles {
            y_handles.push(ProofPoint::read(reader, "validity Y_i")?);
        }
        Ok(Self {
            y_commitment,
            y_handles,
            z_r: reader.scalar("validity z_r")?,
            z_v: reader.scalar("validity z_v")?,
        })
    }
}

impl Encode for GroupedValidityProof {
    fn encode(&self, out: &mut Vec<u8>) {
        self.y_commitment.encode(out);
        for y in &self.y_handles {
            y.encode(out);
        }
        put_scalar(out, &self.z_r);
        put_scalar(out, &self.z_v);
    }
}

/// Ciphertext–commitment equality proof (spec §6.2): knowledge of `(s, x, r')`
/// with `s·P = H`, `C = x·G + s·D` and `C' = x·G + r'·H`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EqualityProof {
    /// `Y_0 = y_s·P`.
    pub y_0: ProofPoint,
    /// `Y_1 = y_x·G + y_s·D`.
    pub y_1: ProofPoint,
    /// `Y_2 = y_x·G + y_r·H`.
    pub y_2: ProofPoint,
    /// `z_s = c·s + y_s`.
    pub z_s: Scalar,
    /// `z_x = c·x + y_x`.
    pub z_x: Scalar,
    /// `z_r = c·r' + y_r`.
    pub z_r: Scalar,
}

impl Encode for EqualityProof {
    fn encode(&self, out: &mut Vec<u8>) {
        self.y_0.encode(out);
        self.y_1.encode(out);
        self.y_2.encode(out);
        put_scalar(out, &self.z_s);
        put_scalar(out, &self.z_x);
        put_scalar(out, &self.z_r);
    }
}

impl Decode for EqualityProof {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            y_0: ProofPoint::read(reader, "equality Y_0")?,
            y_1: ProofPoint::read(reader, "equality Y_1")?,
            y_2: ProofPoint::read(reader, "equality Y_2")?,
            z_s: reader.scalar("equality z_s")?,
            z_x: reader.scalar("equality z_x")?,
            z_r: reader.scalar("equality z_r")?,
        })
    }
}

/// Exchange-rate proof (spec §6.3): knowledge of `w` with
/// `q·C_y − p·C_x = w·H`, i.e. `q·y = p·x` for the committed amounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateProof {
    /// `Y = y·H`.
    pub y: ProofPoint,
    /// `z = c·w + y`.
    pub z: Scalar,
}

impl Encode for RateProof {
    fn encode(&self, out: &mut Vec<u8>) {
        self.y.encode(out);
        put_scalar(out, &self.z);
    }
}

impl Decode for RateProof {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            y: ProofPoint::read(reader, "rate Y")?,
            z: reader.scalar("rate z")?,
        })
    }
}

/// A Bulletproofs range proof of `parties` values of `bits` bits each, in the
/// `bulletproofs` crate's encoding (spec §6.4), decoded once into its parts
/// so a batch verifier can use them without re-parsing.
#[derive(Clone, Debug)]
pub struct RangeProof {
    bits: usize,
    parties: usize,
    bytes: Vec<u8>,
    proof: bulletproofs::RangeProof,
    parts: RangeProofParts,
}

/// The elements of a range proof (Bulletproofs paper §4.2 with §3 inner product).
#[derive(Clone, Debug)]
pub struct RangeProofParts {
    /// `A`, `S`, `T_1`, `T_2`.
    pub a: ProofPoint,
    /// `S`.
    pub s: ProofPoint,
    /// `T_1`.
    pub t_1: ProofPoint,
    /// `T_2`.
    pub t_2: ProofPoint,
    /// `t_x`.
    pub t_x: Scalar,
    /// `t̃_x`.
    pub t_x_blinding: Scalar,
    /// `ẽ`.
    pub e_blinding: Scalar,
    /// Inner-product rounds `(L_k, R_k)`.
    pub l_vec: Vec<ProofPoint>,
    /// See `l_vec`.
    pub r_vec: Vec<ProofPoint>,
    /// Final inner-product scalars `a`, `b`.
    pub ipp_a: Scalar,
    /// See `ipp_a`.
    pub ipp_b: Scalar,
}

impl RangeProof {
    /// Encoded size of a proof of `parties` values of `bits` bits:
    /// `(2·lg(bits·parties) + 9)·32` bytes.
    pub fn encoded_len(bits: usize, parties: usize) -> usize {
        let rounds = (bits * parties).trailing_zeros() as usize;
        (2 * rounds + 9) * 32
    }

    /// Wraps a proof just produced by a prover.
    pub fn from_proof(
        proof: bulletproofs::RangeProof,
        bits: usize,
        parties: usize,
    ) -> Result<Self, DecodeError> {
        let bytes = proof.to_bytes();
        Self::from_bytes(&bytes, bits, parties)
    }

    /// Decodes a proof that must be for `parties` values of `bits` bits.
    pub fn from_bytes(bytes: &[u8], bits: usize, parties: usize) -> Result<Self, DecodeError> {
        let expected = Self::encoded_len(bits, parties);
        if bytes.len() != expected {
            return Err(DecodeError::OutOfBounds {
                what: "range proof length",
                value: bytes.len() as u64,
            });
        }
        let mut reader = Reader::new(bytes);
        let a = ProofPoint::read(&mut reader, "range proof A")?;
        let s = ProofPoint::read(&mut reader, "range proof S")?;
        let t_1 = ProofPoint::read(&mut reader, "range proof T_1")?;
        let t_2 = ProofPoint::read(&mut reader, "range proof T_2")?;
        let t_x = reader.scalar("range proof t_x")?;
        let t_x_blinding = reader.scalar("range proof t_x_blinding")?;
        let e_blinding = reader.scalar("range proof e_blinding")?;
        let rounds = (bits * parties).trailing_zeros() as usize;
        let mut l_vec = Vec::with_capacity(rounds);
        let mut r_vec = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            l_vec.push(ProofPoint::read(&mut reader, "range proof L")?);
            r_vec.push(ProofPoint::read(&mut reader, "range proof R")?);
        }
        let ipp_a = reader.scalar("range proof a")?;
        let ipp_b = reader.scalar("range proof b")?;
        reader.finish()?;
        let proof =
            bulletproofs::RangeProof::from_bytes(bytes).map_err(|_| DecodeError::Invalid {
                what: "range proof",
                reason: "rejected by the bulletproofs decoder",
            })?;
        Ok(Self {
            bits,
            parties,
            bytes: bytes.to_vec(),
            proof,
            parts: RangeProofParts {
                a,
                s,
                t_1,
                t_2,
                t_x,
                t_x_blinding,
                e_blinding,
                l_vec,
                r_vec,
                ipp_a,
                ipp_b,
            },
        })
    }

    /// Reads a proof of the given shape from a reader.
    pub fn read(reader: &mut Reader<'_>, bits: usize, parties: usize) -> Result<Self, DecodeError> {
        let bytes = reader.take(Self::encoded_len(bits, parties), "range proof")?;
        Self::from_bytes(bytes, bits, parties)
    }

    /// Bits per value.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Number of aggregated values.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The crate's proof object (for its own verifier).
    pub fn inner(&self) -> &bulletproofs::RangeProof {
        &self.proof
    }

    /// The decoded parts (for the batch verifier).
    pub fn parts(&self) -> &RangeProofParts {
        &self.parts
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl PartialEq for RangeProof {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits && self.parties == other.parties && self.bytes == other.bytes
    }
}
impl Eq for RangeProof {}

impl Encode for RangeProof {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes);
    }
}

/// Range-proof shape of `Issue`: the amount, 32 bits.
pub const ISSUE_RANGE: (usize, usize) = (32, 1);
/// Range-proof shape of `Transfer` and `Burn`: (amount, new balance), 64 bits each.
pub const DEBIT_RANGE: (usize, usize) = (64, 2);
/// Range-proof shape of `Exchange`: (x, new balance, y, 0), 64 bits each.
pub const EXCHANGE_RANGE: (usize, usize) = (64, 4);

/// The proof of an `Issue` (spec §8.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueProof {
    /// The amount ciphertext is well formed for all its handles.
    pub validity: GroupedValidityProof,
    /// The amount is in `[0, 2^32)`.
    pub range: RangeProof,
}

/// The proof of a `Transfer` or `Burn` (spec §8.4, §8.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebitProof {
    /// The new balance ciphertext and the new-balance commitment hold the same value.
    pub equality: EqualityProof,
    /// The amount ciphertext is well formed.
    pub validity: GroupedValidityProof,
    /// Amount and new balance are in `[0, 2^64)` (one aggregated proof).
    pub range: RangeProof,
}

/// The proof of an `Exchange` (spec §8.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeProof {
    /// New source balance ↔ commitment.
    pub equality: EqualityProof,
    /// The debited amount `x` is well formed.
    pub validity_from: GroupedValidityProof,
    /// The credited amount `y` is well formed.
    pub validity_to: GroupedValidityProof,
    /// `q·y = p·x`.
    pub rate: RateProof,
    /// `x`, new balance, `y` (and a zero pad) in `[0, 2^64)`.
    pub range: RangeProof,
}
