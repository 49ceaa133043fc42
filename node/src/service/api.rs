//! The HTTP/JSON API (spec §17.4; OpenAPI document at `/openapi.json`).
//!
//! Binary values (points, ciphertexts, transactions, blocks) travel as
//! lowercase hex of their canonical encodings. Every request body is
//! bounded (`max_body_bytes`), every list is paged with a bounded limit,
//! and every refusal is a JSON `{"error": code, "reason": text}` with a
//! status that says whose fault it was; a refused request changes nothing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use coalition_circuits::note::Nullifier;
use coalition_core::currency::CurrencyId;
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::governance::MembershipAction;
use coalition_core::keys::LoyaltyId;
use coalition_core::transaction::{Transaction, TxId};
use futures_util::stream::Stream;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use super::extract::{with_json_refusals, ApiPath as Path, ApiQuery as Query};
use super::{gate, Node, SubmitError};
use crate::replication::network::{forward_submission, ForwardError, ForwardedAnswer};
use crate::replication::{Leader, SubmissionRoute};
use coalition_ledger::block::BlockHeader;
use coalition_ledger::governance::ProposalStatus;
use coalition_ledger::mempool::MempoolError;
use coalition_ledger::settlement::{IssuerSum, Sealed};

/// The OpenAPI 3.1 document describing this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Most items one page returns.
pub const MAX_PAGE: usize = 1000;

