//! # coalition-ledger
//!
//! The deterministic core every partner node, replica and auditor runs,
//! with no I/O at all (no tokio, RocksDB, HTTP or Raft):
//!
//! * the state machine of accounts, the shielded pool and governance
//!   ([`ledger`], [`governance`]), started from a [`genesis`];
//! * blocks whose headers commit to the resulting state ([`block`]) and the
//!   chain that accepts them ([`chain`]);
//! * the bounded mempool ([`mempool`]) and the earn-rule engine ([`rules`]);
//! * per-epoch settlement figures and netting ([`settlement`]);
//! * the auditor's replay, independent rule checks and supply
//!   reconciliation ([`audit`]).
//!
//! Storage and block sources are traits defined here
//! ([`ledger::records::StateReader`], [`ledger::records::StateWriter`],
//! [`audit::BlockSource`]); their RocksDB and HTTP adapters live with the
//! I/O in `coalition-node`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod audit;
pub mod block;
pub mod chain;
pub mod genesis;
pub mod governance;
pub mod ledger;
pub mod mempool;
pub mod rules;
pub mod settlement;
