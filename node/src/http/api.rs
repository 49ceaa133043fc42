//! The HTTP/JSON API (spec §17.4): the handlers of every public route.
//!
//! What each route takes and answers is a type of `coalition-api`; each
//! handler is registered with its `#[utoipa::path]` description through an
//! [`OpenApiRouter`], so a route cannot be served without being documented
//! in the OpenAPI document (`super::openapi`, which serves it). Binary values (points,
//! ciphertexts, transactions, blocks) travel as lowercase hex of their
//! canonical encodings. Every request body is bounded (`max_body_bytes`),
//! every list is paged with a bounded limit, and every refusal is a JSON
//! `{"error": code, "reason": text}` with a status that says whose fault it
//! was; a refused request changes nothing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use coalition_api::accounts::Account;
use coalition_api::chain::{
    BlockAnswer, BlockRange, BlockRangeQuery, BlockTransaction, GenesisAnswer, Header, Status,
};
use coalition_api::currencies::{Currencies, Currency, Partnership, Partnerships, RateEntry};
use coalition_api::error::ErrorBody;
use coalition_api::events::{Event, EventsQuery};
use coalition_api::governance::{Governance, Member, Proposal, ProposalAction, ProposalState};
use coalition_api::pool::{NullifierStatus, PageQuery, Pool, PoolNote, PoolNotes, PoolPath};
use coalition_api::replication::Replication;
use coalition_api::settlement::{ExchangeFiguresAnswer, PairFigures, SealedSum, Settlement};
use coalition_api::transactions::{SubmitJson, Submitted, TransactionStatus};
use coalition_api::{Rate, MAX_BLOCKS_PER_RANGE, MAX_PAGE, MAX_RANGE_BYTES};
use coalition_circuits::note::Nullifier;
use coalition_core::currency::CurrencyId;
use coalition_core::currency::ExchangeRate;
use coalition_core::encoding::Encode;
use coalition_core::governance::MembershipAction;
use coalition_core::keys::LoyaltyId;
use coalition_core::transaction::TxId;
use futures_util::stream::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiPath as Path, ApiQuery as Query};
use super::App;
use crate::engine::{gate, Node};
use crate::replication::network::{forward_submission, ForwardError, ForwardedAnswer};
use crate::replication::{Leader, Replication as Raft, SubmissionRoute};
use crate::submission::{admit, ApiError, ApiResult};
use coalition_ledger::block::BlockHeader;
use coalition_ledger::governance::ProposalStatus;
use coalition_ledger::settlement::{IssuerSum, Sealed};

fn from_hex<const N: usize>(text: &str, what: &str) -> ApiResult<[u8; N]> {
    let bytes = hex::decode(text).map_err(|_| ApiError::bad_request(format!("{what}: not hex")))?;
    bytes
        .try_into()
        .map_err(|_| ApiError::bad_request(format!("{what}: must be {N} bytes")))
}

fn header_answer(h: &BlockHeader) -> Header {
    Header {
        chain: hex::encode(h.chain.0),
        height: h.height,
        hash: hex::encode(h.hash().0),
        previous: hex::encode(h.previous.0),
        timestamp_ms: h.timestamp_ms,
        transactions_root: hex::encode(h.transactions_root),
        note_root: hex::encode(h.note_root.to_bytes()),
        nullifier_commitment: hex::encode(h.nullifier_commitment),
        state_hash: hex::encode(h.state_hash),
    }
}

fn rate(r: &ExchangeRate) -> Rate {
    Rate([r.numerator(), r.denominator()])
}

/// The public routes, each with its OpenAPI description (the document's
/// own route is added by [`super::openapi::routes`]).
pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(status))
        .routes(routes!(genesis))
        .routes(routes!(submit))
        .routes(routes!(transaction))
        .routes(routes!(blocks))
        .routes(routes!(block))
        .routes(routes!(account))
        .routes(routes!(currencies))
        .routes(routes!(pool))
        .routes(routes!(pool_notes))
        .routes(routes!(pool_path))
        .routes(routes!(nullifier))
        .routes(routes!(governance))
        .routes(routes!(partnerships))
        .routes(routes!(settlement))
        .routes(routes!(events))
        .routes(routes!(replication))
        .routes(routes!(metrics))
}

/// Liveness.
#[utoipa::path(get, path = "/v1/health", tag = "node",
    responses((status = 200, description = "The node runs", body = String, content_type = "text/plain")))]