/// A refusal.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", reason)
    }

    /// No leader to admit a submission (spec §20.5): the client retries.
    pub(crate) fn no_leader(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "no_leader", reason)
    }

    fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// A failure of the node itself (storage, a task). Its text can name
    /// files and internals (RocksDB names the damaged file by its full
    /// path): it goes to the node's log, and the client gets only a generic
    /// reason (issue 21).
    pub(crate) fn internal(reason: impl std::fmt::Display) -> Self {
        tracing::error!(error = %reason, "an API request failed inside the node");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node could not answer; its operator's log has the details",
        )
    }

    /// The status and JSON body this refusal is answered with.
    pub(crate) fn into_parts(self) -> (StatusCode, Value) {
        (
            self.status,
            json!({ "error": self.code, "reason": self.reason }),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.into_parts();
        (status, Json(body)).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

fn from_hex<const N: usize>(text: &str, what: &str) -> ApiResult<[u8; N]> {
    let bytes = hex::decode(text).map_err(|_| ApiError::bad_request(format!("{what}: not hex")))?;
    bytes
        .try_into()
        .map_err(|_| ApiError::bad_request(format!("{what}: must be {N} bytes")))
}

fn header_json(h: &BlockHeader) -> Value {
    json!({
        "chain": hex::encode(h.chain.0),
        "height": h.height,
        "hash": hex::encode(h.hash().0),
        "previous": hex::encode(h.previous.0),
        "timestamp_ms": h.timestamp_ms,
        "transactions_root": hex::encode(h.transactions_root),
        "note_root": hex::encode(h.note_root.to_bytes()),
        "nullifier_commitment": hex::encode(h.nullifier_commitment),
        "state_hash": hex::encode(h.state_hash),
    })
}

/// Builds the router over `node`.
pub fn router(node: Node) -> Router {
    let limit = node.config().max_body_bytes;
    let router = Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/status", get(status))
        .route("/v1/genesis", get(genesis))
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{id}", get(transaction))
        .route("/v1/blocks", get(blocks))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/accounts/{id}/{currency}", get(account))
        .route("/v1/currencies", get(currencies))
        .route("/v1/pool", get(pool))
        .route("/v1/pool/notes", get(pool_notes))
        .route("/v1/pool/paths/{position}", get(pool_path))
        .route("/v1/pool/nullifiers/{nullifier}", get(nullifier))
        .route("/v1/governance", get(governance))
        .route("/v1/partnerships", get(partnerships))
        .route("/v1/settlement/{epoch}", get(settlement))
        .route("/v1/events", get(events))
        .route("/v1/replication", get(replication))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .layer(DefaultBodyLimit::max(limit));
    with_json_refusals(router).with_state(node)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn metrics(State(node): State<Node>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        node.metrics().render(node.submission_gate().in_flight()),
    )
}

async fn genesis(State(node): State<Node>) -> Json<Value> {
    let genesis = node.genesis();
    Json(json!({
        "chain": hex::encode(genesis.chain_id().0),
        "genesis": hex::encode(genesis.to_bytes()),
    }))
}

async fn status(State(node): State<Node>) -> Json<Value> {
    let (tip, epoch, mempool) = {
        let chain = node.chain();
        let epoch = chain.ledger().settlement_epoch().map(|e| e.0);
        (chain.tip().clone(), epoch, node.mempool().len())
    };
    Json(json!({
        "coalition": node.genesis().name,
        "chain": hex::encode(tip.chain.0),
        "height": tip.height,
        "tip": header_json(&tip),
        "mempool": mempool,
        "settlement_epoch_blocks": node.genesis().settlement_epoch_blocks,
        "settlement_epoch": epoch,
        "uptime_s": node.uptime().as_secs(),
    }))
}

#[derive(Deserialize)]
struct SubmitJson {
    transaction: String,
}

async fn submit(
    State(node): State<Node>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // A place first, before the body is read (§17.4): a client cannot hold
    // more than its share of the node's submissions in flight, however
    // slowly it sends.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(gate::UNKNOWN_PEER, |info| info.0.ip());
    // What a partner's node forwards comes signed on its own route
    // (`/raft/forward`); here every submission is a client's.
    let pass = node
        .submission_gate()
        .enter(gate::Submitter::Client(peer))
        .map_err(|refusal| {
            node.metrics().count_busy_submission();
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", refusal.to_string())
        })?;
    let config = &node.config().submissions;
    let body = tokio::time::timeout(
        Duration::from_millis(config.body_timeout_ms),
        axum::body::to_bytes(request.into_body(), node.config().max_body_bytes),
    )
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the request body did not arrive within {} ms",
                config.body_timeout_ms
            ),
        )
    })?
    .map_err(body_error)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = if is_json {
        let parsed: SubmitJson = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
        hex::decode(parsed.transaction.trim())
            .map_err(|_| ApiError::bad_request("transaction: not hex"))?
    } else {
        body.to_vec()
    };
    // A follower passes the bytes on undecoded: the leader decodes and
    // verifies them (decoding decompresses every point, which is not free).
    if let Some(replication) = node.replication() {
        match replication.route_submission(false).await {
            SubmissionRoute::Here => {}
            SubmissionRoute::Forward(leader) => {
                return forward_to_leader(node.clone(), leader, bytes, pass).await
            }
            SubmissionRoute::NoLeader => {
                return Err(ApiError::no_leader(
                    "no leader is known right now (an election is running); retry",
                ))
            }
        }
    }
    let (status, answer) = admit(node, bytes, pass).await?;
    Ok((status, Json(answer)))
}

/// Decodes and admits a submission at this node, which leads (or runs
/// alone), holding `pass` until its work is done: a client that hangs up
/// does not free the place while its proof is still being checked. The
/// answer is `202` with the transaction's ID, or the refusal.
pub(crate) async fn admit(
    node: Node,
    bytes: Vec<u8>,
    pass: gate::GatePass,
) -> ApiResult<(StatusCode, Value)> {
    let tx: Transaction = decode_exact(&bytes)
        .map_err(|e| ApiError::bad_request(format!("transaction does not decode: {e}")))?;
    let kind = tx.kind();
    let result = tokio::task::spawn_blocking(move || {
        let _pass = pass;
        node.submit(tx)
    })
    .await
    .map_err(ApiError::internal)?;
    match result {
        Ok(id) => Ok((
            StatusCode::ACCEPTED,
            json!({ "id": hex::encode(id.0), "type": kind, "status": "pending" }),
        )),
        Err(e) => Err(submit_error(e)),
    }
}

/// A body that could not be read: over `max_body_bytes` (413), or broken
/// (400: a connection cut, bad chunked framing).
fn body_error(e: axum::Error) -> ApiError {
    let inner = e.into_inner();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("request body refused: {error}"),
            );
        }
        source = error.source();
    }
    ApiError::bad_request(format!("request body could not be read: {inner}"))
}

