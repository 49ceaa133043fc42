//! # coalition-wallet
//!
//! A customer's wallet: its seed ([`keyfile`]), its local store
//! ([`store`]), and the operations a customer performs against a node's
//! HTTP API — sync, balances, history, and building, proving and submitting
//! `ApplyPending`, `Transfer`, `Exchange`, `Shield` and `Redeem`.
//!
//! Everything the wallet learns it learns from blocks and pool notes the
//! node serves, decoded strictly and decrypted with the wallet's own keys;
//! the node never sees a secret. A wallet restored from its seed rescans
//! from genesis and recovers the same balances, notes and history.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod keyfile;
pub mod store;

use std::path::{Path, PathBuf};

use coalition_api::client::{Client, ClientError, CurrencyListing};
use coalition_api::prover::{ProveAnswer, ProveRequest};
use coalition_circuits::note::{Epoch, Expiry};
use coalition_circuits::spend::SpendInput;
use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy};
use coalition_core::discrete_log::DecryptionTable;
use coalition_core::elgamal::GroupedCiphertext;
use coalition_core::encoding::{decode_exact, Encode};
use coalition_core::keys::{IdentityKeys, PublicIdentity, Seed};
use coalition_core::shielded::NoteOutput;
use coalition_core::transaction::{ChainId, Transaction, TxId};
use coalition_params::{ShieldedProvingKeys, ShieldedVerifyingKeys};
use coalition_prover::shielded::{build_redeem, UnprovenRedeem};
use coalition_prover::transactions::{self, SpendingAccount};
use coalition_prover::ProofError;
use coalition_verifier::groth16::{verify_groth16, Groth16Item};
use rand_core::OsRng;

use store::{HistoryEntry, OwnedNote, WalletState};

