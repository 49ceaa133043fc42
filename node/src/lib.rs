//! # coalition-node
//!
//! The partner node: the I/O around the deterministic ledger
//! (`coalition-ledger`):
//!
//! * durable storage on RocksDB ([`store`]), which also keeps the per-epoch
//!   settlement figures;
//! * the running service — HTTP API, events, metrics, block production
//!   ([`service`]) and its configuration ([`config`]); what each route takes
//!   and answers, the OpenAPI document's types and the client live in
//!   `coalition-api`;
//! * replication across the partners' nodes with openraft, every block
//!   re-validated by every node ([`replication`]);
//! * the audit's block source over a data directory
//!   ([`audit_sources`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod audit_sources;
pub mod config;
pub mod replication;
pub mod service;
pub mod store;
