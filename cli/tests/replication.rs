//! Partner nodes replicating with Raft, as real `coalition node` processes
//! on loopback, configured by `coalition devnet init` (spec §20):
//!
//! * three nodes commit what is submitted to any of them, with equal
//!   blocks and state hashes at every height;
//! * the leader killed with SIGKILL under a stream of transactions: a new
//!   leader is elected, nothing acknowledged as committed is lost, nothing
//!   diverges, and the killed node restarts and catches up;
//! * a follower stopped for many blocks catches up by snapshot;
//! * messages from non-members (or tampered, misaddressed, malformed) are
//!   refused;
//! * a submission a follower forwards travels signed and counts against
//!   its partner's share at the leader, not a client's, while a client
//!   claiming to forward is bounded like any client;
//! * a fourth partner admitted by vote, knowing only a follower, finds the
//!   leader through it, joins as learner, becomes a voter and converges;
//! * over mutual TLS (`devnet init --tls`), the nodes agree and forward as
//!   before; a node refuses a node-to-node request whose connection has no
//!   certificate, or one bound to another partner than the envelope's
//!   signer, or a certificate whose binding is broken; a client pinned to
//!   another certificate, or speaking plain HTTP, gets nothing.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coalition_api::client::{Client, ClientError, ClientTls};
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::encoding::Encode;
use coalition_core::governance::MembershipAction;
use coalition_core::keys::IdentityKeys;
use coalition_core::transaction::{ChainId, Transaction};
use coalition_node::config::dev_identity;
use coalition_node::replication::envelope::{open_response, seal_request, REQUEST_HEAD};
use coalition_prover::governance::{propose_member, register_currency, vote};
use coalition_prover::transactions;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;

mod cluster;
mod support;

use cluster::{Cluster, PARTNERS};

/// The airline issuing MILES to customers, remembering what the cluster
/// acknowledged as committed.
struct Issuer {
    chain: ChainId,
    airline: IdentityKeys,
    miles: CurrencyPolicy,
    customers: Vec<IdentityKeys>,
    rng: ChaCha20Rng,
    nonce: u64,
    acknowledged: Vec<(String, u64)>,
    /// Why the last round stopped short, for failure messages.
    last_failure: Option<String>,
}

impl Issuer {
    fn new(cluster: &Cluster, via: usize) -> Issuer {
        let (chain, airline, miles) = cluster::register_miles(cluster, via);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let customers = (0..6).map(|_| IdentityKeys::random(&mut rng)).collect();
        Issuer {
            chain,
            airline,
            miles,
            customers,
            rng,
            nonce: 0,
            acknowledged: Vec::new(),
            last_failure: None,
        }
    }

    /// The Issue with the next nonce (not yet counted as submitted).
    fn next_issue(&mut self) -> Transaction {
        let to = &self.customers[(self.nonce % self.customers.len() as u64) as usize];
        transactions::issue(
            self.chain,
            &self.miles,
            &self.airline,
            self.nonce,
            to.public(),
            1 + self.nonce % 40,
            &mut self.rng,
        )
        .unwrap()
    }

    /// A round through `via` gets at least one Issue committed.
    fn assert_takes(&mut self, cluster: &Cluster, via: usize, count: usize) {
        let done = self.round(cluster, via, count);
        assert!(
            done > 0,
            "nothing committed through {}: {:?}",
            PARTNERS[via],
            self.last_failure
        );
    }

    /// The three founders converge on one chain that keeps every
    /// acknowledged transaction; returns the tip height.
    fn assert_converged(&self, cluster: &Cluster) -> u64 {
        let height = cluster.converged(&[0, 1, 2]);
        cluster.assert_same_chain(&[0, 1, 2], height);
        for i in 0..3 {
            self.assert_kept(cluster, i);
        }
        height
    }

