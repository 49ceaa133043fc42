//! # coalition-node
//!
//! The partner node. This version holds the deterministic state machine of the
//! confidential-account layer ([`ledger`]); RocksDB storage, blocks, the HTTP
//! API and replication arrive with their issues.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod ledger;
