//! `GET /v1/settlement/{epoch}`, decoded into the node's own figure types
//! (so a reader sums and compares exactly what the node stored).

use std::collections::BTreeMap;

use coalition_core::currency::CurrencyId;
use coalition_core::elgamal::Ciphertext;
use coalition_core::keys::LoyaltyId;
use serde_json::Value;

use super::{array32, decoded, field, rate_field, text_field, u64_field, Client, ClientError};
use coalition_ledger::settlement::{
    ExchangeFigures, ExchangeKey, Figures, IssuerSum, PairFigures, PairKey, Sealed,
};

/// One epoch's settlement figures as a node serves them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementReport {
    /// The epoch.
    pub epoch: u64,
    /// Whether the epoch's last block is committed.
    pub complete: bool,
    /// The height the figures are as of (the node's tip when it read them).
    pub height: u64,
    /// The figures.
    pub figures: Figures,
    /// The issuer of each currency the figures name, as the node says (a
    /// reader settling with its counterparties takes them from
    /// `/v1/currencies` instead, where they are signed into registrations).
    pub issuers: BTreeMap<CurrencyId, LoyaltyId>,
}

fn currency(value: &Value, name: &str) -> Result<CurrencyId, ClientError> {
    CurrencyId::new(text_field(value, name)?)
        .map_err(|e| ClientError::Malformed(format!("field {name:?}: {e}")))
}

fn ciphertext(value: &Value, name: &str) -> Result<Option<Ciphertext>, ClientError> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => Ok(Some(decoded(value, name)?)),
    }
}

fn count(value: &Value, name: &str) -> Result<u64, ClientError> {
    u64_field(value, name)
}

fn sealed(value: &Value, name: &str) -> Result<Option<Sealed>, ClientError> {
    let v = field(value, name)?;
    if v.is_null() {
        return Ok(None);
    }
    Ok(Some(Sealed {
        merchant: decoded(v, "merchant")?,
        issuer: ciphertext(v, "issuer")?,
        auditor: ciphertext(v, "auditor")?,
    }))
}

fn issuer_sum(value: &Value, name: &str) -> Result<Option<IssuerSum>, ClientError> {
    let v = field(value, name)?;
    if v.is_null() {
        return Ok(None);
    }
    Ok(Some(IssuerSum {
        issuer: decoded(v, "issuer")?,
        auditor: ciphertext(v, "auditor")?,
    }))
}

fn issuer(
    issuers: &mut BTreeMap<CurrencyId, LoyaltyId>,
    value: &Value,
    name: &str,
    currency: CurrencyId,
) -> Result<(), ClientError> {
    if !field(value, name)?.is_null() {
        let issuer = LoyaltyId(array32(value, name)?);
        if *issuers.entry(currency).or_insert(issuer) != issuer {
            return Err(ClientError::Malformed(format!(
                "two issuers named for {currency}"
            )));
        }
    }
    Ok(())
}

fn list<'v>(value: &'v Value, name: &str) -> Result<&'v Vec<Value>, ClientError> {
    field(value, name)?
        .as_array()
        .ok_or_else(|| ClientError::Malformed(format!("field {name:?} is not a list")))
}

impl Client {
    /// The settlement figures of `epoch` (spec §16.5).
    pub fn settlement(&self, epoch: u64) -> Result<SettlementReport, ClientError> {
        let v = self.get_json(&format!("/v1/settlement/{epoch}"))?;
        if u64_field(&v, "epoch")? != epoch {
            return Err(ClientError::Malformed("another epoch answered".into()));
        }
        let mut figures = Figures::default();
        let mut issuers = BTreeMap::new();
        for p in list(&v, "pairs")? {
            let key = PairKey {
                epoch,
                merchant: LoyaltyId(array32(p, "merchant")?),
                currency: currency(p, "currency")?,
            };
            issuer(&mut issuers, p, "issuer", key.currency)?;
            let f = PairFigures {
                burns: count(p, "burns")?,
                burned: sealed(p, "burned")?,
                transfers: count(p, "transfers")?,
                transferred: sealed(p, "transferred")?,
                redeems: count(p, "redeems")?,
                redeemed: count(p, "redeemed")?,
            };
            if figures.pairs.insert(key, f).is_some() {
                return Err(ClientError::Malformed("a settlement pair twice".into()));
            }
        }
        for e in list(&v, "exchanges")? {
            let key = ExchangeKey {
                epoch,
                from: currency(e, "from")?,
                to: currency(e, "to")?,
                rate: rate_field(e, "rate")?
                    .ok_or_else(|| ClientError::Malformed("exchange without a rate".into()))?,
            };
            issuer(&mut issuers, e, "from_issuer", key.from)?;
            issuer(&mut issuers, e, "to_issuer", key.to)?;
            let f = ExchangeFigures {
                exchanges: count(e, "exchanges")?,
                debited: issuer_sum(e, "debited")?,
                credited: issuer_sum(e, "credited")?,
            };
            if figures.exchanges.insert(key, f).is_some() {
                return Err(ClientError::Malformed("an exchange group twice".into()));
            }
        }
        Ok(SettlementReport {
            epoch,
            complete: field(&v, "complete")?.as_bool().unwrap_or(false),
            height: u64_field(&v, "height")?,
            figures,
            issuers,
        })
    }
}
