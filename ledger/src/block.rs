//! Blocks and block headers (spec §15.1).
//!
//! ```text
//! header = chain (32) ‖ height (u64) ‖ previous (32) ‖ timestamp_ms (u64)
//!        ‖ transactions_root (32) ‖ note_root (32) ‖ nullifier_commitment (32)
//!        ‖ state_hash (32)
//! block  = header ‖ count (u32, ≤ MAX_BLOCK_TRANSACTIONS)
//!        ‖ count × (length (u32, ≤ MAX_TRANSACTION_BYTES) ‖ transaction)
//! hash(header)      = SHA-256("coalition/v1/block-header" ‖ header)
//! transactions_root = SHA-256("coalition/v1/block-transactions" ‖ count
//!                     ‖ SHA-256(transaction bytes)…)
//! ```
//!
//! The commitments are those of the state *after* the block, so a replica
//! that applied the same transactions can compare one hash, and a light
//! reader can trust a note root or nullifier set once it trusts a header.

use coalition_circuits::note::TreeRoot;
use coalition_core::encoding::{Decode, Encode, Reader, MAX_TRANSACTION_BYTES};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_core::DecodeError;
use sha2::{Digest, Sha256};

/// Most transactions in one block.
pub const MAX_BLOCK_TRANSACTIONS: usize = 4096;

/// `SHA-256` of an encoded header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockHash(pub [u8; 32]);

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// The ledger.
    pub chain: ChainId,
    /// 0 for genesis.
    pub height: u64,
    /// Hash of the previous header (zeros for genesis).
    pub previous: BlockHash,
    /// Milliseconds since the Unix epoch, chosen by the proposer; strictly
    /// increasing along the chain.
    pub timestamp_ms: u64,
    /// Commitment to the block's transaction IDs, in order.
    pub transactions_root: [u8; 32],
    /// Note-tree root after the block.
    pub note_root: TreeRoot,
    /// Nullifier-set commitment after the block.
    pub nullifier_commitment: [u8; 32],
    /// Hash of the whole ledger state after the block.
    pub state_hash: [u8; 32],
}

impl BlockHeader {
    /// The header's hash.
    pub fn hash(&self) -> BlockHash {
        let mut h = Sha256::new();
        h.update(b"coalition/v1/block-header");
        h.update(self.to_bytes());
        BlockHash(h.finalize().into())
    }
}

impl Encode for BlockHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.previous.0);
        out.extend_from_slice(&self.timestamp_ms.to_le_bytes());
        out.extend_from_slice(&self.transactions_root);
        self.note_root.encode(out);
        out.extend_from_slice(&self.nullifier_commitment);
        out.extend_from_slice(&self.state_hash);
    }
}

impl Decode for BlockHeader {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHeader {
            chain: ChainId::decode(reader)?,
            height: reader.u64("height")?,
            previous: BlockHash(reader.array("previous hash")?),
            timestamp_ms: reader.u64("timestamp")?,
            transactions_root: reader.array("transactions root")?,
            note_root: TreeRoot::decode(reader)?,
            nullifier_commitment: reader.array("nullifier commitment")?,
            state_hash: reader.array("state hash")?,
        })
    }
}

/// A header and its transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, applied in order.
    pub transactions: Vec<Transaction>,
}

/// The transactions root of `transactions`: over each transaction's full
/// encoding, proofs included. (A Redeem's ID leaves its proof out, so a
/// root over IDs would let a relay swap a proof without changing the block
/// hash, and a cache of "known-bad" block hashes would then censor the
/// honest block.)
pub fn transactions_root(transactions: &[Transaction]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"coalition/v1/block-transactions");
    h.update((transactions.len() as u64).to_le_bytes());
    for tx in transactions {
        h.update(Sha256::digest(tx.to_bytes()));
    }
    h.finalize().into()
}

impl Encode for Block {
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        out.extend_from_slice(&(self.transactions.len() as u32).to_le_bytes());
        for tx in &self.transactions {
            let bytes = tx.to_bytes();
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
    }
}

impl Decode for Block {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = BlockHeader::decode(reader)?;
        let count = reader.u32("transaction count")? as usize;
        if count > MAX_BLOCK_TRANSACTIONS {
            return Err(DecodeError::OutOfBounds {
                what: "transaction count",
                value: count as u64,
            });
        }
        let mut transactions = Vec::with_capacity(count);
        for _ in 0..count {
            let len = reader.u32("transaction length")? as usize;
            if len > MAX_TRANSACTION_BYTES {
                return Err(DecodeError::OutOfBounds {
                    what: "transaction length",
                    value: len as u64,
                });
            }
            let mut tx_reader = Reader::new(reader.take(len, "transaction")?);
            transactions.push(Transaction::decode(&mut tx_reader)?);
            tx_reader.finish()?;
        }
        Ok(Block {
            header,
            transactions,
        })
    }
}

/// Decodes a block from `bytes` (no trailing bytes; sizes bounded).
pub fn decode_block(bytes: &[u8]) -> Result<Block, DecodeError> {
    let mut reader = Reader::new(bytes);
    let block = Block::decode(&mut reader)?;
    reader.finish()?;
    Ok(block)
}
