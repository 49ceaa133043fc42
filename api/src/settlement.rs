//! `GET /v1/settlement/{epoch}` (spec §16.5): what a merchant redeemed and
//! what was exchanged, one ciphertext per reader.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Rate;

/// A confidential sum encrypted once for each reader (hex ciphertexts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SealedSum {
    /// For the merchant.
    pub merchant: String,
    /// For the currency's issuer.
    pub issuer: Option<String>,
    /// For the currency's auditor.
    pub auditor: Option<String>,
}

/// An exchange sum for one issuer (and its auditor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuerSum {
    /// For the issuer (hex ciphertext).
    pub issuer: String,
    /// For its auditor (hex ciphertext).
    pub auditor: Option<String>,
}

/// What was redeemed at one merchant in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PairFigures {
    /// The merchant's loyalty ID (hex).
    pub merchant: String,
    /// Currency symbol.
    pub currency: String,
    /// The currency's issuer (hex loyalty ID).
    pub issuer: Option<String>,
    /// Burns at the merchant.
    pub burns: u64,
    /// Their confidential sum.
    pub burned: Option<SealedSum>,
    /// Transfers to the merchant.
    pub transfers: u64,
    /// Their confidential sum.
    pub transferred: Option<SealedSum>,
    /// Shielded redemptions at the merchant.
    pub redeems: u64,
    /// Their public sum.
    pub redeemed: u64,
}

/// What was exchanged from one currency to another at one rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExchangeFiguresAnswer {
    /// From this currency.
    pub from: String,
    /// To this currency.
    pub to: String,
    /// Its issuer (hex loyalty ID).
    pub from_issuer: Option<String>,
    /// Its issuer (hex loyalty ID).
    pub to_issuer: Option<String>,
    /// The rate, `[p, q]`.
    pub rate: Rate,
    /// Exchanges.
    pub exchanges: u64,
    /// Debited from `from`, for its issuer.
    pub debited: Option<IssuerSum>,
    /// Credited in `to`, for its issuer.
    pub credited: Option<IssuerSum>,
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settlement {
    /// The epoch.
    pub epoch: u64,
    /// Its first block.
    pub first_height: u64,
    /// Its last block.
    pub last_height: u64,
    /// The height the figures are as of.
    pub height: u64,
    /// Whether the epoch's last block is committed.
    pub complete: bool,
    /// Per merchant and currency.
    pub pairs: Vec<PairFigures>,
    /// Per currency pair and rate.
    pub exchanges: Vec<ExchangeFiguresAnswer>,
}
