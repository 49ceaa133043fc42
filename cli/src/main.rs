//! `coalition`: the command-line entry point.
//!
//! `coalition demo` plays a small coalition on the confidential-account layer
//! and the shielded pool with real proofs and real verification. The node,
//! wallet, partner, audit, prover and params subcommands arrive with their
//! issues (see README).
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use coalition_circuits::spend::SpendInput;
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::{IdentityKeys, PublicIdentity, Seed};
use coalition_core::transaction::{ChainId, Transaction};
use coalition_node::ledger::AccountLedger;
use coalition_params::{default_params_dir, ShieldedProvingKeys, ShieldedVerifyingKeys};
use coalition_prover::shielded::{redeem, shield};
use coalition_prover::transactions::{self, SpendingAccount};
use coalition_verifier::transactions::LedgerView;
use rand_core::OsRng;

#[derive(Parser)]
#[command(
    name = "coalition",
    version,
    about = "Zero-knowledge privacy ledger for coalition loyalty programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a whole coalition with real proofs: issue, transfer, redeem, exchange,
    /// shielded redemption, burn, audit.
    Demo,
    /// Run a partner verifier node: RocksDB storage, HTTP API, events,
    /// metrics, block production. With no options it serves the
    /// development coalition (INSECURE dev keys) from the default data dir.
    Node {
        /// A TOML configuration file (see papers/protocol.md §17.3).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// Overrides the configuration's data directory.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// Overrides the configuration's listen address.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Overrides the block interval (milliseconds).
        #[arg(long)]
        block_interval_ms: Option<u64>,
    },
    /// The proving service.
    Prover {
        #[command(subcommand)]
        command: ProverCommand,
    },
}

#[derive(Subcommand)]
enum ProverCommand {
    /// Serve Spend/Output proving jobs over HTTP, batched, on the GPU when present.
    Serve {
        /// Address to listen on (loopback by default: jobs are witnesses).
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
        /// Jobs per batch at most.
        #[arg(long, default_value_t = 16)]
        max_batch: usize,
        /// How long a batch waits to fill, in milliseconds.
        #[arg(long, default_value_t = 20)]
        max_wait_ms: u64,
        /// Jobs waiting at most; beyond, requests get 503.
        #[arg(long, default_value_t = 256)]
        queue: usize,
        /// MSM backend: auto (GPU if present, else CPU), cpu or gpu.
        #[arg(long, default_value = "auto")]
        backend: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo => demo(),
        Command::Node {
            config,
            data_dir,
            listen,
            block_interval_ms,
        } => node(config, data_dir, listen, block_interval_ms),
        Command::Prover {
            command:
                ProverCommand::Serve {
                    listen,
                    max_batch,
                    max_wait_ms,
                    queue,
                    backend,
                },
        } => prover_serve(listen, max_batch, max_wait_ms, queue, &backend),
    };
    if let Err(error) = result {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn node(
    config: Option<std::path::PathBuf>,
    data_dir: Option<std::path::PathBuf>,
    listen: Option<std::net::SocketAddr>,
    block_interval_ms: Option<u64>,
) -> Result<()> {
    use coalition_node::config::NodeConfig;
    let mut config = match config {
        Some(path) => NodeConfig::from_file(&path)?,
        None => NodeConfig::default(),
    };
    if let Some(dir) = data_dir {
        config.data_dir = dir;
    }
    if let Some(addr) = listen {
        config.listen = addr;
    }
    if let Some(ms) = block_interval_ms {
        config.block_interval_ms = ms;
    }
    config.check()?;
    let (genesis, dev_mode) = config.genesis()?;
    if dev_mode {
        eprintln!(
            "coalition node: DEV MODE — INSECURE development keys and identities are allowed; \
             never use this coalition for real points"
        );
    }
    eprintln!(
        "coalition node: coalition {:?}, data in {}",
        genesis.name,
        config.data_dir.display()
    );
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(coalition_node::service::run(config, None))?;
    Ok(())
}

fn prover_serve(
    listen: std::net::SocketAddr,
    max_batch: usize,
    max_wait_ms: u64,
    queue: usize,
    backend: &str,
) -> Result<()> {
    use coalition_prover::msm::{best_available, CpuBackend, MsmBackend};
    let backend: Arc<dyn MsmBackend> = match backend {
        "cpu" => Arc::new(CpuBackend),
        "auto" | "gpu" => {
            let (chosen, fallback) = best_available();
            if let Some(reason) = fallback {
                if backend == "gpu" {
                    bail!("--backend gpu: {reason}");
                }
                eprintln!("coalition prover: {reason}");
            }
            Arc::from(chosen)
        }
        other => bail!("unknown backend {other:?} (auto, cpu or gpu)"),
    };
    let params_dir = default_params_dir();
    let keys = ShieldedProvingKeys::insecure_dev(&params_dir)
        .with_context(|| format!("proving keys in {}", params_dir.display()))?;
    let keys = coalition_prover_service::Keys {
        output: Arc::new(keys.output),
        spend: Arc::new(keys.spend),
    };
    let config = coalition_prover_service::QueueConfig {
        capacity: queue,
        max_batch: max_batch.max(1),
        max_wait: std::time::Duration::from_millis(max_wait_ms),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let bound = listener.local_addr()?;
        println!(
            "coalition prover: listening on http://{bound} (backend {}; batches of up to {} jobs, {} ms; queue {}; INSECURE dev keys from {})",
            backend.name(),
            config.max_batch,
            max_wait_ms,
            config.capacity,
            params_dir.display()
        );
        coalition_prover_service::serve(listener, config, keys, backend)
            .await
            .context("serving")
    })
}

struct Party {
    name: &'static str,
    keys: IdentityKeys,
}

impl Party {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            keys: IdentityKeys::from_seed(&Seed::random(&mut OsRng)),
        }
    }
    fn id(&self) -> &PublicIdentity {
        self.keys.public()
    }
}

