//! The OpenAPI document at `/openapi.json` is generated from the routes as
//! they are registered: every route the node serves is in it, every
//! operation in it is served, every route the spec names is documented, and
//! what the node answers has the documented shape.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use coalition_core::keys::IdentityKeys;
use coalition_ledger::genesis::Genesis;
use coalition_ledger::governance::Threshold;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use support::RunningNode;

fn genesis() -> Genesis {
    let mut rng = ChaCha20Rng::seed_from_u64(70);
    Genesis {
        name: "openapi-test".into(),
        timestamp_ms: 1_700_000_000_000,
        threshold: Threshold::new(1, 2).unwrap(),
        founders: vec![("airline".into(), *IdentityKeys::random(&mut rng).public())],
        pool: None,
        settlement_epoch_blocks: 1_000_000,
        max_currencies_per_member: 8,
    }
}

/// `method path` sent raw; the status, and the body unless it is a stream.
fn probe(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut length = None;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.unwrap_or(0)];
    reader.read_exact(&mut body).unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A concrete path for a templated one.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", &"00".repeat(32))
        .replace("{nullifier}", &"00".repeat(32))
        .replace("{currency}", "MILES")
        .replace("{height}", "0")
        .replace("{position}", "0")
        .replace("{epoch}", "0")
}

/// Every `(METHOD, path)` operation of `doc`.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            out.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    out
}

/// Whether `instance` is valid under `schema`, a schema of `doc` (its
/// `$ref`s resolved against `doc`'s components), as JSON Schema 2020-12.
fn validate(doc: &Value, schema: &Value, instance: &Value) -> Result<(), String> {
    let root = serde_json::json!({ "components": doc["components"], "allOf": [schema] });
    let validator = jsonschema::validator_for(&root).map_err(|e| e.to_string())?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// The schema `reference` (`#/components/schemas/Name`) points to.
fn resolve<'d>(doc: &'d Value, schema: &'d Value) -> &'d Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

#[test]
fn the_document_and_the_router_list_the_same_routes() {
    let dir = tempfile::tempdir().unwrap();
    let node = RunningNode::start_with(RunningNode::config(dir.path()), genesis(), None);
    let (status, served) = node.get("/openapi.json");
    assert_eq!(status, 200);
    assert_eq!(served["openapi"], "3.1.0");
    // What the node serves is the generated document.
    let generated = serde_json::to_value(coalition_node::http::openapi::document()).unwrap();
    assert_eq!(served, generated);
    let ops = operations(&served);

    // Every public operation is served: no router 404 and no 405.
    let mut public = 0;
    for (method, path) in &ops {
        if path.starts_with("/raft/") {
            continue; // served only on replicating nodes: see the raft check below
        }
        public += 1;
        let (status, body) = probe(node.addr, method, &concrete(path));
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !(status == 404 && body.contains("no such route")),
            "{method} {path} is documented but not served: {body}"
        );
    }
    assert!(public >= 20, "only {public} public operations documented");
    // The node-to-node routes are the ones the replication posts to.
    for route in [
        "/raft/append",
        "/raft/vote",
        "/raft/snapshot",
        "/raft/join",
        "/raft/forward",
    ] {
        assert!(ops.contains(&("POST".into(), route.into())), "{route}");
    }
    // And nothing undocumented answers: a neighbour of every documented
    // route is the router's 404.
    for (method, path) in &ops {
        let (status, body) = probe(node.addr, method, &format!("{}x", concrete(path)));
        assert!(
            status == 404 || status == 400,
            "{method} {path}x answers {status}: {body}"
        );
    }

    // What the node answers has the documented shape: it is valid under
    // its schema, every key it sends is a documented property, every
    // required property is sent.
    let mut checked = 0;
    for (method, path) in ops.iter().filter(|(m, _)| m == "GET") {
        let (status, body) = probe(node.addr, method, &concrete(path));
        if status != 200 {
            continue;
        }
        let item = &served["paths"][path]["get"]["responses"]["200"]["content"]["application/json"];
        let Some(schema) = item.get("schema") else {
            continue;
        };
        let answer: Value = serde_json::from_str(&body).unwrap();
        // The whole answer is valid under its documented schema.
        validate(&served, schema, &answer)
            .unwrap_or_else(|e| panic!("{path} answers outside its schema: {e}\n{body}"));
        checked += 1;
        let schema = resolve(&served, schema);
        let Some(properties) = schema["properties"].as_object() else {
            continue;
        };
        for key in answer.as_object().unwrap().keys() {
            assert!(properties.contains_key(key), "{path}: {key} undocumented");
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let required = required.as_str().unwrap();
            assert!(answer.get(required).is_some(), "{path}: {required} missing");
        }
    }
    assert!(
        checked >= 8,
        "only {checked} answers checked against the document"
    );
    node.stop();
}

