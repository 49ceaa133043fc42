//! `coalition demo`: a whole coalition on a real node, narrated.
//!
//! A node runs in this process on an embedded RocksDB (a temporary
//! directory unless `--data-dir` is given) and serves its HTTP API on a
//! loopback port; every party below talks to it over that API, exactly as
//! the `wallet`, `partner` and `audit` subcommands do: transactions are
//! built and proven locally, submitted, verified by the node, ordered into
//! blocks and stored. Each step is checked; the first failure stops the demo
//! with a non-zero exit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use coalition_api::client::Client;
use coalition_circuits::note::Epoch;
use coalition_circuits::spend::SpendInput;
use coalition_circuits::spend_auth::SigningKey;
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate, NoteLifetime};
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::encoding::Encode;
use coalition_core::governance::MembershipAction;
use coalition_core::keys::{IdentityKeys, LoyaltyId, Seed};
use coalition_core::partnership::{Bonus, EarnRule, Matcher, PartnershipTerms};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_ledger::audit::{audit, AuditorKey};
use coalition_ledger::genesis::{Genesis, PoolKeyHashes};
use coalition_ledger::governance::Threshold;
use coalition_ledger::rules::{LineItem, Purchase, RuleEngine};
use coalition_ledger::settlement::{net_positions, readable};
use coalition_node::config::NodeConfig;
use coalition_node::engine::Node;
use coalition_node::http::serve;
use coalition_params::{default_params_dir, ShieldedProvingKeys};
use coalition_prover::governance::{propose_member, register_currency, vote};
use coalition_prover::shielded::{build_redeem, shield};
use coalition_prover::transactions::{self, SpendingAccount};
use rand_core::OsRng;

use crate::progress;

/// Blocks per settlement epoch on the demo's chain.
const EPOCH_BLOCKS: u64 = 8;
/// How long shielded HPTS stay spendable, in settlement epochs.
const HPTS_LIFETIME_EPOCHS: u32 = 1;

struct Party {
    name: &'static str,
    keys: IdentityKeys,
}

impl Party {
    fn new(name: &'static str) -> Self {
        Party {
            name,
            keys: IdentityKeys::from_seed(&Seed::random(&mut OsRng)),
        }
    }
}

/// The running demo: the node's client and what every party needs.
struct Demo {
    client: Client,
    /// The prover service wallets delegate Spend proofs to.
    prover: std::net::SocketAddr,
    /// The pool's verifying keys (a wallet checks a delegated proof).
    verifying: Arc<coalition_params::ShieldedVerifyingKeys>,
    chain: ChainId,
    table: &'static DecryptionTable,
    steps: usize,
}

impl Demo {
    /// Submits `tx` over HTTP, waits for its block, narrates.
    fn commit(&mut self, who: &str, what: &str, tx: &Transaction) -> Result<u64> {
        let started = Instant::now();
        let height = self
            .client
            .submit_and_wait(tx)
            .with_context(|| format!("{who}: {what}"))?;
        self.steps += 1;
        println!(
            "  {:<8} {:<60} {:>5} B  block {:>3}  {:>4} ms",
            who,
            what,
            tx.to_bytes().len(),
            height,
            started.elapsed().as_millis()
        );
        Ok(height)
    }

    /// Shows that the node refuses `tx`, and why.
    fn refused(&self, who: &str, what: &str, tx: &Transaction) -> Result<()> {
        match self.client.submit(tx) {
            Err(coalition_api::client::ClientError::Refused { reason, .. }) => {
                println!("  {who:<8} {what}: refused ({reason})");
                Ok(())
            }
            Err(e) => Err(e).context(format!("{who}: {what}")),
            Ok(_) => bail!("{who}: {what} was accepted"),
        }
    }

    fn account(&self, who: &Party, currency: &CurrencyId) -> Result<AccountState> {
        Ok(self
            .client
            .account(&who.keys.loyalty_id(), currency)?
            .unwrap_or_else(|| AccountState::new(*who.keys.public())))
    }

    /// `(available, pending)` decrypted with the owner's key.
    fn balance(&self, who: &Party, currency: &CurrencyId) -> Result<(u64, u64)> {
        let state = self.account(who, currency)?;
        let secret = who.keys.elgamal_secret();
        Ok((
            state.available.decrypt(secret, self.table)?,
            state.pending.decrypt(secret, self.table)?,
        ))
    }

    fn apply_pending(&mut self, who: &Party, currency: &CurrencyId) -> Result<()> {
        let state = self.account(who, currency)?;
        let tx = transactions::apply_pending(self.chain, *currency, &who.keys, &state)?;
        let what = format!(
            "applies {} pending {} credit(s)",
            state.pending_credits, currency
        );
        self.commit(who.name, &what, &tx)?;
        Ok(())
    }

