//! Transaction builders (spec §8): from intent to a signed, proven transaction.
//!
//! Each builder checks what the prover can check locally (ownership, the
//! wallet's balance against the ledger ciphertext, ranges) and refuses early
//! with a typed error rather than producing a proof that cannot verify.

use coalition_core::account::AccountState;
use coalition_core::currency::{CurrencyId, CurrencyPolicy, ExchangeRate};
use coalition_core::elgamal::{GroupedCiphertext, PedersenCommitment, PedersenOpening};
use coalition_core::keys::{ElGamalPublicKey, IdentityKeys, PublicIdentity, TxSignature};
use coalition_core::proofs::{
    DebitProof, ExchangeProof, IssueProof, DEBIT_RANGE, EXCHANGE_RANGE, ISSUE_RANGE,
};
use coalition_core::statements::DebitStatement;
use coalition_core::transaction::{
    ApplyPendingTx, BurnTx, ChainId, ExchangeTx, IssueTx, Transaction, TransferTx,
};
use ed25519_dalek::Signature;
use rand_core::{CryptoRng, RngCore};

use crate::errors::ProofError;
use crate::range::prove_range;
use crate::sigma::{prove_equality, prove_grouped_validity, prove_rate};

pub(crate) fn placeholder_signature() -> TxSignature {
    TxSignature(Signature::from_bytes(&[0u8; 64]))
}

pub(crate) fn sign(keys: &IdentityKeys, mut tx: Transaction) -> Transaction {
    tx.set_signature(keys.sign(&tx.signing_message()));
    tx
}

/// What the owner knows about the account it spends from.
#[derive(Debug, Clone)]
pub struct SpendingAccount<'a> {
    /// The account as stored on the ledger (available ciphertext and nonce).
    pub state: &'a AccountState,
    /// The available balance the wallet believes the ciphertext holds.
    pub balance: u64,
}

/// Checks the signer owns the account and that the ledger ciphertext holds
/// the balance the wallet believes, then returns the balance after debiting
/// `amount`.
pub(crate) fn debit_balance(
    keys: &IdentityKeys,
    account: &SpendingAccount<'_>,
    amount: u64,
) -> Result<u64, ProofError> {
    if account.state.owner != *keys.public() {
        return Err(ProofError::NotOwner);
    }
    if !account
        .state
        .available
        .decrypts_to(keys.elgamal_secret(), account.balance)
    {
        return Err(ProofError::BalanceOutOfSync);
    }
    account
        .balance
        .checked_sub(amount)
        .ok_or(ProofError::InsufficientBalance)
}

/// Builds an `Issue` of `amount ∈ [0, 2^32)` from the currency's issuer.
pub fn issue<R: RngCore + CryptoRng>(
    chain: ChainId,
    policy: &CurrencyPolicy,
    issuer: &IdentityKeys,
    issuer_nonce: u64,
    recipient: &PublicIdentity,
    amount: u64,
    rng: &mut R,
) -> Result<Transaction, ProofError> {
    if policy.issuer != *issuer.public() {
        return Err(ProofError::NotOwner);
    }
    if amount >= 1 << ISSUE_RANGE.0 {
        return Err(ProofError::AmountOutOfRange(
            "an Issue is at most 2^32 - 1 points",
        ));
    }
    let opening = PedersenOpening::random(rng);
    let mut keys = vec![recipient.encryption, issuer.public().encryption];
    keys.extend(policy.auditor);
    let ciphertext = GroupedCiphertext::encrypt_with(&keys, amount, &opening);
    let mut tx = IssueTx {
        chain,
        currency: policy.id,
        issuer_nonce,
        recipient: *recipient,
        amount: ciphertext,
        proof: IssueProof {
            validity: dummy_validity(keys.len()),
            range: dummy_range(ISSUE_RANGE),
        },
        signature: placeholder_signature(),
    };
    let statement = tx.statement(policy);
    let mut transcript = statement.transcript();
    tx.proof.validity = prove_grouped_validity(&mut transcript, &keys, amount, &opening, rng);
    tx.proof.range = prove_range(
        &mut transcript,
        &[amount],
        &[Some(&opening)],
        ISSUE_RANGE.0,
        rng,
    )?;
    Ok(sign(issuer, Transaction::Issue(tx)))
}

/// The secrets of a Transfer or Burn, fixed before the statement exists.
struct DebitWitness {
    amount: u64,
    amount_opening: PedersenOpening,
    new_balance: u64,
    balance_opening: PedersenOpening,
}

/// Encrypts the amount to `keys` and commits to the new balance.
fn start_debit<R: RngCore + CryptoRng>(
    owner: &IdentityKeys,
    account: &SpendingAccount<'_>,
    keys: &[ElGamalPublicKey],
    amount: u64,
    rng: &mut R,
) -> Result<(GroupedCiphertext, PedersenCommitment, DebitWitness), ProofError> {
    let new_balance = debit_balance(owner, account, amount)?;
    let witness = DebitWitness {
        amount,
        amount_opening: PedersenOpening::random(rng),
        new_balance,
        balance_opening: PedersenOpening::random(rng),
    };
    Ok((
        GroupedCiphertext::encrypt_with(keys, amount, &witness.amount_opening),
        PedersenCommitment::new(new_balance, &witness.balance_opening),
        witness,
    ))
}

