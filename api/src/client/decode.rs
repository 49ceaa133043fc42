//! From the wire types to the ledger's domain types, for both clients:
//! every hex field through the ledger's strict decoders (a malicious node
//! cannot feed a wallet a non-canonical point), and every answer checked
//! against the request it answers (a block range from another start, a
//! block at the wrong height, a genesis that does not hash to the chain).

use coalition_circuits::merkle::{MerklePath, DEPTH};
use coalition_circuits::note::{Epoch, TreeRoot};
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::encoding::{decode_exact, Decode};
use coalition_core::partnership::SignedTerms;
use coalition_core::shielded::NoteOutput;
use coalition_core::transaction::{ChainId, TxId};
use coalition_ledger::block::Block;
use coalition_ledger::genesis::Genesis;

use super::ClientError;
use crate::transactions::{Submitted, TransactionState, TransactionStatus};
use crate::{accounts, chain, currencies, pool, Rate};

/// The routes' paths, as both clients request them.
pub mod paths {
    use coalition_circuits::note::Nullifier;
    use coalition_core::currency::CurrencyId;
    use coalition_core::keys::LoyaltyId;
    use coalition_core::transaction::TxId;

    /// `GET /v1/status`.
    pub const STATUS: &str = "/v1/status";
    /// `GET /v1/genesis`.
    pub const GENESIS: &str = "/v1/genesis";
    /// `GET /v1/currencies`.
    pub const CURRENCIES: &str = "/v1/currencies";
    /// `GET /v1/partnerships`.
    pub const PARTNERSHIPS: &str = "/v1/partnerships";
    /// `POST /v1/transactions`.
    pub const TRANSACTIONS: &str = "/v1/transactions";

    /// `GET /v1/blocks/{height}`.
    pub fn block(height: u64) -> String {
        format!("/v1/blocks/{height}")
    }

    /// `GET /v1/blocks?from&limit`.
    pub fn blocks(from: u64, limit: u64) -> String {
        format!("/v1/blocks?from={from}&limit={limit}")
    }

    /// `GET /v1/accounts/{id}/{currency}`.
    pub fn account(owner: &LoyaltyId, currency: &CurrencyId) -> String {
        format!(
            "/v1/accounts/{}/{}",
            hex::encode(owner.0),
            currency.symbol()
        )
    }

    /// `GET /v1/pool/notes?from&limit`, a whole page.
    pub fn pool_notes(from: u64) -> String {
        format!("/v1/pool/notes?from={from}&limit={}", crate::MAX_PAGE)
    }

    /// `GET /v1/pool/paths/{position}`.
    pub fn pool_path(position: u64) -> String {
        format!("/v1/pool/paths/{position}")
    }

    /// `GET /v1/pool/nullifiers/{nullifier}`.
    pub fn nullifier(nullifier: &Nullifier) -> String {
        format!("/v1/pool/nullifiers/{}", hex::encode(nullifier.to_bytes()))
    }

    /// `GET /v1/settlement/{epoch}`.
    pub fn settlement(epoch: u64) -> String {
        format!("/v1/settlement/{epoch}")
    }

    /// `GET /v1/transactions/{id}`.
    pub fn transaction(id: &TxId) -> String {
        format!("/v1/transactions/{}", hex::encode(id.0))
    }
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

/// Registered currencies, and the exchange rates in force as
/// `(from, to, rate)`: what `GET /v1/currencies` answers, decoded.
pub type CurrencyTable = (
    Vec<CurrencyListing>,
    Vec<(CurrencyId, CurrencyId, ExchangeRate)>,
);

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

pub(crate) fn status(v: chain::Status) -> Result<NodeStatus, ClientError> {
    Ok(NodeStatus {
        chain: ChainId(array32(&v.chain, "chain")?),
        coalition: v.coalition,
        height: v.height,
        mempool: v.mempool,
        settlement_epoch: match v.settlement_epoch {
            None => None,
            Some(u32::MAX) => return Err(malformed("settlement_epoch", "not an epoch")),
            Some(e) => Some(Epoch(e)),
        },
    })
}

pub(crate) fn genesis(v: chain::GenesisAnswer) -> Result<Genesis, ClientError> {
    let genesis: Genesis = decoded(&v.genesis, "genesis")?;
    if genesis.chain_id().0 != array32(&v.chain, "chain")? {
        return Err(ClientError::Malformed(
            "the genesis does not hash to the chain ID".into(),
        ));
    }
    Ok(genesis)
}

pub(crate) fn block_bytes(v: chain::BlockAnswer) -> Result<Vec<u8>, ClientError> {
    hex_bytes(&v.bytes, "bytes")
}

pub(crate) fn block(bytes: &[u8], height: u64) -> Result<Block, ClientError> {
    coalition_ledger::block::decode_block(bytes)
        .map_err(|e| ClientError::Malformed(format!("block {height}: {e}")))
}

/// A range's encodings, checked to answer `from` and `limit`.
pub(crate) fn block_range(
    v: chain::BlockRange,
    from: u64,
    limit: u64,
) -> Result<Vec<Vec<u8>>, ClientError> {
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

/// Consecutive encodings from `from`, decoded, each checked to sit at its
/// height.
pub(crate) fn blocks(encodings: &[Vec<u8>], from: u64) -> Result<Vec<Block>, ClientError> {
    encodings
        .iter()
        .zip(from..)
        .map(|(bytes, height)| {
            let block = block(bytes, height)?;
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

pub(crate) fn account(v: accounts::Account) -> Result<AccountState, ClientError> {
    Ok(AccountState {
        owner: decoded(&v.owner, "owner")?,
        available: decoded(&v.available, "available")?,
        pending: decoded(&v.pending, "pending")?,
        pending_credits: v.pending_credits,
        nonce: v.nonce,
    })
}

/// Registered currencies, and the exchange rates in force.
pub(crate) fn currencies(v: currencies::Currencies) -> Result<CurrencyTable, ClientError> {
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

#[allow(clippy::type_complexity)]
pub(crate) fn pool_notes(v: pool::PoolNotes) -> Result<(Vec<(u64, NoteOutput)>, u64), ClientError> {
    let mut notes = Vec::new();
    for n in &v.notes {
        notes.push((n.position, decoded(&n.note, "note")?));
    }
    Ok((notes, v.total))
}

pub(crate) fn pool_path(v: pool::PoolPath) -> Result<(MerklePath, TreeRoot), ClientError> {
    let root = TreeRoot::from_bytes(&array32(&v.root, "root")?)
        .map_err(|_| ClientError::Malformed("root is not canonical".into()))?;
    if v.siblings.len() != DEPTH {
        return Err(ClientError::Malformed("path length".into()));
    }
    let mut siblings = [ark_bn254::Fr::from(0u64); DEPTH];
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

pub(crate) fn partnerships(v: currencies::Partnerships) -> Result<Vec<SignedTerms>, ClientError> {
    v.partnerships
        .iter()
        .map(|p| decoded(&p.signed_terms, "signed_terms"))
        .collect()
}

pub(crate) fn submitted(v: Submitted) -> Result<TxId, ClientError> {
    Ok(TxId(array32(&v.id, "id")?))
}

/// The height of a committed transaction, `None` while pending.
pub(crate) fn committed_height(v: &TransactionStatus) -> Result<Option<u64>, ClientError> {
    match v.status {
        TransactionState::Pending => Ok(None),
        TransactionState::Committed => v
            .height
            .map(Some)
            .ok_or_else(|| malformed("height", "missing from a committed status")),
    }
}
