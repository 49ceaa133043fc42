//! Settlement between merchants and issuers (spec §16.5).
//!
//! For every epoch (a fixed number of blocks named in the genesis) and every
//! pair (merchant `M`, currency `c` issued by `I`) the node keeps, from the
//! public ledger alone, homomorphic sums of what `M` took in and handed back:
//!
//! * **burned** — `Σ` of `M`'s `Burn` amounts in `c`, one ciphertext per
//!   reader: under `M`'s key, `I`'s key and the auditor's (if `c` has one).
//!   This is the settlement figure: what `I` owes `M` for points redeemed at
//!   `M` and returned. Only `M`, `I` and the auditor can read it.
//! * **transferred in** — `Σ` of `Transfer` amounts to `M` in `c`, under
//!   `M`'s key and the auditor's (a `Transfer` is not encrypted to `I`).
//! * **redeemed** — `Σ` of shielded `Redeem` values paid to `M` in `c`;
//!   public on the ledger, like each `Redeem`'s value.
//!
//! Because ElGamal is additively homomorphic, `Σ Enc(x_i) = Enc(Σ x_i)`:
//! each reader decrypts one ciphertext per pair and epoch with one discrete
//! log. Netting (spec §16.5): partner `P`'s position in epoch `e` is
//! `Σ_c value_c(burned(P, c))` as a merchant `− Σ_{M, c issued by P}
//! value_c(burned(M, c))` as an issuer, where `value_c(x) = ⌊x·p/q⌋` with
//! the currency's settlement value `p/q`. Each pair's value is rounded
//! once and counted once on each side, so positions sum to zero exactly.

use std::collections::BTreeMap;

use coalition_core::currency::CurrencyId;
use coalition_core::elgamal::Ciphertext;
use coalition_core::encoding::{Decode, Encode, Reader};
use coalition_core::keys::LoyaltyId;
use coalition_core::transaction::Transaction;
use coalition_core::DecodeError;

/// Identifies one settlement figure.
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

fn add(slot: &mut Option<Ciphertext>, value: Option<Ciphertext>) {
    *slot = match (*slot, value) {
        (Some(a), Some(b)) => Some(a + b),
        (None, b) => b,
        (a, None) => a,
    };
}

fn accumulate(
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

/// The epoch of block `height` (≥ 1).
pub fn epoch_of(height: u64, epoch_blocks: u64) -> u64 {
    height.saturating_sub(1) / epoch_blocks.max(1)
}

fn pair(
    out: &mut BTreeMap<PairKey, PairFigures>,
    epoch: u64,
    merchant: LoyaltyId,
    currency: CurrencyId,
) -> &mut PairFigures {
    out.entry(PairKey {
        epoch,
        merchant,
        currency,
    })
    .or_default()
}

/// What one block adds to the settlement figures of its epoch.
pub fn block_figures(
    height: u64,
    epoch_blocks: u64,
    transactions: &[Transaction],
) -> BTreeMap<PairKey, PairFigures> {
    let epoch = epoch_of(height, epoch_blocks);
    let mut out: BTreeMap<PairKey, PairFigures> = BTreeMap::new();
    for tx in transactions {
        match tx {
            Transaction::Burn(t) => {
                let f = pair(&mut out, epoch, t.source.loyalty_id(), t.currency);
                f.burns += 1;
                accumulate(
                    &mut f.burned,
                    t.amount.ciphertext(0),
                    t.amount.ciphertext(1),
                    t.amount.ciphertext(2),
                );
            }
            Transaction::Transfer(t) => {
                let f = pair(&mut out, epoch, t.destination.loyalty_id(), t.currency);
                f.transfers += 1;
                accumulate(
                    &mut f.transferred,
                    t.amount.ciphertext(1),
                    None,
                    t.amount.ciphertext(2),
                );
            }
            Transaction::Redeem(t) => {
                let f = pair(&mut out, epoch, t.merchant.loyalty_id(), t.currency);
                f.redeems += 1;
                f.redeemed = f.redeemed.saturating_add(t.value);
            }
            _ => {}
        }
    }
    out
}

impl PairFigures {
    /// Adds `other` (the same pair, a later block).
    pub fn merge(&mut self, other: &PairFigures) {
        self.burns += other.burns;
        if let Some(s) = other.burned {
            accumulate(&mut self.burned, Some(s.merchant), s.issuer, s.auditor);
        }
        self.transfers += other.transfers;
        if let Some(s) = other.transferred {
            accumulate(&mut self.transferred, Some(s.merchant), s.issuer, s.auditor);
        }
        self.redeems += other.redeems;
        self.redeemed = self.redeemed.saturating_add(other.redeemed);
    }
}

fn put_opt(out: &mut Vec<u8>, c: &Option<Ciphertext>) {
    match c {
        None => out.push(0),
        Some(c) => {
            out.push(1);
            c.encode(out);
        }
    }
}

fn read_opt(r: &mut Reader<'_>) -> Result<Option<Ciphertext>, DecodeError> {
    Ok(match r.flag("ciphertext present")? {
        false => None,
        true => Some(Ciphertext::decode(r)?),
    })
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

/// One decrypted settlement figure, as a party computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledPair {
    /// The merchant.
    pub merchant: LoyaltyId,
    /// The issuer.
    pub issuer: LoyaltyId,
    /// The currency.
    pub currency: CurrencyId,
    /// Points burned (returned to the issuer).
    pub burned: u64,
    /// Their value in the settlement unit, `⌊burned·p/q⌋`.
    pub value: u64,
}

/// Net positions in the settlement unit: positive means the coalition owes
/// the partner. Sums to zero over all partners when every pair is counted.
pub fn net_positions(pairs: &[SettledPair]) -> BTreeMap<LoyaltyId, i128> {
    let mut net: BTreeMap<LoyaltyId, i128> = BTreeMap::new();
    for p in pairs {
        if p.merchant == p.issuer {
            continue;
        }
        *net.entry(p.merchant).or_insert(0) += i128::from(p.value);
        *net.entry(p.issuer).or_insert(0) -= i128::from(p.value);
    }
    net
}
