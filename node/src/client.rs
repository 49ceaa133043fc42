//! A small blocking HTTP/1.1 client for the node API (wallets, partner and
//! audit tools, tests): one request per connection, bounded responses, and
//! typed calls that decode what the node serves with the same strict
//! decoders the node uses (so a malicious node cannot feed a wallet a
//! non-canonical point).

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
use serde_json::Value;

use coalition_ledger::block::Block;
use coalition_ledger::genesis::Genesis;

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

fn field<'v>(value: &'v Value, name: &str) -> Result<&'v Value, ClientError> {
    value
        .get(name)
        .ok_or_else(|| ClientError::Malformed(format!("missing field {name:?}")))
}

fn text_field<'v>(value: &'v Value, name: &str) -> Result<&'v str, ClientError> {
    field(value, name)?
        .as_str()
        .ok_or_else(|| ClientError::Malformed(format!("field {name:?} is not a string")))
}

fn u64_field(value: &Value, name: &str) -> Result<u64, ClientError> {
    field(value, name)?
        .as_u64()
        .ok_or_else(|| ClientError::Malformed(format!("field {name:?} is not an integer")))
}

fn hex_field(value: &Value, name: &str) -> Result<Vec<u8>, ClientError> {
    hex::decode(text_field(value, name)?)
        .map_err(|_| ClientError::Malformed(format!("field {name:?} is not hex")))
}

fn decoded<T: Decode>(value: &Value, name: &str) -> Result<T, ClientError> {
    decode_exact(&hex_field(value, name)?)
        .map_err(|e| ClientError::Malformed(format!("field {name:?}: {e}")))
}

/// A `[p, q]` rate; `None` when absent or null.
fn rate_field(value: &Value, name: &str) -> Result<Option<ExchangeRate>, ClientError> {
    let Some(pair) = value.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let bad = || ClientError::Malformed(format!("field {name:?} is not a [p, q] rate"));
    let pair = pair.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let part = |i: usize| {
        pair[i]
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .ok_or_else(bad)
    };
    ExchangeRate::new(part(0)?, part(1)?)
        .map(Some)
        .map_err(|e| ClientError::Malformed(format!("field {name:?}: {e}")))
}

fn array32(value: &Value, name: &str) -> Result<[u8; 32], ClientError> {
    hex_field(value, name)?
        .try_into()
        .map_err(|_| ClientError::Malformed(format!("field {name:?} is not 32 bytes")))
}

