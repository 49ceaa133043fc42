//! [`AsyncClient`]: the typed calls of the blocking client, async, over
//! `reqwest` — the browser's `fetch` when compiled to wasm32 (where there
//! are no sockets), hyper under a tokio runtime natively. Answers go
//! through the same wire types and decoders (`decode.rs`).

use coalition_circuits::merkle::MerklePath;
use coalition_circuits::note::{Nullifier, TreeRoot};
use coalition_core::account::AccountState;
use coalition_core::currency::CurrencyId;
use coalition_core::encoding::Encode;
use coalition_core::keys::LoyaltyId;
use coalition_core::partnership::SignedTerms;
use coalition_core::shielded::NoteOutput;
use coalition_core::transaction::{Transaction, TxId};
use coalition_ledger::block::Block;
use coalition_ledger::genesis::Genesis;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::decode::{self, paths, CurrencyTable, NodeStatus};
use super::{answer, settlement, ClientError, SettlementReport, MAX_RESPONSE_BYTES};
use crate::transactions::TransactionStatus;

/// How long one request may take, its answer included (the blocking
/// client's read timeout).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A node's API at a base URL (`http://host:port`), async.
#[derive(Clone, Debug)]
pub struct AsyncClient {
    base: String,
    http: reqwest::Client,
}

fn transport(e: reqwest::Error) -> ClientError {
    ClientError::Transport(e.to_string())
}

impl AsyncClient {
    /// A client for the node at `base` (`http://127.0.0.1:8080`; a trailing
    /// `/` is dropped). Natively it uses no proxy (reqwest would otherwise
    /// take one from `HTTP_PROXY`, and a wallet's queries name its
    /// accounts) and follows no redirect; in the browser, `fetch` decides.
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let builder = reqwest::Client::builder();
        #[cfg(not(target_arch = "wasm32"))]
        let builder = builder
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none());
        Ok(AsyncClient {
            base: base.trim_end_matches('/').to_string(),
            http: builder.build().map_err(transport)?,
        })
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `request`; the status and the body (at most
    /// [`MAX_RESPONSE_BYTES`]).
    /// Each request, its answer included, within [`REQUEST_TIMEOUT`]; the
    /// body is read chunk by chunk and refused past the bound, whatever
    /// length the node announces (or none, chunked).
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), ClientError> {
        let response = request
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let too_large = || ClientError::Malformed("response too large".into());
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut chunks = response.bytes_stream();
        let mut body = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(transport)?;
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    /// `GET path` read as `T`; an error status becomes
    /// [`ClientError::Refused`].
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let (status, body) = self.send(self.http.get(self.url(path))).await?;
        answer(status, &body)
    }

    /// `GET path` read as `T`, `None` on 404.
    async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, ClientError> {
        let (status, body) = self.send(self.http.get(self.url(path))).await?;
        if status == 404 {
            return Ok(None);
        }
        answer(status, &body).map(Some)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Chain, height and coalition name.
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        decode::status(self.get_as(paths::STATUS).await?)
    }

    /// The genesis the node runs, checked against the chain ID it reports.
    pub async fn genesis(&self) -> Result<Genesis, ClientError> {
        decode::genesis(self.get_as(paths::GENESIS).await?)
    }

    /// The committed block at `height`, if any.
    pub async fn block(&self, height: u64) -> Result<Option<Block>, ClientError> {
        match self.get_optional(&paths::block(height)).await? {
            None => Ok(None),
            Some(v) => decode::block(&decode::block_bytes(v)?, height).map(Some),
        }
    }

    /// Up to `limit` consecutive committed blocks from `from`, each checked
    /// to sit at its height.
    pub async fn blocks(&self, from: u64, limit: u64) -> Result<Vec<Block>, ClientError> {
        let range = self.get_as(&paths::blocks(from, limit)).await?;
        decode::blocks(&decode::block_range(range, from, limit)?, from)
    }

    /// An account's committed state, if it exists.
    pub async fn account(
        &self,
        owner: &LoyaltyId,
        currency: &CurrencyId,
    ) -> Result<Option<AccountState>, ClientError> {
        self.get_optional(&paths::account(owner, currency))
            .await?
            .map(decode::account)
            .transpose()
    }

    /// Registered currencies, and the exchange rates in force.
    pub async fn currencies(&self) -> Result<CurrencyTable, ClientError> {
        decode::currencies(self.get_as(paths::CURRENCIES).await?)
    }

    /// Notes from position `from` on (one page), and the pool's size.
    pub async fn pool_notes(
        &self,
        from: u64,
    ) -> Result<(Vec<(u64, NoteOutput)>, u64), ClientError> {
        decode::pool_notes(self.get_as(&paths::pool_notes(from)).await?)
    }

    /// The authentication path of the note at `position`, and the root it
    /// leads to.
    pub async fn pool_path(&self, position: u64) -> Result<(MerklePath, TreeRoot), ClientError> {
        decode::pool_path(self.get_as(&paths::pool_path(position)).await?)
    }

    /// Whether `nullifier` was revealed.
    pub async fn is_spent(&self, nullifier: &Nullifier) -> Result<bool, ClientError> {
        let v: crate::pool::NullifierStatus = self.get_as(&paths::nullifier(nullifier)).await?;
        Ok(v.spent)
    }

    /// The partnership terms in force.
    pub async fn partnerships(&self) -> Result<Vec<SignedTerms>, ClientError> {
        decode::partnerships(self.get_as(paths::PARTNERSHIPS).await?)
    }

    /// The settlement figures of `epoch` (spec §16.5).
    pub async fn settlement(&self, epoch: u64) -> Result<SettlementReport, ClientError> {
        settlement::report(self.get_as(&paths::settlement(epoch)).await?, epoch)
    }

    /// Submits `tx`; its ID once admitted to the mempool.
    pub async fn submit(&self, tx: &Transaction) -> Result<TxId, ClientError> {
        let request = self
            .http
            .post(self.url(paths::TRANSACTIONS))
            .header("content-type", "application/octet-stream")
            .body(tx.to_bytes());
        let (status, body) = self.send(request).await?;
        decode::submitted(answer(status, &body)?)
    }

    /// Where `id` is: `None` if the node knows nothing of it, `Some(None)`
    /// while pending, `Some(Some(height))` once committed (poll it: a
    /// browser has no thread to sleep on).
    pub async fn committed_height(&self, id: &TxId) -> Result<Option<Option<u64>>, ClientError> {
        match self
            .get_optional::<TransactionStatus>(&paths::transaction(id))
            .await?
        {
            None => Ok(None),
            Some(v) => decode::committed_height(&v).map(Some),
        }
    }
}