    /// Submits `count` Issues through node `via` and waits for each; on
    /// any failure re-reads the committed nonce. Returns how many were
    /// acknowledged as committed.
    fn round(&mut self, cluster: &Cluster, via: usize, count: usize) -> usize {
        let client = cluster.client(via);
        self.last_failure = None;
        let mut submitted = Vec::new();
        for _ in 0..count {
            let tx = self.next_issue();
            match client.submit(&tx) {
                Ok(id) => {
                    submitted.push(id);
                    self.nonce += 1;
                }
                Err(e) => {
                    self.last_failure = Some(format!("submit to {}: {e}", PARTNERS[via]));
                    break;
                }
            }
        }
        let mut done = 0;
        let mut failed = submitted.len() < count;
        for id in submitted {
            match client.wait_committed(&id, Duration::from_secs(10)) {
                Ok(height) => {
                    self.acknowledged.push((hex::encode(id.0), height));
                    done += 1;
                }
                Err(e) => {
                    self.last_failure = Some(format!("waiting on {}: {e}", PARTNERS[via]));
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            // Lost with a dead leader, or refused: resume after what is
            // committed.
            std::thread::sleep(Duration::from_millis(500));
            self.nonce = cluster
                .live()
                .iter()
                .filter_map(|i| cluster.get(*i, "/v1/currencies"))
                .filter_map(|v| v["currencies"][0]["issuer_nonce"].as_u64())
                .max()
                .unwrap_or(self.nonce);
        }
        done
    }

    /// Every acknowledged transaction is committed on `node` where it was.
    fn assert_kept(&self, cluster: &Cluster, node: usize) {
        for (id, height) in &self.acknowledged {
            let status = cluster
                .get(node, &format!("/v1/transactions/{id}"))
                .unwrap_or_else(|| panic!("{} lost {id}", PARTNERS[node]));
            assert_eq!(status["status"], "committed");
            assert_eq!(status["height"].as_u64(), Some(*height), "{id} moved");
        }
    }
}

fn submit_and_wait(cluster: &Cluster, via: usize, tx: &Transaction) -> Result<u64, ClientError> {
    let client = cluster.client(via);
    let id = client.submit(tx)?;
    client.wait_committed(&id, Duration::from_secs(30))
}

/// Posts raw bytes to a node-to-node route.
fn post_raw(cluster: &Cluster, i: usize, route: &str, body: &[u8]) -> (u16, String) {
    let r = cluster
        .client(i)
        .post(route, "application/octet-stream", body)
        .unwrap();
    (r.status, r.text())
}

/// POSTs `head` to `route` over a raw connection that announces
/// `content_length` bytes but sends only the head, and returns what the
/// node answers (within 10 s, or the test fails).
fn post_head_only(addr: SocketAddr, route: &str, content_length: u64, head: &[u8]) -> String {
    use std::io::Read;
    let mut stream = hold_head(addr, route, content_length as usize, head);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The status line, headers and the JSON refusal, however they are cut
    // into reads; a read that times out fails the test.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream
            .read(&mut buf)
            .expect("the node answers before the announced body arrives");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if n == 0 || (text.contains("\r\n\r\n") && text.trim_end().ends_with('}')) {
            return text.into_owned();
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// What a node refuses before Raft sees it.
fn assert_refuses_unauthenticated(cluster: &Cluster, target: usize, chain: &ChainId) {
    let status = cluster.replication(target);
    let id = status["node_id"].as_u64().unwrap();
    let rejected_before = status["messages_rejected"].as_u64().unwrap();
    let body =
        br#"{"vote":{"leader_id":{"term":99,"node_id":1},"committed":false},"last_log_id":null}"#;
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let outsider = IdentityKeys::random(&mut rng);
    let (envelope, _) = seal_request(&outsider, chain, "/raft/vote", id, now_ms(), body);
    let (code, text) = post_raw(cluster, target, "/raft/vote", &envelope);
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("not a member"), "{text}");
    // A stranger's head is refused as soon as it arrives: the connection
    // announces (and the head claims) 200 MB, sends only the head, and is
    // answered without the node waiting for, or buffering, the rest.
    let (huge, _) = seal_request(&outsider, chain, "/raft/vote", id, now_ms(), body);
    let mut head = huge[..REQUEST_HEAD].to_vec();
    head[52..60].copy_from_slice(&200_000_000u64.to_be_bytes());
    let answer = post_head_only(cluster.addr(target), "/raft/vote", 200_000_000, &head);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("not a member"), "{answer}");
    // A member's key, but the body changed after signing, or the signed
    // length changed.
    let member = dev_identity("grocer");
    let (mut envelope, _) = seal_request(&member, chain, "/raft/vote", id, now_ms(), body);
    let last = envelope.len() - 2;
    envelope[last] ^= 1;
    let (code, text) = post_raw(cluster, target, "/raft/vote", &envelope);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("does not match"), "{text}");
    let (mut envelope, _) = seal_request(&member, chain, "/raft/vote", id, now_ms(), body);
    envelope[59] ^= 1;
    let (code, text) = post_raw(cluster, target, "/raft/vote", &envelope);
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("signature"), "{text}");
    // Signed for another node, another route, or an hour ago.
    let (envelope, _) = seal_request(&member, chain, "/raft/vote", id ^ 1, now_ms(), body);
    assert_eq!(post_raw(cluster, target, "/raft/vote", &envelope).0, 403);
    let (envelope, _) = seal_request(&member, chain, "/raft/append", id, now_ms(), body);
    assert_eq!(post_raw(cluster, target, "/raft/vote", &envelope).0, 403);
    let (envelope, _) = seal_request(&member, chain, "/raft/vote", id, now_ms() - 3_600_000, body);
    let (code, text) = post_raw(cluster, target, "/raft/vote", &envelope);
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("clock"), "{text}");
    // Well signed by a member, but speaking for another node's Raft ID;
    // the same bytes again are a replay, refused at the head.
    let (envelope, _) = seal_request(&member, chain, "/raft/vote", id, now_ms(), body);
    let (code, text) = post_raw(cluster, target, "/raft/vote", &envelope);
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("speaks for node"), "{text}");
    let (code, text) = post_raw(cluster, target, "/raft/vote", &envelope);
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("replayed"), "{text}");
    // A member's vote that signs a 100 KiB body: over the votes' bound,
    // refused from the head before any of the body is sent.
    let big = vec![b' '; 100 * 1024];
    let (envelope, _) = seal_request(&member, chain, "/raft/vote", id, now_ms(), &big);
    let answer = post_head_only(
        cluster.addr(target),
        "/raft/vote",
        big.len() as u64,
        &envelope[..REQUEST_HEAD],
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Not an envelope at all.
    assert_eq!(post_raw(cluster, target, "/raft/append", b"hello").0, 400);
    let rejected = cluster.replication(target)["messages_rejected"]
        .as_u64()
        .unwrap();
    assert_eq!(rejected, rejected_before + 11);
}