async fn health() -> &'static str {
    "ok"
}

/// Prometheus metrics (spec §17.5).
#[utoipa::path(get, path = "/metrics", tag = "node",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain; version=0.0.4")))]
async fn metrics(State(node): State<Node>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        node.metrics().render(node.submission_gate().in_flight()),
    )
}

/// The canonical genesis encoding and the chain ID it hashes to: where an
/// auditor starts.
#[utoipa::path(get, path = "/v1/genesis", tag = "chain",
    responses((status = 200, body = GenesisAnswer)))]
async fn genesis(State(node): State<Node>) -> Json<GenesisAnswer> {
    let genesis = node.genesis();
    Json(GenesisAnswer {
        chain: hex::encode(genesis.chain_id().0),
        genesis: hex::encode(genesis.to_bytes()),
    })
}

/// Chain ID, tip header, mempool size, settlement epoch.
#[utoipa::path(get, path = "/v1/status", tag = "chain",
    responses((status = 200, body = Status)))]
async fn status(State(node): State<Node>) -> Json<Status> {
    let (tip, epoch, mempool) = {
        let chain = node.chain();
        let epoch = chain.ledger().settlement_epoch().map(|e| e.0);
        (chain.tip().clone(), epoch, node.mempool().len())
    };
    Json(Status {
        coalition: node.genesis().name.clone(),
        chain: hex::encode(tip.chain.0),
        height: tip.height,
        tip: header_answer(&tip),
        mempool: mempool as u64,
        settlement_epoch_blocks: node.genesis().settlement_epoch_blocks,
        settlement_epoch: epoch,
        uptime_s: node.uptime().as_secs(),
    })
}

/// Submits a transaction: its canonical bytes, or `{"transaction": hex}`.
/// Answered once it passed admission (spec §15.3); a replica forwards it
/// to the leader and relays the answer.
#[utoipa::path(post, path = "/v1/transactions", tag = "transactions",
    request_body(content(
        (String = "application/octet-stream"),
        (SubmitJson = "application/json"))),
    responses(
        (status = 202, description = "Admitted to the mempool", body = Submitted),
        (status = 400, description = "`malformed`: does not decode, or a broken body", body = ErrorBody),
        (status = 408, description = "`body_timeout`", body = ErrorBody),
        (status = 409, description = "`duplicate` or `already_committed`", body = ErrorBody),
        (status = 413, description = "`too_large`", body = ErrorBody),
        (status = 422, description = "`rejected`: signature, proof, nonce, balance, pool or governance rule", body = ErrorBody),
        (status = 429, description = "`busy`: mempool, per-sender limit, no place in flight, or too many of this client's submissions refused lately", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`no_leader`: a replica that knows no leader yet; retry", body = ErrorBody)))]
async fn submit(
    State(app): State<App>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<Response> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(gate::UNKNOWN_PEER, |info| info.0.ip());
    // A client whose submissions were refused too often lately is held
    // before anything of this one is read (§17.4), and each refusal it
    // gets here (its own or the leader's, relayed) takes from its budget.
    let budget = app.node.refusal_budget().clone();
    if let Err(wait) = budget.check(peer, std::time::Instant::now()) {
        app.node.metrics().count_busy_submission();
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            format!(
                "too many of this client's submissions were refused lately; retry in {} ms",
                wait.as_millis()
            ),
        ));
    }
    // In a task of its own: hyper drops this handler's future when the
    // client hangs up, and a client that hung up after sending a garbage
    // proof must be charged for it all the same.
    let work = tokio::spawn(async move {
        let answer = submit_within_bounds(app, headers, request, peer).await;
        let status = match &answer {
            Ok(response) => response.status(),
            Err(refusal) => refusal.status(),
        };
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            budget.charge(peer, std::time::Instant::now());
        }
        answer
    });
    work.await.map_err(ApiError::internal)?
}

