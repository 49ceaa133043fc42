//! Partnership terms and the earn-rule engine (spec §15.4).
//!
//! Partners agree on [`PartnershipTerms`]: exchange rates between their
//! currencies and earn rules (points per currency unit spent, per SKU or
//! category, with bonus multipliers valid in a time window). Terms are
//! versioned and take effect only when **every** partner they name has
//! signed them; a newer signed version for the same set of partners replaces
//! the older. The [`RuleEngine`] turns a purchase at a partner into the
//! points each currency owes under the terms in force at the purchase time,
//! and those into `Issue` transactions signed by the issuer.
//!
//! Arithmetic is exact: points = ⌊amount · p / q⌋ · multiplier, in u128,
//! refused if the total leaves `u64` or an Issue's 32-bit range.

use std::collections::BTreeMap;

use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use coalition_core::encoding::{Decode, Encode, Reader};
use coalition_core::keys::{IdentityKeys, LoyaltyId, PublicIdentity, TxSignature};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_core::DecodeError;
use rand_core::{CryptoRng, RngCore};
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
    fn specificity(&self) -> u8 {
        match self {
            Matcher::Any => 0,
            Matcher::Category(_) => 1,
            Matcher::Sku(_) => 2,
        }
    }

    fn matches(&self, item: &LineItem) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Category(c) => *c == item.category,
            Matcher::Sku(s) => *s == item.sku,
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

    fn check(&self) -> Result<(), TermsError> {
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

/// One purchased item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineItem {
    /// SKU.
    pub sku: String,
    /// Category.
    pub category: String,
    /// Amount spent, in currency units.
    pub amount: u64,
}

/// A purchase at a partner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    /// Where.
    pub partner: LoyaltyId,
    /// Who earns.
    pub customer: PublicIdentity,
    /// What.
    pub items: Vec<LineItem>,
    /// When (milliseconds since the Unix epoch).
    pub time_ms: u64,
}

/// The terms in force, one version per partner set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleEngine {
    chain: Option<ChainId>,
    in_force: BTreeMap<Vec<LoyaltyId>, SignedTerms>,
}

impl RuleEngine {
    /// An engine for `chain` with no terms.
    pub fn new(chain: ChainId) -> Self {
        RuleEngine {
            chain: Some(chain),
            in_force: BTreeMap::new(),
        }
    }

    /// Puts `signed` in force if every partner signed it and it is newer
    /// than the version in force for the same partners.
    pub fn adopt(&mut self, signed: SignedTerms) -> Result<(), TermsError> {
        if Some(signed.terms.chain) != self.chain {
            return Err(TermsError::WrongChain);
        }
        signed.verify()?;
        let key = signed.terms.partner_set();
        if let Some(current) = self.in_force.get(&key) {
            if signed.terms.version <= current.terms.version {
                return Err(TermsError::StaleVersion {
                    current: current.terms.version,
                    got: signed.terms.version,
                });
            }
        }
        self.in_force.insert(key, signed);
        Ok(())
    }

    /// The agreed rate `from → to`, from the newest terms that set one.
    pub fn rate(&self, from: &CurrencyId, to: &CurrencyId) -> Option<ExchangeRate> {
        self.in_force
            .values()
            .flat_map(|s| s.terms.rates.iter())
            .find(|(f, t, _)| f == from && t == to)
            .map(|(_, _, r)| *r)
    }

    /// Points owed per currency for `purchase`: for each item and currency,
    /// the most specific matching rule at the purchase's partner (SKU, then
    /// category, then any), `⌊amount·p/q⌋`, times the bonus multiplier when
    /// the purchase falls in its window.
    pub fn points(&self, purchase: &Purchase) -> Result<BTreeMap<CurrencyId, u64>, TermsError> {
        let rules: Vec<&EarnRule> = self
            .in_force
            .values()
            .flat_map(|s| s.terms.earn_rules.iter())
            .filter(|r| r.partner == purchase.partner)
            .collect();
        let mut owed: BTreeMap<CurrencyId, u128> = BTreeMap::new();
        for item in &purchase.items {
            let mut best: BTreeMap<CurrencyId, &EarnRule> = BTreeMap::new();
            for rule in rules.iter().filter(|r| r.matcher.matches(item)) {
                let slot = best.entry(rule.currency).or_insert(rule);
                if rule.matcher.specificity() > slot.matcher.specificity() {
                    *slot = rule;
                }
            }
            for (currency, rule) in best {
                let r = rule.points_per_unit;
                let mut points = u128::from(item.amount) * u128::from(r.numerator())
                    / u128::from(r.denominator());
                if let Some(b) = rule.bonus {
                    if (b.from_ms..b.until_ms).contains(&purchase.time_ms) {
                        points *= u128::from(b.multiplier);
                    }
                }
                *owed.entry(currency).or_insert(0) += points;
            }
        }
        owed.into_iter()
            .filter(|(_, p)| *p > 0)
            .map(|(c, p)| {
                u64::try_from(p)
                    .map(|p| (c, p))
                    .map_err(|_| TermsError::Overflow)
            })
            .collect()
    }

    /// The `Issue` transaction the issuer of `policy` owes for `purchase`
    /// (`None` if the purchase earns nothing in that currency).
    #[allow(clippy::too_many_arguments)]
    pub fn issue_for<R: RngCore + CryptoRng>(
        &self,
        purchase: &Purchase,
        policy: &CurrencyPolicy,
        issuer: &IdentityKeys,
        issuer_nonce: u64,
        rng: &mut R,
    ) -> Result<Option<Transaction>, TermsError> {
        let chain = self.chain.ok_or(TermsError::WrongChain)?;
        let Some(points) = self.points(purchase)?.get(&policy.id).copied() else {
            return Ok(None);
        };
        coalition_prover::transactions::issue(
            chain,
            policy,
            issuer,
            issuer_nonce,
            &purchase.customer,
            points,
            rng,
        )
        .map(Some)
        .map_err(|_| TermsError::Overflow)
    }
}