/// A follower hands a submission to the leader, signed (spec §20.5), and
/// relays its answer. The forwarding runs in its own task holding `pass`,
/// so a client that hangs up frees its place only when that is done.
async fn forward_to_leader(
    node: Node,
    leader: Leader,
    bytes: Vec<u8>,
    pass: gate::GatePass,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let forwarding = tokio::spawn(async move {
        let _pass = pass;
        let Some(replication) = node.replication() else {
            return Err(ForwardError::Unreachable("replication is off".into()));
        };
        forward_submission(&node, replication, &leader, &bytes, FORWARD_TIMEOUT).await
    });
    match forwarding.await.map_err(ApiError::internal)? {
        Ok(ForwardedAnswer { status, answer }) => {
            let status = StatusCode::from_u16(status).map_err(ApiError::internal)?;
            Ok((status, Json(answer)))
        }
        Err(e @ ForwardError::Busy(_)) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            e.to_string(),
        )),
        // Over the leader's bound: retrying will not help.
        Err(e @ ForwardError::Refused { status: 413, .. }) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::no_leader(e.to_string())),
    }
}

/// How long a follower waits for the leader's answer to a forwarded
/// submission (its proof checks included).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

async fn replication(State(node): State<Node>) -> Json<Value> {
    Json(match node.replication() {
        Some(r) => r.status_json(),
        None => json!({ "enabled": false }),
    })
}

fn submit_error(e: SubmitError) -> ApiError {
    let reason = e.to_string();
    match e {
        SubmitError::Committed(_) => {
            ApiError::new(StatusCode::CONFLICT, "already_committed", reason)
        }
        SubmitError::Mempool(MempoolError::Duplicate) => {
            ApiError::new(StatusCode::CONFLICT, "duplicate", reason)
        }
        SubmitError::Mempool(MempoolError::TooLarge(_)) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", reason)
        }
        SubmitError::Mempool(MempoolError::Full | MempoolError::SenderLimit(_)) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", reason)
        }
        SubmitError::Mempool(MempoolError::Invalid(_)) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rejected", reason)
        }
        SubmitError::Store(_) => ApiError::internal(reason),
    }
}

async fn transaction(State(node): State<Node>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = TxId(from_hex(&id, "transaction id")?);
    if let Some((height, index)) = node
        .store()
        .transaction_location(&id)
        .map_err(ApiError::internal)?
    {
        // The store holds a block a moment before the node's state does
        // (durable first): until the tip includes it, reads would not show
        // its effects, so it is still pending to a client.
        if height > node.tip().height {
            return Ok(Json(json!({ "status": "pending" })));
        }
        return Ok(Json(
            json!({ "status": "committed", "height": height, "index": index }),
        ));
    }
    if node.mempool().contains(&id) {
        return Ok(Json(json!({ "status": "pending" })));
    }
    Err(ApiError::not_found("transaction"))
}

async fn block(State(node): State<Node>, Path(height): Path<u64>) -> ApiResult<Json<Value>> {
    let block = node
        .block(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("block"))?;
    Ok(Json(json!({
        "header": header_json(&block.header),
        "transactions": block.transactions.iter().map(|t| json!({
            "id": hex::encode(t.id().0),
            "type": t.kind(),
        })).collect::<Vec<_>>(),
        "bytes": hex::encode(block.to_bytes()),
    })))
}

/// Most blocks in one `GET /v1/blocks` answer.
pub const MAX_BLOCKS_PER_RANGE: u64 = 256;
/// Encoded bytes after which a range answer stops early (it always holds
/// at least one block, if there is one).
pub const MAX_RANGE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Deserialize)]
struct BlockRange {
    from: u64,
    limit: Option<u64>,
}

