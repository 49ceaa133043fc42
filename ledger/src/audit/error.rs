//! Why an audit could not run at all.

/// Why an audit could not run at all (as opposed to a finding).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The source could not be read.
    #[error("reading the ledger: {0}")]
    Source(String),
    /// The genesis cannot start a ledger (e.g. the pool's keys do not match).
    #[error("genesis: {0}")]
    Genesis(String),
}
