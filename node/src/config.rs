//! Node configuration (TOML) and the development coalition (spec §17.3).
//!
//! Every field has a default, so `coalition node` runs with no file at all:
//! it serves the **development coalition** (two founders whose keys derive
//! from public strings — INSECURE, for trying the system out) from the
//! embedded default data directory. A real deployment names a genesis file
//! and sets `dev_mode = false`, which also refuses the INSECURE dev
//! proving/verifying keys.
//!
//! ```toml
//! data_dir = "/var/lib/coalition"        # default: $COALITION_DATA_DIR or ~/.local/share/coalition/node
//! listen = "127.0.0.1:8080"              # loopback by default; elsewhere [tls] or allow_plain_http
//! allow_plain_http = false               # plain HTTP off loopback (behind a TLS proxy)
//! genesis = "genesis.toml"               # default: the development coalition
//! dev_mode = true                        # default: true only with the development coalition
//! params_dir = "/var/lib/coalition/params"
//! block_interval_ms = 250
//! max_block_transactions = 1024
//! max_body_bytes = 65536
//! [tls]                                  # spec §17.6; certificate from `coalition keys tls`
//! certificate = "node.crt"               # bound to the partner's identity
//! key = "node.key"
//! [replication]                          # absent: the node runs alone (spec §20)
//! identity_key = "airline.key"           # or dev_identity = "airline" (INSECURE)
//! advertise = "10.0.0.1:8080"            # default: the listen address
//! peers = [{ name = "hotel", addr = "10.0.0.2:8080" }]
//! heartbeat_ms = 100
//! election_timeout_ms = [800, 1600]
//! snapshot_after_entries = 1000
//! keep_entries_after_snapshot = 200
//! [mempool]
//! max_transactions = 10000
//! max_bytes = 67108864
//! max_per_sender = 64
//! [submissions]                          # spec §17.4
//! max_in_flight = 256
//! max_in_flight_per_client = 32
//! max_in_flight_per_partner = 128       # forwarded by one partner's node (default: half)
//! body_timeout_ms = 10000
//! refused_burst = 64                     # 422s in a row before a client is held (429)
//! refused_per_second = 4                 # how fast that budget refills
//! [connections]                          # spec §17.4
//! max_open = 1024
//! max_open_per_client = 256
//! header_timeout_ms = 10000
//! write_stall_timeout_ms = 30000
//! ```
//!
//! Genesis file:
//!
//! ```toml
//! name = "skyways"
//! timestamp_ms = 1767225600000
//! threshold = [2, 3]
//! settlement_epoch_blocks = 100
//! max_currencies_per_member = 8          # optional, 8 by default
//! shielded_pool = "insecure-dev"         # or "none"
//! [[founders]]
//! name = "airline"
//! identity = "<128 hex: signing key ‖ ElGamal key>"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use coalition_core::encoding::decode_exact;
use coalition_core::keys::{IdentityKeys, PublicIdentity, Seed};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use coalition_ledger::genesis::Genesis;
use coalition_ledger::governance::Threshold;
use coalition_ledger::mempool::MempoolConfig;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid configuration in {path}: {message}")]
    Parse {
        /// Which file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Mempool limits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolSection {
    /// Most transactions held.
    pub max_transactions: usize,
    /// Most encoded bytes held.
    pub max_bytes: usize,
    /// Most transactions per sender.
    pub max_per_sender: usize,
}

impl Default for MempoolSection {
    fn default() -> Self {
        let d = MempoolConfig::default();
        MempoolSection {
            max_transactions: d.max_transactions,
            max_bytes: d.max_bytes,
            max_per_sender: d.max_per_sender,
        }
    }
}

/// Bounds on submissions being read, checked or waiting (spec §17.4).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubmissionsSection {
    /// Most submissions in flight node-wide.
    pub max_in_flight: usize,
    /// Most submissions in flight from one client (IPv4 address or IPv6
    /// /64); partners' nodes are bounded by their own share instead.
    pub max_in_flight_per_client: usize,
    /// Most submissions one partner's node has forwarded in flight here
    /// (default: half of `max_in_flight`, at least 1).
    pub max_in_flight_per_partner: Option<usize>,
    /// How long a submission's body may take to arrive.
    pub body_timeout_ms: u64,
    /// Refused (`422`) submissions a client may have in a row before it is
    /// held (`429`) until its budget refills.
    pub refused_burst: u64,
    /// How fast a client's budget of refusals refills, per second.
    pub refused_per_second: u64,
}

