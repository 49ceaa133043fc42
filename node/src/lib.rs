//! # coalition-node
//!
//! The partner node:
//!
//! * the deterministic state machine of accounts, the shielded pool and
//!   governance ([`ledger`], [`governance`]), started from a [`genesis`];
//! * blocks whose headers commit to the resulting state ([`block`]) and the
//!   chain that accepts them ([`chain`]);
//! * the bounded mempool ([`mempool`]) and the earn-rule engine ([`rules`]);
//! * durable storage on RocksDB ([`store`]) and per-epoch settlement sums
//!   ([`settlement`]);
//! * the auditor's replay and supply reconciliation ([`audit`]);
//! * the running service — HTTP API, events, metrics, block production
//!   ([`service`]) — its configuration ([`config`]) and a client ([`client`]).
//!
//! * replication across the partners' nodes with openraft, every block
//!   re-validated by every node ([`replication`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod audit;
pub mod block;
pub mod chain;
pub mod client;
pub mod config;
pub mod genesis;
pub mod governance;
pub mod ledger;
pub mod mempool;
pub mod replication;
pub mod rules;
pub mod service;
pub mod settlement;
pub mod store;