    /// The settlement epoch of the tip: what a Shield or Redeem names.
    fn epoch(&self) -> Result<Epoch> {
        self.client
            .status()?
            .settlement_epoch
            .context("the chain is past the pool's epoch clock")
    }

    fn spending(&self, who: &Party, currency: &CurrencyId) -> Result<(AccountState, u64)> {
        let state = self.account(who, currency)?;
        let balance = state
            .available
            .decrypt(who.keys.elgamal_secret(), self.table)?;
        Ok((state, balance))
    }
}

fn policy(client: &Client, id: &CurrencyId) -> Result<CurrencyPolicy> {
    Ok(client
        .currency(id)?
        .with_context(|| format!("{id} is not registered"))?
        .policy)
}

/// Starts `coalition prover serve`'s service in this process on a loopback
/// port (CPU backend), serving until the demo exits; returns its address.
fn start_prover_service(keys: &ShieldedProvingKeys) -> Result<std::net::SocketAddr> {
    use coalition_prover::backend::ProvingBackend;
    let runtime = tokio::runtime::Runtime::new().context("starting the prover's runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding a loopback port for the prover")?;
    let addr = listener.local_addr()?;
    let service_keys = coalition_prover_service::Keys::new(
        Arc::new(keys.output.clone()),
        Arc::new(keys.spend.clone()),
    );
    let backend: Arc<dyn ProvingBackend> = Arc::new(coalition_prover::msm::CpuBackend);
    std::thread::spawn(move || {
        runtime.block_on(coalition_prover_service::serve(
            listener,
            coalition_prover_service::QueueConfig::default(),
            service_keys,
            backend,
        ))
    });
    Ok(addr)
}