/// The most submissions in flight a node allows: each holds a blocking
/// thread, and tokio's pool has 512; the rest stay for blocks and reads.
pub const MAX_SUBMISSIONS_IN_FLIGHT: usize = 384;

impl Default for SubmissionsSection {
    fn default() -> Self {
        SubmissionsSection {
            max_in_flight: 256,
            max_in_flight_per_client: 32,
            max_in_flight_per_partner: None,
            body_timeout_ms: 10_000,
            refused_burst: 64,
            refused_per_second: 4,
        }
    }
}

impl SubmissionsSection {
    /// One partner's node's share of the submissions in flight.
    pub fn partner_share(&self) -> usize {
        self.max_in_flight_per_partner
            .unwrap_or((self.max_in_flight / 2).max(1))
    }

    /// Checks ranges.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.max_in_flight == 0 || self.max_in_flight > MAX_SUBMISSIONS_IN_FLIGHT {
            return Err(ConfigError::Invalid(format!(
                "[submissions] max_in_flight must be 1..={MAX_SUBMISSIONS_IN_FLIGHT}"
            )));
        }
        if self.max_in_flight_per_client == 0 || self.max_in_flight_per_client > self.max_in_flight
        {
            return Err(ConfigError::Invalid(
                "[submissions] max_in_flight_per_client must be 1..=max_in_flight".into(),
            ));
        }
        if self
            .max_in_flight_per_partner
            .is_some_and(|share| share == 0 || share > self.max_in_flight)
        {
            return Err(ConfigError::Invalid(
                "[submissions] max_in_flight_per_partner must be 1..=max_in_flight".into(),
            ));
        }
        if self.body_timeout_ms < 100 || self.body_timeout_ms > 600_000 {
            return Err(ConfigError::Invalid(
                "[submissions] body_timeout_ms must be 100..=600000".into(),
            ));
        }
        if self.refused_burst == 0 || self.refused_burst > 1_000_000 {
            return Err(ConfigError::Invalid(
                "[submissions] refused_burst must be 1..=1000000".into(),
            ));
        }
        if self.refused_per_second == 0 || self.refused_per_second > 1_000_000 {
            return Err(ConfigError::Invalid(
                "[submissions] refused_per_second must be 1..=1000000".into(),
            ));
        }
        Ok(())
    }
}

/// Bounds on the HTTP connections a node holds open (spec §17.4): each
/// costs a file descriptor and buffers, so neither many idle sockets nor
/// sockets trickling their headers may exhaust them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsSection {
    /// Most connections open at once, node-wide.
    pub max_open: usize,
    /// Most connections open at once from one client (an IPv4 address or
    /// an IPv6 /64, as for submissions). With `[replication]` it must
    /// cover a partner's node: its forwarded submissions' share and
    /// [`RAFT_CONNECTIONS`].
    pub max_open_per_client: usize,
    /// How long a connection may take to send a request's headers, counted
    /// from when the node starts waiting for them: a new connection, or one
    /// kept alive after an answer, that sends no complete header in this
    /// time is closed.
    pub header_timeout_ms: u64,
    /// How long an answer's write may wait for the client to read: a
    /// connection whose client accepts no byte for this long (an event
    /// stream nobody reads) is closed.
    pub write_stall_timeout_ms: u64,
}

/// Connections a partner's node may hold open for its Raft traffic
/// (appends, votes, snapshots), beside its forwarded submissions.
pub const RAFT_CONNECTIONS: usize = 16;

/// The most connections a node may be configured to hold open.
pub const MAX_OPEN_CONNECTIONS: usize = 65_536;

impl Default for ConnectionsSection {
    fn default() -> Self {
        ConnectionsSection {
            max_open: 1024,
            max_open_per_client: 256,
            header_timeout_ms: 10_000,
            write_stall_timeout_ms: 30_000,
        }
    }
}