#[test]
fn three_partners_agree_and_survive_the_loss_of_the_leader() {
    let mut cluster = Cluster::new(3, 0, &[]);
    for i in 0..3 {
        cluster.start(i);
    }
    let leader = cluster.leader();
    let follower = (leader + 1) % 3;
    // Submissions to a follower are forwarded to the leader.
    let mut issuer = Issuer::new(&cluster, follower);
    for (via, name) in PARTNERS.iter().enumerate().take(3) {
        assert_eq!(
            issuer.round(&cluster, via, 4),
            4,
            "through {name}: {:?}",
            issuer.last_failure
        );
    }
    assert_refuses_unauthenticated(&cluster, follower, &issuer.chain);

    // The leader dies (SIGKILL) while transactions stream through the others.
    let before_kill = issuer.acknowledged.len();
    let victim = cluster.nodes[leader].take().unwrap();
    let killer = std::thread::spawn(move || {
        let mut victim = victim;
        std::thread::sleep(Duration::from_millis(400));
        victim.kill().unwrap();
        let _ = victim.wait();
    });
    let survivors: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let mut after_kill = 0;
    let mut rounds = 0;
    while after_kill < 12 {
        rounds += 1;
        assert!(rounds < 200, "the survivors stopped committing");
        let via = survivors[rounds % 2];
        let done = issuer.round(&cluster, via, 3);
        if killer.is_finished() {
            after_kill += done;
        }
    }
    killer.join().unwrap();
    let new_leader = cluster.leader();
    assert_ne!(new_leader, leader, "a new leader was elected");

    // The killed node restarts, catches up, and takes submissions again.
    cluster.start(leader);
    issuer.assert_takes(&cluster, leader, 3);
    let height = issuer.assert_converged(&cluster);
    eprintln!(
        "leader {} killed; {} acknowledged before, {} after; tip {height}",
        PARTNERS[leader],
        before_kill,
        issuer.acknowledged.len() - before_kill
    );

    // The leader cut off from both followers (frozen): once its last
    // quorum acknowledgement is older than the longest election timeout
    // (1.6 s), the majority may have moved on, so it admits nothing.
    let cut_off = cluster.leader();
    let followers: Vec<usize> = (0..3).filter(|i| *i != cut_off).collect();
    for i in &followers {
        cluster.signal(*i, "-STOP");
    }
    std::thread::sleep(Duration::from_millis(2_000));
    match cluster.client(cut_off).submit(&issuer.next_issue()) {
        Err(ClientError::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (503, "no_leader"))
        }
        other => panic!("a leader cut off from the majority admitted a submission: {other:?}"),
    }
    for i in &followers {
        cluster.signal(*i, "-CONT");
    }
    issuer.assert_takes(&cluster, cut_off, 2);
    issuer.assert_converged(&cluster);

    // Everyone stops; the last leader restarts alone. openraft restores it
    // as leader of its old term, but no quorum confirms it, so it admits
    // nothing: it waits for a leader and answers 503 no_leader.
    let last_leader = cluster.leader();
    for i in 0..3 {
        cluster.kill(i);
    }
    cluster.start(last_leader);
    let tx = issuer.next_issue();
    match cluster.client(last_leader).submit(&tx) {
        Err(ClientError::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (503, "no_leader"))
        }
        other => panic!("a leader no quorum confirms admitted a submission: {other:?}"),
    }
    // With the others back it leads (or follows) again and takes it.
    for i in (0..3).filter(|i| *i != last_leader) {
        cluster.start(i);
    }
    issuer.assert_takes(&cluster, last_leader, 2);
    issuer.assert_converged(&cluster);
}

