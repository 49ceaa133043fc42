//! A real node on a loopback port, driven over HTTP, for integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coalition_api::client::Client;
use coalition_core::account::AccountState;
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::LoyaltyId;
use coalition_core::transaction::{ChainId, Transaction};
use coalition_ledger::genesis::Genesis;
use coalition_node::config::NodeConfig;
use coalition_node::engine::Node;
use coalition_node::http::serve;
use coalition_params::ShieldedVerifyingKeys;
use serde_json::Value;

pub struct RunningNode {
    pub node: Node,
    pub addr: SocketAddr,
    pub client: Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningNode {
    pub fn start(
        dir: &Path,
        genesis: Genesis,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
        max_body_bytes: usize,
    ) -> RunningNode {
        let config = NodeConfig {
            max_body_bytes,
            ..RunningNode::config(dir)
        };
        RunningNode::start_with(config, genesis, keys)
    }

    /// The configuration `start` uses, with its data in `dir`.
    pub fn config(dir: &Path) -> NodeConfig {
        NodeConfig {
            data_dir: dir.to_path_buf(),
            listen: "127.0.0.1:0".parse().unwrap(),
            block_interval_ms: 20,
            ..NodeConfig::default()
        }
    }

    pub fn start_with(
        config: NodeConfig,
        genesis: Genesis,
        keys: Option<Arc<ShieldedVerifyingKeys>>,
    ) -> RunningNode {
        let node = Node::open_with_genesis(config, genesis, true, keys).expect("node opens");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // A deep accept queue, as a node facing many clients wants: with
        // tokio's default (1024) a test that opens thousands of sockets at
        // once can fill it, and a dropped SYN costs a client 1 s.
        let listener = runtime
            .block_on(async {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind("127.0.0.1:0".parse().unwrap())?;
                socket.listen(4096)
            })
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = node.clone();
        let thread = std::thread::spawn(move || {
            runtime
                .block_on(serve(served, listener, async move {
                    let _ = rx.await;
                }))
                .unwrap();
        });
        RunningNode {
            node,
            addr,
            client: Client::new(addr),
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(path).unwrap();
        let v = r.json().unwrap_or(Value::Null);
        (r.status, v)
    }

    /// Submits and returns (status, body).
    pub fn submit(&self, tx: &Transaction) -> (u16, Value) {
        let r = self
            .client
            .post(
                "/v1/transactions",
                "application/octet-stream",
                &tx.to_bytes(),
            )
            .unwrap();
        (r.status, r.json().unwrap_or(Value::Null))
    }

    /// Submits, expects acceptance, waits until committed; returns the height.
    pub fn commit(&self, tx: &Transaction) -> u64 {
        let (status, body) = self.submit(tx);
        assert_eq!(status, 202, "{} refused: {body}", tx.kind());
        self.wait_committed(body["id"].as_str().unwrap())
    }

    pub fn wait_committed(&self, id: &str) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self.get(&format!("/v1/transactions/{id}"));
            if status == 200 && body["status"] == "committed" {
                return body["height"].as_u64().unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "transaction {id} never committed"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A metric's value from `/metrics` (one without labels).
    pub fn metric(&self, name: &str) -> u64 {
        let text = self.client.get("/metrics").unwrap().text();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no metric {name}"))
            .parse()
            .unwrap()
    }

    pub fn state_hash(&self) -> String {
        self.get("/v1/status").1["tip"]["state_hash"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn height(&self) -> u64 {
        self.get("/v1/status").1["height"].as_u64().unwrap()
    }

    pub fn chain(&self) -> ChainId {
        self.node.genesis().chain_id()
    }

    /// The account as the API reports it.
    pub fn account(&self, owner: &LoyaltyId, currency: &str) -> Option<AccountState> {
        let (status, body) = self.get(&format!("/v1/accounts/{}/{currency}", hex::encode(owner.0)));
        if status == 404 {
            return None;
        }
        assert_eq!(status, 200, "{body}");
        let ciphertext = |field: &str| {
            decode_exact(&hex::decode(body[field].as_str().unwrap()).unwrap()).unwrap()
        };
        Some(AccountState {
            owner: decode_exact(&hex::decode(body["owner"].as_str().unwrap()).unwrap()).unwrap(),
            available: ciphertext("available"),
            pending: ciphertext("pending"),
            pending_credits: body["pending_credits"].as_u64().unwrap(),
            nonce: body["nonce"].as_u64().unwrap(),
        })
    }

    /// Asserts a refusal with `status` and that the state did not move.
    pub fn refused(&self, tx: &Transaction, status: u16) -> Value {
        let before = self.state_hash();
        let (got, body) = self.submit(tx);
        assert_eq!(got, status, "{}: {body}", tx.kind());
        assert!(body["error"].is_string() && body["reason"].is_string());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            self.state_hash(),
            before,
            "a refused transaction changed the state"
        );
        body
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        self.halt();
    }
}
