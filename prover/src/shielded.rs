//! `Shield` and `Redeem` builders (spec §13.5–§13.6).

use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use coalition_circuits::encryption::EncryptedNote;
use coalition_circuits::keys::{FullViewingKey, ShieldedAddress, SpendingKey};
use coalition_circuits::note::{Epoch, Note, Rho, TreeRoot};
use coalition_circuits::output::OutputCircuit;
use coalition_circuits::spend::{
    dummy_input, SpendCircuit, SpendInput, SpendPublicInputs, SpendWitness,
};
use coalition_circuits::spend_auth::{Randomizer, Signature as SpendAuthSignature, SigningKey};
use coalition_core::currency::{CurrencyId, NoteLifetime};
use coalition_core::elgamal::{PedersenCommitment, PedersenOpening};
use coalition_core::keys::{IdentityKeys, PublicIdentity};
use coalition_core::shielded::{
    asset_id, shield_rho, Groth16Proof, NoteOutput, RedeemTx, ShieldBalanceProof, ShieldTx,
    SHIELD_RANGE,
};
use coalition_core::transaction::{ChainId, Transaction};
use rand_core::{CryptoRng, RngCore};

use crate::errors::ProofError;
use crate::groth16::prove;
use crate::range::prove_range;
use crate::sigma::prove_equality;
use crate::transactions::{debit_balance, placeholder_signature, sign, SpendingAccount};

/// A built `Shield` and the note it creates (for the recipient's wallet).
#[derive(Debug, Clone)]
pub struct Shielded {
    /// The signed transaction.
    pub tx: Transaction,
    /// The new note.
    pub note: Note,
}

/// Builds a `Shield` of `value` from the owner's account in `currency` to a
/// note for `recipient` (usually the owner's own shielded address), made in
/// settlement `epoch` (the ledger's current one, or the one before): the
/// note expires at `lifetime.expiry(epoch)`, the currency's policy.
#[allow(clippy::too_many_arguments)]
pub fn shield<R: RngCore + CryptoRng>(
    chain: ChainId,
    currency: CurrencyId,
    epoch: Epoch,
    lifetime: NoteLifetime,
    owner: &IdentityKeys,
    account: &SpendingAccount<'_>,
    value: u64,
    recipient: &ShieldedAddress,
    output_key: &ProvingKey<Bn254>,
    rng: &mut R,
) -> Result<Shielded, ProofError> {
    if value == 0 {
        return Err(ProofError::AmountOutOfRange(
            "a Shield moves at least 1 point",
        ));
    }
    let new_balance = debit_balance(owner, account, value)?;
    let rho = shield_rho(&chain, &owner.loyalty_id(), &currency, account.state.nonce);
    let note = Note::new(
        asset_id(&currency),
        lifetime.expiry(epoch),
        value,
        *recipient,
        rho,
        rng,
    );
    let output = NoteOutput {
        commitment: note.commitment(),
        encrypted: EncryptedNote::encrypt(&note, rng)?,
    };
    let opening = PedersenOpening::random(rng);
    let output_proof = prove("output", output_key, OutputCircuit::for_note(&note), rng)?;
    let mut tx = ShieldTx {
        chain,
        currency,
        nonce: account.state.nonce,
        epoch,
        source: *owner.public(),
        value,
        new_balance: PedersenCommitment::new(new_balance, &opening),
        balance_proof: ShieldBalanceProof {
            equality: crate::transactions::dummy_equality(),
            range: crate::transactions::dummy_range(SHIELD_RANGE),
        },
        output,
        output_proof,
        signature: placeholder_signature(),
    };
    let statement = tx.statement(&account.state.available);
    let mut transcript = statement.transcript();
    tx.balance_proof.equality = prove_equality(
        &mut transcript,
        &owner.public().encryption,
        owner.elgamal_secret(),
        &statement.new_balance_ciphertext(),
        new_balance,
        &opening,
        rng,
    );
    tx.balance_proof.range = prove_range(
        &mut transcript,
        &[new_balance],
        &[Some(&opening)],
        SHIELD_RANGE.0,
        rng,
    )?;
    Ok(Shielded {
        tx: sign(owner, Transaction::Shield(tx)),
        note,
    })
}