/// Routes are registered only with their descriptions (`routes!` on an
/// `OpenApiRouter`): a bare axum `.route(…)` would serve a path the
/// document does not list.
#[test]
fn no_route_is_registered_outside_the_document() {
    fn scan(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                scan(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    if line.contains(".route(") || line.contains(".route_service(") {
                        found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    scan(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(
        found.is_empty(),
        "undocumented route registrations: {found:#?}"
    );
}

/// Every route the spec's API section names is documented.
#[test]
fn every_route_the_spec_names_is_documented() {
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../papers/protocol.md"),
    )
    .unwrap();
    let start = spec.find("### §17.4 HTTP API").expect("§17.4");
    let end = spec[start..]
        .find("\n## ")
        .map_or(spec.len(), |e| start + e);
    let section = &spec[start..end];
    let doc = serde_json::to_value(coalition_node::http::openapi::document()).unwrap();
    let documented: BTreeSet<String> = operations(&doc).into_iter().map(|(_, p)| p).collect();
    let mut named = 0;
    for quoted in section.split('`').skip(1).step_by(2) {
        // `GET /v1/events[?account=ID]`, `/v1/blocks?from&limit`, …
        let Some(path) = quoted.split_whitespace().find(|w| w.starts_with('/')) else {
            continue;
        };
        if !(path.starts_with("/v1/") || path.starts_with("/raft/") || path == "/metrics") {
            continue;
        }
        let path = path
            .split(['?', '['])
            .next()
            .unwrap()
            .replace("{nf}", "{nullifier}");
        assert!(
            documented.contains(&path),
            "the spec names {path}, undocumented"
        );
        named += 1;
    }
    assert!(named >= 15, "only {named} routes found in §17.4–§17.5");
}

/// A replica's `/v1/replication` answer (not reachable from a single node)
/// is valid under the document, and so is a lone node's; the schema
/// refuses the shapes in between.
#[test]
fn both_replication_shapes_are_documented_and_nothing_else() {
    use coalition_api::replication::{RaftState, Replica, Replication, ReplicationState};
    let doc = serde_json::to_value(coalition_node::http::openapi::document()).unwrap();
    let schema = serde_json::json!({ "$ref": "#/components/schemas/Replication" });
    let replica = Replication {
        enabled: true,
        state: Some(ReplicationState {
            node_id: 3,
            member: "ab".repeat(32),
            state: RaftState::Follower,
            term: 7,
            leader: Some(1),
            last_log_index: Some(40),
            last_applied_index: Some(40),
            snapshot_index: None,
            purged_index: None,
            voters: vec![Replica {
                id: 1,
                member: "cd".repeat(32),
                addr: "127.0.0.1:7001".into(),
            }],
            learners: vec![],
            snapshots_installed: 0,
            messages_rejected: 2,
            blocks_refused: 0,
        }),
    };
    let alone = Replication {
        enabled: false,
        state: None,
    };
    for answer in [&replica, &alone] {
        let answer = serde_json::to_value(answer).unwrap();
        validate(&doc, &schema, &answer).unwrap_or_else(|e| panic!("{answer}: {e}"));
    }
    let mut half = serde_json::to_value(&replica).unwrap();
    half["enabled"] = false.into();
    for wrong in [serde_json::json!({ "enabled": true }), half] {
        assert!(validate(&doc, &schema, &wrong).is_err(), "{wrong} accepted");
    }
}