/// [`submit`] past the refusal budget: a place, the body, then admission
/// here or at the leader.
async fn submit_within_bounds(
    App { node, replication }: App,
    headers: HeaderMap,
    request: Request,
    peer: std::net::IpAddr,
) -> ApiResult<Response> {
    // A place first, before the body is read (§17.4): a client cannot hold
    // more than its share of the node's submissions in flight, however
    // slowly it sends.
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
    if let Some(replication) = replication {
        match replication.route_submission(false).await {
            SubmissionRoute::Here => {}
            SubmissionRoute::Forward(leader) => {
                return forward_to_leader(node, replication, leader, bytes, pass).await
            }
            SubmissionRoute::NoLeader => {
                return Err(ApiError::no_leader(
                    "no leader is known right now (an election is running); retry",
                ))
            }
        }
    }
    let answer = admit(node, bytes, pass).await?;
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
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
    replication: Arc<Raft>,
    leader: Leader,
    bytes: Vec<u8>,
    pass: gate::GatePass,
) -> ApiResult<Response> {
    let forwarding = tokio::spawn(async move {
        let _pass = pass;
        forward_submission(&node, &replication, &leader, &bytes, FORWARD_TIMEOUT).await
    });
    match forwarding.await.map_err(ApiError::internal)? {
        Ok(ForwardedAnswer { status, answer }) => {
            let status = StatusCode::from_u16(status).map_err(ApiError::internal)?;
            Ok((status, Json(answer)).into_response())
        }
        // The leader's own words and addresses stay in this node's log: a
        // client learns only what to do next.
        Err(e @ ForwardError::Busy(_)) => {
            tracing::info!(error = %e, "the leader had no place for a forwarded submission");
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                "the leader is busy; retry later",
            ))
        }
        // Over the leader's bound: retrying will not help.
        Err(ForwardError::Refused { status: 413, .. }) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "request body over the leader's max_body_bytes",
        )),
        Err(e) => {
            tracing::warn!(error = %e, "forwarding a submission to the leader failed");
            Err(ApiError::no_leader(
                "the leader could not take the submission right now; retry",
            ))
        }
    }
}

/// How long a follower waits for the leader's answer to a forwarded
/// submission (its proof checks included).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// This node's view of its cluster (`{"enabled": false}` running alone).
#[utoipa::path(get, path = "/v1/replication", tag = "node",
    responses((status = 200, body = Replication)))]
async fn replication(State(app): State<App>) -> Json<Replication> {
    Json(Replication {
        enabled: app.replication.is_some(),
        state: app.replication.map(|r| r.status()),
    })
}

/// Pending, or committed with height and index once the tip includes it
/// (so that reads made after it show its effects).
#[utoipa::path(get, path = "/v1/transactions/{id}", tag = "transactions",
    params(("id" = String, Path, description = "Transaction ID (hex)")),
    responses(
        (status = 200, body = TransactionStatus),
        (status = 400, description = "`malformed` ID", body = ErrorBody),
        (status = 404, description = "Neither committed nor pending", body = ErrorBody)))]
async fn transaction(
    State(node): State<Node>,
    Path(id): Path<String>,
) -> ApiResult<Json<TransactionStatus>> {
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
            return Ok(Json(TransactionStatus::pending()));
        }
        return Ok(Json(TransactionStatus::committed(height, index as u64)));
    }
    if node.mempool().contains(&id) {
        return Ok(Json(TransactionStatus::pending()));
    }
    Err(ApiError::not_found("transaction"))
}

/// A committed block: header, transaction list and canonical encoding.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain",
    params(("height" = u64, Path, description = "Height (genesis is 0)")),
    responses(
        (status = 200, body = BlockAnswer),
        (status = 400, description = "`malformed` height", body = ErrorBody),
        (status = 404, description = "Past the tip", body = ErrorBody)))]
async fn block(State(node): State<Node>, Path(height): Path<u64>) -> ApiResult<Json<BlockAnswer>> {
    let block = node
        .block(height)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("block"))?;
    Ok(Json(BlockAnswer {
        header: header_answer(&block.header),
        transactions: block
            .transactions
            .iter()
            .map(|t| BlockTransaction {
                id: hex::encode(t.id().0),
                kind: t.kind().to_string(),
            })
            .collect(),
        bytes: hex::encode(block.to_bytes()),
    }))
}

/// Consecutive committed blocks from `from` (canonical encodings, hex):
/// up to `limit` (default 64, at most [`MAX_BLOCKS_PER_RANGE`]) and
/// [`MAX_RANGE_BYTES`], fewer at the tip, none past it. Wallets and
/// auditors catch up in one request per range instead of one per block.
#[utoipa::path(get, path = "/v1/blocks", tag = "chain",
    params(BlockRangeQuery),
    responses(
        (status = 200, body = BlockRange),
        (status = 400, description = "`malformed` query, or `from` = 0", body = ErrorBody)))]
