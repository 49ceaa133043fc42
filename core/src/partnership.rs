//! Partnership terms (spec §16.4): what partners agree on, signed by every
//! partner they name, versioned. Exchange rates between their currencies
//! (integer `p/q`) and earn rules (points per currency unit spent, per SKU or
//! category, with bonus multipliers valid in a time window).
//!
//! Terms enter the ledger as a `Terms` transaction (tag 11); the node keeps
//! one version in force per set of partners, and its rule engine turns
//! purchases into `Issue` transactions under the terms in force.

use crate::currency::{CurrencyId, ExchangeRate};
use crate::encoding::{Decode, Encode, Reader};
use crate::errors::DecodeError;
use crate::ids::ChainId;
use crate::keys::{IdentityKeys, LoyaltyId, PublicIdentity, TxSignature};
use thiserror::Error;

const TERMS_DOMAIN: &[u8] = b"coalition/v1/partnership-terms";
/// Longest SKU or category name, in bytes.
pub const MAX_NAME: usize = 64;
/// Most partners, rates or rules in one set of terms.
pub const MAX_ITEMS: usize = 256;

/// Why terms or a purchase were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TermsError {
    /// Not exactly one valid signature per named partner, in order.
    #[error("terms must be signed by every partner they name")]
    Signatures,
    /// A version not newer than the one in force.
    #[error("terms version {got} is not newer than {current}")]
    StaleVersion {
        /// In force.
        current: u64,
        /// Offered.
        got: u64,
    },
    /// Terms for another ledger.
    #[error("terms are for another chain")]
    WrongChain,
    /// A rule or rate names a partner or currency the terms do not cover.
    #[error("invalid terms: {0}")]
    Invalid(&'static str),
    /// Points overflow.
    #[error("points owed exceed the range of an Issue")]
    Overflow,
}

/// Which line items a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    /// Every item.
    Any,
    /// Items of this category.
    Category(String),
    /// Items with this SKU.
    Sku(String),
}

impl Matcher {
    /// How specific the matcher is: SKU (2) beats category (1) beats any (0).
    pub fn specificity(&self) -> u8 {
        match self {
            Matcher::Any => 0,
            Matcher::Category(_) => 1,
            Matcher::Sku(_) => 2,
        }
    }

    /// Whether an item with this SKU and category matches.
    pub fn matches(&self, sku: &str, category: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Category(c) => c == category,
            Matcher::Sku(s) => s == sku,
        }
    }
}

/// A bonus multiplier valid in `[from_ms, until_ms)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bonus {
    /// Multiplier (≥ 1).
    pub multiplier: u32,
    /// Start (inclusive).
    pub from_ms: u64,
    /// End (exclusive).
    pub until_ms: u64,
}

/// Points in `currency` for purchases at `partner`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarnRule {
    /// Where the purchase happens.
    pub partner: LoyaltyId,
    /// The currency the points are in.
    pub currency: CurrencyId,
    /// Which items.
    pub matcher: Matcher,
    /// Points per currency unit spent, as `p/q`.
    pub points_per_unit: ExchangeRate,
    /// Optional bonus window.
    pub bonus: Option<Bonus>,
}

/// What partners agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnershipTerms {
    /// The ledger.
    pub chain: ChainId,
    /// Version; a newer one replaces the older for the same partners.
    pub version: u64,
    /// Every partner bound by these terms (each must sign).
    pub partners: Vec<PublicIdentity>,
    /// Exchange rates `from → to`.
    pub rates: Vec<(CurrencyId, CurrencyId, ExchangeRate)>,
    /// Earn rules.
    pub earn_rules: Vec<EarnRule>,
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

fn read_name(reader: &mut Reader<'_>) -> Result<String, DecodeError> {
    let len = reader.u8("name length")? as usize;
    if len > MAX_NAME {
        return Err(DecodeError::OutOfBounds {
            what: "name length",
            value: len as u64,
        });
    }
    String::from_utf8(reader.take(len, "name")?.to_vec()).map_err(|_| DecodeError::Invalid {
        what: "name",
        reason: "not UTF-8",
    })
}

fn read_count(reader: &mut Reader<'_>, what: &'static str) -> Result<usize, DecodeError> {
    let n = reader.u32(what)? as usize;
    if n > MAX_ITEMS {
        return Err(DecodeError::OutOfBounds {
            what,
            value: n as u64,
        });
    }
    Ok(n)
}

impl Encode for PartnershipTerms {
    fn encode(&self, out: &mut Vec<u8>) {
        self.chain.encode(out);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.partners.len() as u32).to_le_bytes());
        for p in &self.partners {
            p.encode(out);
        }
        out.extend_from_slice(&(self.rates.len() as u32).to_le_bytes());
        for (from, to, rate) in &self.rates {
            from.encode(out);
            to.encode(out);
            rate.encode(out);
        }
        out.extend_from_slice(&(self.earn_rules.len() as u32).to_le_bytes());
        for rule in &self.earn_rules {
            out.extend_from_slice(&rule.partner.0);
            rule.currency.encode(out);
            match &rule.matcher {
                Matcher::Any => out.push(0),
                Matcher::Category(c) => {
                    out.push(1);
                    put_name(out, c);
                }
                Matcher::Sku(s) => {
                    out.push(2);
                    put_name(out, s);
                }
            }
            rule.points_per_unit.encode(out);
            match &rule.bonus {
                None => out.push(0),
                Some(b) => {
                    out.push(1);
                    out.extend_from_slice(&b.multiplier.to_le_bytes());
                    out.extend_from_slice(&b.from_ms.to_le_bytes());
                    out.extend_from_slice(&b.until_ms.to_le_bytes());
                }
            }
        }
    }
}

