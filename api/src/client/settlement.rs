//! `GET /v1/settlement/{epoch}`, decoded into the node's own figure types
//! (so a reader sums and compares exactly what the node stored).

use std::collections::BTreeMap;

use coalition_core::currency::CurrencyId;
use coalition_core::elgamal::Ciphertext;
use coalition_core::keys::LoyaltyId;

use super::decode::{array32, currency_id, decoded, rate};
use super::ClientError;
use crate::settlement as wire;
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

fn ciphertext(text: &Option<String>, name: &str) -> Result<Option<Ciphertext>, ClientError> {
    text.as_deref().map(|t| decoded(t, name)).transpose()
}

fn sealed(value: &Option<wire::SealedSum>) -> Result<Option<Sealed>, ClientError> {
    let Some(v) = value else { return Ok(None) };
    Ok(Some(Sealed {
        merchant: decoded(&v.merchant, "merchant")?,
        issuer: ciphertext(&v.issuer, "issuer")?,
        auditor: ciphertext(&v.auditor, "auditor")?,
    }))
}

fn issuer_sum(value: &Option<wire::IssuerSum>) -> Result<Option<IssuerSum>, ClientError> {
    let Some(v) = value else { return Ok(None) };
    Ok(Some(IssuerSum {
        issuer: decoded(&v.issuer, "issuer")?,
        auditor: ciphertext(&v.auditor, "auditor")?,
    }))
}

fn issuer(
    issuers: &mut BTreeMap<CurrencyId, LoyaltyId>,
    text: &Option<String>,
    name: &str,
    currency: CurrencyId,
) -> Result<(), ClientError> {
    if let Some(text) = text {
        let issuer = LoyaltyId(array32(text, name)?);
        if *issuers.entry(currency).or_insert(issuer) != issuer {
            return Err(ClientError::Malformed(format!(
                "two issuers named for {currency}"
            )));
        }
    }
    Ok(())
}

/// The settlement figures of `epoch` (spec §16.5) as the node answered
/// them, checked to be that epoch's.
pub(crate) fn report(v: wire::Settlement, epoch: u64) -> Result<SettlementReport, ClientError> {
    if v.epoch != epoch {
        return Err(ClientError::Malformed("another epoch answered".into()));
    }
    let mut figures = Figures::default();
    let mut issuers = BTreeMap::new();
    for p in &v.pairs {
        let key = PairKey {
            epoch,
            merchant: LoyaltyId(array32(&p.merchant, "merchant")?),
            currency: currency_id(&p.currency, "currency")?,
        };
        issuer(&mut issuers, &p.issuer, "issuer", key.currency)?;
        let f = PairFigures {
            burns: p.burns,
            burned: sealed(&p.burned)?,
            transfers: p.transfers,
            transferred: sealed(&p.transferred)?,
            redeems: p.redeems,
            redeemed: p.redeemed,
        };
        if figures.pairs.insert(key, f).is_some() {
            return Err(ClientError::Malformed("a settlement pair twice".into()));
        }
    }
    for e in &v.exchanges {
        let key = ExchangeKey {
            epoch,
            from: currency_id(&e.from, "from")?,
            to: currency_id(&e.to, "to")?,
            rate: rate(e.rate, "rate")?,
        };
        issuer(&mut issuers, &e.from_issuer, "from_issuer", key.from)?;
        issuer(&mut issuers, &e.to_issuer, "to_issuer", key.to)?;
        let f = ExchangeFigures {
            exchanges: e.exchanges,
            debited: issuer_sum(&e.debited)?,
            credited: issuer_sum(&e.credited)?,
        };
        if figures.exchanges.insert(key, f).is_some() {
            return Err(ClientError::Malformed("an exchange group twice".into()));
        }
    }
    Ok(SettlementReport {
        epoch,
        complete: v.complete,
        height: v.height,
        figures,
        issuers,
    })
}