async fn blocks(
    State(node): State<Node>,
    Query(range): Query<BlockRangeQuery>,
) -> ApiResult<Json<BlockRange>> {
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
    Ok(Json(BlockRange {
        from: range.from,
        blocks: encoded,
    }))
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

/// An account's committed state: ciphertexts, credit counter, nonce.
#[utoipa::path(get, path = "/v1/accounts/{id}/{currency}", tag = "accounts",
    params(
        ("id" = String, Path, description = "Loyalty ID (hex)"),
        ("currency" = String, Path, description = "Currency symbol")),
    responses(
        (status = 200, body = Account),
        (status = 400, description = "`malformed` ID or symbol", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody)))]
async fn account(
    State(node): State<Node>,
    Path((id, currency)): Path<(String, String)>,
) -> ApiResult<Json<Account>> {
    use coalition_verifier::transactions::LedgerView;
    let owner = LoyaltyId(from_hex(&id, "loyalty id")?);
    let currency = parse_currency(&currency)?;
    let chain = node.chain();
    let account = chain
        .ledger()
        .account(&owner, &currency)
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(Json(Account {
        owner: hex::encode(account.owner.to_bytes()),
        currency: currency.symbol().to_string(),
        available: hex::encode(account.available.to_bytes()),
        pending: hex::encode(account.pending.to_bytes()),
        pending_credits: account.pending_credits,
        nonce: account.nonce,
        height: chain.tip().height,
    }))
}

fn rate_entry(from: &CurrencyId, to: &CurrencyId, r: &ExchangeRate) -> RateEntry {
    RateEntry {
        from: from.symbol().to_string(),
        to: to.symbol().to_string(),
        rate: rate(r),
    }
}

/// Policies, decimals, settlement values, next issuer nonces, and the
/// exchange rates in force.
#[utoipa::path(get, path = "/v1/currencies", tag = "currencies",
    responses((status = 200, body = Currencies)))]
async fn currencies(State(node): State<Node>) -> Json<Currencies> {
    use coalition_verifier::transactions::LedgerView;
    let chain = node.chain();
    let ledger = chain.ledger();
    let infos = ledger.governance().currencies();
    let currencies = ledger
        .currencies()
        .values()
        .map(|p| {
            let info = infos.get(&p.id);
            Currency {
                symbol: p.id.symbol().to_string(),
                issuer: hex::encode(p.issuer.loyalty_id().0),
                issuer_identity: hex::encode(p.issuer.to_bytes()),
                auditor: p.auditor.map(|k| hex::encode(k.to_bytes())),
                decimals: info.map(|i| i.decimals),
                settlement_value: info.map(|i| rate(&i.settlement_value)),
                note_lifetime_epochs: info.map(|i| i.note_lifetime.as_u32()),
                issuer_nonce: ledger.issuer_nonce(&p.id),
            }
        })
        .collect();
    let rates = ledger
        .rates()
        .iter()
        .map(|((from, to), r)| rate_entry(from, to, r))
        .collect();
    Json(Currencies { currencies, rates })
}

/// The shielded pool's size and roots (`{"enabled": false}` without one).
#[utoipa::path(get, path = "/v1/pool", tag = "pool",
    responses((status = 200, body = Pool)))]
async fn pool(State(node): State<Node>) -> Json<Pool> {
    let chain = node.chain();
    Json(match chain.ledger().pool() {
        None => Pool {
            enabled: false,
            size: None,
            root: None,
            nullifiers: None,
            recent_roots: None,
        },
        Some(pool) => Pool {
            enabled: true,
            size: Some(pool.tree().len()),
            root: Some(hex::encode(pool.latest_root().to_bytes())),
            nullifiers: Some(pool.nullifier_count() as u64),
            recent_roots: Some(
                pool.recent_roots()
                    .map(|r| hex::encode(coalition_circuits::field::to_bytes(r)))
                    .collect(),
            ),
        },
    })
}

/// One page of the pool's notes, in tree order.
#[utoipa::path(get, path = "/v1/pool/notes", tag = "pool",
    params(PageQuery),
    responses(
        (status = 200, body = PoolNotes),
        (status = 400, description = "`malformed` query", body = ErrorBody),
        (status = 404, description = "No shielded pool", body = ErrorBody)))]