/// Why a wallet operation failed. Nothing was submitted unless it says so.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// Talking to the node failed (unreachable, refused, malformed).
    #[error(transparent)]
    Node(#[from] ClientError),
    /// The key file is unusable.
    #[error(transparent)]
    KeyFile(#[from] keyfile::KeyFileError),
    /// The wallet directory or store is unusable.
    #[error("wallet store {path}: {reason}")]
    Store {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No wallet here.
    #[error("no wallet in {0} (run `coalition wallet init`)")]
    NoWallet(PathBuf),
    /// A wallet already exists here.
    #[error("a wallet already exists in {0}")]
    Exists(PathBuf),
    /// The node serves another coalition than the wallet's.
    #[error("the node serves chain {node}, the wallet belongs to chain {wallet}")]
    WrongChain {
        /// The node's.
        node: String,
        /// The wallet's.
        wallet: String,
    },
    /// The currency is not registered.
    #[error("currency {0} is not registered on this coalition")]
    UnknownCurrency(String),
    /// Not enough points.
    #[error("insufficient balance: {have} {currency} available, {want} needed")]
    InsufficientBalance {
        /// The currency.
        currency: String,
        /// What is there.
        have: u64,
        /// What the operation needs.
        want: u64,
    },
    /// A balance does not decrypt (beyond the table's bound).
    #[error("a balance does not decrypt: {0}")]
    Decrypt(String),
    /// The transaction could not be built or proven.
    #[error("cannot build the transaction: {0}")]
    Proof(#[from] ProofError),
    /// Bad user input (an identity or amount).
    #[error("{0}")]
    Input(String),
    /// The shielded-pool parameters could not be loaded.
    #[error("shielded-pool parameters: {0}")]
    Params(String),
    /// The delegated prover failed or answered something unusable (nothing
    /// was submitted).
    #[error("prover service: {0}")]
    Prover(String),
}

/// Where a Redeem's Spend proof is made.
#[derive(Clone, Copy, Debug)]
pub enum SpendProver<'a> {
    /// Here, with the proving keys.
    Local(&'a ShieldedProvingKeys),
    /// By a `coalition prover serve` at this loopback address. It is sent
    /// the proof generation key `(ak, nk)`, this spend's `α` and the notes —
    /// never `ask` — and the wallet checks the proof it returns under the
    /// verifying keys, then signs: the service can link the notes but cannot
    /// spend them (spec §14.3).
    Delegated(std::net::SocketAddr, &'a ShieldedVerifyingKeys),
}

/// Sends `unproven`'s Spend job to the prover service at `addr` and returns
/// its proof, checked under `keys` (a wrong proof is an error here, before
/// anything is signed). The job body holds witness secrets: it is wiped
/// after sending. Only a loopback address is accepted: the client speaks
/// plain HTTP, and the job would let an eavesdropper link every note of
/// the key (run the service on the wallet's machine, or reach a remote one
/// through a tunnel that authenticates it).
pub fn prove_remotely(
    addr: std::net::SocketAddr,
    unproven: &UnprovenRedeem,
    keys: &ShieldedVerifyingKeys,
) -> Result<coalition_core::shielded::Groth16Proof> {
    if !addr.ip().is_loopback() {
        return Err(WalletError::Prover(format!(
            "{addr} is not a loopback address: a Spend job (ak, nk, α, the notes) \
             only travels to a prover on this machine (use a tunnel for a remote one)"
        )));
    }
    let public = unproven.public_inputs();
    let job = ProveRequest::spend(&public, unproven.witness());
    let body = zeroize::Zeroizing::new(
        serde_json::to_vec(&job).map_err(|e| WalletError::Prover(e.to_string()))?,
    );
    let response = Client::new(addr)
        .with_timeout(std::time::Duration::from_secs(300))
        .post("/v1/prove", "application/json", &body)?;
    if response.status != 200 {
        return Err(WalletError::Prover(format!(
            "answered {}: {}",
            response.status,
            response.text()
        )));
    }
    let answer: ProveAnswer = response
        .decode()
        .map_err(|e| WalletError::Prover(format!("its answer: {e}")))?;
    let proof = hex::decode(&answer.proof)
        .map_err(|_| WalletError::Prover("the proof in its answer is not hex".into()))?;
    let proof: coalition_core::shielded::Groth16Proof =
        decode_exact(&proof).map_err(|e| WalletError::Prover(format!("proof: {e}")))?;
    let inputs = public.to_field_elements();
    verify_groth16(&Groth16Item {
        key: &keys.spend,
        inputs: &inputs,
        proof: &proof,
    })
    .map_err(|_| {
        WalletError::Prover("its proof does not verify; nothing was signed or submitted".into())
    })?;
    Ok(proof)
}

/// A result with [`WalletError`].
pub type Result<T> = std::result::Result<T, WalletError>;

/// File names inside a wallet directory.
const SEED_FILE: &str = "seed";
const STATE_FILE: &str = "wallet.json";

/// A customer's wallet on disk, bound to one coalition.
pub struct Wallet {
    dir: PathBuf,
    keys: IdentityKeys,
    seed: Seed,
    state: WalletState,
    client: Client,
}

/// One currency's balances.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Balance {
    /// The currency.
    pub currency: String,
    /// Spendable.
    pub available: u64,
    /// Credits not yet applied.
    pub pending: u64,
    /// In unspent shielded notes that have not expired.
    pub shielded: u64,
    /// In unspent shielded notes that expired: never redeemable again.
    pub expired: u64,
}

/// Parses a public identity given as hex (what `wallet id` prints).
pub fn parse_identity(text: &str) -> Result<PublicIdentity> {
    let bytes = hex::decode(text.trim())
        .map_err(|_| WalletError::Input("an identity is hex (see `wallet id`)".into()))?;
    decode_exact(&bytes).map_err(|e| WalletError::Input(format!("not a valid identity: {e}")))
}

/// Blocks fetched per request while syncing (the node answers at most 256).
const SYNC_RANGE: u64 = 128;

/// The decryption table (balances up to 2^40, [`DecryptionTable::standard`]'s
/// sizes), once per process: loaded from [`table_cache_path`] when a
/// checked copy is there (milliseconds), else built (about 0.6 s on two
/// cores) and stored there for the next command.
pub fn table() -> &'static DecryptionTable {
    static TABLE: std::sync::OnceLock<DecryptionTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| match table_cache_path() {
        Some(path) => DecryptionTable::standard_cached(&path),
        None => DecryptionTable::standard(),
    })
}

/// Where [`table`] keeps the decryption table between commands:
/// `$COALITION_CACHE_DIR/decryption-table-20-20.bin`, by default under
/// `~/.cache/coalition` (the table holds only public points' fingerprints);
/// `None` (no caching) without either, rather than a shared directory.
pub fn table_cache_path() -> Option<PathBuf> {
    let dir = std::env::var_os("COALITION_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/coalition")))?;
    Some(dir.join("decryption-table-20-20.bin"))
}