struct Demo {
    ledger: AccountLedger,
    log: Vec<Transaction>,
    table: DecryptionTable,
}

impl Demo {
    fn submit(&mut self, who: &str, what: String, tx: Transaction) -> Result<()> {
        // Round-trip through the wire encoding, as a node would receive it.
        let bytes = tx.to_bytes();
        let received: Transaction = decode_exact(&bytes).context("decoding the transaction")?;
        let started = Instant::now();
        self.ledger
            .apply(&received)
            .with_context(|| format!("{who}: {what}"))?;
        println!(
            "  {:<9} {:<58} {:>5} B, verified in {:>5.1} ms",
            who,
            what,
            bytes.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        self.log.push(received);
        Ok(())
    }

    fn account(&self, who: &Party, currency: &CurrencyId) -> AccountState {
        self.ledger
            .account(&who.keys.loyalty_id(), currency)
            .cloned()
            .unwrap_or_else(|| AccountState::new(*who.id()))
    }

    fn balance(&self, who: &Party, currency: &CurrencyId) -> Result<(u64, u64)> {
        let state = self.account(who, currency);
        let secret = who.keys.elgamal_secret();
        Ok((
            state.available.decrypt(secret, &self.table)?,
            state.pending.decrypt(secret, &self.table)?,
        ))
    }

    fn apply_pending(&mut self, who: &Party, currency: &CurrencyPolicy) -> Result<()> {
        let state = self.account(who, &currency.id);
        let tx = transactions::apply_pending(self.ledger.chain(), currency.id, &who.keys, &state)?;
        self.submit(
            who.name,
            format!(
                "applies {} pending {} credit(s)",
                state.pending_credits, currency.id
            ),
            tx,
        )
    }
}

fn demo() -> Result<()> {
    let started = Instant::now();
    println!("Coalition demo: the confidential-account layer, real proofs, real verification.\n");
    print!("Building the decryption table (2^20 entries, balances up to 2^40)... ");
    let table = DecryptionTable::standard();
    println!("done in {:.1} s", started.elapsed().as_secs_f64());

    let airline = Party::new("airline");
    let hotel = Party::new("hotel");
    let grocer = Party::new("grocer");
    let auditor = Party::new("auditor");
    let alice = Party::new("alice");
    let bob = Party::new("bob");

    let miles = CurrencyPolicy {
        id: CurrencyId::new("MILES")?,
        issuer: *airline.id(),
        auditor: Some(auditor.id().encryption),
    };
    let hpts = CurrencyPolicy {
        id: CurrencyId::new("HPTS")?,
        issuer: *hotel.id(),
        auditor: Some(auditor.id().encryption),
    };
    let miles_to_hpts = ExchangeRate::new(3, 2)?;
    let params_dir = default_params_dir();
    let keys_started = Instant::now();
    let pool_keys = ShieldedProvingKeys::insecure_dev(&params_dir)
        .with_context(|| format!("shielded-pool dev keys in {}", params_dir.display()))?;
    println!(
        "Shielded-pool Groth16 keys: INSECURE deterministic dev setup, cached in {} ({:.1} s)",
        params_dir.display(),
        keys_started.elapsed().as_secs_f64()
    );
    let mut ledger = AccountLedger::with_shielded_pool(
        ChainId([0xC0; 32]),
        Arc::new(pool_keys.verifying_keys()),
    );
    ledger.register_currency(miles.clone())?;
    ledger.register_currency(hpts.clone())?;
    ledger.set_exchange_rate(miles.id, hpts.id, miles_to_hpts)?;
    println!(
        "\nPartners: airline issues MILES, hotel issues HPTS; 2 MILES buy 3 HPTS; both audited."
    );
    for p in [&airline, &hotel, &grocer, &alice, &bob] {
        println!("  {:<8} loyalty ID {}", p.name, p.keys.loyalty_id());
    }
    let mut d = Demo {
        ledger,
        log: Vec::new(),
        table,
    };
    let chain = d.ledger.chain();
    let rng = &mut OsRng;

    println!(
        "\nEarning (Issue: amount encrypted to customer, issuer and auditor, 32-bit range proof):"
    );
    for (who, amount) in [(&alice, 12_000u64), (&bob, 4_500)] {
        let nonce = d.ledger.issuer_nonce(&miles.id);
        let tx = transactions::issue(chain, &miles, &airline.keys, nonce, who.id(), amount, rng)?;
        d.submit(
            "airline",
            format!("issues {amount} MILES to {}", who.name),
            tx,
        )?;
    }
    let nonce = d.ledger.issuer_nonce(&hpts.id);
    let tx = transactions::issue(chain, &hpts, &hotel.keys, nonce, alice.id(), 800, rng)?;
    d.submit("hotel", "issues 800 HPTS to alice".into(), tx)?;
    d.apply_pending(&alice, &miles)?;
    d.apply_pending(&bob, &miles)?;

    println!(
        "\nSpending (Transfer: equality + validity proofs, one aggregated 2x64-bit range proof):"
    );
    let state = d.account(&alice, &miles.id);
    let balance = d.balance(&alice, &miles.id)?.0;
    let tx = transactions::transfer(
        chain,
        &miles,
        &alice.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        bob.id(),
        2_000,
        rng,
    )?;
    d.submit("alice", "sends 2000 MILES to bob".into(), tx)?;
    let state = d.account(&bob, &miles.id);
    let balance = d.balance(&bob, &miles.id)?.0;
    let tx = transactions::transfer(
        chain,
        &miles,
        &bob.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        grocer.id(),
        3_000,
        rng,
    )?;
    d.submit("bob", "redeems 3000 MILES at the grocer".into(), tx)?;
    // An overdraw cannot even be proven.
    let state = d.account(&bob, &miles.id);
    let balance = d.balance(&bob, &miles.id)?.0;
    match transactions::transfer(
        chain,
        &miles,
        &bob.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        grocer.id(),
        balance + 1,
        rng,
    ) {
        Err(e) => println!(
            "  {:<9} tries to spend {} MILES with {balance}: refused ({e})",
            "bob",
            balance + 1
        ),
        Ok(_) => bail!("an overdraw was proven"),
    }

    println!("\nExchanging (Exchange: q*y = p*x proven on hidden amounts):");
    let state = d.account(&alice, &miles.id);
    let balance = d.balance(&alice, &miles.id)?.0;
    let tx = transactions::exchange(
        chain,
        &miles,
        &hpts,
        miles_to_hpts,
        &alice.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        4_000,
        rng,
    )?;
    d.submit("alice", "exchanges 4000 MILES into 6000 HPTS".into(), tx)?;
    d.apply_pending(&alice, &hpts)?;
    let state = d.account(&alice, &hpts.id);
    let balance = d.balance(&alice, &hpts.id)?.0;
    let tx = transactions::transfer(
        chain,
        &hpts,
        &alice.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        hotel.id(),
        5_000,
        rng,
    )?;
    d.submit(
        "alice",
        "redeems 5000 HPTS for a night at the hotel".into(),
        tx,
    )?;

    println!("\nRedeeming privately (shielded pool: Poseidon notes, Groth16 on BN254):");
    let state = d.account(&bob, &miles.id);
    let balance = d.balance(&bob, &miles.id)?.0;
    let bob_seed = Seed::random(&mut OsRng);
    // Bob's wallet: a fresh seed for this demo; its shielded key and address.
    let bob_shielded = bob_seed.shielded_spending_key();
    let bob_address = bob_shielded.address();
    let proving = Instant::now();
    let shielded = shield(
        chain,
        miles.id,
        &bob.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        1_000,
        &bob_address,
        &pool_keys.output,
        rng,
    )?;
    let prove_ms = proving.elapsed().as_secs_f64() * 1e3;
    d.submit(
        "bob",
        format!("shields 1000 MILES into a note (proved in {prove_ms:.0} ms)"),
        shielded.tx,
    )?;
    // The wallet finds its note by trial decryption, as if restored from its seed.
    let pool = d.ledger.pool().context("pool enabled")?;
    let ivk = bob_shielded.incoming_viewing_key();
    let mut mine = Vec::new();
    for (position, note) in pool.notes().iter().enumerate() {
        if let Some(found) = note.encrypted.decrypt(&ivk, &bob_address, &note.commitment) {
            mine.push(SpendInput {
                note: found,
                path: pool.tree().path(position as u64)?,
            });
        }
    }
    let root = pool.latest_root();
    let proving = Instant::now();
    let redeemed = redeem(
        chain,
        miles.id,
        &bob_shielded,
        &mine,
        root,
        grocer.id(),
        700,
        &pool_keys.spend,
        rng,
    )?;
    let prove_ms = proving.elapsed().as_secs_f64() * 1e3;
    let redeem_bytes = redeemed.tx.to_bytes();
    let names_bob = redeem_bytes
        .windows(32)
        .any(|w| w == bob.keys.loyalty_id().0 || w == bob.id().signing.to_bytes());
    d.submit(
        "(pool)",
        format!("pays 700 MILES to the grocer (proved in {prove_ms:.0} ms)"),
        redeemed.tx.clone(),
    )?;
    println!(
        "  the Redeem names the grocer and 700 MILES, not bob (bob's ID in its bytes: {names_bob}); change note {} MILES",
        redeemed.change.value
    );
    match d.ledger.clone().apply(&redeemed.tx) {
        Err(e) => println!("  {:<9} the same Redeem again: refused ({e})", "(pool)"),
        Ok(()) => bail!("a note was redeemed twice"),
    }

    println!(
        "\nSettling (Burn: merchant returns points; amount readable by issuer and auditor only):"
    );
    d.apply_pending(&grocer, &miles)?;
    let state = d.account(&grocer, &miles.id);
    let balance = d.balance(&grocer, &miles.id)?.0;
    let tx = transactions::burn(
        chain,
        &miles,
        &grocer.keys,
        &SpendingAccount {
            state: &state,
            balance,
        },
        balance,
        rng,
    )?;
    let Transaction::Burn(burn) = &tx else {
        bail!("not a burn")
    };
    let claim = burn
        .amount
        .ciphertext(1)
        .context("issuer handle")?
        .decrypt(airline.keys.elgamal_secret(), &d.table)?;
    d.submit(
        "grocer",
        format!("burns {balance} MILES back to the airline"),
        tx,
    )?;
    println!("  airline decrypts the burn with its own key: the grocer's claim is {claim} MILES");

    println!("\nAudit: replaying {} blocks from genesis with the verifying keys alone, re-verifying every signature and proof...", d.log.len());
    let audit_started = Instant::now();
    // The auditor needs only the verifying keys, not the proving keys.
    let verifying_keys = ShieldedVerifyingKeys::insecure_dev(&params_dir)?;
    let mut replay = AccountLedger::with_shielded_pool(chain, Arc::new(verifying_keys));
    replay.register_currency(miles.clone())?;
    replay.register_currency(hpts.clone())?;
    replay.set_exchange_rate(miles.id, hpts.id, miles_to_hpts)?;
    // Block by block as committed: a Redeem is proven against the note-tree
    // root of an earlier block.
    for (height, tx) in d.log.iter().enumerate() {
        replay
            .apply(tx)
            .with_context(|| format!("audit: block {height} does not replay"))?;
    }
    if replay != d.ledger {
        bail!("audit: replayed state differs from the node's");
    }
    // MILES in (Issue) and out (Burn, Exchange from MILES), read with the auditor key;
    // MILES inside the shielded pool are public at its boundary.
    let mut issued = 0u64;
    let mut burned = 0u64;
    let mut in_pool = 0u64;
    for tx in &d.log {
        match tx {
            Transaction::Shield(t) if t.currency == miles.id => in_pool += t.value,
            Transaction::Redeem(t) if t.currency == miles.id => in_pool -= t.value,
            _ => {}
        }
        let (amount, total) = match tx {
            Transaction::Issue(t) if t.currency == miles.id => (&t.amount, &mut issued),
            Transaction::Burn(t) if t.currency == miles.id => (&t.amount, &mut burned),
            Transaction::Exchange(t) if t.from == miles.id => (&t.amount_from, &mut burned),
            _ => continue,
        };
        *total += amount
            .ciphertext(2)
            .context("auditor handle")?
            .decrypt(auditor.keys.elgamal_secret(), &d.table)?;
    }
    let mut outstanding = in_pool;
    for p in [&alice, &bob, &grocer, &hotel] {
        let (a, b) = d.balance(p, &miles.id)?;
        outstanding += a + b;
    }
    println!(
        "  all proofs verify; state identical; MILES issued {issued} - retired {burned} = {} = {} outstanding, {in_pool} of them in the pool ({:.0} ms)",
        issued - burned,
        outstanding,
        audit_started.elapsed().as_secs_f64() * 1e3
    );
    if issued - burned != outstanding {
        bail!("audit: supply does not reconcile");
    }

    println!("\nBalances (each decrypted by its owner; nobody else can):");
    println!(
        "  {:<8} {:>14} {:>14}",
        "", "MILES avail/pend", "HPTS avail/pend"
    );
    for p in [&alice, &bob, &grocer, &hotel] {
        let (ma, mp) = d.balance(p, &miles.id)?;
        let (ha, hp) = d.balance(p, &hpts.id)?;
        println!("  {:<8} {:>8}/{:<7} {:>8}/{:<7}", p.name, ma, mp, ha, hp);
    }
    println!("\nDone in {:.1} s. Governance, settlement reports and the node's API arrive with their issues.", started.elapsed().as_secs_f64());
    Ok(())
}
