//! Canonical, bounded byte encodings (spec §8.1).
//!
//! Every value that crosses a trust boundary is decoded through [`Reader`]:
//! reads are bounds-checked, points must be canonical Ristretto encodings
//! (and non-identity where the protocol says so), scalars must be reduced
//! modulo ℓ, and [`decode_exact`] refuses trailing bytes. Nothing here panics
//! on any input.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;

use crate::errors::DecodeError;

/// The largest encoded transaction the ledger accepts, in bytes.
pub const MAX_TRANSACTION_BYTES: usize = 16 * 1024;

/// A value with a canonical byte encoding.
pub trait Encode {
    /// Appends the canonical encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// The canonical encoding of `self`.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// A value that can be read back from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `reader`, advancing it.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Decodes exactly one value from `bytes`; trailing bytes are an error.
pub fn decode_exact<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_exact_within(bytes, MAX_TRANSACTION_BYTES)
}

/// Decodes exactly one value from at most `max` bytes, for the few values
/// allowed to be larger than a transaction (a genesis naming 256 founders).
pub fn decode_exact_within<T: Decode>(bytes: &[u8], max: usize) -> Result<T, DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::OutOfBounds {
            what: "encoded length",
            value: bytes.len() as u64,
        });
    }
    let mut reader = Reader::new(bytes);
    let value = T::decode(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

/// A bounds-checked cursor over an input byte string.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.bytes.len(),
            })
        }
    }

    /// Reads `n` raw bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated { what });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a canonical scalar (`< ℓ`).
    pub fn scalar(&mut self, what: &'static str) -> Result<Scalar, DecodeError> {
        let bytes = self.array::<32>(what)?;
        Option::from(Scalar::from_canonical_bytes(bytes))
            .ok_or(DecodeError::NonCanonicalScalar { what })
    }

    /// Reads a 32-byte compressed point and checks it decompresses
    /// (canonical encoding of a valid Ristretto point). Identity allowed.
    pub fn point(&mut self, what: &'static str) -> Result<RistrettoPoint, DecodeError> {
        let compressed = CompressedRistretto(self.array::<32>(what)?);
        compressed
            .decompress()
            .ok_or(DecodeError::InvalidPoint { what })
    }

    /// [`Reader::point`], also returning the bytes read (the point's unique
    /// canonical encoding), so callers need not compress it again.
    pub fn point_with_encoding(
        &mut self,
        what: &'static str,
    ) -> Result<(RistrettoPoint, CompressedRistretto), DecodeError> {
        let compressed = CompressedRistretto(self.array::<32>(what)?);
        let point = compressed
            .decompress()
            .ok_or(DecodeError::InvalidPoint { what })?;
        Ok((point, compressed))
    }

    /// Reads a canonical point that must not be the identity.
    pub fn nonidentity_point(&mut self, what: &'static str) -> Result<RistrettoPoint, DecodeError> {
        let point = self.point(what)?;
        if point.is_identity() {
            return Err(DecodeError::IdentityPoint { what });
        }
        Ok(point)
    }

    /// Reads a length prefix (`u16`) and checks it is at most `max`.
    pub fn length(&mut self, max: usize, what: &'static str) -> Result<usize, DecodeError> {
        let len = u16::from_le_bytes(self.array(what)?) as usize;
        if len > max {
            return Err(DecodeError::OutOfBounds {
                what,
                value: len as u64,
            });
        }
        Ok(len)
    }

    /// Reads an optional-value flag: `0` absent, `1` present.
    pub fn flag(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::UnknownTag { what, tag }),
        }
    }
}

/// Appends a compressed point.
pub fn put_point(out: &mut Vec<u8>, point: &RistrettoPoint) {
    out.extend_from_slice(point.compress().as_bytes());
}

/// Appends a scalar.
pub fn put_scalar(out: &mut Vec<u8>, scalar: &Scalar) {
    out.extend_from_slice(scalar.as_bytes());
}

/// Appends a `u16` length prefix. Callers bound lengths well below `u16::MAX`.
pub fn put_length(out: &mut Vec<u8>, len: usize) {
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
}