impl Wallet {
    /// Creates a wallet in `dir` from `seed` (a fresh one unless restoring),
    /// bound to the coalition `client` serves.
    pub fn create(dir: &Path, seed: Option<Seed>, client: Client) -> Result<Wallet> {
        if dir.join(STATE_FILE).exists() || dir.join(SEED_FILE).exists() {
            return Err(WalletError::Exists(dir.to_path_buf()));
        }
        let status = client.status()?;
        std::fs::create_dir_all(dir).map_err(|e| WalletError::Store {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let seed = seed.unwrap_or_else(|| Seed::random(&mut OsRng));
        keyfile::write_seed(&dir.join(SEED_FILE), &seed)?;
        let state = WalletState::new(client.addr().to_string(), hex::encode(status.chain.0));
        let wallet = Wallet {
            dir: dir.to_path_buf(),
            keys: IdentityKeys::from_seed(&seed),
            seed,
            state,
            client,
        };
        wallet.save()?;
        Ok(wallet)
    }

    /// Opens the wallet in `dir`; `node` overrides the stored node address.
    pub fn open(dir: &Path, node: Option<std::net::SocketAddr>) -> Result<Wallet> {
        if !dir.join(STATE_FILE).exists() {
            return Err(WalletError::NoWallet(dir.to_path_buf()));
        }
        let seed = keyfile::read_seed(&dir.join(SEED_FILE))?;
        let state = WalletState::load(&dir.join(STATE_FILE))?;
        let addr = match node {
            Some(a) => a,
            None => state.node.parse().map_err(|_| WalletError::Store {
                path: dir.join(STATE_FILE),
                reason: "the stored node address is not host:port".into(),
            })?,
        };
        Ok(Wallet {
            dir: dir.to_path_buf(),
            keys: IdentityKeys::from_seed(&seed),
            seed,
            state,
            client: Client::new(addr),
        })
    }

    /// The same wallet speaking TLS to its node as `tls` says.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn with_tls(mut self, tls: coalition_api::client::ClientTls) -> Self {
        self.client = self.client.with_tls(tls);
        self
    }

    fn save(&self) -> Result<()> {
        self.state.save(&self.dir.join(STATE_FILE))
    }

    /// The wallet's identity keys.
    pub fn keys(&self) -> &IdentityKeys {
        &self.keys
    }

    /// The seed (to back it up; handle with care).
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// The stored state.
    pub fn state(&self) -> &WalletState {
        &self.state
    }

    fn chain(&self) -> Result<ChainId> {
        let status = self.client.status()?;
        let ours = self.state.chain.clone();
        if hex::encode(status.chain.0) != ours {
            return Err(WalletError::WrongChain {
                node: hex::encode(status.chain.0),
                wallet: ours,
            });
        }
        Ok(status.chain)
    }

    fn policy(&self, currency: &str) -> Result<CurrencyPolicy> {
        self.listing(currency).map(|c| c.policy)
    }

    fn listing(&self, currency: &str) -> Result<CurrencyListing> {
        let id = CurrencyId::new(currency)
            .map_err(|_| WalletError::UnknownCurrency(currency.to_string()))?;
        self.client
            .currency(&id)?
            .ok_or_else(|| WalletError::UnknownCurrency(currency.to_string()))
    }

    /// The settlement epoch of the node's tip: what a Shield or Redeem
    /// names, and what decides which notes have expired.
    pub fn settlement_epoch(&self) -> Result<Epoch> {
        self.client.status()?.settlement_epoch.ok_or_else(|| {
            WalletError::Input("the chain is past the shielded pool's 32-bit epoch clock".into())
        })
    }

    fn account(&self, currency: &CurrencyId) -> Result<AccountState> {
        Ok(self
            .client
            .account(&self.keys.loyalty_id(), currency)?
            .unwrap_or_else(|| AccountState::new(*self.keys.public())))
    }

    fn decrypt(&self, ct: &coalition_core::elgamal::Ciphertext) -> Result<u64> {
        ct.decrypt(self.keys.elgamal_secret(), table())
            .map_err(|e| WalletError::Decrypt(e.to_string()))
    }

    fn read(&self, amount: &GroupedCiphertext, handle: usize) -> Option<u64> {
        amount
            .ciphertext(handle)
            .and_then(|ct| ct.decrypt(self.keys.elgamal_secret(), table()).ok())
    }

    /// Scans blocks after the last synced one for transactions that concern
    /// this wallet, and pool notes after the last scanned one for its notes;
    /// resumable (progress is saved). `progress` gets (height, tip).
    pub fn sync(&mut self, progress: &mut dyn FnMut(u64, u64)) -> Result<usize> {
        self.chain()?;
        let tip = self.client.status()?.height;
        let me = self.keys.loyalty_id();
        let mut found = 0;
        let mut height = self.state.synced_height + 1;
        while height <= tip {
            // A range of blocks per request (the client checks each sits at
            // its height); an empty range means the tip moved back or the
            // node lost blocks, so stop and keep what is saved.
            let blocks = self
                .client
                .blocks(height, SYNC_RANGE.min(tip - height + 1))?;
            if blocks.is_empty() {
                break;
            }
            for block in blocks {
                for tx in &block.transactions {
                    for entry in self.entries_for(tx, &me) {
                        self.state.history.push(HistoryEntry { height, ..entry });
                        found += 1;
                    }
                }
                self.state.synced_height = height;
                progress(height, tip);
                height += 1;
            }
            self.save()?;
        }
        self.scan_notes()?;
        self.save()?;
        Ok(found)
    }

    fn entries_for(
        &self,
        tx: &Transaction,
        me: &coalition_core::keys::LoyaltyId,
    ) -> Vec<HistoryEntry> {
        let id = hex::encode(tx.id().0);
        let entry = |kind: &str,
                     currency: &CurrencyId,
                     amount: Option<u64>,
                     direction: &str,
                     counterparty: Option<&PublicIdentity>| HistoryEntry {
            height: 0,
            tx: id.clone(),
            kind: kind.to_string(),
            currency: currency.symbol().to_string(),
            amount,
            direction: direction.to_string(),
            counterparty: counterparty.map(|p| p.loyalty_id().to_string()),
        };
        let mut out = Vec::new();
        match tx {
            Transaction::Issue(t) if t.recipient.loyalty_id() == *me => {
                out.push(entry(
                    "issue",
                    &t.currency,
                    self.read(&t.amount, 0),
                    "in",
                    None,
                ));
            }
            Transaction::Transfer(t) => {
                if t.source.loyalty_id() == *me {
                    out.push(entry(
                        "transfer",
                        &t.currency,
                        self.read(&t.amount, 0),
                        "out",
                        Some(&t.destination),
                    ));
                }
                if t.destination.loyalty_id() == *me {
                    out.push(entry(
                        "transfer",
                        &t.currency,
                        self.read(&t.amount, 1),
                        "in",
                        Some(&t.source),
                    ));
                }
            }
            Transaction::ApplyPending(t) if t.owner.loyalty_id() == *me => {
                out.push(entry("apply-pending", &t.currency, None, "self", None));
            }
            Transaction::Burn(t) if t.source.loyalty_id() == *me => {
                out.push(entry(
                    "burn",
                    &t.currency,
                    self.read(&t.amount, 0),
                    "out",
                    None,
                ));
            }
            Transaction::Exchange(t) if t.owner.loyalty_id() == *me => {
                out.push(entry(
                    "exchange",
                    &t.from,
                    self.read(&t.amount_from, 0),
                    "out",
                    None,
                ));
                out.push(entry(
                    "exchange",
                    &t.to,
                    self.read(&t.amount_to, 0),
                    "in",
                    None,
                ));
            }
            Transaction::Shield(t) if t.source.loyalty_id() == *me => {
                out.push(entry("shield", &t.currency, Some(t.value), "out", None));
            }
            Transaction::Redeem(t) if t.merchant.loyalty_id() == *me => {
                out.push(entry("redeem", &t.currency, Some(t.value), "in", None));
            }
            _ => {}
        }
        out
    }

    fn scan_notes(&mut self) -> Result<()> {
        let sk = self.seed.shielded_spending_key();
        let (ivk, address, nk) = (sk.incoming_viewing_key(), sk.address(), sk.nullifier_key());
        loop {
            let (notes, total) = self.client.pool_notes(self.state.notes_scanned)?;
            if notes.is_empty() {
                break;
            }
            for (position, output) in notes {
                if let Some(note) = output.encrypted.decrypt(&ivk, &address, &output.commitment) {
                    let currency = currency_of(note.asset.0);
                    self.state.notes.push(OwnedNote {
                        position,
                        currency,
                        value: note.value,
                        expiry: note.expiry.0,
                        output: hex::encode(output.to_bytes()),
                        spent: false,
                    });
                }
                self.state.notes_scanned = position + 1;
            }
            if self.state.notes_scanned >= total {
                break;
            }
        }
        for owned in self.state.notes.iter_mut().filter(|n| !n.spent) {
            let output = decode_note(&owned.output)?;
            if let Some(note) = output.encrypted.decrypt(&ivk, &address, &output.commitment) {
                owned.spent = self.client.is_spent(&note.nullifier(&nk))?;
            }
        }
        Ok(())
    }

    /// Balances per currency the wallet has seen (decrypted with its key).
    pub fn balances(&self) -> Result<Vec<Balance>> {
        let (currencies, _) = self.client.currencies()?;
        let epoch = self.settlement_epoch()?;
        let mut out = Vec::new();
        for listing in currencies {
            let id = listing.policy.id;
            let symbol = id.symbol().to_string();
            let (mut shielded, mut expired) = (0u64, 0u64);
            for note in self
                .state
                .notes
                .iter()
                .filter(|n| !n.spent && n.currency == symbol)
            {
                let bucket = match Expiry(note.expiry).allows(epoch) {
                    true => &mut shielded,
                    false => &mut expired,
                };
                *bucket = bucket.saturating_add(note.value);
            }
            let Some(state) = self.client.account(&self.keys.loyalty_id(), &id)? else {
                if shielded > 0 || expired > 0 {
                    out.push(Balance {
                        currency: symbol,
                        available: 0,
                        pending: 0,
                        shielded,
                        expired,
                    });
                }
                continue;
            };
            out.push(Balance {
                currency: symbol,
                available: self.decrypt(&state.available)?,
                pending: self.decrypt(&state.pending)?,
                shielded,
                expired,
            });
        }
        Ok(out)
    }

    fn spending(&self, currency: &CurrencyId, want: u64) -> Result<(AccountState, u64)> {
        let state = self.account(currency)?;
        let have = self.decrypt(&state.available)?;
        if have < want {
            return Err(WalletError::InsufficientBalance {
                currency: currency.symbol().to_string(),
                have,
                want,
            });
        }
        Ok((state, have))
    }

    fn submit(&mut self, tx: &Transaction) -> Result<(TxId, u64)> {
        let id = self.client.submit(tx)?;
        let height = self
            .client
            .wait_committed(&id, std::time::Duration::from_secs(120))?;
        Ok((id, height))
    }

    /// Folds the pending balance of `currency` into the available one; the
    /// count returned is the credits seen when it was built (credits landing
    /// before it commits are folded too).
    pub fn apply_pending(&mut self, currency: &str) -> Result<(TxId, u64, u64)> {
        let chain = self.chain()?;
        let policy = self.policy(currency)?;
        let state = self.account(&policy.id)?;
        if state.pending_credits == 0 {
            return Err(WalletError::Input(format!("no pending {currency} credits")));
        }
        let tx = transactions::apply_pending(chain, policy.id, &self.keys, &state)?;
        let (id, height) = self.submit(&tx)?;
        Ok((id, height, state.pending_credits))
    }

    /// Sends `amount` of `currency` to `to`.
    pub fn transfer(
        &mut self,
        currency: &str,
        to: &PublicIdentity,
        amount: u64,
    ) -> Result<(TxId, u64)> {
        let chain = self.chain()?;
        let policy = self.policy(currency)?;
        let (state, balance) = self.spending(&policy.id, amount)?;
        let tx = transactions::transfer(
            chain,
            &policy,
            &self.keys,
            &SpendingAccount {
                state: &state,
                balance,
            },
            to,
            amount,
            &mut OsRng,
        )?;
        self.submit(&tx)
    }

    /// Exchanges `amount` of `from` into `to` at the agreed rate.
    pub fn exchange(&mut self, from: &str, to: &str, amount: u64) -> Result<(TxId, u64, u64)> {
        let chain = self.chain()?;
        let from_policy = self.policy(from)?;
        let to_policy = self.policy(to)?;
        let (_, rates) = self.client.currencies()?;
        let rate = rates
            .iter()
            .find(|(f, t, _)| *f == from_policy.id && *t == to_policy.id)
            .map(|(_, _, r)| *r)
            .ok_or_else(|| {
                WalletError::Input(format!("no agreed exchange rate from {from} to {to}"))
            })?;
        let (state, balance) = self.spending(&from_policy.id, amount)?;
        let received = rate.convert(amount).ok_or_else(|| {
            WalletError::Input(format!(
                "{amount} {from} does not convert exactly at {rate:?}"
            ))
        })?;
        let tx = transactions::exchange(
            chain,
            &from_policy,
            &to_policy,
            rate,
            &self.keys,
            &SpendingAccount {
                state: &state,
                balance,
            },
            amount,
            &mut OsRng,
        )?;
        let (id, height) = self.submit(&tx)?;
        Ok((id, height, received))
    }

    /// Moves `amount` of `currency` from the account into a shielded note.
    pub fn shield(
        &mut self,
        currency: &str,
        amount: u64,
        keys: &ShieldedProvingKeys,
    ) -> Result<(TxId, u64)> {
        let chain = self.chain()?;
        let listing = self.listing(currency)?;
        let epoch = self.settlement_epoch()?;
        let (state, balance) = self.spending(&listing.policy.id, amount)?;
        let address = self.seed.shielded_spending_key().address();
        let built = coalition_prover::shielded::shield(
            chain,
            listing.policy.id,
            epoch,
            listing.note_lifetime,
            &self.keys,
            &SpendingAccount {
                state: &state,
                balance,
            },
            amount,
            &address,
            &keys.output,
            &mut OsRng,
        )?;
        let done = self.submit(&built.tx)?;
        self.sync(&mut |_, _| {})?;
        Ok(done)
    }

    /// Pays `amount` of `currency` to `merchant` from shielded notes (one or
    /// two unexpired ones, the largest first); the change returns to the
    /// wallet, expiring with the earlier of them.
    pub fn redeem(
        &mut self,
        currency: &str,
        merchant: &PublicIdentity,
        amount: u64,
        prover: SpendProver<'_>,
    ) -> Result<(TxId, u64)> {
        let chain = self.chain()?;
        let policy = self.policy(currency)?;
        self.sync(&mut |_, _| {})?;
        let epoch = self.settlement_epoch()?;
        let mut candidates: Vec<&OwnedNote> = self
            .state
            .notes
            .iter()
            .filter(|n| !n.spent && n.currency == policy.id.symbol())
            .filter(|n| Expiry(n.expiry).allows(epoch))
            .collect();
        candidates.sort_by_key(|n| std::cmp::Reverse(n.value));
        let chosen: Vec<&OwnedNote> = candidates.into_iter().take(2).collect();
        let have: u64 = chosen.iter().map(|n| n.value).sum();
        if have < amount {
            return Err(WalletError::InsufficientBalance {
                currency: format!("{currency} (shielded, unexpired, in at most two notes)"),
                have,
                want: amount,
            });
        }
        let sk = self.seed.shielded_spending_key();
        let (ivk, address) = (sk.incoming_viewing_key(), sk.address());
        let mut inputs = Vec::new();
        let mut root = None;
        for owned in chosen {
            let output = decode_note(&owned.output)?;
            let note = output
                .encrypted
                .decrypt(&ivk, &address, &output.commitment)
                .ok_or_else(|| WalletError::Decrypt("a stored note no longer decrypts".into()))?;
            let (path, r) = self.client.pool_path(owned.position)?;
            root = Some(r);
            inputs.push(SpendInput { note, path });
        }
        let root = root.ok_or_else(|| WalletError::Input("no notes".into()))?;
        let unproven = build_redeem(
            chain,
            policy.id,
            epoch,
            &sk.full_viewing_key(),
            &inputs,
            root,
            merchant,
            amount,
            &mut OsRng,
        )?;
        let proven = match prover {
            SpendProver::Local(keys) => unproven.prove(&keys.spend, &mut OsRng)?,
            SpendProver::Delegated(addr, keys) => {
                let proof = prove_remotely(addr, &unproven, keys)?;
                unproven.with_proof(proof)
            }
        };
        let built = proven.authorize(&sk.spend_authorizing_key(), &mut OsRng)?;
        let done = self.submit(&built.tx)?;
        self.sync(&mut |_, _| {})?;
        Ok(done)
    }
}

fn decode_note(text: &str) -> Result<NoteOutput> {
    let bytes =
        hex::decode(text).map_err(|_| WalletError::Decrypt("stored note is not hex".into()))?;
    decode_exact(&bytes).map_err(|e| WalletError::Decrypt(format!("stored note: {e}")))
}

/// The currency symbol a note's asset ID encodes (`asset_id` is the
/// symbol's 8 bytes, big-endian).
fn currency_of(asset: u64) -> String {
    String::from_utf8_lossy(&asset.to_be_bytes())
        .trim_end_matches('\0')
        .to_string()
}

/// Loads the shielded-pool verifying keys (INSECURE dev keys from the
/// parameter cache): what checking a delegated proof needs.
pub fn verifying_keys() -> Result<ShieldedVerifyingKeys> {
    ShieldedVerifyingKeys::insecure_dev(&coalition_params::default_params_dir())
        .map_err(|e| WalletError::Params(e.to_string()))
}

/// Loads the shielded-pool proving keys (INSECURE dev keys from the
/// parameter cache).
pub fn proving_keys() -> Result<ShieldedProvingKeys> {
    ShieldedProvingKeys::insecure_dev(&coalition_params::default_params_dir())
        .map_err(|e| WalletError::Params(e.to_string()))
}