/// A built `Redeem` and the change note it creates.
#[derive(Debug, Clone)]
pub struct Redeemed {
    /// The transaction, proven and authorized.
    pub tx: Transaction,
    /// The change note, owned by the spender.
    pub change: Note,
}

/// A `Redeem` whose statement is fixed (nullifiers, change, `rk`, binding)
/// but not yet proven. It holds what a prover needs — the witness, with
/// the proof generation key `(ak, nk)` and `α` but no `ask` — so it can be
/// proven here ([`Self::prove`]) or by a delegated prover
/// ([`Self::witness`], then [`Self::with_proof`]).
#[derive(Clone)]
pub struct UnprovenRedeem {
    // Its proof and signature are placeholders until the later states
    // replace them; the type never lets them out.
    tx: RedeemTx,
    witness: SpendWitness,
    change: Note,
}

/// A proven `Redeem` awaiting the owner's spend-authorization signature.
#[derive(Clone)]
pub struct ProvenRedeem {
    tx: RedeemTx,
    alpha: Randomizer,
    change: Note,
}

// The witness (notes, their randomness, `α`) never goes to a log line.
impl std::fmt::Debug for UnprovenRedeem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnprovenRedeem(..)")
    }
}

impl std::fmt::Debug for ProvenRedeem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProvenRedeem(..)")
    }
}

impl UnprovenRedeem {
    /// The Spend proof's public inputs.
    pub fn public_inputs(&self) -> SpendPublicInputs {
        self.tx.public_inputs()
    }

    /// The Spend witness (what a delegated prover is sent).
    pub fn witness(&self) -> &SpendWitness {
        &self.witness
    }

    /// Proves the Spend statement here.
    pub fn prove<R: RngCore + CryptoRng>(
        self,
        spend_key: &ProvingKey<Bn254>,
        rng: &mut R,
    ) -> Result<ProvenRedeem, ProofError> {
        let circuit = SpendCircuit::new(self.public_inputs(), &self.witness);
        let proof = prove("spend", spend_key, circuit, rng)?;
        Ok(self.with_proof(proof))
    }

    /// Takes a proof made elsewhere (a delegated prover). It is not checked
    /// here: every node verifies it, and a wrong one only gets the Redeem
    /// refused.
    pub fn with_proof(self, proof: Groth16Proof) -> ProvenRedeem {
        let mut tx = self.tx;
        tx.proof = proof;
        ProvenRedeem {
            tx,
            alpha: self.witness.alpha.clone(),
            change: self.change,
        }
    }
}

impl ProvenRedeem {
    /// Signs with `rsk = ask + α` over the Redeem's binding hash: the step
    /// only the owner can take. Refuses an `ask` that is not the notes'
    /// owner's (its `rk` would differ).
    pub fn authorize<R: RngCore + CryptoRng>(
        self,
        ask: &SigningKey,
        rng: &mut R,
    ) -> Result<Redeemed, ProofError> {
        let rsk = ask.randomize(&self.alpha);
        let mut tx = self.tx;
        if rsk.verification_key() != tx.rk {
            return Err(ProofError::NotOwner);
        }
        tx.spend_auth = rsk.sign(&tx.authorization_message(), rng);
        Ok(Redeemed {
            tx: Transaction::Redeem(tx),
            change: self.change,
        })
    }
}

