//! The node's HTTP contract (spec §17.4, §17.5, §20.3): the request and
//! response types of every route, written once and shared by the node that
//! serves them, the OpenAPI document generated from them (`utoipa`, served
//! at `/openapi.json`), and the client that reads them.
//!
//! Binary values (points, ciphertexts, transactions, blocks) travel as
//! lowercase hex of their canonical encodings: these types carry the hex
//! text, and the client (feature `client`) decodes it with the ledger's
//! strict decoders, so a malicious node cannot feed a wallet a
//! non-canonical point. Feature `prover` adds the prover service's job and
//! answer types (`coalition prover serve`), which parse into circuits.
//! Without features the crate depends on nothing but serde and utoipa;
//! with them, on the cryptography and ledger crates, none of which does
//! I/O: it compiles for `wasm32` either way.

pub mod accounts;
pub mod chain;
pub mod currencies;
pub mod error;
pub mod events;
pub mod governance;
pub mod pool;
#[cfg(feature = "prover")]
pub mod prover;
pub mod raft;
pub mod replication;
pub mod settlement;
pub mod transactions;

#[cfg(feature = "client")]
pub mod client;

mod rate;

pub use rate::Rate;

/// Most items one page of `/v1/pool/notes` returns.
pub const MAX_PAGE: u64 = 1000;
/// Most blocks in one `GET /v1/blocks` answer.
pub const MAX_BLOCKS_PER_RANGE: u64 = 256;
/// Encoded bytes after which a block range answer stops early (it always
/// holds at least one block, if there is one).
pub const MAX_RANGE_BYTES: usize = 8 * 1024 * 1024;