impl ConnectionsSection {
    /// Checks ranges.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.max_open == 0 || self.max_open > MAX_OPEN_CONNECTIONS {
            return Err(ConfigError::Invalid(format!(
                "[connections] max_open must be 1..={MAX_OPEN_CONNECTIONS}"
            )));
        }
        if self.max_open_per_client == 0 || self.max_open_per_client > self.max_open {
            return Err(ConfigError::Invalid(
                "[connections] max_open_per_client must be 1..=max_open".into(),
            ));
        }
        if self.header_timeout_ms < 100 || self.header_timeout_ms > 600_000 {
            return Err(ConfigError::Invalid(
                "[connections] header_timeout_ms must be 100..=600000".into(),
            ));
        }
        if self.write_stall_timeout_ms < 100 || self.write_stall_timeout_ms > 600_000 {
            return Err(ConfigError::Invalid(
                "[connections] write_stall_timeout_ms must be 100..=600000".into(),
            ));
        }
        Ok(())
    }
}

/// The node's configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// HTTP API address.
    pub listen: SocketAddr,
    /// A genesis file; `None` serves the development coalition.
    pub genesis: Option<PathBuf>,
    /// Allows the INSECURE development keys and identities.
    pub dev_mode: Option<bool>,
    /// Where Groth16 parameters are cached.
    pub params_dir: Option<PathBuf>,
    /// How often the node proposes a block when transactions wait.
    pub block_interval_ms: u64,
    /// Most transactions per block.
    pub max_block_transactions: usize,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Mempool limits.
    pub mempool: MempoolSection,
    /// Bounds on submissions in flight.
    pub submissions: SubmissionsSection,
    /// Bounds on open connections and how long they may idle.
    pub connections: ConnectionsSection,
    /// Replication with the other partners' nodes (spec §20); absent, the
    /// node runs alone.
    pub replication: Option<ReplicationSection>,
    /// TLS on the listener, and mutual TLS with the partners' nodes (spec
    /// §17.6); absent, the node speaks plain HTTP, which it does only on a
    /// loopback address or with [`Self::allow_plain_http`].
    pub tls: Option<TlsSection>,
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating
    /// proxy on a private network, say). Off by default.
    pub allow_plain_http: bool,
}

/// The `[tls]` section: the node's certificate, bound to its partner
/// (`coalition keys tls`), and its key. With `[replication]`, the node
/// also dials its partners' nodes over TLS with this certificate, and
/// requires theirs on its `/raft/*` routes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// The certificate (PEM).
    pub certificate: PathBuf,
    /// Its private key (PEM, PKCS#8).
    pub key: PathBuf,
}

/// Another partner's node.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerEntry {
    /// The partner's name as governance records it.
    pub name: String,
    /// Its node's address (API and node-to-node routes).
    pub addr: SocketAddr,
}

/// The `[replication]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplicationSection {
    /// The partner's key file (from `coalition keys new`): its identity key
    /// signs this node's messages.
    pub identity_key: Option<PathBuf>,
    /// A development identity instead (INSECURE; dev mode only).
    pub dev_identity: Option<String>,
    /// The address other nodes reach this one at (default: the bound
    /// listen address).
    pub advertise: Option<SocketAddr>,
    /// The other partners' nodes; founders must list every other founder.
    pub peers: Vec<PeerEntry>,
    /// Leader heartbeat period.
    pub heartbeat_ms: u64,
    /// Election timeout range `[min, max]`.
    pub election_timeout_ms: [u64; 2],
    /// Build a snapshot after this many applied entries.
    pub snapshot_after_entries: u64,
    /// Entries kept in the log behind a snapshot.
    pub keep_entries_after_snapshot: u64,
}

impl Default for ReplicationSection {
    fn default() -> Self {
        ReplicationSection {
            identity_key: None,
            dev_identity: None,
            advertise: None,
            peers: Vec::new(),
            heartbeat_ms: 100,
            election_timeout_ms: [800, 1600],
            snapshot_after_entries: 1000,
            keep_entries_after_snapshot: 200,
        }
    }
}

