//! # coalition-node
//!
//! The partner node: the I/O around the deterministic ledger
//! (`coalition-ledger`):
//!
//! * [`http`]: the HTTP API, the node-to-node routes, the OpenAPI document,
//!   connection bounds, and the entry points that run a node, over an
//!   [`http::App`] that owns the engine and the replication;
//! * [`replication`]: openraft across the partners' nodes, every block
//!   re-validated by every node;
//! * [`submission`]: the one path a transaction takes into the engine,
//!   from a client or a partner's node;
//! * [`engine`]: admission, block production and installation, events and
//!   metrics, around the ledger's `Chain`;
//! * [`store`]: durable storage on RocksDB (blocks, state, the per-epoch
//!   settlement figures), and [`audit_sources`], the audit's block source
//!   over a data directory; [`config`], the node's configuration;
//! * [`tls`]: the node's certificate bound to its partner, and the rustls
//!   configurations of its listener and of its dialling partners' nodes.
//!
//! Each layer imports only those below it (HTTP → replication → submission
//! → engine → store and ledger; `tests/layering.rs` keeps it so). What each
//! route takes and answers, the OpenAPI schemas and the client live in
//! `coalition-api`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod audit_sources;
pub mod config;
pub mod engine;
pub mod http;
pub mod replication;
pub mod store;
pub mod submission;
pub mod tls;
