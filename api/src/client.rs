//! A small blocking HTTP/1.1 client for the node API (wallets, partner and
//! audit tools, tests): one request per connection, bounded responses, and
//! typed calls that read each answer into this crate's wire types, then
//! decode its hex with the same strict decoders the node uses (so a
//! malicious node cannot feed a wallet a non-canonical point).
//!
//! Written over `std::net` (and rustls's blocking stream for TLS, see
//! `tls.rs`) rather than an HTTP library: one HTTP/1.1 request per
//! connection is all it needs, and this keeps the wallet free of an async
//! runtime. In the
//! browser, where there are no sockets, [`AsyncClient`] (feature
//! `async-client`) makes the same typed calls over `reqwest`, which is the
//! page's `fetch` there and hyper natively. Both read answers into the wire
//! types and turn them into domain types with the same functions
//! (`decode.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use coalition_circuits::merkle::MerklePath;
use coalition_circuits::note::{Nullifier, TreeRoot};
use coalition_core::account::AccountState;
use coalition_core::currency::CurrencyId;
use coalition_core::encoding::Encode;
use coalition_core::keys::LoyaltyId;
use coalition_core::partnership::SignedTerms;
use coalition_core::shielded::NoteOutput;
use coalition_core::transaction::{Transaction, TxId};
use serde::de::DeserializeOwned;
use serde_json::Value;

use coalition_ledger::block::Block;
use coalition_ledger::genesis::Genesis;

use crate::error::ErrorBody;
use crate::transactions::TransactionStatus;

mod audit_source;
mod decode;
#[cfg(feature = "async-client")]
mod fetch;
mod settlement;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod tls;

pub use decode::{paths, CurrencyListing, CurrencyTable, NodeStatus};
#[cfg(feature = "async-client")]
pub use fetch::AsyncClient;
pub use settlement::SettlementReport;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use tls::{provider, ClientTls, HandshakeSignatures, VERSIONS};

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
    /// The HTTP library failed (the async client: connection, timeout,
    /// or the browser's `fetch`).
    #[error("request to the node failed: {0}")]
    Transport(String),
    /// A TLS setting could not be used (a pinned certificate that does
    /// not read, a configuration rustls refuses).
    #[error("TLS: {0}")]
    Tls(String),
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

/// A node's API address, and how connections to it are secured.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    tls: Option<ClientTls>,
}

impl Client {
    /// A client for the node at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Client {
            addr,
            timeout: Duration::from_secs(60),
            #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
            tls: None,
        }
    }

    /// The same client speaking TLS as `tls` says.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn with_tls(mut self, tls: ClientTls) -> Self {
        self.tls = Some(tls);
        self
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
        let stream =
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
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        if let Some(tls) = &self.tls {
            // The server name only feeds the verifier (which checks a pin
            // or a partner binding, not names); an IP address sends no SNI.
            let name = rustls::pki_types::ServerName::IpAddress(self.addr.ip().into());
            let connection = rustls::ClientConnection::new(tls.config(), name)
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            return exchange(rustls::StreamOwned::new(connection, stream), &head, body);
        }
        exchange(stream, &head, body)
    }
}

