//! Partnership terms from the command line: a JSON terms file, a signature
//! collection that travels from partner to partner, and its submission.
//!
//! Terms file (all amounts are integer ratios `[p, q]`):
//!
//! ```json
//! { "version": 1,
//!   "partners": ["<identity hex>", "..."],
//!   "rates": [{ "from": "MILES", "to": "HPTS", "rate": [3, 2] }],
//!   "earn_rules": [{ "partner": "<loyalty ID hex>", "currency": "MILES",
//!                    "match": { "sku": "COFFEE-1KG" },
//!                    "points_per_unit": [1, 1],
//!                    "bonus": { "multiplier": 5, "from_ms": 0, "until_ms": 1893456000000 } }] }
//! ```
//!
//! `match` is `"any"`, `{"category": …}` or `{"sku": …}`. A signature
//! collection is `{"terms": "<encoded terms hex>", "signatures": {"<loyalty
//! ID hex>": "<signature hex>"}}`: each partner checks the signatures
//! already there, adds its own, and passes it on.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use coalition_api::client::Client;
use coalition_core::currency::{CurrencyId, ExchangeRate};
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::{IdentityKeys, LoyaltyId, TxSignature};
use coalition_core::partnership::{Bonus, EarnRule, Matcher, PartnershipTerms, SignedTerms};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_wallet::parse_identity;
use serde::{Deserialize, Serialize};

use super::TermsCommand;

#[derive(Deserialize)]
struct TermsFile {
    version: u64,
    partners: Vec<String>,
    #[serde(default)]
    rates: Vec<RateJson>,
    #[serde(default)]
    earn_rules: Vec<RuleJson>,
}

#[derive(Deserialize)]
struct RateJson {
    from: String,
    to: String,
    rate: [u32; 2],
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum MatchJson {
    Any,
    Category(String),
    Sku(String),
}

#[derive(Deserialize)]
struct RuleJson {
    partner: String,
    currency: String,
    #[serde(rename = "match")]
    matcher: MatchJson,
    points_per_unit: [u32; 2],
    bonus: Option<BonusJson>,
}

#[derive(Deserialize)]
struct BonusJson {
    multiplier: u32,
    from_ms: u64,
    until_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct Collection {
    terms: String,
    signatures: BTreeMap<String, String>,
}

fn currency(symbol: &str) -> Result<CurrencyId> {
    CurrencyId::new(symbol).map_err(|e| anyhow::anyhow!("currency {symbol:?}: {e}"))
}

fn rate([p, q]: [u32; 2]) -> Result<ExchangeRate> {
    ExchangeRate::new(p, q).map_err(|e| anyhow::anyhow!("rate {p}/{q}: {e}"))
}

fn from_file(file: TermsFile, chain: ChainId) -> Result<PartnershipTerms> {
    let terms = PartnershipTerms {
        chain,
        version: file.version,
        partners: file
            .partners
            .iter()
            .map(|p| parse_identity(p).map_err(anyhow::Error::from))
            .collect::<Result<_>>()?,
        rates: file
            .rates
            .into_iter()
            .map(|r| Ok((currency(&r.from)?, currency(&r.to)?, rate(r.rate)?)))
            .collect::<Result<_>>()?,
        earn_rules: file
            .earn_rules
            .into_iter()
            .map(|r| {
                let partner: [u8; 32] = hex::decode(&r.partner)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .context("an earn rule's partner is a loyalty ID (32 bytes of hex)")?;
                Ok(EarnRule {
                    partner: LoyaltyId(partner),
                    currency: currency(&r.currency)?,
                    matcher: match r.matcher {
                        MatchJson::Any => Matcher::Any,
                        MatchJson::Category(c) => Matcher::Category(c),
                        MatchJson::Sku(s) => Matcher::Sku(s),
                    },
                    points_per_unit: rate(r.points_per_unit)?,
                    bonus: r.bonus.map(|b| Bonus {
                        multiplier: b.multiplier,
                        from_ms: b.from_ms,
                        until_ms: b.until_ms,
                    }),
                })
            })
            .collect::<Result<_>>()?,
    };
    terms
        .check()
        .map_err(|e| anyhow::anyhow!("the terms are not well formed: {e}"))?;
    Ok(terms)
}

/// Reads a terms file or a collection; checks every signature present.
fn read(path: &Path, chain: ChainId) -> Result<(PartnershipTerms, BTreeMap<String, String>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.len() > 1 << 20 {
        bail!("{} is too large for terms", path.display());
    }
    if let Ok(collection) = serde_json::from_str::<Collection>(&text) {
        let terms: PartnershipTerms = decode_exact(&hex::decode(&collection.terms)?)
            .map_err(|e| anyhow::anyhow!("the collection's terms: {e}"))?;
        if terms.chain != chain {
            bail!("these terms are for another coalition");
        }
        let message = terms.signing_message();
        for (id, signature) in &collection.signatures {
            let partner = terms
                .partners
                .iter()
                .find(|p| hex::encode(p.loyalty_id().0) == *id)
                .with_context(|| format!("a signature by {id}, who is not named in the terms"))?;
            let signature: TxSignature = decode_exact(&hex::decode(signature)?)?;
            partner
                .signing
                .verify(&message, &signature)
                .map_err(|_| anyhow::anyhow!("the signature by {id} does not verify"))?;
        }
        return Ok((terms, collection.signatures));
    }
    let file: TermsFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is neither a terms file nor a signature collection",
            path.display()
        )
    })?;
    Ok((from_file(file, chain)?, BTreeMap::new()))
}

/// Runs `coalition partner terms …`.
pub fn run(
    command: TermsCommand,
    client: &Client,
    chain: ChainId,
    keys: &IdentityKeys,
) -> Result<()> {
    match command {
        TermsCommand::Sign { terms, out } => {
            let (terms, mut signatures) = read(&terms, chain)?;
            if !terms.partners.contains(keys.public()) {
                bail!("this key is not one of the partners the terms name");
            }
            let signature = keys.sign(&terms.signing_message());
            signatures.insert(
                hex::encode(keys.loyalty_id().0),
                hex::encode(signature.to_bytes()),
            );
            let missing = terms.partners.len() - signatures.len();
            let collection = Collection {
                terms: hex::encode(terms.to_bytes()),
                signatures,
            };
            std::fs::write(&out, serde_json::to_string_pretty(&collection)? + "\n")
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "signed terms v{}; {missing} signature(s) still missing; wrote {}",
                terms.version,
                out.display()
            );
        }
        TermsCommand::Submit { signed } => {
            let (terms, signatures) = read(&signed, chain)?;
            let ordered = terms
                .partners
                .iter()
                .map(|p| {
                    let id = hex::encode(p.loyalty_id().0);
                    let text = signatures
                        .get(&id)
                        .with_context(|| format!("partner {id} has not signed"))?;
                    Ok(decode_exact::<TxSignature>(&hex::decode(text)?)?)
                })
                .collect::<Result<Vec<_>>>()?;
            let signed = SignedTerms {
                terms,
                signatures: ordered,
            };
            let height = client.submit_and_wait(&Transaction::Terms(signed.clone()))?;
            println!(
                "terms v{} in force from block {height}",
                signed.terms.version
            );
        }
    }
    Ok(())
}