impl Decode for PartnershipTerms {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain = ChainId::decode(reader)?;
        let version = reader.u64("version")?;
        let partners = (0..read_count(reader, "partner count")?)
            .map(|_| PublicIdentity::decode(reader))
            .collect::<Result<_, _>>()?;
        let rates = (0..read_count(reader, "rate count")?)
            .map(|_| {
                Ok((
                    CurrencyId::decode(reader)?,
                    CurrencyId::decode(reader)?,
                    ExchangeRate::decode(reader)?,
                ))
            })
            .collect::<Result<_, DecodeError>>()?;
        let earn_rules = (0..read_count(reader, "rule count")?)
            .map(|_| {
                let partner = LoyaltyId(reader.array("rule partner")?);
                let currency = CurrencyId::decode(reader)?;
                let matcher = match reader.u8("matcher")? {
                    0 => Matcher::Any,
                    1 => Matcher::Category(read_name(reader)?),
                    2 => Matcher::Sku(read_name(reader)?),
                    tag => {
                        return Err(DecodeError::UnknownTag {
                            what: "matcher",
                            tag,
                        })
                    }
                };
                let points_per_unit = ExchangeRate::decode(reader)?;
                let bonus = match reader.flag("bonus")? {
                    false => None,
                    true => Some(Bonus {
                        multiplier: reader.u32("multiplier")?,
                        from_ms: reader.u64("bonus start")?,
                        until_ms: reader.u64("bonus end")?,
                    }),
                };
                Ok(EarnRule {
                    partner,
                    currency,
                    matcher,
                    points_per_unit,
                    bonus,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(PartnershipTerms {
            chain,
            version,
            partners,
            rates,
            earn_rules,
        })
    }
}

impl PartnershipTerms {
    /// What each partner signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut out = TERMS_DOMAIN.to_vec();
        self.encode(&mut out);
        out
    }

    /// The set of partners (sorted loyalty IDs): terms for the same set
    /// replace each other by version.
    pub fn partner_set(&self) -> Vec<LoyaltyId> {
        let mut ids: Vec<LoyaltyId> = self
            .partners
            .iter()
            .map(PublicIdentity::loyalty_id)
            .collect();
        ids.sort();
        ids
    }

    /// Whether the terms are well formed (partners distinct and at most
    /// the bound, rules and rates sane), before anyone signs them.
    pub fn check(&self) -> Result<(), TermsError> {
        let set = self.partner_set();
        if set.is_empty() || set.windows(2).any(|w| w[0] == w[1]) {
            return Err(TermsError::Invalid(
                "partners must be distinct and at least one",
            ));
        }
        if set.len() > MAX_ITEMS
            || self.rates.len() > MAX_ITEMS
            || self.earn_rules.len() > MAX_ITEMS
        {
            return Err(TermsError::Invalid("too many partners, rates or rules"));
        }
        for rule in &self.earn_rules {
            if let Matcher::Category(name) | Matcher::Sku(name) = &rule.matcher {
                if name.len() > MAX_NAME {
                    return Err(TermsError::Invalid("SKU or category name too long"));
                }
            }
            if !set.contains(&rule.partner) {
                return Err(TermsError::Invalid(
                    "an earn rule names a partner outside the terms",
                ));
            }
            if let Some(b) = rule.bonus {
                if b.multiplier == 0 || b.from_ms >= b.until_ms {
                    return Err(TermsError::Invalid(
                        "a bonus needs a multiplier ≥ 1 and a non-empty window",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Signed by every partner, in the order they are named.
    pub fn sign(self, keys: &[&IdentityKeys]) -> SignedTerms {
        let message = self.signing_message();
        SignedTerms {
            signatures: keys.iter().map(|k| k.sign(&message)).collect(),
            terms: self,
        }
    }
}

/// Terms with one signature per named partner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTerms {
    /// The terms.
    pub terms: PartnershipTerms,
    /// `signatures[i]` by `terms.partners[i]`.
    pub signatures: Vec<TxSignature>,
}

impl SignedTerms {
    /// Every named partner signed (strict Ed25519) and the terms are well formed.
    pub fn verify(&self) -> Result<(), TermsError> {
        self.terms.check()?;
        if self.signatures.len() != self.terms.partners.len() {
            return Err(TermsError::Signatures);
        }
        let message = self.terms.signing_message();
        for (partner, signature) in self.terms.partners.iter().zip(&self.signatures) {
            partner
                .signing
                .verify(&message, signature)
                .map_err(|_| TermsError::Signatures)?;
        }
        Ok(())
    }
}

impl Encode for SignedTerms {
    fn encode(&self, out: &mut Vec<u8>) {
        self.terms.encode(out);
        out.extend_from_slice(&(self.signatures.len() as u32).to_le_bytes());
        for signature in &self.signatures {
            signature.encode(out);
        }
    }
}

impl Decode for SignedTerms {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let terms = PartnershipTerms::decode(reader)?;
        let count = read_count(reader, "signature count")?;
        if count != terms.partners.len() {
            return Err(DecodeError::Invalid {
                what: "signature count",
                reason: "must equal the number of partners",
            });
        }
        let signatures = (0..count)
            .map(|_| TxSignature::decode(reader))
            .collect::<Result<_, _>>()?;
        Ok(SignedTerms { terms, signatures })
    }
}