impl ReplicationSection {
    /// Checks ranges.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.identity_key.is_some() == self.dev_identity.is_some() {
            return Err(ConfigError::Invalid(
                "[replication] needs exactly one of identity_key or dev_identity".into(),
            ));
        }
        if self.heartbeat_ms == 0 || self.heartbeat_ms > 10_000 {
            return Err(ConfigError::Invalid(
                "[replication] heartbeat_ms must be 1..=10000".into(),
            ));
        }
        let [min, max] = self.election_timeout_ms;
        if min <= self.heartbeat_ms || max <= min || max > 60_000 {
            return Err(ConfigError::Invalid(
                "[replication] election_timeout_ms must be [min, max] with heartbeat_ms < min < max ≤ 60000"
                    .into(),
            ));
        }
        if self.snapshot_after_entries == 0 {
            return Err(ConfigError::Invalid(
                "[replication] snapshot_after_entries must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// `$COALITION_DATA_DIR`, else `~/.local/share/coalition/node`, else
/// `./coalition-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("COALITION_DATA_DIR") {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/coalition/node"),
        None => PathBuf::from("coalition-data"),
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            data_dir: default_data_dir(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            genesis: None,
            dev_mode: None,
            params_dir: None,
            block_interval_ms: 250,
            max_block_transactions: 1024,
            max_body_bytes: 64 * 1024,
            mempool: MempoolSection::default(),
            submissions: SubmissionsSection::default(),
            connections: ConnectionsSection::default(),
            replication: None,
            tls: None,
            allow_plain_http: false,
        }
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl NodeConfig {
    /// Reads a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Self::from_toml(&read(path)?, path)
    }

    /// Parses and checks a configuration read from `origin` (named in
    /// errors).
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        let config: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Checks ranges.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.block_interval_ms == 0 || self.block_interval_ms > 60_000 {
            return Err(ConfigError::Invalid(
                "block_interval_ms must be 1..=60000".into(),
            ));
        }
        if self.max_block_transactions == 0
            || self.max_block_transactions > coalition_ledger::block::MAX_BLOCK_TRANSACTIONS
        {
            return Err(ConfigError::Invalid(format!(
                "max_block_transactions must be 1..={}",
                coalition_ledger::block::MAX_BLOCK_TRANSACTIONS
            )));
        }
        if self.max_body_bytes < 1024 || self.max_body_bytes > 16 * 1024 * 1024 {
            return Err(ConfigError::Invalid(
                "max_body_bytes must be 1 KiB..=16 MiB".into(),
            ));
        }
        self.submissions.check()?;
        self.connections.check()?;
        if self.tls.is_none() && !self.listen.ip().is_loopback() && !self.allow_plain_http {
            return Err(ConfigError::Invalid(format!(
                "listen = {} is not a loopback address: configure [tls] (certificate and key, \
                 from `coalition keys tls`) or set allow_plain_http = true",
                self.listen
            )));
        }
        if let Some(replication) = &self.replication {
            replication.check()?;
            // A partner's node forwards each of its clients' submissions on
            // a connection of its own, beside its Raft traffic, all from
            // one address.
            let needed = self.submissions.partner_share() + RAFT_CONNECTIONS;
            if self.connections.max_open_per_client < needed {
                return Err(ConfigError::Invalid(format!(
                    "[connections] max_open_per_client must be at least {needed} with \
                     [replication]: [submissions] max_in_flight_per_partner plus \
                     {RAFT_CONNECTIONS} for a partner's Raft traffic"
                )));
            }
        }
        Ok(())
    }

    /// The mempool limits.
    pub fn mempool_config(&self) -> MempoolConfig {
        MempoolConfig {
            max_transactions: self.mempool.max_transactions,
            max_bytes: self.mempool.max_bytes,
            max_per_sender: self.mempool.max_per_sender,
        }
    }

    /// The genesis and whether dev mode is on.
    pub fn genesis(&self) -> Result<(Genesis, bool), ConfigError> {
        match &self.genesis {
            None => Ok((dev_genesis(), self.dev_mode.unwrap_or(true))),
            Some(path) => Ok((genesis_from_file(path)?, self.dev_mode.unwrap_or(false))),
        }
    }
}

/// A genesis file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenesisFile {
    name: String,
    timestamp_ms: u64,
    threshold: [u32; 2],
    shielded_pool: String,
    settlement_epoch_blocks: u64,
    #[serde(default = "default_currency_cap")]
    max_currencies_per_member: u32,
    founders: Vec<FounderEntry>,
}