async fn pool_notes(
    State(node): State<Node>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<PoolNotes>> {
    let from = page.from.unwrap_or(0);
    let limit = usize::try_from(page.limit.unwrap_or(100).min(MAX_PAGE)).unwrap_or(0);
    let chain = node.chain();
    let pool = pool_of(&chain)?;
    let total = pool.note_count();
    let start = usize::try_from(from).unwrap_or(usize::MAX).min(total);
    let notes = pool
        .notes_from(start)
        .take(limit)
        .enumerate()
        .map(|(i, n)| PoolNote {
            position: (start + i) as u64,
            note: hex::encode(n.to_bytes()),
        })
        .collect();
    Ok(Json(PoolNotes {
        from: start as u64,
        total: total as u64,
        notes,
    }))
}

/// A note's authentication path to the newest root.
#[utoipa::path(get, path = "/v1/pool/paths/{position}", tag = "pool",
    params(("position" = u64, Path, description = "The note's position")),
    responses(
        (status = 200, body = PoolPath),
        (status = 400, description = "`malformed` position", body = ErrorBody),
        (status = 404, description = "No such note, or no shielded pool", body = ErrorBody)))]
async fn pool_path(
    State(node): State<Node>,
    Path(position): Path<u64>,
) -> ApiResult<Json<PoolPath>> {
    let chain = node.chain();
    let pool = pool_of(&chain)?;
    let path = pool
        .tree()
        .path(position)
        .map_err(|_| ApiError::not_found("note position"))?;
    Ok(Json(PoolPath {
        position: path.position,
        root: hex::encode(pool.latest_root().to_bytes()),
        siblings: path
            .siblings
            .iter()
            .map(|s| hex::encode(coalition_circuits::field::to_bytes(s)))
            .collect(),
    }))
}

/// Whether a nullifier was revealed.
#[utoipa::path(get, path = "/v1/pool/nullifiers/{nullifier}", tag = "pool",
    params(("nullifier" = String, Path, description = "The nullifier (hex field element)")),
    responses(
        (status = 200, body = NullifierStatus),
        (status = 400, description = "`malformed`: not hex, or not canonical", body = ErrorBody),
        (status = 404, description = "No shielded pool", body = ErrorBody)))]
async fn nullifier(
    State(node): State<Node>,
    Path(nf): Path<String>,
) -> ApiResult<Json<NullifierStatus>> {
    let bytes = from_hex::<32>(&nf, "nullifier")?;
    let nf = Nullifier::from_bytes(&bytes)
        .map_err(|_| ApiError::bad_request("nullifier: not a canonical field element"))?;
    let chain = node.chain();
    let pool = pool_of(&chain)?;
    Ok(Json(NullifierStatus {
        spent: pool.is_spent(&nf),
    }))
}

/// Members, the voting threshold, and proposals.
#[utoipa::path(get, path = "/v1/governance", tag = "governance",
    responses((status = 200, body = Governance)))]
async fn governance(State(node): State<Node>) -> Json<Governance> {
    let chain = node.chain();
    let g = chain.ledger().governance();
    let members = g
        .members()
        .iter()
        .map(|(id, m)| Member {
            id: hex::encode(id.0),
            name: m.name.clone(),
            identity: hex::encode(m.identity.to_bytes()),
            admitted_at: m.admitted_at,
            nonce: m.nonce,
        })
        .collect();
    let proposals = g
        .proposals()
        .iter()
        .map(|(id, p)| {
            let (action, subject, name) = match &p.action {
                MembershipAction::Admit { candidate, name } => (
                    ProposalAction::Admit,
                    hex::encode(candidate.loyalty_id().0),
                    Some(name.clone()),
                ),
                MembershipAction::Remove { member } => {
                    (ProposalAction::Remove, hex::encode(member.0), None)
                }
            };
            let (status, decided_at) = match p.status {
                ProposalStatus::Open => (ProposalState::Open, None),
                ProposalStatus::Accepted(h) => (ProposalState::Accepted, Some(h)),
                ProposalStatus::Rejected(h) => (ProposalState::Rejected, Some(h)),
            };
            Proposal {
                id: hex::encode(id.0),
                proposer: hex::encode(p.proposer.0),
                action,
                subject,
                name,
                opened_at: p.opened_at,
                yes: p.yes.iter().map(|v| hex::encode(v.0)).collect(),
                no: p.no.iter().map(|v| hex::encode(v.0)).collect(),
                status,
                decided_at,
            }
        })
        .collect();
    Json(Governance {
        threshold: Rate([g.threshold().numerator(), g.threshold().denominator()]),
        members,
        proposals,
    })
}

