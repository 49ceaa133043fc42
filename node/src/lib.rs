//! # coalition-node
//!
//! The partner node. This version holds the deterministic state machine of
//! the confidential-account layer and the shielded pool ([`ledger`]), blocks
//! with headers that commit to the resulting state ([`block`]) and the chain
//! that accepts them ([`chain`]), the bounded mempool ([`mempool`]), and
//! partnership terms with the earn-rule engine ([`rules`]); RocksDB storage, governance, the HTTP API
//! and replication arrive with their issues.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod block;
pub mod chain;
pub mod ledger;
pub mod mempool;
pub mod rules;
