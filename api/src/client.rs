//! A small blocking HTTP/1.1 client for the node API (wallets, partner and
//! audit tools, tests): one request per connection, bounded responses, and
//! typed calls that read each answer into this crate's wire types, then
//! decode its hex with the same strict decoders the node uses (so a
//! malicious node cannot feed a wallet a non-canonical point).
//!
//! Written over `std::net` rather than an HTTP library: the node speaks
//! plain HTTP/1.1 on loopback or a private network, one request per
//! connection, and this keeps the wallet free of an async runtime.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use coalition_circuits::merkle::MerklePath;
use coalition_circuits::note::{Epoch, Nullifier, TreeRoot};
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::encoding::{decode_exact, Decode, Encode};
use coalition_core::keys::LoyaltyId;
use coalition_core::partnership::SignedTerms;
use coalition_core::shielded::NoteOutput;
use coalition_core::transaction::{ChainId, Transaction, TxId};
use serde::de::DeserializeOwned;
use serde_json::Value;

use coalition_ledger::block::Block;
use coalition_ledger::genesis::Genesis;

use crate::error::ErrorBody;
use crate::transactions::{TransactionState, TransactionStatus};
use crate::Rate;

mod audit_source;
mod settlement;

pub use settlement::SettlementReport;

/// Largest response body read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached.
    #[error("node unreachable at {addr}: {source}")]
    Unreachable {
        /// Address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The connection failed mid-request.
    #[error("connection to the node failed: {0}")]
    Io(#[from] std::io::Error),
    /// The response is not valid HTTP or JSON.
    #[error("malformed response from the node: {0}")]
    Malformed(String),
    /// The node answered with an error (its code and reason).
    #[error("the node refused ({status} {code}): {reason}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API's error code (`rejected`, `not_found`, …).
        code: String,
        /// The node's explanation.
        reason: String,
    },
    /// A transaction was not committed in time.
    #[error("transaction {0} not committed after {1:?}")]
    NotCommitted(String, Duration),
}

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> Result<Value, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Malformed(e.to_string()))
    }

    /// The body as `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Malformed(e.to_string()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A node's API address.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
}

impl Client {
    /// A client for the node at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Client {
            addr,
            timeout: Duration::from_secs(60),
        }
    }

    /// The same client with another read/write timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Response, ClientError> {
        self.request("GET", path, None, &[])
    }

    /// `POST path` with a body of `content_type`.
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Response, ClientError> {
        self.request("POST", path, Some(content_type), body)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Response, ClientError> {
        let mut stream =
            TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).map_err(|source| {
                ClientError::Unreachable {
                    addr: self.addr,
                    source,
                }
            })?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        read_response(BufReader::new(stream))
    }
}

fn read_response<R: Read>(mut reader: BufReader<R>) -> Result<Response, ClientError> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| ClientError::Malformed(format!("status line {line:?}")))?;
    let mut length = None;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if line.len() > 8192 {
            return Err(ClientError::Malformed("header too long".into()));
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| ClientError::Malformed("chunk size".into()))?;
            if size == 0 {
                break;
            }
            if body.len() + size > MAX_RESPONSE_BYTES {
                return Err(ClientError::Malformed("response too large".into()));
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(n) = length {
        if n > MAX_RESPONSE_BYTES {
            return Err(ClientError::Malformed("response too large".into()));
        }
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader
            .take(MAX_RESPONSE_BYTES as u64)
            .read_to_end(&mut body)?;
    }
    Ok(Response { status, body })
}

/// What `/v1/status` says.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    /// The coalition's name.
    pub coalition: String,
    /// Chain ID.
    pub chain: ChainId,
    /// Tip height.
    pub height: u64,
    /// Transactions waiting.
    pub mempool: u64,
    /// The tip's settlement epoch: what a Shield or Redeem names (`None`
    /// past the pool's 32-bit clock).
    pub settlement_epoch: Option<Epoch>,
}