/// Runs the demo; `data_dir` keeps the node's database (default: a
/// temporary directory, removed at the end).
pub fn run(data_dir: Option<std::path::PathBuf>) -> Result<()> {
    let started = Instant::now();
    println!("Coalition demo: a partner node on RocksDB, its HTTP API, real proofs.\n");

    let params_dir = default_params_dir();
    let keys = progress::spinner_while(
        "Shielded-pool Groth16 keys (INSECURE deterministic dev setup; generated once, then cached)",
        || ShieldedProvingKeys::insecure_dev(&params_dir),
    )
    .with_context(|| format!("dev keys in {}", params_dir.display()))?;
    let verifying = Arc::new(keys.verifying_keys());
    let table = progress::spinner_while(
        "Decryption table (2^20 entries, cached between runs)",
        coalition_wallet::table,
    );

    let airline = Party::new("airline");
    let hotel = Party::new("hotel");
    let grocer = Party::new("grocer");
    let auditor = Party::new("auditor");
    let alice = Party::new("alice");
    let bob = Party::new("bob");

    let genesis = Genesis {
        name: "coalition-demo".into(),
        timestamp_ms: 1_767_225_600_000,
        threshold: Threshold::two_thirds(),
        founders: vec![
            ("airline".into(), *airline.keys.public()),
            ("hotel".into(), *hotel.keys.public()),
        ],
        pool: Some(PoolKeyHashes::of(&verifying)),
        // Short epochs, so that the demo lives through a few of them and
        // sees shielded points expire.
        settlement_epoch_blocks: EPOCH_BLOCKS,
        max_currencies_per_member: 8,
    };
    let chain = genesis.chain_id();
    let temporary = tempfile::tempdir().context("creating a temporary data directory")?;
    let dir = data_dir.unwrap_or_else(|| temporary.path().to_path_buf());
    let config = NodeConfig {
        data_dir: dir.clone(),
        listen: "127.0.0.1:0".parse()?,
        block_interval_ms: 40,
        dev_mode: Some(true),
        ..NodeConfig::default()
    };
    let verifying_for_wallets = verifying.clone();
    let node = Node::open_with_genesis(config, genesis.clone(), true, Some(verifying))
        .context("starting the node")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding a loopback port")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = node.clone();
    let server = std::thread::spawn(move || {
        runtime.block_on(serve(served, listener, async move {
            let _ = stopped.await;
        }))
    });
    println!(
        "Node: chain {}, data in {}, API on http://{addr}",
        &hex::encode(chain.0)[..16],
        dir.display()
    );
    let prover = start_prover_service(&keys)?;
    println!("Prover service (as a wallet provider runs it; CPU backend): http://{prover}");
    println!(
        "Customers: alice (loyalty ID {}…), bob ({}…); the auditor audits MILES and HPTS.",
        &alice.keys.loyalty_id().to_string()[..16],
        &bob.keys.loyalty_id().to_string()[..16]
    );
    println!("Founders: airline and hotel (their Ed25519 + ElGamal identities are in the genesis); a vote needs 2/3 of members.\n");

    let mut d = Demo {
        client: Client::new(addr),
        prover,
        verifying: verifying_for_wallets,
        chain,
        table,
        steps: 0,
    };
    let result = story(
        &mut d,
        &keys,
        [&airline, &hotel, &grocer, &auditor, &alice, &bob],
    );
    let _ = stop.send(());
    let _ = server.join();
    result?;
    println!(
        "\nDone: {} transactions committed and audited in {:.1} s. Every step above can be repeated by hand: see README (wallet, partner, audit).",
        d.steps,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn story(d: &mut Demo, keys: &ShieldedProvingKeys, parties: [&Party; 6]) -> Result<()> {
    let [airline, hotel, grocer, auditor, alice, bob] = parties;
    let chain = d.chain;
    let rng = &mut OsRng;
    let miles_id = CurrencyId::new("MILES")?;
    let hpts_id = CurrencyId::new("HPTS")?;
    let groc_id = CurrencyId::new("GROC")?;

    println!(
        "Governance (signed by members; the node checks signatures, nonces and the threshold):"
    );
    // Settlement values: a MILE is worth 1 settlement unit, an HPT 1/2.
    let tx = register_currency(
        chain,
        &airline.keys,
        0,
        miles_id,
        0,
        Some(auditor.keys.public().encryption),
        ExchangeRate::new(1, 1)?,
        NoteLifetime::Unlimited,
    );
    d.commit("airline", "registers MILES (audited by the auditor)", &tx)?;
    let tx = register_currency(
        chain,
        &hotel.keys,
        0,
        hpts_id,
        0,
        Some(auditor.keys.public().encryption),
        ExchangeRate::new(1, 2)?,
        NoteLifetime::from_u32(HPTS_LIFETIME_EPOCHS),
    );
    d.commit(
        "hotel",
        "registers HPTS (audited; shielded HPTS expire after 1 epoch)",
        &tx,
    )?;
    let admit = MembershipAction::Admit {
        candidate: *grocer.keys.public(),
        name: "grocer".into(),
    };
    let proposal = propose_member(chain, &airline.keys, 1, admit);
    let proposal_id = proposal.id();
    d.commit("airline", "proposes to admit the grocer", &proposal)?;
    let tx = register_currency(
        chain,
        &grocer.keys,
        0,
        groc_id,
        0,
        None,
        ExchangeRate::new(1, 1)?,
        NoteLifetime::Unlimited,
    );
    d.refused("grocer", "registers GROC before admission", &tx)?;
    d.commit(
        "hotel",
        "votes yes: 2 of 2 members, the grocer is admitted",
        &vote(chain, &hotel.keys, 1, proposal_id, true),
    )?;
    d.commit("grocer", "registers GROC", &tx)?;

    println!("\nPartnership terms (valid only when every partner named has signed):");
    let bonus_until = 1_893_456_000_000; // 2030-01-01
    let terms = PartnershipTerms {
        chain,
        version: 1,
        partners: vec![
            *airline.keys.public(),
            *hotel.keys.public(),
            *grocer.keys.public(),
        ],
        rates: vec![
            (miles_id, hpts_id, ExchangeRate::new(3, 2)?),
            (groc_id, miles_id, ExchangeRate::new(1, 2)?),
        ],
        earn_rules: vec![
            EarnRule {
                partner: grocer.keys.loyalty_id(),
                currency: miles_id,
                matcher: Matcher::Any,
                points_per_unit: ExchangeRate::new(1, 1)?,
                bonus: None,
            },
            EarnRule {
                partner: grocer.keys.loyalty_id(),
                currency: miles_id,
                matcher: Matcher::Sku("COFFEE-1KG".into()),
                points_per_unit: ExchangeRate::new(1, 1)?,
                bonus: Some(Bonus {
                    multiplier: 5,
                    from_ms: 0,
                    until_ms: bonus_until,
                }),
            },
            EarnRule {
                partner: grocer.keys.loyalty_id(),
                currency: groc_id,
                matcher: Matcher::Category("food".into()),
                points_per_unit: ExchangeRate::new(1, 10)?,
                bonus: None,
            },
            EarnRule {
                partner: hotel.keys.loyalty_id(),
                currency: hpts_id,
                matcher: Matcher::Any,
                points_per_unit: ExchangeRate::new(10, 1)?,
                bonus: None,
            },
        ],
    };
    let signed = terms.sign(&[&airline.keys, &hotel.keys, &grocer.keys]);
    d.commit(
        "partners",
        "adopt terms v1: 2 MILES → 3 HPTS, 2 GROC → 1 MILE; 5× MILES on COFFEE-1KG",
        &Transaction::Terms(signed),
    )?;

    println!(
        "\nEarning (a purchase → the rule engine → an Issue signed by the currency's issuer):"
    );
    let engine = {
        let mut engine = RuleEngine::new(chain);
        for signed in d.client.partnerships()? {
            engine.adopt(signed)?;
        }
        engine
    };
    let now = 1_780_000_000_000; // mid-2026, inside the bonus window
    let purchases = [
        (
            alice,
            grocer,
            vec![("COFFEE-1KG", "food", 12), ("BREAD", "food", 4)],
        ),
        (bob, grocer, vec![("MILK", "food", 30)]),
        (alice, hotel, vec![("NIGHT", "rooms", 120)]),
    ];
    for (customer, partner, items) in purchases {
        let purchase = Purchase {
            partner: partner.keys.loyalty_id(),
            customer: *customer.keys.public(),
            items: items
                .iter()
                .map(|(sku, category, amount)| LineItem {
                    sku: sku.to_string(),
                    category: category.to_string(),
                    amount: *amount,
                })
                .collect(),
            time_ms: now,
        };
        let owed = engine.points(&purchase)?;
        let basket: Vec<String> = items.iter().map(|(s, _, a)| format!("{s} {a}")).collect();
        let earned: Vec<String> = owed.iter().map(|(c, p)| format!("{p} {c}")).collect();
        println!(
            "  {} buys [{}] at the {}: the rules in force owe {}",
            customer.name,
            basket.join(", "),
            partner.name,
            earned.join(" and ")
        );
        for (currency, points) in owed {
            let policy = policy(&d.client, &currency)?;
            let issuer = [airline, hotel, grocer]
                .into_iter()
                .find(|p| p.keys.public() == &policy.issuer)
                .context("issuer")?;
            let nonce = d
                .client
                .currency(&currency)?
                .context("currency")?
                .issuer_nonce;
            // The engine says what is owed; the issuer signs and proves it.
            let tx = transactions::issue(
                chain,
                &policy,
                &issuer.keys,
                nonce,
                &purchase.customer,
                points,
                rng,
            )?;
            let what = format!("issues {currency} to {} (amount encrypted)", customer.name);
            d.commit(issuer.name, &what, &tx)?;
        }
    }
    for (who, currency) in [
        (alice, &miles_id),
        (alice, &groc_id),
        (alice, &hpts_id),
        (bob, &miles_id),
    ] {
        d.apply_pending(who, currency)?;
    }
    let (alice_miles, _) = d.balance(alice, &miles_id)?;
    ensure!(
        alice_miles == 12 * 5 + 4,
        "alice should hold 64 MILES, holds {alice_miles}"
    );
    println!("  alice decrypts her MILES: {alice_miles} (12 coffee × 5 bonus + 4 bread); no one else can");

    println!("\nSpending (Transfer: amount hidden; equality, validity and range proofs):");
    let miles = policy(&d.client, &miles_id)?;
    let (state, balance) = d.spending(alice, &miles_id)?;
    let tx = transactions::transfer(
        chain,
        &miles,
        &alice.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        bob.keys.public(),
        20,
        rng,
    )?;
    d.commit("alice", "sends 20 MILES to bob", &tx)?;
    let (state, balance) = d.spending(alice, &miles_id)?;
    let overdraw = transactions::transfer(
        chain,
        &miles,
        &alice.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        bob.keys.public(),
        balance + 1,
        rng,
    );
    ensure!(overdraw.is_err(), "an overdraw was proven");
    println!("  alice    tries to send {} MILES holding {balance}: the prover refuses (no range proof exists)", balance + 1);
    d.refused("alice", "replays her transfer", &tx)?;
    d.apply_pending(bob, &miles_id)?;
    let (state, balance) = d.spending(bob, &miles_id)?;
    let tx = transactions::transfer(
        chain,
        &miles,
        &bob.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        grocer.keys.public(),
        25,
        rng,
    )?;
    d.commit("bob", "pays 25 MILES at the grocer", &tx)?;

    println!("\nExchanging (Exchange: q·y = p·x proven on hidden amounts, at the agreed rate):");
    let hpts = policy(&d.client, &hpts_id)?;
    let (state, balance) = d.spending(alice, &miles_id)?;
    let tx = transactions::exchange(
        chain,
        &miles,
        &hpts,
        ExchangeRate::new(3, 2)?,
        &alice.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        40,
        rng,
    )?;
    d.commit("alice", "exchanges 40 MILES into 60 HPTS", &tx)?;
    d.apply_pending(alice, &hpts_id)?;

    println!(
        "\nRedeeming privately at the hotel (shielded pool: Poseidon notes, Groth16 on BN254):"
    );
    let bob_seed = Seed::random(&mut OsRng);
    let bob_shielded = bob_seed.shielded_spending_key();
    let address = bob_shielded.address();
    let (state, balance) = d.spending(bob, &miles_id)?;
    let proving = Instant::now();
    let shielded = shield(
        chain,
        miles_id,
        d.epoch()?,
        NoteLifetime::Unlimited,
        &bob.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        20,
        &address,
        &keys.output,
        rng,
    )?;
    let what = format!(
        "shields 20 MILES into a note (proved in {} ms)",
        proving.elapsed().as_millis()
    );
    d.commit("bob", &what, &shielded.tx)?;
    // Bob's wallet finds its note by trial decryption over the node's notes.
    let ivk = bob_shielded.incoming_viewing_key();
    let (notes, _) = d.client.pool_notes(0)?;
    let mut mine = Vec::new();
    for (position, output) in notes {
        if let Some(note) = output.encrypted.decrypt(&ivk, &address, &output.commitment) {
            let (path, _) = d.client.pool_path(position)?;
            mine.push(SpendInput { note, path });
        }
    }
    ensure!(mine.len() == 1, "bob's wallet should find one note");
    let (_, root) = d.client.pool_path(0)?;
    // Bob's wallet delegates the Spend proof: the service gets the proof
    // generation key (ak, nk), α and the note — never ask — and the wallet
    // signs the proof that comes back.
    let proving = Instant::now();
    let unproven = build_redeem(
        chain,
        miles_id,
        d.epoch()?,
        &bob_shielded.full_viewing_key(),
        &mine,
        root,
        hotel.keys.public(),
        15,
        rng,
    )?;
    let alpha = unproven.witness().alpha.clone();
    let proof = coalition_wallet::prove_remotely(d.prover, &unproven, &d.verifying)?;
    let proven = unproven.with_proof(proof);
    let delegated_ms = proving.elapsed().as_millis();
    // What the service could try with what it was sent: sign with α (it
    // has no ask). The node refuses.
    let mut forged = match &proven
        .clone()
        .authorize(&bob_shielded.spend_authorizing_key(), rng)?
        .tx
    {
        Transaction::Redeem(tx) => tx.clone(),
        _ => bail!("a Redeem"),
    };
    forged.spend_auth = SigningKey::from_wide_bytes(&[0; 64])
        .randomize(&alpha)
        .sign(&forged.authorization_message(), rng);
    d.refused(
        "(prover)",
        "the prover service signs the Redeem with what it was sent (ak, nk, α)",
        &Transaction::Redeem(forged),
    )?;
    let redeemed = proven.authorize(&bob_shielded.spend_authorizing_key(), rng)?;
    let what = format!(
        "pays 15 MILES to the hotel (Spend proved by the service in {delegated_ms} ms, signed by bob's wallet)"
    );
    d.commit("(pool)", &what, &redeemed.tx)?;
    let bytes = redeemed.tx.to_bytes();
    let names_bob = bytes
        .windows(32)
        .any(|w| w == bob.keys.loyalty_id().0 || w == bob.keys.public().signing.to_bytes());
    ensure!(!names_bob, "the Redeem names bob");
    println!("  the Redeem names the hotel and 15 MILES; nothing in its {} bytes names bob. Change note: {} MILES", bytes.len(), redeemed.change.value);
    d.refused("(pool)", "the same Redeem again", &redeemed.tx)?;

    expiry(d, keys, [alice, bob, hotel])?;

    println!("\nSettling (merchants burn the points they took back to the issuer):");
    for merchant in [grocer, hotel] {
        d.apply_pending(merchant, &miles_id)?;
        let (state, balance) = d.spending(merchant, &miles_id)?;
        let tx = transactions::burn(
            chain,
            &miles,
            &merchant.keys,
            &SpendingAccount {
                state: &state,
                balance,
            },
            balance,
            rng,
        )?;
        let what = format!("burns {balance} MILES back to the airline");
        d.commit(merchant.name, &what, &tx)?;
    }
    let netting = settlement(d, [airline, hotel, grocer])?;

    println!("\nAudit (replays every block from genesis: signatures, proofs, roots, state hashes; reconciles audited supply):");
    let mut bar = progress::Bar::new("replaying blocks", d.client.status()?.height);
    let report = audit(
        &d.client,
        None,
        true,
        Some(AuditorKey {
            secret: auditor.keys.elgamal_secret(),
            table: d.table,
        }),
        &mut |h| bar.set(h),
    )?;
    bar.finish();
    if let Some(finding) = &report.finding {
        bail!("audit: {finding}");
    }
    println!(
        "  {} blocks, {} transactions, {} signatures and {} proven transactions re-verified; tip state {}",
        report.blocks,
        report.transactions.values().sum::<u64>(),
        report.signatures,
        report.proven_transactions,
        &report.state_hash[..16]
    );
    println!(
        "  rules re-derived from the transactions alone: {} membership change, {} membership checks, {} exchange rate, {} pool flows; settlement of {} epochs recomputed and equal to the node's",
        report.rules.membership_changes,
        report.rules.membership_checks,
        report.rules.exchange_rates,
        report.rules.pool_flows,
        report.settlement.epochs_compared,
    );
    let net: Vec<String> = [airline, hotel, grocer]
        .iter()
        .map(|p| {
            let id = hex::encode(p.keys.loyalty_id().0);
            let v = report
                .settlement
                .net_positions
                .get(&id)
                .copied()
                .unwrap_or(0);
            format!("{} {v:+}", p.name)
        })
        .collect();
    let agreed = netting
        .iter()
        .all(|(id, v)| report.settlement.net_positions.get(&hex::encode(id.0)) == Some(v));
    ensure!(
        agreed && report.settlement.positions_complete,
        "the auditor's netting differs from the partners'"
    );
    println!(
        "  the auditor's own netting from the audited currencies (equal to the partners'): {}{}",
        net.join(", "),
        if report.settlement.positions_complete {
            ""
        } else {
            " (partial: it does not audit every settled currency)"
        }
    );
    for s in &report.supply {
        println!(
            "  {}: issued {} − burned {} − exchanged out {} + in {} = {} in accounts + {} in the pool: {}",
            s.currency,
            s.issued,
            s.burned,
            s.exchanged_out,
            s.exchanged_in,
            s.in_accounts,
            s.in_pool,
            if s.reconciled { "reconciled" } else { "NOT reconciled" }
        );
    }
    ensure!(report.passed(), "audit failed: {:?}", report.supply);

    println!("\nWho sees what:");
    let (alice_state, _) = d.spending(alice, &miles_id)?;
    let (alice_avail, _) = d.balance(alice, &miles_id)?;
    let hotel_reads = alice_state
        .available
        .decrypt(hotel.keys.elgamal_secret(), d.table);
    println!(
        "  alice's MILES balance: {alice_avail} to alice; to the hotel's key it is {} ; partners see account IDs and that a transfer happened, never amounts",
        match hotel_reads { Ok(v) if v == alice_avail => "readable (BUG)".to_string(), _ => "noise".to_string() }
    );
    ensure!(
        !alice_state
            .available
            .decrypts_to(hotel.keys.elgamal_secret(), alice_avail)
            || alice_avail == 0,
        "the hotel can read alice's balance"
    );
    println!("  the auditor read every MILES and HPTS amount with its key alone, no customer key");

    println!("\nBalances (each decrypted by its owner):");
    println!(
        "  {:<8} {:>16} {:>16} {:>16}",
        "", "MILES avail/pend", "HPTS avail/pend", "GROC avail/pend"
    );
    for p in [alice, bob, grocer, hotel, airline] {
        let mut row = format!("  {:<8}", p.name);
        for c in [&miles_id, &hpts_id, &groc_id] {
            let (a, b) = d.balance(p, c)?;
            row.push_str(&format!(" {:>9}/{:<6}", a, b));
        }
        println!("{row}");
    }
    Ok(())
}

/// Shielded HPTS expire: alice shields some, blocks pass, and neither her
/// wallet nor a proof for the note's last epoch can redeem them.
fn expiry(
    d: &mut Demo,
    keys: &ShieldedProvingKeys,
    [alice, bob, hotel]: [&Party; 3],
) -> Result<()> {
    let chain = d.chain;
    let rng = &mut OsRng;
    let hpts_id = CurrencyId::new("HPTS")?;
    println!(
        "\nPoints that expire (shielded HPTS: {HPTS_LIFETIME_EPOCHS} settlement epoch after shielding; epochs of {EPOCH_BLOCKS} blocks):"
    );
    let alice_shielded = Seed::random(&mut OsRng).shielded_spending_key();
    let address = alice_shielded.address();
    let listing = d.client.currency(&hpts_id)?.context("HPTS")?;
    let epoch = d.epoch()?;
    let (state, balance) = d.spending(alice, &hpts_id)?;
    let shielded = shield(
        chain,
        hpts_id,
        epoch,
        listing.note_lifetime,
        &alice.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        10,
        &address,
        &keys.output,
        rng,
    )?;
    let expiry = shielded.note.expiry;
    let what = format!(
        "shields 10 HPTS in epoch {}: the note may be spent up to epoch {}",
        epoch.0, expiry.0
    );
    d.commit("alice", &what, &shielded.tx)?;

    // Blocks pass until the ledger no longer accepts a proof for the
    // note's last epoch either (it accepts the current epoch and the one
    // before).
    // Each block is one Issue, so the heights (and the epochs) follow
    // from what the node answers; only the issuer's nonce moves.
    let epoch_of = |height: u64| height.saturating_sub(1) / EPOCH_BLOCKS;
    let mut height = d.client.status()?.height;
    let mut nonce = listing.issuer_nonce; // a Shield issues nothing
    let mut blocks = 0;
    while epoch_of(height) <= u64::from(expiry.0) + 1 {
        let tx = transactions::issue(
            chain,
            &listing.policy,
            &hotel.keys,
            nonce,
            bob.keys.public(),
            1,
            rng,
        )?;
        height = d.client.submit_and_wait(&tx)?;
        nonce += 1;
        blocks += 1;
    }
    let now = d.epoch()?;
    println!(
        "  {:<8} {blocks} blocks pass (the hotel issues 1 HPTS to bob in each): the chain is in epoch {}",
        "hotel", now.0
    );

    let ivk = alice_shielded.incoming_viewing_key();
    let (notes, _) = d.client.pool_notes(0)?;
    let mut mine = Vec::new();
    let mut root = None;
    for (position, output) in notes {
        if let Some(note) = output.encrypted.decrypt(&ivk, &address, &output.commitment) {
            let (path, r) = d.client.pool_path(position)?;
            root = Some(r);
            mine.push(SpendInput { note, path });
        }
    }
    ensure!(mine.len() == 1, "alice's wallet should find one note");
    let root = root.context("a root")?;
    let fvk = alice_shielded.full_viewing_key();
    let merchant = hotel.keys.public();
    match build_redeem(chain, hpts_id, now, &fvk, &mine, root, merchant, 10, rng) {
        Err(e) => println!(
            "  alice    her wallet redeems the 10 HPTS in epoch {}: refused ({e})",
            now.0
        ),
        Ok(_) => bail!("an expired note was spendable"),
    }
    // A proof for the note's last epoch still holds; the ledger refuses it
    // because that epoch is past. (A proof for any later epoch cannot be
    // made: the Spend circuit checks epoch ≤ expiry.)
    let stale = build_redeem(
        chain,
        hpts_id,
        Epoch(expiry.0),
        &fvk,
        &mine,
        root,
        merchant,
        10,
        rng,
    )?
    .prove(&keys.spend, rng)?
    .authorize(&alice_shielded.spend_authorizing_key(), rng)?;
    let what = format!(
        "redeems them with a proof for epoch {}, the note's last",
        expiry.0
    );
    d.refused("alice", &what, &stale.tx)?;
    println!("  the 10 HPTS stay in the pool's public total, redeemable by no one (papers/protocol.md §13.13)");
    Ok(())
}

/// Each party's view of the settlement figures of every epoch so far,
/// summed, and netting. Every figure between two partners is read from
/// both sides' keys and must read alike.
fn settlement(d: &mut Demo, partners: [&Party; 3]) -> Result<BTreeMap<LoyaltyId, i128>> {
    let name = |id: &LoyaltyId| {
        partners
            .iter()
            .find(|p| p.keys.loyalty_id() == *id)
            .map_or("a customer", |p| p.name)
    };
    // How many demo parties read a figure between `a` and `b`.
    let readers = |a: &LoyaltyId, b: &LoyaltyId| {
        partners
            .iter()
            .filter(|p| p.keys.loyalty_id() == *a || p.keys.loyalty_id() == *b)
            .count()
    };
    let (currencies, _) = d.client.currencies()?;
    let values: BTreeMap<CurrencyId, ExchangeRate> = currencies
        .iter()
        .filter_map(|c| c.settlement_value.map(|v| (c.policy.id, v)))
        .collect();
    let issuers: BTreeMap<CurrencyId, LoyaltyId> = currencies
        .iter()
        .map(|c| (c.policy.id, c.policy.issuer.loyalty_id()))
        .collect();
    let last_epoch = d.epoch()?.0;
    // (merchant, issuer, currency) → (transferred in, redeemed, burned).
    let mut inflows: BTreeMap<(&str, &str, CurrencyId), (u64, u64, u64)> = BTreeMap::new();
    // (from issuer, to issuer, from, to) → (points created, value).
    let mut conversions: BTreeMap<(&str, &str, CurrencyId, CurrencyId), (u128, u128)> =
        BTreeMap::new();
    let (mut pairs, mut exchanges) = (Vec::new(), Vec::new());
    for epoch in 0..=last_epoch {
        let report = d.client.settlement(u64::from(epoch))?;
        let mut read = Vec::new();
        for p in partners {
            let figures = readable(
                p.keys.loyalty_id(),
                p.keys.elgamal_secret(),
                d.table,
                &report.figures,
                &issuers,
                &values,
            )?;
            ensure!(figures.unreadable.is_empty(), "a figure does not decrypt");
            read.push(figures);
        }
        for (key, f) in &report.figures.pairs {
            let Some(merchant) = partners
                .iter()
                .find(|p| p.keys.loyalty_id() == key.merchant)
            else {
                continue;
            };
            let transferred = match f.transferred {
                Some(s) => s
                    .merchant
                    .decrypt(merchant.keys.elgamal_secret(), d.table)
                    .map_err(|e| anyhow::anyhow!("a transfer sum does not decrypt: {e}"))?,
                None => 0,
            };
            let issuer = issuers.get(&key.currency).context("issuer")?;
            let row = inflows
                .entry((merchant.name, name(issuer), key.currency))
                .or_default();
            row.0 = row.0.checked_add(transferred).context("overflow")?;
            row.1 = row.1.checked_add(f.redeemed).context("overflow")?;
        }
        // Each figure as the two parties read it.
        let mut seen_pairs = BTreeMap::new();
        let mut seen_exchanges = BTreeMap::new();
        for r in &read {
            for p in &r.pairs {
                seen_pairs
                    .entry((p.merchant, p.currency))
                    .or_insert_with(Vec::new)
                    .push(*p);
            }
            for e in &r.exchanges {
                seen_exchanges
                    .entry((e.from, e.to, e.rate))
                    .or_insert_with(Vec::new)
                    .push(*e);
            }
        }
        for views in seen_pairs.into_values() {
            let p = views[0];
            ensure!(
                views.len() == readers(&p.merchant, &p.issuer) && views.iter().all(|v| *v == p),
                "a burned figure reads differently from its two sides"
            );
            let row = inflows
                .entry((name(&p.merchant), name(&p.issuer), p.currency))
                .or_default();
            row.2 = row.2.checked_add(p.burned).context("overflow")?;
            pairs.push(p);
        }
        for views in seen_exchanges.into_values() {
            let e = views[0];
            ensure!(
                views.len() == readers(&e.from_issuer, &e.to_issuer)
                    && views.iter().all(|v| *v == e),
                "an exchange figure reads differently from its two sides"
            );
            let row = conversions
                .entry((name(&e.from_issuer), name(&e.to_issuer), e.from, e.to))
                .or_default();
            row.0 = row.0.checked_add(e.credited).context("overflow")?;
            row.1 = row.1.checked_add(e.value).context("overflow")?;
            exchanges.push(e);
        }
    }
    println!("  (epochs 0 to {last_epoch}, summed)");
    for ((merchant, issuer, currency), (transferred, redeemed, burned)) in &inflows {
        if merchant == issuer {
            continue;
        }
        println!(
            "  {merchant:<6} ← {issuer:<7} {:<5}: transferred in {transferred} (merchant's key), redeemed from the pool {redeemed} (public), burned {burned} (read alike by merchant and issuer)",
            currency.symbol(),
        );
    }
    for ((from_issuer, to_issuer, from, to), (created, value)) in &conversions {
        println!(
            "  {from_issuer} owes {to_issuer} for exchanges {} → {}: {created} {} created, worth {value} units (read alike by both issuers)",
            from.symbol(),
            to.symbol(),
            to.symbol(),
        );
    }
    let net = net_positions(&pairs, &exchanges);
    let line: Vec<String> = partners
        .iter()
        .filter_map(|p| {
            net.get(&p.keys.loyalty_id())
                .map(|v| format!("{} {:+}", p.name, v))
        })
        .collect();
    ensure!(
        net.values().sum::<i128>() == 0,
        "netting does not sum to zero"
    );
    println!("  netting in settlement units (each party computes it from its own figures): {} — sums to zero", line.join(", "));
    Ok(net)
}