fn default_currency_cap() -> u32 {
    coalition_ledger::genesis::DEFAULT_MAX_CURRENCIES_PER_MEMBER
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FounderEntry {
    name: String,
    identity: String,
}

/// Parses a founder's public identity from hex.
pub fn parse_identity(hex_text: &str) -> Result<PublicIdentity, ConfigError> {
    let bytes = hex::decode(hex_text.trim())
        .map_err(|_| ConfigError::Invalid("an identity must be hex".into()))?;
    decode_exact(&bytes).map_err(|e| ConfigError::Invalid(format!("identity: {e}")))
}

fn genesis_from_file(path: &Path) -> Result<Genesis, ConfigError> {
    genesis_from_toml(&read(path)?, path)
}

/// Parses and validates a genesis file's text read from `path` (named in
/// errors), with the bounds its stored encoding is read back with.
pub fn genesis_from_toml(text: &str, path: &Path) -> Result<Genesis, ConfigError> {
    let file: GenesisFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let threshold = Threshold::new(file.threshold[0], file.threshold[1])
        .ok_or_else(|| ConfigError::Invalid("threshold must be [p, q] with 0 < p ≤ q".into()))?;
    let founders = file
        .founders
        .iter()
        .map(|f| Ok((f.name.clone(), parse_identity(&f.identity)?)))
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let pool = match file.shielded_pool.as_str() {
        "none" => None,
        "insecure-dev" => Some(coalition_ledger::genesis::PoolKeyHashes::insecure_dev()),
        other => {
            return Err(ConfigError::Invalid(format!(
                "shielded_pool must be \"none\" or \"insecure-dev\", not {other:?}"
            )))
        }
    };
    let genesis = Genesis {
        name: file.name,
        timestamp_ms: file.timestamp_ms,
        threshold,
        founders,
        pool,
        settlement_epoch_blocks: file.settlement_epoch_blocks,
        max_currencies_per_member: file.max_currencies_per_member,
    };
    // The bounds the stored genesis is read back with, checked before a
    // node stores anything from it.
    genesis
        .validate()
        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(genesis)
}

/// The seed of a development identity: `SHA-256("coalition/dev-identity" ‖
/// name)`. INSECURE: anyone can derive these keys.
pub fn dev_seed(name: &str) -> Seed {
    let mut h = Sha256::new();
    h.update(b"coalition/dev-identity");
    h.update(name.as_bytes());
    Seed::from_bytes(h.finalize().into())
}

/// The keys of a development identity (INSECURE).
pub fn dev_identity(name: &str) -> IdentityKeys {
    IdentityKeys::from_seed(&dev_seed(name))
}

/// Refuses, outside dev mode, a genesis whose founder is a development
/// identity (spec §17.3): the keys of [`dev_identity`] derive from a public
/// seed, so anyone could sign as that founder. Checked against the
/// development founders' names and each founder's own name, which is how
/// `coalition keys dev NAME` derives them.
pub fn refuse_dev_founders(genesis: &Genesis) -> Result<(), ConfigError> {
    let names = DEV_FOUNDERS
        .iter()
        .copied()
        .chain(genesis.founders.iter().map(|(name, _)| name.as_str()));
    let dev: Vec<(String, PublicIdentity)> = names
        .map(|name| (name.to_string(), *dev_identity(name).public()))
        .collect();
    for (founder, identity) in &genesis.founders {
        if let Some((dev_name, _)) = dev.iter().find(|(_, id)| id == identity) {
            return Err(ConfigError::Invalid(format!(
                "genesis founder {founder:?} is the public development identity {dev_name:?}: \
                 anyone can sign as it. Give it real keys (`coalition keys new`), or set \
                 dev_mode = true for a test coalition"
            )));
        }
    }
    Ok(())
}

/// Founders of the development coalition.
pub const DEV_FOUNDERS: [&str; 2] = ["airline", "hotel"];

/// The development coalition: founders `airline` and `hotel` (keys from
/// [`dev_identity`]), threshold 2/3, shielded pool on the INSECURE dev keys.
pub fn dev_genesis() -> Genesis {
    Genesis {
        name: "coalition-dev".into(),
        timestamp_ms: 1_767_225_600_000,
        threshold: Threshold::two_thirds(),
        founders: DEV_FOUNDERS
            .iter()
            .map(|name| (name.to_string(), *dev_identity(name).public()))
            .collect(),
        pool: Some(coalition_ledger::genesis::PoolKeyHashes::insecure_dev()),
        settlement_epoch_blocks: 20,
        max_currencies_per_member: coalition_ledger::genesis::DEFAULT_MAX_CURRENCIES_PER_MEMBER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_served_only_on_loopback_or_when_allowed() {
        let read = |text: &str| NodeConfig::from_toml(text, Path::new("node.toml"));
        read("listen = \"127.0.0.1:8080\"\n").unwrap();
        read("listen = \"[::1]:8080\"\n").unwrap();
        let refused = read("listen = \"10.0.0.1:8080\"\n")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("[tls]"), "{refused}");
        assert!(read("listen = \"0.0.0.0:8080\"\n").is_err());
        read("listen = \"10.0.0.1:8080\"\nallow_plain_http = true\n").unwrap();
        let tls = read(
            "listen = \"10.0.0.1:8080\"\n[tls]\ncertificate = \"node.crt\"\nkey = \"node.key\"\n",
        )
        .unwrap();
        assert_eq!(tls.tls.unwrap().key, PathBuf::from("node.key"));
        assert!(read("[tls]\ncertificate = \"node.crt\"\n").is_err());
    }

    #[test]
    fn submission_bounds_are_read_and_checked() {
        let config: NodeConfig = toml::from_str(
            "[submissions]\nmax_in_flight = 8\nmax_in_flight_per_client = 2\nbody_timeout_ms = 500\n",
        )
        .unwrap();
        config.check().unwrap();
        assert_eq!(config.submissions.max_in_flight, 8);
        assert_eq!(config.submissions.max_in_flight_per_client, 2);
        assert_eq!(config.submissions.body_timeout_ms, 500);
        let refused = |edit: fn(&mut SubmissionsSection)| {
            let mut config = NodeConfig::default();
            edit(&mut config.submissions);
            config.check().unwrap_err().to_string()
        };
        assert!(refused(|s| s.max_in_flight = 0).contains("max_in_flight"));
        assert!(refused(|s| s.max_in_flight = MAX_SUBMISSIONS_IN_FLIGHT + 1).contains("1..=384"));
        assert!(refused(|s| s.max_in_flight_per_client = 0).contains("per_client"));
        assert!(refused(|s| s.max_in_flight_per_partner = Some(0)).contains("per_partner"));
        assert!(refused(|s| s.max_in_flight_per_partner = Some(300)).contains("per_partner"));
        assert_eq!(config.submissions.partner_share(), 4);
        assert!(
            refused(|s| s.max_in_flight_per_client = s.max_in_flight + 1).contains("per_client")
        );
        assert!(refused(|s| s.body_timeout_ms = 99).contains("body_timeout_ms"));
        assert!(refused(|s| s.refused_burst = 0).contains("refused_burst"));
        assert!(refused(|s| s.refused_per_second = 0).contains("refused_per_second"));
        assert!(toml::from_str::<NodeConfig>("[submissions]\nmax_queued = 1\n").is_err());
    }

    #[test]
    fn connection_bounds_are_read_and_checked() {
        let config: NodeConfig = toml::from_str(
            "[connections]\nmax_open = 100\nmax_open_per_client = 10\nheader_timeout_ms = 2000\n",
        )
        .unwrap();
        config.check().unwrap();
        assert_eq!(config.connections.max_open, 100);
        assert_eq!(config.connections.max_open_per_client, 10);
        assert_eq!(config.connections.header_timeout_ms, 2000);
        NodeConfig::default().check().unwrap();
        let refused = |edit: fn(&mut ConnectionsSection)| {
            let mut config = NodeConfig::default();
            edit(&mut config.connections);
            config.check().unwrap_err().to_string()
        };
        assert!(refused(|c| c.max_open = 0).contains("max_open must"));
        assert!(refused(|c| c.max_open = MAX_OPEN_CONNECTIONS + 1).contains("1..=65536"));
        assert!(refused(|c| c.max_open_per_client = 0).contains("per_client"));
        assert!(refused(|c| c.max_open_per_client = c.max_open + 1).contains("per_client"));
        assert!(refused(|c| c.header_timeout_ms = 99).contains("header_timeout_ms"));
        assert!(refused(|c| c.header_timeout_ms = 600_001).contains("header_timeout_ms"));
        assert!(toml::from_str::<NodeConfig>("[connections]\nidle_ms = 1\n").is_err());
        // A replica must leave room for a partner's forwarded submissions.
        let mut replica = NodeConfig {
            replication: Some(ReplicationSection {
                dev_identity: Some("airline".into()),
                ..ReplicationSection::default()
            }),
            ..NodeConfig::default()
        };
        replica.check().unwrap();
        replica.connections.max_open_per_client = replica.submissions.partner_share() + 15;
        assert!(replica
            .check()
            .unwrap_err()
            .to_string()
            .contains("at least 144"));
    }
}