/// A client's submission to `addr` that announces a body and sends none:
/// it holds its place in the node's submissions in flight (§17.4) until
/// the returned connection is dropped or the body timeout passes.
fn hold_a_place(addr: SocketAddr) -> std::net::TcpStream {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/transactions HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n"
    )
    .unwrap();
    stream.flush().unwrap();
    stream
}

/// Sends `head` to `route` at `addr`, announcing a body of `content_length`
/// bytes (head included), and sends no more: the request holds whatever it took until the returned
/// connection is dropped.
fn hold_head(
    addr: SocketAddr,
    route: &str,
    content_length: usize,
    head: &[u8],
) -> std::net::TcpStream {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {route} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {content_length}\r\n\r\n"
    )
    .unwrap();
    stream.write_all(head).unwrap();
    stream.flush().unwrap();
    stream
}

/// Posts a transaction to `/raft/forward` of node `to`, signed by `signer`
/// for the node with Raft ID `recipient`; returns the HTTP status, the
/// envelope's signature and the raw answer.
fn forward_raw(
    cluster: &Cluster,
    to: usize,
    signer: &IdentityKeys,
    recipient: u64,
    chain: &ChainId,
    body: &[u8],
) -> (u16, [u8; 64], Vec<u8>) {
    // The route's body: a fresh nonce, then the transaction.
    let mut nonced = rand_chacha::rand_core::RngCore::next_u64(&mut rand_chacha::rand_core::OsRng)
        .to_le_bytes()
        .repeat(2);
    nonced.extend_from_slice(body);
    let (envelope, signature) =
        seal_request(signer, chain, "/raft/forward", recipient, now_ms(), &nonced);
    let r = cluster
        .client(to)
        .post("/raft/forward", "application/octet-stream", &envelope)
        .unwrap();
    (r.status, signature, r.body)
}

/// The JSON `{status, answer}` of a forward's answer, which must open as
/// signed by `responder` for the request signed `signature`.
fn open_forwarded(
    answer: &[u8],
    chain: &ChainId,
    responder: &IdentityKeys,
    signature: &[u8; 64],
) -> Value {
    let opened = open_response(
        answer,
        chain,
        "/raft/forward",
        responder.public(),
        signature,
    )
    .expect("the answer is signed by the expected partner for this request");
    serde_json::from_slice(opened).unwrap()
}