/// Proves a Transfer or Burn statement (spec §8.4, §8.6): equality, validity,
/// then the aggregated range proof, over one transcript.
fn prove_debit<R: RngCore + CryptoRng>(
    owner: &IdentityKeys,
    statement: &DebitStatement,
    witness: &DebitWitness,
    rng: &mut R,
) -> Result<DebitProof, ProofError> {
    let new_balance_ciphertext =
        statement
            .new_balance_ciphertext()
            .ok_or(ProofError::AmountOutOfRange(
                "amount ciphertext lacks a source handle",
            ))?;
    let mut transcript = statement.transcript();
    let equality = prove_equality(
        &mut transcript,
        &owner.public().encryption,
        owner.elgamal_secret(),
        &new_balance_ciphertext,
        witness.new_balance,
        &witness.balance_opening,
        rng,
    );
    let validity = prove_grouped_validity(
        &mut transcript,
        &statement.amount_keys(),
        witness.amount,
        &witness.amount_opening,
        rng,
    );
    let minimum = statement.kind.minimum();
    let above = witness
        .amount
        .checked_sub(minimum)
        .ok_or(ProofError::AmountOutOfRange(
            "a transfer moves at least one point",
        ))?;
    let range = prove_range(
        &mut transcript,
        &[above, witness.new_balance],
        &[
            Some(&witness.amount_opening),
            Some(&witness.balance_opening),
        ],
        DEBIT_RANGE.0,
        rng,
    )?;
    Ok(DebitProof {
        equality,
        validity,
        range,
    })
}

/// Builds a `Transfer` of `amount` from the owner's account to `destination`.
pub fn transfer<R: RngCore + CryptoRng>(
    chain: ChainId,
    policy: &CurrencyPolicy,
    owner: &IdentityKeys,
    account: &SpendingAccount<'_>,
    destination: &PublicIdentity,
    amount: u64,
    rng: &mut R,
) -> Result<Transaction, ProofError> {
    let mut keys = vec![owner.public().encryption, destination.encryption];
    keys.extend(policy.auditor);
    let (ciphertext, new_balance, witness) = start_debit(owner, account, &keys, amount, rng)?;
    let mut tx = TransferTx {
        chain,
        currency: policy.id,
        nonce: account.state.nonce,
        source: *owner.public(),
        destination: *destination,
        amount: ciphertext,
        new_balance,
        proof: placeholder_debit(keys.len()),
        signature: placeholder_signature(),
    };
    tx.proof = prove_debit(
        owner,
        &tx.statement(policy, &account.state.available),
        &witness,
        rng,
    )?;
    Ok(sign(owner, Transaction::Transfer(tx)))
}

/// Builds a `Burn` of `amount` from a merchant's account back to the issuer.
pub fn burn<R: RngCore + CryptoRng>(
    chain: ChainId,
    policy: &CurrencyPolicy,
    merchant: &IdentityKeys,
    account: &SpendingAccount<'_>,
    amount: u64,
    rng: &mut R,
) -> Result<Transaction, ProofError> {
    let mut keys = vec![merchant.public().encryption, policy.issuer.encryption];
    keys.extend(policy.auditor);
    let (ciphertext, new_balance, witness) = start_debit(merchant, account, &keys, amount, rng)?;
    let mut tx = BurnTx {
        chain,
        currency: policy.id,
        nonce: account.state.nonce,
        source: *merchant.public(),
        amount: ciphertext,
        new_balance,
        proof: placeholder_debit(keys.len()),
        signature: placeholder_signature(),
    };
    tx.proof = prove_debit(
        merchant,
        &tx.statement(policy, &account.state.available),
        &witness,
        rng,
    )?;
    Ok(sign(merchant, Transaction::Burn(tx)))
}

/// Builds an `ApplyPending` naming the account's current credit counter.
pub fn apply_pending(
    chain: ChainId,
    currency: CurrencyId,
    owner: &IdentityKeys,
    state: &AccountState,
) -> Result<Transaction, ProofError> {
    if state.owner != *owner.public() {
        return Err(ProofError::NotOwner);
    }
    let tx = ApplyPendingTx {
        chain,
        currency,
        nonce: state.nonce,
        owner: *owner.public(),
        expected_pending_credits: state.pending_credits,
        signature: placeholder_signature(),
    };
    Ok(sign(owner, Transaction::ApplyPending(tx)))
}

