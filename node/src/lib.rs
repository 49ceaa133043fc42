//! # coalition-node
//!
//! The partner node: the I/O around the deterministic ledger
//! (`coalition-ledger`):
//!
//! * durable storage on RocksDB ([`store`]), which also keeps the per-epoch
//!   settlement figures;
//! * the running service — HTTP API, events, metrics, block production
//!   ([`service`]) — its configuration ([`config`]) and a client ([`client`]);
//! * replication across the partners' nodes with openraft, every block
//!   re-validated by every node ([`replication`]);
//! * the audit's block sources over a node's API and a data directory
//!   ([`audit_sources`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod audit_sources;
pub mod client;
pub mod config;
pub mod replication;
pub mod service;
pub mod store;
