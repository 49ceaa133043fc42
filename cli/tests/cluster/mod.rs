//! A devnet on loopback (`coalition devnet init`) whose nodes run as child
//! processes: started, killed, frozen, asked, and compared block by block.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coalition_api::client::{Client, ClientTls};
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::keys::IdentityKeys;
use coalition_core::transaction::ChainId;
use coalition_node::config::dev_identity;
use coalition_prover::governance::register_currency;
use serde_json::Value;

use crate::support;

pub const PARTNERS: [&str; 4] = ["airline", "hotel", "grocer", "rail"];

/// A devnet on loopback whose nodes run as child processes.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub base: u16,
    pub nodes: Vec<Option<Child>>,
}

/// A base port with `n` free ports after it, below the kernel's ephemeral
/// range: a devnet's ports are fixed in its configurations, so a node
/// restarted after a kill must find its port free, and a port inside the
/// ephemeral range can be taken meanwhile by any outgoing connection on the
/// machine (the nodes' own Raft requests, one connection each, among them).
fn free_base(n: usize) -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<usize>().ok())
        .unwrap_or(32_768);
    let (low, high) = (10_000usize, ephemeral_low.max(10_000 + 1_000));
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize
        + std::process::id() as usize * 7919;
    for attempt in 0..1000usize {
        let base = low + (seed + attempt * 997) % (high - low - n);
        let free = (0..n).all(|i| TcpListener::bind(("127.0.0.1", (base + i) as u16)).is_ok());
        if free {
            return base as u16;
        }
    }
    panic!("no free ports");
}

impl Cluster {
    pub fn new(founders: usize, joiners: usize, extra: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let base = free_base(founders + joiners);
        let out = Command::new(env!("CARGO_BIN_EXE_coalition"))
            .args(["devnet", "init", "--nodes"])
            .arg(founders.to_string())
            .arg("--joiners")
            .arg(joiners.to_string())
            .arg("--dir")
            .arg(dir.path())
            .arg("--base-port")
            .arg(base.to_string())
            .args(["--block-interval-ms", "50"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster {
            dir,
            base,
            nodes: (0..founders + joiners).map(|_| None).collect(),
        }
    }

    pub fn config(&self, i: usize) -> PathBuf {
        self.dir.path().join(PARTNERS[i]).join("node.toml")
    }

    pub fn start(&mut self, i: usize) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_coalition"));
        command.arg("node").arg("--config").arg(self.config(i));
        let (child, addr) = support::spawn_listening(command);
        assert_eq!(addr, self.addr(i));
        self.nodes[i] = Some(child);
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            child.kill().unwrap(); // SIGKILL
            let _ = child.wait();
        }
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) node `i`: it keeps its
    /// sockets but answers nothing, like a node cut off by the network.
    pub fn signal(&self, i: usize, signal: &str) {
        let pid = self.nodes[i].as_ref().expect("node running").id();
        let status = Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.base + i as u16))
    }

    /// Node `i`'s certificate, with `--tls`.
    pub fn certificate(&self, i: usize) -> Option<PathBuf> {
        let path = self.dir.path().join(PARTNERS[i]).join("node.crt");
        path.exists().then_some(path)
    }

    /// A client of node `i`, pinning its certificate with `--tls`.
    pub fn client(&self, i: usize) -> Client {
        let client = Client::new(self.addr(i)).with_timeout(Duration::from_secs(20));
        match self.certificate(i) {
            Some(cert) => client.with_tls(ClientTls::pinned_pem_file(&cert).unwrap()),
            None => client,
        }
    }

    pub fn live(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].is_some())
            .collect()
    }

    pub fn get(&self, i: usize, path: &str) -> Option<Value> {
        match self.client(i).get(path) {
            Ok(r) if r.status == 200 => r.json().ok(),
            _ => None,
        }
    }

    pub fn replication(&self, i: usize) -> Value {
        self.get(i, "/v1/replication")
            .unwrap_or_else(|| panic!("{} serves no replication status", PARTNERS[i]))
    }

    /// The node every live node agrees leads (waits for an election).
    pub fn leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let live = self.live();
            let statuses: Vec<(usize, Value)> = live
                .iter()
                .filter_map(|i| self.get(*i, "/v1/replication").map(|v| (*i, v)))
                .collect();
            if statuses.len() == live.len() {
                if let Some((leader, status)) =
                    statuses.iter().find(|(_, s)| s["state"] == "leader")
                {
                    let id = &status["node_id"];
                    if statuses.iter().all(|(_, s)| &s["leader"] == id) {
                        return *leader;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no leader agreed on within 60 s");
    }

    /// Waits until `nodes` report the same tip; returns its height.
    pub fn converged(&self, nodes: &[usize]) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let tips: Vec<Option<(u64, String)>> = nodes
                .iter()
                .map(|i| {
                    self.get(*i, "/v1/status").map(|s| {
                        (
                            s["height"].as_u64().unwrap(),
                            s["tip"]["hash"].as_str().unwrap().to_string(),
                        )
                    })
                })
                .collect();
            if let Some(Some(first)) = tips.first() {
                if tips.iter().all(|t| t.as_ref() == Some(first)) {
                    return first.0;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("nodes {nodes:?} did not converge within 120 s");
    }

    /// Every block up to `height` is identical on `nodes` (hash, hence
    /// state hash, and the state hash is compared explicitly too).
    pub fn assert_same_chain(&self, nodes: &[usize], height: u64) {
        self.assert_same_blocks(nodes, 1..=height);
    }

    /// [`Self::assert_same_chain`] for the blocks at `heights`.
    pub fn assert_same_blocks(&self, nodes: &[usize], heights: std::ops::RangeInclusive<u64>) {
        for h in heights {
            let headers: Vec<Value> = nodes
                .iter()
                .map(|i| {
                    self.get(*i, &format!("/v1/blocks/{h}"))
                        .unwrap_or_else(|| panic!("{} lacks block {h}", PARTNERS[*i]))["header"]
                        .clone()
                })
                .collect();
            for header in &headers[1..] {
                assert_eq!(header["hash"], headers[0]["hash"], "block {h} differs");
                assert_eq!(
                    header["state_hash"], headers[0]["state_hash"],
                    "state hash at {h} differs"
                );
            }
        }
    }
}

/// The airline (a devnet founder) registers MILES through node `via` and
/// waits for it to commit: the chain, the airline's keys and the policy.
pub fn register_miles(cluster: &Cluster, via: usize) -> (ChainId, IdentityKeys, CurrencyPolicy) {
    let client = cluster.client(via);
    let chain = client.genesis().unwrap().chain_id();
    let airline = dev_identity("airline");
    let miles = CurrencyPolicy {
        id: CurrencyId::new("MILES").unwrap(),
        issuer: *airline.public(),
        auditor: None,
    };
    let register = register_currency(
        chain,
        &airline,
        0,
        miles.id,
        0,
        None,
        ExchangeRate::new(1, 1).unwrap(),
        NoteLifetime::Unlimited,
    );
    let id = client.submit(&register).expect("MILES submitted");
    client
        .wait_committed(&id, Duration::from_secs(30))
        .expect("MILES registered");
    (chain, airline, miles)
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