/// Builds an `Exchange` of `amount` units of `from` into `to` at `rate`.
#[allow(clippy::too_many_arguments)]
pub fn exchange<R: RngCore + CryptoRng>(
    chain: ChainId,
    from: &CurrencyPolicy,
    to: &CurrencyPolicy,
    rate: ExchangeRate,
    owner: &IdentityKeys,
    account: &SpendingAccount<'_>,
    amount: u64,
    rng: &mut R,
) -> Result<Transaction, ProofError> {
    let new_balance_value = debit_balance(owner, account, amount)?;
    let converted = rate.convert(amount).ok_or(ProofError::InexactConversion {
        amount,
        numerator: rate.numerator(),
        denominator: rate.denominator(),
    })?;
    let mut from_keys = vec![owner.public().encryption, from.issuer.encryption];
    from_keys.extend(from.auditor);
    let mut to_keys = vec![owner.public().encryption, to.issuer.encryption];
    to_keys.extend(to.auditor);
    let opening_x = PedersenOpening::random(rng);
    let opening_y = PedersenOpening::random(rng);
    let opening_balance = PedersenOpening::random(rng);
    let mut tx = ExchangeTx {
        chain,
        from: from.id,
        to: to.id,
        rate,
        nonce: account.state.nonce,
        owner: *owner.public(),
        amount_from: GroupedCiphertext::encrypt_with(&from_keys, amount, &opening_x),
        amount_to: GroupedCiphertext::encrypt_with(&to_keys, converted, &opening_y),
        new_balance: PedersenCommitment::new(new_balance_value, &opening_balance),
        proof: ExchangeProof {
            equality: dummy_equality(),
            validity_from: dummy_validity(from_keys.len()),
            validity_to: dummy_validity(to_keys.len()),
            rate: coalition_core::proofs::RateProof {
                y: dummy_point(),
                z: curve25519_dalek::scalar::Scalar::ZERO,
            },
            range: dummy_range(EXCHANGE_RANGE),
        },
        signature: placeholder_signature(),
    };
    let statement = tx.statement(from, to, &account.state.available);
    let new_balance_ciphertext =
        statement
            .new_balance_ciphertext()
            .ok_or(ProofError::AmountOutOfRange(
                "amount ciphertext lacks an owner handle",
            ))?;
    let mut transcript = statement.transcript();
    tx.proof.equality = prove_equality(
        &mut transcript,
        &owner.public().encryption,
        owner.elgamal_secret(),
        &new_balance_ciphertext,
        new_balance_value,
        &opening_balance,
        rng,
    );
    tx.proof.validity_from =
        prove_grouped_validity(&mut transcript, &from_keys, amount, &opening_x, rng);
    tx.proof.validity_to =
        prove_grouped_validity(&mut transcript, &to_keys, converted, &opening_y, rng);
    tx.proof.rate = prove_rate(
        &mut transcript,
        rate.numerator(),
        rate.denominator(),
        &opening_x,
        &opening_y,
        rng,
    );
    tx.proof.range = prove_range(
        &mut transcript,
        &[amount, new_balance_value, converted, 0],
        &[
            Some(&opening_x),
            Some(&opening_balance),
            Some(&opening_y),
            None,
        ],
        EXCHANGE_RANGE.0,
        rng,
    )?;
    Ok(sign(owner, Transaction::Exchange(tx)))
}

// Placeholders fill proof fields while a statement is assembled; every one is
// overwritten by a real proof before the transaction is signed and returned.
fn dummy_point() -> coalition_core::proofs::ProofPoint {
    coalition_core::proofs::ProofPoint::new(coalition_core::generators::g())
}

pub(crate) fn dummy_equality() -> coalition_core::proofs::EqualityProof {
    use curve25519_dalek::scalar::Scalar;
    coalition_core::proofs::EqualityProof {
        y_0: dummy_point(),
        y_1: dummy_point(),
        y_2: dummy_point(),
        z_s: Scalar::ZERO,
        z_x: Scalar::ZERO,
        z_r: Scalar::ZERO,
    }
}

fn placeholder_debit(handles: usize) -> DebitProof {
    DebitProof {
        equality: dummy_equality(),
        validity: dummy_validity(handles),
        range: dummy_range(DEBIT_RANGE),
    }
}

fn dummy_validity(handles: usize) -> coalition_core::proofs::GroupedValidityProof {
    use curve25519_dalek::scalar::Scalar;
    coalition_core::proofs::GroupedValidityProof {
        y_commitment: dummy_point(),
        y_handles: vec![dummy_point(); handles],
        z_r: Scalar::ZERO,
        z_v: Scalar::ZERO,
    }
}

pub(crate) fn dummy_range((bits, parties): (usize, usize)) -> coalition_core::proofs::RangeProof {
    // A syntactically valid proof of the right shape: generator points and zero
    // scalars. It verifies against nothing.
    let rounds = (bits * parties).trailing_zeros() as usize;
    let mut bytes = Vec::new();
    let g = coalition_core::generators::g().compress();
    for _ in 0..4 {
        bytes.extend_from_slice(g.as_bytes());
    }
    bytes.extend_from_slice(&[0u8; 96]);
    for _ in 0..2 * rounds {
        bytes.extend_from_slice(g.as_bytes());
    }
    bytes.extend_from_slice(&[0u8; 64]);
    match coalition_core::proofs::RangeProof::from_bytes(&bytes, bits, parties) {
        Ok(proof) => proof,
        Err(_) => unreachable!("the placeholder has the exact encoded shape"),
    }
}
