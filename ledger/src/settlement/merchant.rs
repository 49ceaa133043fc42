//! Merchant figures: per (epoch, merchant `M`, currency `c` issued by
//! `I`), what `M` burned back to `I`, took in by transfer, and was paid
//! from the pool.

use coalition_core::currency::CurrencyId;
use coalition_core::elgamal::Ciphertext;
use coalition_core::encoding::{Decode, Encode, Reader};
use coalition_core::keys::LoyaltyId;
use coalition_core::DecodeError;

use super::sums::{add, put_opt, read_opt};

/// Identifies one merchant figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PairKey {
    /// Epoch number: block `h ≥ 1` is in epoch `(h − 1) / epoch_blocks`.
    pub epoch: u64,
    /// The merchant.
    pub merchant: LoyaltyId,
    /// The currency (its issuer is the other party).
    pub currency: CurrencyId,
}

impl PairKey {
    /// `epoch (u64 BE) ‖ merchant (32) ‖ currency (8)`: sorts by epoch.
    pub fn to_key(&self) -> Vec<u8> {
        let mut k = self.epoch.to_be_bytes().to_vec();
        k.extend_from_slice(&self.merchant.0);
        k.extend_from_slice(self.currency.as_bytes());
        k
    }

    /// Inverse of [`PairKey::to_key`].
    pub fn from_key(key: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(key);
        let epoch = u64::from_be_bytes(r.array("epoch")?);
        let merchant = LoyaltyId(r.array("merchant")?);
        let currency = CurrencyId::decode(&mut r)?;
        r.finish()?;
        Ok(PairKey {
            epoch,
            merchant,
            currency,
        })
    }
}

/// One reader's view of a sum: a ciphertext under that reader's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Under the merchant's key.
    pub merchant: Ciphertext,
    /// Under the issuer's key (`None` for transfers, which the issuer
    /// cannot read).
    pub issuer: Option<Ciphertext>,
    /// Under the auditor's key, if the currency has one.
    pub auditor: Option<Ciphertext>,
}

/// The sums for one pair and epoch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PairFigures {
    /// Number of burns.
    pub burns: u64,
    /// Σ burned amounts (merchant, issuer, auditor).
    pub burned: Option<Sealed>,
    /// Number of transfers in.
    pub transfers: u64,
    /// Σ transferred amounts (merchant, auditor).
    pub transferred: Option<Sealed>,
    /// Number of redemptions through the pool.
    pub redeems: u64,
    /// Σ redeemed values (public).
    pub redeemed: u64,
}

/// Adds one amount, as its three readers see it, into `slot`.
pub(super) fn accumulate(
    slot: &mut Option<Sealed>,
    merchant: Option<Ciphertext>,
    issuer: Option<Ciphertext>,
    auditor: Option<Ciphertext>,
) {
    let Some(merchant) = merchant else { return };
    match slot {
        None => {
            *slot = Some(Sealed {
                merchant,
                issuer,
                auditor,
            })
        }
        Some(s) => {
            s.merchant = s.merchant + merchant;
            add(&mut s.issuer, issuer);
            add(&mut s.auditor, auditor);
        }
    }
}

impl PairFigures {
    /// Adds `other` (the same pair, a later block).
    pub fn merge(&mut self, other: &PairFigures) {
        self.burns = self.burns.saturating_add(other.burns);
        if let Some(s) = other.burned {
            accumulate(&mut self.burned, Some(s.merchant), s.issuer, s.auditor);
        }
        self.transfers = self.transfers.saturating_add(other.transfers);
        if let Some(s) = other.transferred {
            accumulate(&mut self.transferred, Some(s.merchant), s.issuer, s.auditor);
        }
        self.redeems = self.redeems.saturating_add(other.redeems);
        self.redeemed = self.redeemed.saturating_add(other.redeemed);
    }
}

fn put_sealed(out: &mut Vec<u8>, s: &Option<Sealed>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            s.merchant.encode(out);
            put_opt(out, &s.issuer);
            put_opt(out, &s.auditor);
        }
    }
}

fn read_sealed(r: &mut Reader<'_>) -> Result<Option<Sealed>, DecodeError> {
    Ok(match r.flag("sum present")? {
        false => None,
        true => Some(Sealed {
            merchant: Ciphertext::decode(r)?,
            issuer: read_opt(r)?,
            auditor: read_opt(r)?,
        }),
    })
}

impl Encode for PairFigures {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.burns.to_le_bytes());
        put_sealed(out, &self.burned);
        out.extend_from_slice(&self.transfers.to_le_bytes());
        put_sealed(out, &self.transferred);
        out.extend_from_slice(&self.redeems.to_le_bytes());
        out.extend_from_slice(&self.redeemed.to_le_bytes());
    }
}

impl Decode for PairFigures {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PairFigures {
            burns: r.u64("burns")?,
            burned: read_sealed(r)?,
            transfers: r.u64("transfers")?,
            transferred: read_sealed(r)?,
            redeems: r.u64("redeems")?,
            redeemed: r.u64("redeemed")?,
        })
    }
}