/// Consecutive committed blocks from `from` (canonical encodings, hex):
/// up to `limit` (default 64, at most [`MAX_BLOCKS_PER_RANGE`]) and
/// [`MAX_RANGE_BYTES`], fewer at the tip, none past it. Wallets and
/// auditors catch up in one request per range instead of one per block.
async fn blocks(
    State(node): State<Node>,
    Query(range): Query<BlockRange>,
) -> ApiResult<Json<Value>> {
    if range.from == 0 {
        return Err(ApiError::bad_request("from: heights start at 1"));
    }
    let limit = range.limit.unwrap_or(64).clamp(1, MAX_BLOCKS_PER_RANGE);
    let mut encoded = Vec::new();
    let mut total = 0usize;
    for height in range.from..range.from.saturating_add(limit) {
        let Some(bytes) = node.block_bytes(height).map_err(ApiError::internal)? else {
            break;
        };
        if !encoded.is_empty() && total + bytes.len() > MAX_RANGE_BYTES {
            break;
        }
        total += bytes.len();
        encoded.push(hex::encode(bytes));
    }
    Ok(Json(json!({ "from": range.from, "blocks": encoded })))
}

fn pool_of(
    chain: &coalition_ledger::chain::Chain,
) -> ApiResult<&coalition_ledger::ledger::ShieldedPool> {
    chain
        .ledger()
        .pool()
        .ok_or_else(|| ApiError::not_found("shielded pool"))
}

fn parse_currency(symbol: &str) -> ApiResult<CurrencyId> {
    CurrencyId::new(symbol).map_err(|e| ApiError::bad_request(format!("currency: {e}")))
}