#[test]
fn forwarded_submissions_are_signed_and_bounded_per_partner_not_per_client() {
    let mut cluster = Cluster::new(3, 0, &[]);
    // One submission in flight per client and per partner's node, so one
    // held place fills a share (and holds it for the whole test).
    for i in 0..3 {
        let mut config = std::fs::read_to_string(cluster.config(i)).unwrap();
        assert!(!config.contains("[submissions]"));
        config.push_str(
            "\n[submissions]\nmax_in_flight_per_client = 1\nmax_in_flight_per_partner = 1\n\
             body_timeout_ms = 120000\n",
        );
        std::fs::write(cluster.config(i), config).unwrap();
    }
    for i in 0..3 {
        cluster.start(i);
    }
    let leader = cluster.leader();
    let follower = (leader + 1) % 3;
    let mut issuer = Issuer::new(&cluster, follower);
    let chain = issuer.chain;
    let leader_id = cluster.replication(leader)["node_id"].as_u64().unwrap();
    let follower_id = cluster.replication(follower)["node_id"].as_u64().unwrap();
    let leader_partner = dev_identity(PARTNERS[leader]);
    let member = dev_identity(PARTNERS[follower]);

    // This test (one client: 127.0.0.1, the nodes' address too) holds its
    // one place at the leader.
    let held = hold_a_place(cluster.addr(leader));
    std::thread::sleep(Duration::from_millis(300));
    let busy = |answer: Result<_, ClientError>| match answer {
        Err(ClientError::Refused { status, code, .. }) => (status, code) == (429, "busy".into()),
        _ => false,
    };
    let tx = issuer.next_issue();
    assert!(busy(cluster.client(leader).submit(&tx)));
    // Claiming to forward (from a member node's address) exempts nothing.
    let claimed = cluster.client(leader).post(
        "/v1/transactions?forwarded=1",
        "application/octet-stream",
        &tx.to_bytes(),
    );
    assert_eq!(claimed.unwrap().status, 429);
    // What the follower forwards is signed and exempt from the per-client
    // bound: it is admitted and committed.
    issuer.assert_takes(&cluster, follower, 2);

    // A member's node's signed forward, straight to the leader: the
    // answer is the leader's, signed by its partner for this request.
    let tx = issuer.next_issue();
    let (status, signature, answer) =
        forward_raw(&cluster, leader, &member, leader_id, &chain, &tx.to_bytes());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let opened = open_forwarded(&answer, &chain, &leader_partner, &signature);
    assert_eq!(opened["status"], 202, "{opened}");
    assert_eq!(opened["answer"]["id"], hex::encode(tx.id().0));
    // ...not by anyone else, nor for another request.
    assert!(open_response(
        &answer,
        &chain,
        "/raft/forward",
        member.public(),
        &signature
    )
    .is_err());
    assert!(open_response(
        &answer,
        &chain,
        "/raft/forward",
        leader_partner.public(),
        &[7; 64]
    )
    .is_err());
    let height = cluster
        .client(leader)
        .wait_committed(&tx.id(), Duration::from_secs(30))
        .unwrap();
    issuer.acknowledged.push((hex::encode(tx.id().0), height));
    issuer.nonce += 1;

    // Refused before the body is read: a stranger; a member's envelope
    // signed for another node; the same envelope twice; a body over the
    // node's bound (announced by the head alone).
    let rejected_before = cluster.replication(leader)["messages_rejected"]
        .as_u64()
        .unwrap();
    let outsider = IdentityKeys::random(&mut ChaCha20Rng::seed_from_u64(78));
    let tx = issuer.next_issue();
    let (status, _, text) = forward_raw(
        &cluster,
        leader,
        &outsider,
        leader_id,
        &chain,
        &tx.to_bytes(),
    );
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&text));
    let (status, _, _) = forward_raw(
        &cluster,
        leader,
        &member,
        follower_id,
        &chain,
        &tx.to_bytes(),
    );
    assert_eq!(status, 403);
    let (envelope, _) = seal_request(&member, &chain, "/raft/forward", leader_id, now_ms(), b"x");
    assert_eq!(
        post_raw(&cluster, leader, "/raft/forward", &envelope).0,
        200
    );
    let (code, text) = post_raw(&cluster, leader, "/raft/forward", &envelope);
    assert_eq!(code, 403);
    assert!(text.contains("replayed"), "{text}");
    let big = vec![0u8; 65 * 1024];
    let (envelope, _) = seal_request(&member, &chain, "/raft/forward", leader_id, now_ms(), &big);
    let answer = post_head_only(
        cluster.addr(leader),
        "/raft/forward",
        big.len() as u64,
        &envelope[..REQUEST_HEAD],
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let rejected = cluster.replication(leader)["messages_rejected"]
        .as_u64()
        .unwrap();
    assert_eq!(rejected, rejected_before + 4);
    // None of them took a place: the held one is the only one in flight.
    let metrics = cluster.client(leader).get("/metrics").unwrap().text();
    assert!(
        metrics.contains("\ncoalition_submissions_in_flight 1\n"),
        "{metrics}"
    );

    // Authenticated, then answered like a client's submission: bytes that
    // do not decode are refused (signed 400); a follower never forwards a
    // forwarded submission again (signed 503).
    let (status, signature, answer) =
        forward_raw(&cluster, leader, &member, leader_id, &chain, b"x");
    assert_eq!(status, 200);
    let opened = open_forwarded(&answer, &chain, &leader_partner, &signature);
    assert_eq!(
        (opened["status"].clone(), opened["answer"]["error"].clone()),
        (400.into(), "malformed".into())
    );
    let (status, signature, answer) = forward_raw(
        &cluster,
        follower,
        &leader_partner,
        follower_id,
        &chain,
        &tx.to_bytes(),
    );
    assert_eq!(status, 200);
    let opened = open_forwarded(&answer, &chain, &member, &signature);
    assert_eq!(
        (opened["status"].clone(), opened["answer"]["error"].clone()),
        (503.into(), "no_leader".into())
    );

    // A partner's node holding its one place at the leader (a signed head
    // whose body has not come): that partner's forwards are refused (429,
    // relayed to its clients), another partner's node still forwards.
    let (envelope, _) = seal_request(
        &member,
        &chain,
        "/raft/forward",
        leader_id,
        now_ms(),
        &[0; 100],
    );
    let partner_held = hold_head(
        cluster.addr(leader),
        "/raft/forward",
        envelope.len(),
        &envelope[..REQUEST_HEAD],
    );
    std::thread::sleep(Duration::from_millis(300));
    let tx = issuer.next_issue();
    let (status, _, text) =
        forward_raw(&cluster, leader, &member, leader_id, &chain, &tx.to_bytes());
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&text));
    match cluster.client(follower).submit(&tx) {
        Err(ClientError::Refused {
            status,
            code,
            reason,
        }) => assert_eq!((status, code.as_str()), (429, "busy"), "{reason}"),
        other => panic!("a partner over its share forwarded a submission: {other:?}"),
    }
    let third = 3 - leader - follower;
    issuer.assert_takes(&cluster, third, 1);
    drop(partner_held);

    // The places given back, the client is admitted again.
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    issuer.assert_takes(&cluster, leader, 1);
    issuer.assert_converged(&cluster);
}