/// A registered currency as the node lists it.
#[derive(Debug, Clone)]
pub struct CurrencyListing {
    /// Policy (issuer identity, auditor key).
    pub policy: CurrencyPolicy,
    /// Display decimals.
    pub decimals: Option<u8>,
    /// The issuer's next `Issue` sequence number.
    pub issuer_nonce: u64,
    /// What one point is worth in the settlement unit.
    pub settlement_value: Option<ExchangeRate>,
    /// How long its shielded notes stay spendable.
    pub note_lifetime: NoteLifetime,
}

fn malformed(name: &str, what: impl std::fmt::Display) -> ClientError {
    ClientError::Malformed(format!("field {name:?}: {what}"))
}

pub(crate) fn hex_bytes(text: &str, name: &str) -> Result<Vec<u8>, ClientError> {
    hex::decode(text).map_err(|_| malformed(name, "not hex"))
}

pub(crate) fn decoded<T: Decode>(text: &str, name: &str) -> Result<T, ClientError> {
    decode_exact(&hex_bytes(text, name)?).map_err(|e| malformed(name, e))
}

pub(crate) fn array32(text: &str, name: &str) -> Result<[u8; 32], ClientError> {
    hex_bytes(text, name)?
        .try_into()
        .map_err(|_| malformed(name, "not 32 bytes"))
}

pub(crate) fn rate(pair: Rate, name: &str) -> Result<ExchangeRate, ClientError> {
    ExchangeRate::new(pair.0[0], pair.0[1]).map_err(|e| malformed(name, e))
}

pub(crate) fn currency_id(symbol: &str, name: &str) -> Result<CurrencyId, ClientError> {
    CurrencyId::new(symbol).map_err(|e| malformed(name, e))
}

