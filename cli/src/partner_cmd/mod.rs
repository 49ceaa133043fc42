//! `coalition partner …`: what a partner does with its identity key
//! against a node: register currencies, propose and vote on members, issue
//! points for purchases under the terms in force, read its settlement
//! figures with its own key.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use coalition_api::client::Client;
use coalition_core::currency::{CurrencyId, ExchangeRate, NoteLifetime};
use coalition_core::elgamal::Ciphertext;
use coalition_core::encoding::decode_exact;
use coalition_core::governance::MembershipAction;
use coalition_core::keys::{IdentityKeys, LoyaltyId};
use coalition_ledger::rules::{LineItem, Purchase, RuleEngine};
use coalition_ledger::settlement::readable;
use coalition_prover::governance::{propose_member, register_currency, vote};
use coalition_wallet::{parse_identity, table};
use rand_core::OsRng;

use crate::keyfile;

mod terms;

/// Options every partner command takes.
#[derive(Args)]
pub struct PartnerArgs {
    /// The partner's key file (`coalition keys new` / `keys dev NAME`).
    #[arg(long, global = true)]
    key: Option<PathBuf>,
    /// The node's API address.
    #[arg(long, global = true, default_value = "127.0.0.1:8080")]
    node: SocketAddr,
    /// The node's certificate (PEM): speak TLS and accept only it.
    #[arg(long, global = true)]
    node_cert: Option<PathBuf>,
    #[command(subcommand)]
    command: PartnerCommand,
}

