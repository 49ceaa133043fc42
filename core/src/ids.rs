//! Identifiers every transaction type names: the chain it is for and the
//! transaction's own ID, and the encoding version. A module of its own so
//! that the transaction types (governance, partnership, shielded,
//! statements) and the `Transaction` enum that gathers them do not import
//! each other.

use crate::encoding::{Decode, Encode, Reader};
use crate::errors::DecodeError;

/// Version byte of the transaction encoding.
pub const TX_VERSION: u8 = 1;

/// The ledger's identifier (hash of its genesis), bound into every transcript
/// and signature so a transaction for one coalition is void on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId(pub [u8; 32]);

impl Encode for ChainId {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for ChainId {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(reader.array("chain id")?))
    }
}

/// A transaction's identifier: `SHA-512(encoding)[0..32]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxId(pub [u8; 32]);