async fn account(
    State(node): State<Node>,
    Path((id, currency)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    use coalition_verifier::transactions::LedgerView;
    let owner = LoyaltyId(from_hex(&id, "loyalty id")?);
    let currency = parse_currency(&currency)?;
    let chain = node.chain();
    let account = chain
        .ledger()
        .account(&owner, &currency)
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(Json(json!({
        "owner": hex::encode(account.owner.to_bytes()),
        "currency": currency.symbol(),
        "available": hex::encode(account.available.to_bytes()),
        "pending": hex::encode(account.pending.to_bytes()),
        "pending_credits": account.pending_credits,
        "nonce": account.nonce,
        "height": chain.tip().height,
    })))
}

async fn currencies(State(node): State<Node>) -> Json<Value> {
    use coalition_verifier::transactions::LedgerView;
    let chain = node.chain();
    let ledger = chain.ledger();
    let infos = ledger.governance().currencies();
    let list: Vec<Value> = ledger
        .currencies()
        .values()
        .map(|p| {
            let info = infos.get(&p.id);
            json!({
                "symbol": p.id.symbol(),
                "issuer": hex::encode(p.issuer.loyalty_id().0),
                "issuer_identity": hex::encode(p.issuer.to_bytes()),
                "auditor": p.auditor.map(|k| hex::encode(k.to_bytes())),
                "decimals": info.map(|i| i.decimals),
                "settlement_value": info.map(|i| [i.settlement_value.numerator(), i.settlement_value.denominator()]),
                "note_lifetime_epochs": info.map(|i| i.note_lifetime.as_u32()),
                "issuer_nonce": ledger.issuer_nonce(&p.id),
            })
        })
        .collect();
    let rates: Vec<Value> = ledger
        .rates()
        .iter()
        .map(|((from, to), r)| json!({ "from": from.symbol(), "to": to.symbol(), "rate": [r.numerator(), r.denominator()] }))
        .collect();
    Json(json!({ "currencies": list, "rates": rates }))
}

async fn pool(State(node): State<Node>) -> Json<Value> {
    let chain = node.chain();
    match chain.ledger().pool() {
        None => Json(json!({ "enabled": false })),
        Some(pool) => Json(json!({
            "enabled": true,
            "size": pool.tree().len(),
            "root": hex::encode(pool.latest_root().to_bytes()),
            "nullifiers": pool.nullifier_count(),
            "recent_roots": pool.recent_roots().map(|r| hex::encode(coalition_circuits::field::to_bytes(r))).collect::<Vec<_>>(),
        })),
    }
}

#[derive(Deserialize)]
struct Page {
    from: Option<u64>,
    limit: Option<usize>,
}

async fn pool_notes(State(node): State<Node>, Query(page): Query<Page>) -> ApiResult<Json<Value>> {
    let from = page.from.unwrap_or(0);
    let limit = page.limit.unwrap_or(100).min(MAX_PAGE);
    let chain = node.chain();
    let pool = pool_of(&chain)?;
    let total = pool.note_count();
    let start = usize::try_from(from).unwrap_or(usize::MAX).min(total);
    let items: Vec<Value> = pool
        .notes_from(start)
        .take(limit)
        .enumerate()
        .map(|(i, n)| json!({ "position": start + i, "note": hex::encode(n.to_bytes()) }))
        .collect();
    Ok(Json(
        json!({ "from": start, "total": total, "notes": items }),
    ))
}

async fn pool_path(State(node): State<Node>, Path(position): Path<u64>) -> ApiResult<Json<Value>> {
    let chain = node.chain();
    let pool = pool_of(&chain)?;
    let path = pool
        .tree()
        .path(position)
        .map_err(|_| ApiError::not_found("note position"))?;
    Ok(Json(json!({
        "position": path.position,
        "root": hex::encode(pool.latest_root().to_bytes()),
        "siblings": path.siblings.iter().map(|s| hex::encode(coalition_circuits::field::to_bytes(s))).collect::<Vec<_>>(),
    })))
}

async fn nullifier(State(node): State<Node>, Path(nf): Path<String>) -> ApiResult<Json<Value>> {
    let bytes = from_hex::<32>(&nf, "nullifier")?;
    let nf = Nullifier::from_bytes(&bytes)
        .map_err(|_| ApiError::bad_request("nullifier: not a canonical field element"))?;
    let chain = node.chain();
    let pool = pool_of(&chain)?;
    Ok(Json(json!({ "spent": pool.is_spent(&nf) })))
}

async fn governance(State(node): State<Node>) -> Json<Value> {
    let chain = node.chain();
    let g = chain.ledger().governance();
    let members: Vec<Value> = g
        .members()
        .iter()
        .map(|(id, m)| {
            json!({
                "id": hex::encode(id.0),
                "name": m.name,
                "identity": hex::encode(m.identity.to_bytes()),
                "admitted_at": m.admitted_at,
                "nonce": m.nonce,
            })
        })
        .collect();
    let proposals: Vec<Value> = g
        .proposals()
        .iter()
        .map(|(id, p)| {
            let (action, subject, name) = match &p.action {
                MembershipAction::Admit { candidate, name } => (
                    "admit",
                    hex::encode(candidate.loyalty_id().0),
                    Some(name.clone()),
                ),
                MembershipAction::Remove { member } => ("remove", hex::encode(member.0), None),
            };
            let (status, decided_at) = match p.status {
                ProposalStatus::Open => ("open", None),
                ProposalStatus::Accepted(h) => ("accepted", Some(h)),
                ProposalStatus::Rejected(h) => ("rejected", Some(h)),
            };
            json!({
                "id": hex::encode(id.0),
                "proposer": hex::encode(p.proposer.0),
                "action": action,
                "subject": subject,
                "name": name,
                "opened_at": p.opened_at,
                "yes": p.yes.iter().map(|v| hex::encode(v.0)).collect::<Vec<_>>(),
                "no": p.no.iter().map(|v| hex::encode(v.0)).collect::<Vec<_>>(),
                "status": status,
                "decided_at": decided_at,
            })
        })
        .collect();
    Json(json!({
        "threshold": [g.threshold().numerator(), g.threshold().denominator()],
        "members": members,
        "proposals": proposals,
    }))
}

async fn partnerships(State(node): State<Node>) -> Json<Value> {
    let chain = node.chain();
    let list: Vec<Value> = chain
        .ledger()
        .governance()
        .terms()
        .values()
        .map(|s| json!({
            "partners": s.terms.partners.iter().map(|p| hex::encode(p.loyalty_id().0)).collect::<Vec<_>>(),
            "version": s.terms.version,
            "rates": s.terms.rates.iter().map(|(f, t, r)| json!({ "from": f.symbol(), "to": t.symbol(), "rate": [r.numerator(), r.denominator()] })).collect::<Vec<_>>(),
            "earn_rules": s.terms.earn_rules.len(),
            "signed_terms": hex::encode(s.to_bytes()),
        }))
        .collect();
    Json(json!({ "partnerships": list }))
}

fn sealed_json(s: &Option<Sealed>) -> Value {
    match s {
        None => Value::Null,
        Some(s) => json!({
            "merchant": hex::encode(s.merchant.to_bytes()),
            "issuer": s.issuer.map(|c| hex::encode(c.to_bytes())),
            "auditor": s.auditor.map(|c| hex::encode(c.to_bytes())),
        }),
    }
}

fn issuer_sum_json(s: &Option<IssuerSum>) -> Value {
    match s {
        None => Value::Null,
        Some(s) => json!({
            "issuer": hex::encode(s.issuer.to_bytes()),
            "auditor": s.auditor.map(|c| hex::encode(c.to_bytes())),
        }),
    }
}

async fn settlement(State(node): State<Node>, Path(epoch): Path<u64>) -> ApiResult<Json<Value>> {
    // Figures and the height they are as of, from one store snapshot: an
    // auditor compares the last epoch only when that is its audited tip.
    let (tip, figures) = node
        .store()
        .settlement_snapshot(epoch)
        .map_err(ApiError::internal)?;
    let epoch_blocks = node.genesis().settlement_epoch_blocks;
    let issuers: std::collections::BTreeMap<CurrencyId, LoyaltyId> = node
        .chain()
        .ledger()
        .currencies()
        .iter()
        .map(|(id, p)| (*id, p.issuer.loyalty_id()))
        .collect();
    let first = epoch.saturating_mul(epoch_blocks).saturating_add(1);
    let last = first.saturating_add(epoch_blocks - 1);
    let items: Vec<Value> = figures
        .pairs
        .iter()
        .map(|(key, f)| {
            json!({
                "merchant": hex::encode(key.merchant.0),
                "currency": key.currency.symbol(),
                "issuer": issuers.get(&key.currency).map(|i| hex::encode(i.0)),
                "burns": f.burns,
                "burned": sealed_json(&f.burned),
                "transfers": f.transfers,
                "transferred": sealed_json(&f.transferred),
                "redeems": f.redeems,
                "redeemed": f.redeemed,
            })
        })
        .collect();
    let exchange_items: Vec<Value> = figures
        .exchanges
        .iter()
        .map(|(key, f)| {
            json!({
                "from": key.from.symbol(),
                "to": key.to.symbol(),
                "from_issuer": issuers.get(&key.from).map(|i| hex::encode(i.0)),
                "to_issuer": issuers.get(&key.to).map(|i| hex::encode(i.0)),
                "rate": [key.rate.numerator(), key.rate.denominator()],
                "exchanges": f.exchanges,
                "debited": issuer_sum_json(&f.debited),
                "credited": issuer_sum_json(&f.credited),
            })
        })
        .collect();
    Ok(Json(json!({
        "epoch": epoch,
        "first_height": first,
        "last_height": last,
        "height": tip,
        "complete": tip >= last,
        "pairs": items,
        "exchanges": exchange_items,
    })))
}

#[derive(Deserialize)]
struct EventFilter {
    account: Option<String>,
}

async fn events(
    State(node): State<Node>,
    Query(filter): Query<EventFilter>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let account = match filter.account {
        Some(a) => Some(hex::encode(from_hex::<32>(&a, "account")?)),
        None => None,
    };
    let stream = BroadcastStream::new(node.subscribe()).filter_map(move |item| {
        let (name, data) = super::events::stream_item(item, account.as_deref())?;
        Some(Ok(SseEvent::default().event(name).data(data)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_failure_answers_no_path_and_no_internal_text() {
        let damage = "storage: Corruption: block checksum mismatch in /srv/coalition/db/000017.sst";
        let (status, body) = ApiError::internal(damage).into_parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "internal");
        let text = body.to_string();
        for leaked in ["/srv", ".sst", "Corruption", "checksum"] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
    }
}