/// `coalition partner …`
#[derive(Subcommand)]
pub enum PartnerCommand {
    /// Register a currency this partner issues.
    RegisterCurrency {
        /// Symbol (A-Z, 0-9, up to 8).
        #[arg(long)]
        symbol: String,
        /// Display decimals.
        #[arg(long, default_value_t = 0)]
        decimals: u8,
        /// An auditor's encryption key (hex, from `keys show`).
        #[arg(long)]
        auditor: Option<String>,
        /// Settlement value of one point, as P/Q.
        #[arg(long, default_value = "1/1")]
        settlement_value: String,
        /// Shielded points expire this many settlement epochs after they
        /// are shielded (0: never).
        #[arg(long, default_value_t = 0)]
        note_lifetime_epochs: u32,
    },
    /// Propose admitting a partner (by its identity, hex).
    ProposeAdmit {
        /// The candidate's identity.
        #[arg(long)]
        identity: String,
        /// Its name.
        #[arg(long)]
        name: String,
    },
    /// Propose removing a member (by loyalty ID, hex).
    ProposeRemove {
        /// The member.
        #[arg(long)]
        member: String,
    },
    /// Vote on an open proposal.
    Vote {
        /// The proposal ID (hex, from the node's /v1/governance).
        #[arg(long)]
        proposal: String,
        /// Vote no (the default is yes).
        #[arg(long)]
        no: bool,
    },
    /// Issue points of a currency this partner issues.
    Issue {
        /// Currency symbol.
        #[arg(long)]
        currency: String,
        /// The customer's identity (hex).
        #[arg(long)]
        to: String,
        /// Points.
        #[arg(long)]
        amount: u64,
    },
    /// Burn points this partner holds back to their issuer (how a merchant
    /// settles what customers paid it).
    Burn {
        /// Currency symbol.
        #[arg(long)]
        currency: String,
        /// Points.
        #[arg(long)]
        amount: u64,
    },
    /// Submit a purchase event: the rules in force decide the points owed,
    /// issued in every currency this partner issues.
    Purchase {
        /// Where the purchase happened (loyalty ID, hex; default: this partner).
        #[arg(long)]
        at: Option<String>,
        /// The customer's identity (hex).
        #[arg(long)]
        customer: String,
        /// SKU:CATEGORY:AMOUNT, repeatable.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// Purchase time, ms since the Unix epoch (default: now).
        #[arg(long)]
        time_ms: Option<u64>,
    },
    /// Partnership terms: sign a terms file, and submit once every partner signed.
    Terms {
        #[command(subcommand)]
        command: TermsCommand,
    },
    /// This partner's net settlement position for an epoch, per
    /// counterparty, from its own decrypted figures (positive: owed to it).
    Netting {
        /// The epoch.
        #[arg(long, default_value_t = 0)]
        epoch: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Settlement figures of an epoch this partner is party to, decrypted
    /// with its own key.
    Settlement {
        /// The epoch.
        #[arg(long, default_value_t = 0)]
        epoch: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// `coalition partner terms …`
#[derive(Subcommand)]
pub enum TermsCommand {
    /// Add this partner's signature to a terms file (the JSON terms, or a
    /// collection another partner already signed); writes the collection.
    Sign {
        /// Terms (JSON, see README) or a signature collection.
        #[arg(long)]
        terms: PathBuf,
        /// Where to write the signature collection.
        #[arg(long)]
        out: PathBuf,
    },
    /// Submit a collection every named partner signed.
    Submit {
        /// The signature collection.
        #[arg(long)]
        signed: PathBuf,
    },
}

fn governance_nonce(client: &Client, me: &LoyaltyId) -> Result<u64> {
    let g = client.get_json("/v1/governance")?;
    g["members"]
        .as_array()
        .and_then(|members| {
            members
                .iter()
                .find(|m| m["id"].as_str() == Some(&hex::encode(me.0)))
        })
        .and_then(|m| m["nonce"].as_u64())
        .context("this key is not a member of the coalition")
}

fn hex32(text: &str, what: &str) -> Result<[u8; 32]> {
    hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{what} must be 32 bytes of hex"))
}

fn commit(client: &Client, tx: &coalition_core::transaction::Transaction) -> Result<u64> {
    Ok(client.submit_and_wait(tx)?)
}

/// Runs `coalition partner …`.
pub fn run(args: PartnerArgs) -> Result<()> {
    let key = args.key.context("give the partner's key file with --key")?;
    let keys: IdentityKeys = keyfile::read_identity(&key)?;
    let client = crate::node_client::client(args.node, args.node_cert.as_deref())?;
    let chain = client.status()?.chain;
    let me = keys.loyalty_id();
    match args.command {
        PartnerCommand::RegisterCurrency {
            symbol,
            decimals,
            auditor,
            settlement_value,
            note_lifetime_epochs,
        } => {
            let id = CurrencyId::new(&symbol).map_err(|e| anyhow::anyhow!("symbol: {e}"))?;
            let auditor = auditor
                .map(|a| -> Result<_> { Ok(decode_exact(&hex::decode(a.trim())?)?) })
                .transpose()
                .context("auditor: an encryption key in hex")?;
            let (p, q) = settlement_value
                .split_once('/')
                .context("settlement value is P/Q")?;
            let value = ExchangeRate::new(p.parse()?, q.parse()?)
                .map_err(|e| anyhow::anyhow!("settlement value: {e}"))?;
            let nonce = governance_nonce(&client, &me)?;
            let tx = register_currency(
                chain,
                &keys,
                nonce,
                id,
                decimals,
                auditor,
                value,
                NoteLifetime::from_u32(note_lifetime_epochs),
            );
            let height = commit(&client, &tx)?;
            println!("registered {symbol} in block {height}");
        }
        PartnerCommand::ProposeAdmit { identity, name } => {
            let candidate = parse_identity(&identity)?;
            let nonce = governance_nonce(&client, &me)?;
            let tx = propose_member(
                chain,
                &keys,
                nonce,
                MembershipAction::Admit { candidate, name },
            );
            let height = commit(&client, &tx)?;
            println!("proposal {} in block {height}", hex::encode(tx.id().0));
        }
        PartnerCommand::ProposeRemove { member } => {
            let member = LoyaltyId(hex32(&member, "member")?);
            let nonce = governance_nonce(&client, &me)?;
            let tx = propose_member(chain, &keys, nonce, MembershipAction::Remove { member });
            let height = commit(&client, &tx)?;
            println!("proposal {} in block {height}", hex::encode(tx.id().0));
        }
        PartnerCommand::Vote { proposal, no } => {
            let id = hex::decode(proposal.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .context("proposal must be 32 bytes of hex")?;
            let nonce = governance_nonce(&client, &me)?;
            let tx = vote(
                chain,
                &keys,
                nonce,
                coalition_core::transaction::TxId(id),
                !no,
            );
            let height = commit(&client, &tx)?;
            println!("voted {} in block {height}", if no { "no" } else { "yes" });
        }
        PartnerCommand::Issue {
            currency,
            to,
            amount,
        } => {
            let id = CurrencyId::new(&currency).map_err(|e| anyhow::anyhow!("currency: {e}"))?;
            let listing = client
                .currency(&id)?
                .with_context(|| format!("{currency} is not registered"))?;
            if listing.policy.issuer != *keys.public() {
                bail!("this key does not issue {currency}");
            }
            let to = parse_identity(&to)?;
            let tx = coalition_prover::transactions::issue(
                chain,
                &listing.policy,
                &keys,
                listing.issuer_nonce,
                &to,
                amount,
                &mut OsRng,
            )?;
            let height = commit(&client, &tx)?;
            println!(
                "issued {amount} {currency} to {} in block {height}",
                to.loyalty_id()
            );
        }
        PartnerCommand::Burn { currency, amount } => {
            let id = CurrencyId::new(&currency).map_err(|e| anyhow::anyhow!("currency: {e}"))?;
            let listing = client
                .currency(&id)?
                .with_context(|| format!("{currency} is not registered"))?;
            let state = client
                .account(&me, &id)?
                .with_context(|| format!("this partner holds no {currency} account"))?;
            let balance = state
                .available
                .decrypt(keys.elgamal_secret(), table())
                .map_err(|e| anyhow::anyhow!("the balance does not decrypt: {e}"))?;
            if balance < amount {
                bail!("insufficient balance: {balance} {currency} available, {amount} needed (apply pending credits first)");
            }
            let tx = coalition_prover::transactions::burn(
                chain,
                &listing.policy,
                &keys,
                &coalition_prover::transactions::SpendingAccount {
                    state: &state,
                    balance,
                },
                amount,
                &mut OsRng,
            )?;
            let height = commit(&client, &tx)?;
            println!("burned {amount} {currency} back to its issuer in block {height}");
        }
        PartnerCommand::Purchase {
            at,
            customer,
            items,
            time_ms,
        } => {
            let partner = match at {
                Some(a) => LoyaltyId(hex32(&a, "--at")?),
                None => me,
            };
            let customer = parse_identity(&customer)?;
            let items = items
                .iter()
                .map(|i| {
                    let mut parts = i.splitn(3, ':');
                    match (
                        parts.next(),
                        parts.next(),
                        parts.next().map(str::parse::<u64>),
                    ) {
                        (Some(sku), Some(category), Some(Ok(amount))) => Ok(LineItem {
                            sku: sku.into(),
                            category: category.into(),
                            amount,
                        }),
                        _ => bail!("item {i:?} is not SKU:CATEGORY:AMOUNT"),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let time_ms = time_ms.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0)
            });
            let mut engine = RuleEngine::new(chain);
            for signed in client.partnerships()? {
                engine.adopt(signed)?;
            }
            let purchase = Purchase {
                partner,
                customer,
                items,
                time_ms,
            };
            let owed = engine.points(&purchase)?;
            if owed.is_empty() {
                println!("the rules in force owe nothing for this purchase");
            }
            for (currency, points) in owed {
                let listing = client.currency(&currency)?.context("currency")?;
                if listing.policy.issuer != *keys.public() {
                    println!("{points} {currency} owed: issued by another partner (its issuer runs this purchase too)");
                    continue;
                }
                // The engine says what is owed; this issuer signs and
                // proves the Issue.
                let tx = coalition_prover::transactions::issue(
                    chain,
                    &listing.policy,
                    &keys,
                    listing.issuer_nonce,
                    &purchase.customer,
                    points,
                    &mut OsRng,
                )?;
                let height = commit(&client, &tx)?;
                println!(
                    "issued {points} {currency} to {} in block {height}",
                    customer.loyalty_id()
                );
            }
        }
        PartnerCommand::Terms { command } => terms::run(command, &client, chain, &keys)?,
        PartnerCommand::Netting { epoch, json } => {
            let report = client.settlement(epoch)?;
            let (issuers, values) = settlement_terms(&client)?;
            let mine = readable(
                me,
                keys.elgamal_secret(),
                table(),
                &report.figures,
                &issuers,
                &values,
            )?;
            // (counterparty, what) → signed value; positive: owed to me.
            let mut rows: Vec<(LoyaltyId, String, i128)> = Vec::new();
            for p in &mine.pairs {
                let (other, sign, role) = if p.merchant == me {
                    (p.issuer, 1, "burned here")
                } else {
                    (p.merchant, -1, "burned by it")
                };
                let what = format!("{} {} {role}", p.burned, p.currency);
                rows.push((other, what, sign * i128::try_from(p.value)?));
            }
            for e in &mine.exchanges {
                let (other, sign) = if e.to_issuer == me {
                    (e.from_issuer, 1)
                } else {
                    (e.to_issuer, -1)
                };
                let what = format!(
                    "{} {} created from {} at {}/{}",
                    e.credited,
                    e.to,
                    e.from,
                    e.rate.numerator(),
                    e.rate.denominator()
                );
                rows.push((other, what, sign * i128::try_from(e.value)?));
            }
            let mut by_counterparty: std::collections::BTreeMap<String, i128> = Default::default();
            for (other, _, v) in &rows {
                *by_counterparty.entry(hex::encode(other.0)).or_insert(0) += v;
            }
            let total: i128 = by_counterparty.values().sum();
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "epoch": epoch,
                        "complete": report.complete,
                        "unreadable": mine.unreadable,
                        "figures": rows.iter().map(|(o, what, v)| serde_json::json!({
                            "counterparty": hex::encode(o.0),
                            "figure": what,
                            "value": v.to_string(),
                        })).collect::<Vec<_>>(),
                        "counterparties": by_counterparty.iter().map(|(k, v)| (k.clone(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
                        "net": total.to_string(),
                    })
                );
            } else {
                for (other, what, v) in &rows {
                    println!("  with {}…: {what}: {v:+}", &hex::encode(other.0)[..16]);
                }
                for what in &mine.unreadable {
                    println!("  not read (beyond this key's decryption table): {what}");
                }
                println!("net position in epoch {epoch}: {total:+} settlement units (positive: owed to this partner)");
            }
        }
        PartnerCommand::Settlement { epoch, json } => {
            let report = client.get_json(&format!("/v1/settlement/{epoch}"))?;
            let mine = hex::encode(me.0);
            let read = |value: &serde_json::Value| -> Option<u64> {
                let ct: Ciphertext = decode_exact(&hex::decode(value.as_str()?).ok()?).ok()?;
                ct.decrypt(keys.elgamal_secret(), table()).ok()
            };
            let mut rows = Vec::new();
            for pair in report["pairs"].as_array().into_iter().flatten() {
                let role = if pair["merchant"].as_str() == Some(&mine) {
                    "merchant"
                } else if pair["issuer"].as_str() == Some(&mine) {
                    "issuer"
                } else {
                    continue;
                };
                rows.push(serde_json::json!({
                    "role": role,
                    "merchant": pair["merchant"],
                    "issuer": pair["issuer"],
                    "currency": pair["currency"],
                    "burned": read(&pair["burned"][role]),
                    "transferred": if role == "merchant" { read(&pair["transferred"]["merchant"]) } else { None },
                    "redeemed": pair["redeemed"],
                }));
            }
            let typed = client.settlement(epoch)?;
            let (issuers, values) = settlement_terms(&client)?;
            let exchanges: Vec<serde_json::Value> = readable(
                me,
                keys.elgamal_secret(),
                table(),
                &typed.figures,
                &issuers,
                &values,
            )?
            .exchanges
            .iter()
            .map(|e| {
                serde_json::json!({
                    "role": if e.to_issuer == me { "to issuer" } else { "from issuer" },
                    "from": e.from.symbol(),
                    "to": e.to.symbol(),
                    "rate": [e.rate.numerator(), e.rate.denominator()],
                    "credited": e.credited.to_string(),
                    "value": e.value.to_string(),
                })
            })
            .collect();
            let out = serde_json::json!({ "epoch": epoch, "complete": report["complete"], "pairs": rows, "exchanges": exchanges });
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("epoch {epoch} (complete: {})", report["complete"]);
                for r in rows {
                    println!(
                        "  as {:<8} {:<6} merchant {}…: burned {}, transferred in {}, redeemed {}",
                        r["role"].as_str().unwrap_or(""),
                        r["currency"].as_str().unwrap_or(""),
                        r["merchant"]
                            .as_str()
                            .and_then(|m| m.get(..12))
                            .unwrap_or(""),
                        r["burned"],
                        r["transferred"],
                        r["redeemed"]
                    );
                }
                for e in &exchanges {
                    println!(
                        "  as {:<11} {}→{} at {}/{}: {} {} created, worth {} units",
                        e["role"].as_str().unwrap_or(""),
                        e["from"].as_str().unwrap_or(""),
                        e["to"].as_str().unwrap_or(""),
                        e["rate"][0],
                        e["rate"][1],
                        e["credited"].as_str().unwrap_or(""),
                        e["to"].as_str().unwrap_or(""),
                        e["value"].as_str().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}

/// Each currency's issuer and settlement value, from the registrations the
/// node lists (not from the settlement report being read).
#[allow(clippy::type_complexity)]
fn settlement_terms(
    client: &Client,
) -> Result<(
    std::collections::BTreeMap<CurrencyId, LoyaltyId>,
    std::collections::BTreeMap<CurrencyId, ExchangeRate>,
)> {
    let (currencies, _) = client.currencies()?;
    let issuers = currencies
        .iter()
        .map(|c| (c.policy.id, c.policy.issuer.loyalty_id()))
        .collect();
    let values = currencies
        .iter()
        .filter_map(|c| c.settlement_value.map(|v| (c.policy.id, v)))
        .collect();
    Ok((issuers, values))
}
