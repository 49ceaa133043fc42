//! coalition-params: arrives with its issue (see README).