#[test]
fn a_stopped_follower_catches_up_by_snapshot() {
    let mut cluster = Cluster::new(
        3,
        0,
        &[
            "--snapshot-after-entries",
            "6",
            "--keep-entries-after-snapshot",
            "2",
        ],
    );
    for i in 0..3 {
        cluster.start(i);
    }
    let leader = cluster.leader();
    let stopped = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let mut issuer = Issuer::new(&cluster, leader);
    issuer.round(&cluster, other, 2);
    let _ = cluster.converged(&[0, 1, 2]);
    let last_seen = cluster.replication(stopped)["last_log_index"]
        .as_u64()
        .unwrap();
    cluster.kill(stopped);
    // Enough blocks that the leader's log no longer reaches back to it.
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 200, "the leader never purged its log");
        issuer.round(&cluster, other, 2);
        let purged = cluster.replication(leader)["purged_index"]
            .as_u64()
            .unwrap_or(0);
        if purged > last_seen + 4 {
            break;
        }
    }
    cluster.start(stopped);
    let height = cluster.converged(&[0, 1, 2]);
    let status = cluster.replication(stopped);
    assert!(
        status["snapshots_installed"].as_u64().unwrap() >= 1,
        "{status}"
    );
    cluster.assert_same_chain(&[0, 1, 2], height);
    issuer.assert_kept(&cluster, stopped);
    // And it keeps following by log afterwards.
    issuer.assert_takes(&cluster, stopped, 2);
    let height = cluster.converged(&[0, 1, 2]);
    cluster.assert_same_chain(&[0, 1, 2], height);
}