impl Client {
    /// `GET path` as JSON; an error status becomes [`ClientError::Refused`].
    pub fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        self.get_as(path)
    }

    /// `GET path` read as `T`; an error status becomes
    /// [`ClientError::Refused`].
    pub fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        checked(self.get(path)?)
    }

    /// `GET path` read as `T`, `None` on 404.
    fn get_optional<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ClientError> {
        let response = self.get(path)?;
        if response.status == 404 {
            return Ok(None);
        }
        checked(response).map(Some)
    }

    /// Chain, height and coalition name.
    pub fn status(&self) -> Result<NodeStatus, ClientError> {
        let v: crate::chain::Status = self.get_as("/v1/status")?;
        Ok(NodeStatus {
            chain: ChainId(array32(&v.chain, "chain")?),
            coalition: v.coalition,
            height: v.height,
            mempool: v.mempool,
            settlement_epoch: match v.settlement_epoch {
                None => None,
                Some(u32::MAX) => {
                    return Err(malformed("settlement_epoch", "not an epoch"));
                }
                Some(e) => Some(Epoch(e)),
            },
        })
    }

    /// The genesis the node runs, checked against the chain ID it reports.
    pub fn genesis(&self) -> Result<Genesis, ClientError> {
        let v: crate::chain::GenesisAnswer = self.get_as("/v1/genesis")?;
        let genesis: Genesis = decoded(&v.genesis, "genesis")?;
        if genesis.chain_id().0 != array32(&v.chain, "chain")? {
            return Err(ClientError::Malformed(
                "the genesis does not hash to the chain ID".into(),
            ));
        }
        Ok(genesis)
    }

    /// The committed block at `height`, if any.
    pub fn block(&self, height: u64) -> Result<Option<Block>, ClientError> {
        self.block_bytes(height)?
            .map(|bytes| {
                coalition_ledger::block::decode_block(&bytes)
                    .map_err(|e| ClientError::Malformed(format!("block {height}: {e}")))
            })
            .transpose()
    }

    /// The raw encoding of the committed block at `height` (auditors decode
    /// it themselves, to locate damage).
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, ClientError> {
        match self.get_optional::<crate::chain::BlockAnswer>(&format!("/v1/blocks/{height}"))? {
            None => Ok(None),
            Some(v) => hex_bytes(&v.bytes, "bytes").map(Some),
        }
    }

    /// Up to `limit` consecutive committed blocks from height `from`, as
    /// their raw encodings (fewer at the tip or past a size bound, none
    /// past the tip): one request for what [`Self::block_bytes`] fetches
    /// one at a time.
    pub fn blocks_bytes(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        let v: crate::chain::BlockRange =
            self.get_as(&format!("/v1/blocks?from={from}&limit={limit}"))?;
        if v.from != from {
            return Err(ClientError::Malformed(format!(
                "block range: answered for another start than {from}"
            )));
        }
        if v.blocks.len() as u64 > limit {
            return Err(ClientError::Malformed(format!(
                "block range: {} blocks for a limit of {limit}",
                v.blocks.len()
            )));
        }
        v.blocks
            .iter()
            .map(|h| {
                hex::decode(h)
                    .map_err(|_| ClientError::Malformed("block range: a block is not hex".into()))
            })
            .collect()
    }

    /// [`Self::blocks_bytes`], decoded, each checked to sit at its height.
    pub fn blocks(&self, from: u64, limit: u64) -> Result<Vec<Block>, ClientError> {
        self.blocks_bytes(from, limit)?
            .iter()
            .zip(from..)
            .map(|(bytes, height)| {
                let block = coalition_ledger::block::decode_block(bytes)
                    .map_err(|e| ClientError::Malformed(format!("block {height}: {e}")))?;
                if block.header.height != height {
                    return Err(ClientError::Malformed(format!(
                        "block range: block {} where {height} belongs",
                        block.header.height
                    )));
                }
                Ok(block)
            })
            .collect()
    }

    /// An account's committed state, if it exists.
    pub fn account(
        &self,
        owner: &LoyaltyId,
        currency: &CurrencyId,
    ) -> Result<Option<AccountState>, ClientError> {
        let path = format!(
            "/v1/accounts/{}/{}",
            hex::encode(owner.0),
            currency.symbol()
        );
        match self.get_optional::<crate::accounts::Account>(&path)? {
            None => Ok(None),
            Some(v) => Ok(Some(AccountState {
                owner: decoded(&v.owner, "owner")?,
                available: decoded(&v.available, "available")?,
                pending: decoded(&v.pending, "pending")?,
                pending_credits: v.pending_credits,
                nonce: v.nonce,
            })),
        }
    }

    /// Registered currencies, and the exchange rates in force.
    #[allow(clippy::type_complexity)]
    pub fn currencies(
        &self,
    ) -> Result<
        (
            Vec<CurrencyListing>,
            Vec<(CurrencyId, CurrencyId, ExchangeRate)>,
        ),
        ClientError,
    > {
        let v: crate::currencies::Currencies = self.get_as("/v1/currencies")?;
        let mut listings = Vec::new();
        for c in &v.currencies {
            let auditor = match &c.auditor {
                Some(text) => Some(decoded(text, "auditor")?),
                None => None,
            };
            listings.push(CurrencyListing {
                policy: CurrencyPolicy {
                    id: currency_id(&c.symbol, "symbol")?,
                    issuer: decoded(&c.issuer_identity, "issuer_identity")?,
                    auditor,
                },
                decimals: c.decimals,
                issuer_nonce: c.issuer_nonce,
                settlement_value: c
                    .settlement_value
                    .map(|r| rate(r, "settlement_value"))
                    .transpose()?,
                note_lifetime: c
                    .note_lifetime_epochs
                    .map_or(NoteLifetime::Unlimited, NoteLifetime::from_u32),
            });
        }
        let mut rates = Vec::new();
        for r in &v.rates {
            rates.push((
                currency_id(&r.from, "from")?,
                currency_id(&r.to, "to")?,
                rate(r.rate, "rate")?,
            ));
        }
        Ok((listings, rates))
    }

    /// One registered currency.
    pub fn currency(&self, id: &CurrencyId) -> Result<Option<CurrencyListing>, ClientError> {
        Ok(self
            .currencies()?
            .0
            .into_iter()
            .find(|c| c.policy.id == *id))
    }

    /// Notes from position `from` on (one page), and the pool's size.
    pub fn pool_notes(&self, from: u64) -> Result<(Vec<(u64, NoteOutput)>, u64), ClientError> {
        let v: crate::pool::PoolNotes =
            self.get_as(&format!("/v1/pool/notes?from={from}&limit=1000"))?;
        let mut notes = Vec::new();
        for n in &v.notes {
            notes.push((n.position, decoded(&n.note, "note")?));
        }
        Ok((notes, v.total))
    }

    /// The authentication path of the note at `position`, and the root it
    /// leads to (the newest committed root).
    pub fn pool_path(&self, position: u64) -> Result<(MerklePath, TreeRoot), ClientError> {
        let v: crate::pool::PoolPath = self.get_as(&format!("/v1/pool/paths/{position}"))?;
        let root = TreeRoot::from_bytes(&array32(&v.root, "root")?)
            .map_err(|_| ClientError::Malformed("root is not canonical".into()))?;
        if v.siblings.len() != coalition_circuits::merkle::DEPTH {
            return Err(ClientError::Malformed("path length".into()));
        }
        let mut siblings = [ark_bn254::Fr::from(0u64); coalition_circuits::merkle::DEPTH];
        for (slot, s) in siblings.iter_mut().zip(&v.siblings) {
            *slot = coalition_circuits::field::from_bytes(&array32(s, "siblings")?)
                .map_err(|_| ClientError::Malformed("sibling is not canonical".into()))?;
        }
        let path = MerklePath {
            position: v.position,
            siblings,
        };
        Ok((path, root))
    }

    /// Whether `nullifier` was revealed.
    pub fn is_spent(&self, nullifier: &Nullifier) -> Result<bool, ClientError> {
        let v: crate::pool::NullifierStatus = self.get_as(&format!(
            "/v1/pool/nullifiers/{}",
            hex::encode(nullifier.to_bytes())
        ))?;
        Ok(v.spent)
    }

    /// The partnership terms in force.
    pub fn partnerships(&self) -> Result<Vec<SignedTerms>, ClientError> {
        let v: crate::currencies::Partnerships = self.get_as("/v1/partnerships")?;
        v.partnerships
            .iter()
            .map(|p| decoded(&p.signed_terms, "signed_terms"))
            .collect()
    }

    /// Submits `tx`; its ID once admitted to the mempool.
    pub fn submit(&self, tx: &Transaction) -> Result<TxId, ClientError> {
        let response = self.post(
            "/v1/transactions",
            "application/octet-stream",
            &tx.to_bytes(),
        )?;
        let v: crate::transactions::Submitted = checked(response)?;
        Ok(TxId(array32(&v.id, "id")?))
    }

    /// Waits until `id` is in a committed block; returns its height.
    pub fn wait_committed(&self, id: &TxId, timeout: Duration) -> Result<u64, ClientError> {
        let started = std::time::Instant::now();
        let path = format!("/v1/transactions/{}", hex::encode(id.0));
        loop {
            if let Some(v) = self.get_optional::<TransactionStatus>(&path)? {
                if v.status == TransactionState::Committed {
                    return v
                        .height
                        .ok_or_else(|| malformed("height", "missing from a committed status"));
                }
            }
            if started.elapsed() > timeout {
                return Err(ClientError::NotCommitted(hex::encode(id.0), timeout));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Submits `tx` and waits until it is committed; returns the height.
    pub fn submit_and_wait(&self, tx: &Transaction) -> Result<u64, ClientError> {
        let id = self.submit(tx)?;
        self.wait_committed(&id, Duration::from_secs(120))
    }
}

/// The answer read as `T`, or the refusal it carries.
fn checked<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    if (200..300).contains(&response.status) {
        return response.decode();
    }
    let (code, reason) = match response.decode::<ErrorBody>() {
        Ok(body) => (body.error, body.reason),
        Err(_) => ("error".to_string(), response.text()),
    };
    Err(ClientError::Refused {
        status: response.status,
        code,
        reason,
    })
}