/// Writes one request (`head`, then `body`) and reads its response.
fn exchange<S: Read + Write>(
    mut stream: S,
    head: &str,
    body: &[u8],
) -> Result<Response, ClientError> {
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    read_response(BufReader::new(stream))
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
        decode::status(self.get_as(paths::STATUS)?)
    }

    /// The genesis the node runs, checked against the chain ID it reports.
    pub fn genesis(&self) -> Result<Genesis, ClientError> {
        decode::genesis(self.get_as(paths::GENESIS)?)
    }

    /// The committed block at `height`, if any.
    pub fn block(&self, height: u64) -> Result<Option<Block>, ClientError> {
        self.block_bytes(height)?
            .map(|bytes| decode::block(&bytes, height))
            .transpose()
    }

    /// The raw encoding of the committed block at `height` (auditors decode
    /// it themselves, to locate damage).
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, ClientError> {
        self.get_optional(&paths::block(height))?
            .map(decode::block_bytes)
            .transpose()
    }

    /// Up to `limit` consecutive committed blocks from height `from`, as
    /// their raw encodings (fewer at the tip or past a size bound, none
    /// past the tip): one request for what [`Self::block_bytes`] fetches
    /// one at a time.
    pub fn blocks_bytes(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        decode::block_range(self.get_as(&paths::blocks(from, limit))?, from, limit)
    }

    /// [`Self::blocks_bytes`], decoded, each checked to sit at its height.
    pub fn blocks(&self, from: u64, limit: u64) -> Result<Vec<Block>, ClientError> {
        decode::blocks(&self.blocks_bytes(from, limit)?, from)
    }

    /// An account's committed state, if it exists.
    pub fn account(
        &self,
        owner: &LoyaltyId,
        currency: &CurrencyId,
    ) -> Result<Option<AccountState>, ClientError> {
        self.get_optional(&paths::account(owner, currency))?
            .map(decode::account)
            .transpose()
    }

    /// Registered currencies, and the exchange rates in force.
    pub fn currencies(&self) -> Result<CurrencyTable, ClientError> {
        decode::currencies(self.get_as(paths::CURRENCIES)?)
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
        decode::pool_notes(self.get_as(&paths::pool_notes(from))?)
    }

    /// The authentication path of the note at `position`, and the root it
    /// leads to (the newest committed root).
    pub fn pool_path(&self, position: u64) -> Result<(MerklePath, TreeRoot), ClientError> {
        decode::pool_path(self.get_as(&paths::pool_path(position))?)
    }

    /// Whether `nullifier` was revealed.
    pub fn is_spent(&self, nullifier: &Nullifier) -> Result<bool, ClientError> {
        let v: crate::pool::NullifierStatus = self.get_as(&paths::nullifier(nullifier))?;
        Ok(v.spent)
    }

    /// The partnership terms in force.
    pub fn partnerships(&self) -> Result<Vec<SignedTerms>, ClientError> {
        decode::partnerships(self.get_as(paths::PARTNERSHIPS)?)
    }

    /// The settlement figures of `epoch` (spec §16.5).
    pub fn settlement(&self, epoch: u64) -> Result<SettlementReport, ClientError> {
        settlement::report(self.get_as(&paths::settlement(epoch))?, epoch)
    }

    /// Submits `tx`; its ID once admitted to the mempool.
    pub fn submit(&self, tx: &Transaction) -> Result<TxId, ClientError> {
        let response = self.post(
            paths::TRANSACTIONS,
            "application/octet-stream",
            &tx.to_bytes(),
        )?;
        decode::submitted(checked(response)?)
    }

    /// Waits until `id` is in a committed block; returns its height.
    pub fn wait_committed(&self, id: &TxId, timeout: Duration) -> Result<u64, ClientError> {
        let started = std::time::Instant::now();
        let path = paths::transaction(id);
        loop {
            if let Some(v) = self.get_optional::<TransactionStatus>(&path)? {
                if let Some(height) = decode::committed_height(&v)? {
                    return Ok(height);
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
    answer(response.status, &response.body)
}

/// A `status` answer of `body` read as `T`, or the refusal it carries
/// (both clients).
pub(crate) fn answer<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ClientError> {
    fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
        serde_json::from_slice(body).map_err(|e| ClientError::Malformed(e.to_string()))
    }
    if (200..300).contains(&status) {
        return decode(body);
    }
    let (code, reason) = match decode::<ErrorBody>(body) {
        Ok(ErrorBody { error, reason }) => (error, reason),
        Err(_) => (
            "error".to_string(),
            String::from_utf8_lossy(body).into_owned(),
        ),
    };
    Err(ClientError::Refused {
        status,
        code,
        reason,
    })
}