impl Client {
    /// `GET path` as JSON; an error status becomes [`ClientError::Refused`].
    pub fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        checked(self.get(path)?)
    }

    /// `GET path` as JSON, `None` on 404.
    fn get_optional(&self, path: &str) -> Result<Option<Value>, ClientError> {
        let response = self.get(path)?;
        if response.status == 404 {
            return Ok(None);
        }
        checked(response).map(Some)
    }

    /// Chain, height and coalition name.
    pub fn status(&self) -> Result<NodeStatus, ClientError> {
        let v = self.get_json("/v1/status")?;
        Ok(NodeStatus {
            coalition: text_field(&v, "coalition")?.to_string(),
            chain: ChainId(array32(&v, "chain")?),
            height: u64_field(&v, "height")?,
            mempool: u64_field(&v, "mempool")?,
            settlement_epoch: match v.get("settlement_epoch") {
                None | Some(Value::Null) => None,
                Some(e) => Some(Epoch(
                    e.as_u64()
                        .and_then(|e| u32::try_from(e).ok())
                        .filter(|e| *e != u32::MAX)
                        .ok_or_else(|| {
                            ClientError::Malformed("settlement_epoch is not an epoch".into())
                        })?,
                )),
            },
        })
    }

    /// The genesis the node runs, checked against the chain ID it reports.
    pub fn genesis(&self) -> Result<Genesis, ClientError> {
        let v = self.get_json("/v1/genesis")?;
        let genesis: Genesis = decoded(&v, "genesis")?;
        if genesis.chain_id().0 != array32(&v, "chain")? {
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
        match self.get_optional(&format!("/v1/blocks/{height}"))? {
            None => Ok(None),
            Some(v) => hex_field(&v, "bytes").map(Some),
        }
    }

    /// Up to `limit` consecutive committed blocks from height `from`, as
    /// their raw encodings (fewer at the tip or past a size bound, none
    /// past the tip): one request for what [`Self::block_bytes`] fetches
    /// one at a time.
    pub fn blocks_bytes(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        let v = self.get_json(&format!("/v1/blocks?from={from}&limit={limit}"))?;
        if v.get("from").and_then(Value::as_u64) != Some(from) {
            return Err(ClientError::Malformed(format!(
                "block range: answered for another start than {from}"
            )));
        }
        let items = v
            .get("blocks")
            .and_then(Value::as_array)
            .ok_or_else(|| ClientError::Malformed("block range: no blocks".into()))?;
        if items.len() as u64 > limit {
            return Err(ClientError::Malformed(format!(
                "block range: {} blocks for a limit of {limit}",
                items.len()
            )));
        }
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(|h| hex::decode(h).ok())
                    .ok_or_else(|| ClientError::Malformed("block range: a block is not hex".into()))
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
        match self.get_optional(&path)? {
            None => Ok(None),
            Some(v) => Ok(Some(AccountState {
                owner: decoded(&v, "owner")?,
                available: decoded(&v, "available")?,
                pending: decoded(&v, "pending")?,
                pending_credits: u64_field(&v, "pending_credits")?,
                nonce: u64_field(&v, "nonce")?,
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
        let v = self.get_json("/v1/currencies")?;
        let parse_id = |text: &str| {
            CurrencyId::new(text).map_err(|e| ClientError::Malformed(format!("currency: {e}")))
        };
        let mut listings = Vec::new();
        for c in field(&v, "currencies")?
            .as_array()
            .ok_or_else(|| ClientError::Malformed("currencies".into()))?
        {
            let auditor = match c.get("auditor") {
                Some(Value::String(_)) => Some(decoded(c, "auditor")?),
                _ => None,
            };
            listings.push(CurrencyListing {
                policy: CurrencyPolicy {
                    id: parse_id(text_field(c, "symbol")?)?,
                    issuer: decoded(c, "issuer_identity")?,
                    auditor,
                },
                decimals: c
                    .get("decimals")
                    .and_then(Value::as_u64)
                    .and_then(|d| u8::try_from(d).ok()),
                issuer_nonce: u64_field(c, "issuer_nonce")?,
                settlement_value: rate_field(c, "settlement_value")?,
                note_lifetime: match c.get("note_lifetime_epochs") {
                    None | Some(Value::Null) => NoteLifetime::Unlimited,
                    Some(n) => NoteLifetime::from_u32(
                        n.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| ClientError::Malformed("note_lifetime_epochs".into()))?,
                    ),
                },
            });
        }
        let mut rates = Vec::new();
        for r in field(&v, "rates")?
            .as_array()
            .ok_or_else(|| ClientError::Malformed("rates".into()))?
        {
            let rate =
                rate_field(r, "rate")?.ok_or_else(|| ClientError::Malformed("rate".into()))?;
            rates.push((
                parse_id(text_field(r, "from")?)?,
                parse_id(text_field(r, "to")?)?,
                rate,
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
        let v = self.get_json(&format!("/v1/pool/notes?from={from}&limit=1000"))?;
        let total = u64_field(&v, "total")?;
        let mut notes = Vec::new();
        for n in field(&v, "notes")?
            .as_array()
            .ok_or_else(|| ClientError::Malformed("notes".into()))?
        {
            notes.push((u64_field(n, "position")?, decoded(n, "note")?));
        }
        Ok((notes, total))
    }

    /// The authentication path of the note at `position`, and the root it
    /// leads to (the newest committed root).
    pub fn pool_path(&self, position: u64) -> Result<(MerklePath, TreeRoot), ClientError> {
        let v = self.get_json(&format!("/v1/pool/paths/{position}"))?;
        let root = TreeRoot::from_bytes(&array32(&v, "root")?)
            .map_err(|_| ClientError::Malformed("root is not canonical".into()))?;
        let siblings_json = field(&v, "siblings")?
            .as_array()
            .ok_or_else(|| ClientError::Malformed("siblings".into()))?;
        if siblings_json.len() != coalition_circuits::merkle::DEPTH {
            return Err(ClientError::Malformed("path length".into()));
        }
        let mut siblings = [ark_bn254::Fr::from(0u64); coalition_circuits::merkle::DEPTH];
        for (slot, s) in siblings.iter_mut().zip(siblings_json) {
            let bytes: [u8; 32] = s
                .as_str()
                .and_then(|t| hex::decode(t).ok())
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| ClientError::Malformed("sibling".into()))?;
            *slot = coalition_circuits::field::from_bytes(&bytes)
                .map_err(|_| ClientError::Malformed("sibling is not canonical".into()))?;
        }
        let path = MerklePath {
            position: u64_field(&v, "position")?,
            siblings,
        };
        Ok((path, root))
    }

    /// Whether `nullifier` was revealed.
    pub fn is_spent(&self, nullifier: &Nullifier) -> Result<bool, ClientError> {
        let v = self.get_json(&format!(
            "/v1/pool/nullifiers/{}",
            hex::encode(nullifier.to_bytes())
        ))?;
        field(&v, "spent")?
            .as_bool()
            .ok_or_else(|| ClientError::Malformed("spent".into()))
    }

    /// The partnership terms in force.
    pub fn partnerships(&self) -> Result<Vec<SignedTerms>, ClientError> {
        let v = self.get_json("/v1/partnerships")?;
        field(&v, "partnerships")?
            .as_array()
            .ok_or_else(|| ClientError::Malformed("partnerships".into()))?
            .iter()
            .map(|p| decoded(p, "signed_terms"))
            .collect()
    }

    /// Submits `tx`; its ID once admitted to the mempool.
    pub fn submit(&self, tx: &Transaction) -> Result<TxId, ClientError> {
        let response = self.post(
            "/v1/transactions",
            "application/octet-stream",
            &tx.to_bytes(),
        )?;
        let v = checked(response)?;
        Ok(TxId(hex_field(&v, "id")?.try_into().map_err(|_| {
            ClientError::Malformed("transaction ID is not 32 bytes".into())
        })?))
    }

    /// Waits until `id` is in a committed block; returns its height.
    pub fn wait_committed(&self, id: &TxId, timeout: Duration) -> Result<u64, ClientError> {
        let started = std::time::Instant::now();
        let path = format!("/v1/transactions/{}", hex::encode(id.0));
        loop {
            if let Some(v) = self.get_optional(&path)? {
                if v.get("status").and_then(Value::as_str) == Some("committed") {
                    return u64_field(&v, "height");
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

fn checked(response: Response) -> Result<Value, ClientError> {
    let value = response.json();
    if (200..300).contains(&response.status) {
        return value;
    }
    let (code, reason) = match &value {
        Ok(v) => (
            v.get("error")
                .and_then(Value::as_str)
                .unwrap_or("error")
                .to_string(),
            v.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ),
        Err(_) => ("error".to_string(), response.text()),
    };
    Err(ClientError::Refused {
        status: response.status,
        code,
        reason,
    })
}