#[test]
fn a_fourth_partner_admitted_by_vote_joins_and_converges() {
    let mut cluster = Cluster::new(3, 1, &[]);
    for i in 0..3 {
        cluster.start(i);
    }
    let leader = cluster.leader();
    let chain = cluster.client(leader).genesis().unwrap().chain_id();
    // The rail partner's node knows one peer only, a follower: it finds
    // the leader through the follower's answer.
    let follower = (leader + 1) % 3;
    let config = std::fs::read_to_string(cluster.config(3)).unwrap();
    let peers_line = config
        .lines()
        .find(|l| l.starts_with("peers = "))
        .unwrap()
        .to_string();
    let only_follower = format!(
        "peers = [{{ name = \"{}\", addr = \"{}\" }}]",
        PARTNERS[follower],
        cluster.addr(follower)
    );
    std::fs::write(
        cluster.config(3),
        config.replace(&peers_line, &only_follower),
    )
    .unwrap();
    // It starts before its admission: its join requests are refused (not
    // a member) and it receives nothing.
    cluster.start(3);
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.replication(follower)["messages_rejected"]
        .as_u64()
        .unwrap()
        == 0
    {
        assert!(Instant::now() < deadline, "the join request never arrived");
        std::thread::sleep(Duration::from_millis(100));
    }
    let rail_id = cluster.replication(3)["node_id"].as_u64().unwrap();
    let in_voters = |status: &Value| {
        status["voters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"].as_u64() == Some(rail_id))
    };
    assert!(!in_voters(&cluster.replication(leader)));
    assert_eq!(
        cluster.get(3, "/v1/status").unwrap()["height"].as_u64(),
        Some(0)
    );

    // Airline proposes, hotel approves: 2 of 3.
    let rail = dev_identity("rail");
    let proposal = propose_member(
        chain,
        &dev_identity("airline"),
        0,
        MembershipAction::Admit {
            candidate: *rail.public(),
            name: "rail".into(),
        },
    );
    submit_and_wait(&cluster, 0, &proposal).unwrap();
    submit_and_wait(
        &cluster,
        1,
        &vote(chain, &dev_identity("hotel"), 0, proposal.id(), true),
    )
    .unwrap();

    // The rail node joins as a learner, catches up and becomes a voter.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let leader = cluster.leader();
        if in_voters(&cluster.replication(leader)) && in_voters(&cluster.replication(3)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rail never became a voter: {}",
            cluster.replication(leader)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // It takes submissions (forwarded) like any other node.
    let rail_currency = register_currency(
        chain,
        &rail,
        0,
        CurrencyId::new("RAIL").unwrap(),
        0,
        None,
        ExchangeRate::new(1, 1).unwrap(),
        NoteLifetime::Unlimited,
    );
    submit_and_wait(&cluster, 3, &rail_currency).unwrap();
    let height = cluster.converged(&[0, 1, 2, 3]);
    cluster.assert_same_chain(&[0, 1, 2, 3], height);
}

/// `devnet init --tls` with the certificate of `partner` and its key.
fn partner_certificate(cluster: &Cluster, partner: usize) -> coalition_node::tls::NodeCertificate {
    let dir = cluster.dir.path().join(PARTNERS[partner]);
    coalition_node::tls::NodeCertificate::load(&dir.join("node.crt"), &dir.join("node.key"))
        .unwrap()
}

/// POSTs `envelope` to node `target`'s `route` over TLS, presenting
/// `certificate` (none for `None`) and accepting only a certificate bound
/// to `target`'s partner.
fn post_over_tls(
    cluster: &Cluster,
    target: usize,
    certificate: Option<&coalition_node::tls::NodeCertificate>,
    route: &str,
    envelope: &[u8],
) -> Result<(u16, String), ClientError> {
    let expected = *dev_identity(PARTNERS[target]).public();
    let tls = match certificate {
        Some(own) => coalition_node::tls::peer_client_config(own, Some(expected)).unwrap(),
        None => ClientTls::pinned_pem_file(&cluster.certificate(target).unwrap()).unwrap(),
    };
    let response = Client::new(cluster.addr(target))
        .with_timeout(Duration::from_secs(20))
        .with_tls(tls)
        .post(route, "application/octet-stream", envelope)?;
    Ok((response.status, response.text()))
}

