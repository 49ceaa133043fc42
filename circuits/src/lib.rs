//! coalition-circuits: arrives with its issue (see README).