/// Builds the statement of a `Redeem` paying `value` of `currency` to
/// `merchant` from one or two notes of the key whose full viewing key is
/// `fvk`, proven under `root` for settlement `epoch` (the ledger's current
/// one or the one before; every note must not have expired by it), with a
/// fresh randomizer `α`. The change expires with the earliest input.
#[allow(clippy::too_many_arguments)]
pub fn build_redeem<R: RngCore + CryptoRng>(
    chain: ChainId,
    currency: CurrencyId,
    epoch: Epoch,
    fvk: &FullViewingKey,
    notes: &[SpendInput],
    root: TreeRoot,
    merchant: &PublicIdentity,
    value: u64,
    rng: &mut R,
) -> Result<UnprovenRedeem, ProofError> {
    if value == 0 {
        return Err(ProofError::AmountOutOfRange(
            "a Redeem pays at least 1 point",
        ));
    }
    if notes.is_empty() || notes.len() > 2 {
        return Err(ProofError::NoteNotSpendable(
            "a Redeem spends one or two notes",
        ));
    }
    let asset = asset_id(&currency);
    let address = fvk.address();
    let mut total: u128 = 0;
    for input in notes {
        if input.note.asset != asset {
            return Err(ProofError::NoteNotSpendable("note has another asset"));
        }
        if input.note.address.owner != address.owner {
            return Err(ProofError::NoteNotSpendable(
                "note is not owned by this key",
            ));
        }
        if input.path.root(input.note.commitment().0) != root.0 {
            return Err(ProofError::NotInTree);
        }
        if !input.note.expiry.allows(epoch) {
            return Err(ProofError::NoteNotSpendable(
                "note expired: its points can no longer be redeemed",
            ));
        }
        total += u128::from(input.note.value);
    }
    let change_value = total
        .checked_sub(u128::from(value))
        .ok_or(ProofError::InsufficientBalance)?;
    let change_value = u64::try_from(change_value)
        .map_err(|_| ProofError::AmountOutOfRange("change would exceed 2^64 - 1; pay more"))?;

    let second = match notes.get(1) {
        Some(input) => input.clone(),
        None => dummy_input(asset, address, rng),
    };
    let first_nullifier = notes[0].note.nullifier(&fvk.nk);
    let change = Note::new(
        asset,
        notes[0].note.expiry.earliest(second.note.expiry),
        change_value,
        address,
        Rho(first_nullifier.0),
        rng,
    );
    let witness = SpendWitness {
        ak: fvk.ak,
        nk: fvk.nk.clone(),
        alpha: Randomizer::random(rng),
        inputs: [notes[0].clone(), second],
        change: change.clone(),
    };
    let tx = RedeemTx {
        chain,
        currency,
        merchant: *merchant,
        value,
        epoch,
        root,
        nullifiers: [first_nullifier, witness.inputs[1].note.nullifier(&fvk.nk)],
        rk: witness.rk(),
        change: NoteOutput {
            commitment: change.commitment(),
            encrypted: EncryptedNote::encrypt(&change, rng)?,
        },
        proof: Groth16Proof(Default::default()),
        spend_auth: SpendAuthSignature::from_bytes(&[0; SpendAuthSignature::LEN]),
    };
    Ok(UnprovenRedeem {
        tx,
        witness,
        change,
    })
}

/// Builds, proves and authorizes a `Redeem` here: [`build_redeem`], then
/// [`UnprovenRedeem::prove`], then [`ProvenRedeem::authorize`].
#[allow(clippy::too_many_arguments)]
pub fn redeem<R: RngCore + CryptoRng>(
    chain: ChainId,
    currency: CurrencyId,
    epoch: Epoch,
    spending_key: &SpendingKey,
    notes: &[SpendInput],
    root: TreeRoot,
    merchant: &PublicIdentity,
    value: u64,
    spend_key: &ProvingKey<Bn254>,
    rng: &mut R,
) -> Result<Redeemed, ProofError> {
    let fvk = spending_key.full_viewing_key();
    build_redeem(
        chain, currency, epoch, &fvk, notes, root, merchant, value, rng,
    )?
    .prove(spend_key, rng)?
    .authorize(&spending_key.spend_authorizing_key(), rng)
}