#[test]
fn partners_nodes_speak_mutual_tls_bound_to_their_identities() {
    let mut cluster = Cluster::new(3, 0, &["--tls"]);
    for i in 0..3 {
        cluster.start(i);
    }
    let leader = cluster.leader();
    let follower = (leader + 1) % 3;
    // Appends, votes and forwarded submissions all travel over mutual TLS.
    let mut issuer = Issuer::new(&cluster, follower);
    issuer.assert_takes(&cluster, follower, 4);
    let height = issuer.assert_converged(&cluster);
    cluster.assert_same_chain(&[0, 1, 2], height);

    // Clients: one pinned to another node's certificate, and one speaking
    // plain HTTP, get nothing from airline's node.
    let target = 0;
    let wrong_pin = ClientTls::pinned_pem_file(&cluster.certificate(1).unwrap()).unwrap();
    let error = Client::new(cluster.addr(target))
        .with_tls(wrong_pin)
        .status()
        .unwrap_err();
    assert!(matches!(error, ClientError::Io(_)), "{error}");
    assert!(Client::new(cluster.addr(target))
        .with_timeout(Duration::from_secs(5))
        .status()
        .is_err());

    // A vote signed by grocer, speaking for node 1: past TLS and the
    // envelope, the node refuses it for the Raft ID it claims. That answer
    // proves the request was authenticated; the others stop earlier.
    let chain = issuer.chain;
    let id = cluster.replication(target)["node_id"].as_u64().unwrap();
    let body =
        br#"{"vote":{"leader_id":{"term":99,"node_id":1},"committed":false},"last_log_id":null}"#;
    let grocer = dev_identity("grocer");
    let vote = || seal_request(&grocer, &chain, "/raft/vote", id, now_ms(), body).0;
    let (code, text) = post_over_tls(
        &cluster,
        target,
        Some(&partner_certificate(&cluster, 2)),
        "/raft/vote",
        &vote(),
    )
    .unwrap();
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("speaks for node"), "{text}");
    // The same envelope on a connection with hotel's certificate: refused
    // for the certificate, before the signature is looked at.
    let (code, text) = post_over_tls(
        &cluster,
        target,
        Some(&partner_certificate(&cluster, 1)),
        "/raft/vote",
        &vote(),
    )
    .unwrap();
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("certificate is bound to"), "{text}");
    // No client certificate at all.
    let (code, text) = post_over_tls(&cluster, target, None, "/raft/vote", &vote()).unwrap();
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("client certificate"), "{text}");
    // A certificate bound to a stranger (a valid binding, not a member's).
    let mut rng = ChaCha20Rng::seed_from_u64(78);
    let stranger = IdentityKeys::random(&mut rng);
    let made = coalition_node::tls::generate(&stranger, &[], 1).unwrap();
    let stranger_certificate =
        coalition_node::tls::NodeCertificate::from_pem(&made.certificate_pem, &made.key_pem)
            .unwrap();
    let (code, text) = post_over_tls(
        &cluster,
        target,
        Some(&stranger_certificate),
        "/raft/vote",
        &vote(),
    )
    .unwrap();
    assert_eq!(code, 403, "{text}");
    assert!(text.contains("certificate is bound to"), "{text}");
    // A node dialling airline's node while expecting hotel's partner:
    // airline's certificate is refused in the handshake.
    let wrong_partner = coalition_node::tls::peer_client_config(
        &partner_certificate(&cluster, 2),
        Some(*dev_identity("hotel").public()),
    )
    .unwrap();
    assert!(Client::new(cluster.addr(target))
        .with_tls(wrong_partner)
        .status()
        .is_err());
    // Nothing refused disturbed the cluster.
    issuer.assert_takes(&cluster, leader, 2);
    let height = issuer.assert_converged(&cluster);
    cluster.assert_same_chain(&[0, 1, 2], height);
}