/// The partnership terms in force.
#[utoipa::path(get, path = "/v1/partnerships", tag = "governance",
    responses((status = 200, body = Partnerships)))]
async fn partnerships(State(node): State<Node>) -> Json<Partnerships> {
    let chain = node.chain();
    let partnerships = chain
        .ledger()
        .governance()
        .terms()
        .values()
        .map(|s| Partnership {
            partners: s
                .terms
                .partners
                .iter()
                .map(|p| hex::encode(p.loyalty_id().0))
                .collect(),
            version: s.terms.version,
            rates: s
                .terms
                .rates
                .iter()
                .map(|(f, t, r)| rate_entry(f, t, r))
                .collect(),
            earn_rules: s.terms.earn_rules.len() as u64,
            signed_terms: hex::encode(s.to_bytes()),
        })
        .collect();
    Json(Partnerships { partnerships })
}

fn sealed_answer(s: &Option<Sealed>) -> Option<SealedSum> {
    s.as_ref().map(|s| SealedSum {
        merchant: hex::encode(s.merchant.to_bytes()),
        issuer: s.issuer.map(|c| hex::encode(c.to_bytes())),
        auditor: s.auditor.map(|c| hex::encode(c.to_bytes())),
    })
}

fn issuer_sum_answer(s: &Option<IssuerSum>) -> Option<coalition_api::settlement::IssuerSum> {
    s.as_ref().map(|s| coalition_api::settlement::IssuerSum {
        issuer: hex::encode(s.issuer.to_bytes()),
        auditor: s.auditor.map(|c| hex::encode(c.to_bytes())),
    })
}

/// One settlement epoch's figures (spec §16.5): merchant `pairs` and
/// `exchanges`, one ciphertext per reader.
#[utoipa::path(get, path = "/v1/settlement/{epoch}", tag = "settlement",
    params(("epoch" = u64, Path, description = "Settlement epoch")),
    responses(
        (status = 200, body = Settlement),
        (status = 400, description = "`malformed` epoch", body = ErrorBody)))]
async fn settlement(
    State(node): State<Node>,
    Path(epoch): Path<u64>,
) -> ApiResult<Json<Settlement>> {
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
    let issuer_of = |c: &CurrencyId| issuers.get(c).map(|i| hex::encode(i.0));
    let pairs = figures
        .pairs
        .iter()
        .map(|(key, f)| PairFigures {
            merchant: hex::encode(key.merchant.0),
            currency: key.currency.symbol().to_string(),
            issuer: issuer_of(&key.currency),
            burns: f.burns,
            burned: sealed_answer(&f.burned),
            transfers: f.transfers,
            transferred: sealed_answer(&f.transferred),
            redeems: f.redeems,
            redeemed: f.redeemed,
        })
        .collect();
    let exchanges = figures
        .exchanges
        .iter()
        .map(|(key, f)| ExchangeFiguresAnswer {
            from: key.from.symbol().to_string(),
            to: key.to.symbol().to_string(),
            from_issuer: issuer_of(&key.from),
            to_issuer: issuer_of(&key.to),
            rate: rate(&key.rate),
            exchanges: f.exchanges,
            debited: issuer_sum_answer(&f.debited),
            credited: issuer_sum_answer(&f.credited),
        })
        .collect();
    Ok(Json(Settlement {
        epoch,
        first_height: first,
        last_height: last,
        height: tip,
        complete: tip >= last,
        pairs,
        exchanges,
    }))
}

/// A server-sent-event stream of what blocks change (spec §17.5): each
/// event's name is its `type`; its data is the JSON `Event`.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, description = "`text/event-stream` of events", body = Event, content_type = "text/event-stream"),
        (status = 400, description = "`malformed` account", body = ErrorBody)))]
async fn events(
    State(node): State<Node>,
    Query(filter): Query<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let account = match filter.account {
        Some(a) => Some(hex::encode(from_hex::<32>(&a, "account")?)),
        None => None,
    };
    let stream = BroadcastStream::new(node.subscribe()).filter_map(move |item| {
        let (name, data) = crate::engine::events::stream_item(item, account.as_deref())?;
        Some(Ok(SseEvent::default().event(name).data(data)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
