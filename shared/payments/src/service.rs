use contracts::events::{PaymentAccountCreated, WalletDeposited};
use contracts::{CorrelationId, Currency, EventEnvelope, UserId};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::error::PaymentsError;
use crate::model::{
    Account, DepositAmount, Description, EntryKind, IdempotencyKey, IdempotencyRecord, LedgerEntry,
    Page, TransactionId, TransactionView, WalletView, to_micros,
};
use crate::store::{DepositWrite, PaymentsStore, StoreError};

/// How long a deposit's `Idempotency-Key` is remembered.
pub const DEPOSIT_KEY_TTL: Duration = Duration::hours(24);
/// Status of a successful deposit, stored with the response so a replay
/// answers exactly like the original.
pub const DEPOSIT_CREATED: u16 = 201;

/// Read-and-write rounds before a deposit gives up on a wallet that keeps
/// changing under it. Backoff between rounds is jittered so that racing
/// requests spread out instead of colliding again.
const MAX_ATTEMPTS: u32 = 8;
const BACKOFF_BASE_MS: u64 = 10;
const BACKOFF_CAP_MS: u64 = 320;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountOpening {
    Opened(Account),
    /// The user had an account already; nothing was written or announced.
    AlreadyOpen,
}

/// Opens the user's payment account (wallet at zero) and announces it with
/// `payment_account.created`, in one transaction. Idempotent by
/// construction: the account item can only be created once, so a second
/// call (a redelivered or duplicated `user.registered`) writes nothing and
/// emits no second event.
pub async fn open_account<S: PaymentsStore>(
    store: &S,
    user_id: UserId,
    currency: Currency,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<AccountOpening, PaymentsError> {
    let account = Account::open(user_id, currency, now);
    let event = EventEnvelope::new(
        PaymentAccountCreated {
            account_id: account.id.to_string(),
            user_id,
            currency,
            created_at: account.created_at,
        },
        correlation_id,
        account.created_at,
    )
    .into_raw()
    .map_err(anyhow::Error::from)?;
    match store.create_account(&account, &event, now).await {
        Ok(()) => {
            tracing::info!(%user_id, account_id = %account.id, event_id = %event.id, "payment account opened");
            Ok(AccountOpening::Opened(account))
        }
        Err(StoreError::AccountExists) => {
            tracing::info!(%user_id, "payment account exists already; nothing to do");
            Ok(AccountOpening::AlreadyOpen)
        }
        Err(e) => Err(e.into()),
    }
}

/// A validated deposit request of the authenticated user.
#[derive(Debug, Clone)]
pub struct DepositCommand {
    pub user_id: UserId,
    pub key: IdempotencyKey,
    pub amount: DepositAmount,
    pub currency: Currency,
    pub description: Description,
}

impl DepositCommand {
    /// Hash of what was asked, to tell a retry from a reused key. Fields in
    /// a fixed order over normalised values, so equal requests hash equally
    /// however the client formatted its JSON.
    fn payload_hash(&self) -> Result<String, PaymentsError> {
        #[derive(Serialize)]
        struct Canonical<'a> {
            amount: i64,
            currency: &'a str,
            description: &'a str,
        }
        let canonical = serde_json::to_vec(&Canonical {
            amount: self.amount.minor_units(),
            currency: self.currency.code(),
            description: self.description.as_str(),
        })
        .map_err(anyhow::Error::from)?;
        Ok(platform::idempotency::payload_hash(&canonical))
    }
}

/// The answer to a deposit: the response JSON and its status, either fresh
/// or replayed from the idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositReceipt {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

/// Credits the wallet exactly once per idempotency key.
///
/// Each attempt reads the account (strongly consistent) and writes one
/// transaction: the credit conditioned on the version it read, the ledger
/// entry with `balance_after = balance read + amount`, the idempotency record
/// (only if the key is free) and the `wallet.deposited` outbox event. The
/// version condition makes `balance_after` exact: the transaction commits
/// only if no other write came between the read and the credit; otherwise
/// nothing is written and the attempt is repeated. The idempotency record
/// commits with the credit, so a key that is taken means the deposit is done:
/// its stored response is replayed (same payload) or the request refused
/// (different payload). Concurrent requests with one key credit once.
///
/// The entry's timestamp is at least one microsecond after the account's
/// last change, so the ledger's time order is its version order even if
/// clocks of concurrent invocations disagree.
pub async fn deposit<S: PaymentsStore>(
    store: &S,
    cmd: DepositCommand,
    correlation_id: CorrelationId,
    now: OffsetDateTime,
) -> Result<DepositReceipt, PaymentsError> {
    let payload_hash = cmd.payload_hash()?;
    let transaction_id = TransactionId::new();
    let amount = cmd.amount.minor_units();
    for attempt in 1..=MAX_ATTEMPTS {
        let account = store
            .account(cmd.user_id)
            .await?
            .ok_or(PaymentsError::AccountNotReady)?;
        if account.currency != cmd.currency {
            return Err(PaymentsError::CurrencyMismatch {
                wallet: account.currency,
                requested: cmd.currency,
            });
        }
        let at = to_micros(now).max(account.updated_at + Duration::microseconds(1));
        let balance_after = account
            .balance
            .checked_add(amount)
            .ok_or_else(|| anyhow::anyhow!("balance of {} would overflow", account.id))?;
        let entry = LedgerEntry {
            id: transaction_id.clone(),
            account_id: account.id.clone(),
            user_id: cmd.user_id,
            kind: EntryKind::Deposit,
            amount,
            currency: account.currency,
            balance_after,
            description: cmd.description.clone(),
            version: account.version + 1,
            created_at: at,
        };
        let body =
            serde_json::to_string(&TransactionView::from(&entry)).map_err(anyhow::Error::from)?;
        let record = IdempotencyRecord {
            user_id: cmd.user_id,
            key: cmd.key.clone(),
            payload_hash: payload_hash.clone(),
            status: DEPOSIT_CREATED,
            body: body.clone(),
            expires_at: now + DEPOSIT_KEY_TTL,
        };
        let event = EventEnvelope::new(
            WalletDeposited {
                account_id: account.id.to_string(),
                user_id: cmd.user_id,
                transaction_id: transaction_id.to_string(),
                amount,
                currency: account.currency,
                balance_after,
                description: cmd.description.as_str().to_owned(),
                deposited_at: at,
            },
            correlation_id.clone(),
            at,
        )
        .into_raw()
        .map_err(anyhow::Error::from)?;
        let write = DepositWrite {
            account: &account,
            entry: &entry,
            idempotency: &record,
        };
        match store.record_deposit(write, &event, now).await {
            Ok(()) => {
                tracing::info!(
                    user_id = %cmd.user_id,
                    account_id = %account.id,
                    transaction_id = %transaction_id,
                    amount,
                    balance_after,
                    attempt,
                    event_id = %event.id,
                    "wallet credited"
                );
                return Ok(DepositReceipt {
                    status: DEPOSIT_CREATED,
                    body,
                    replayed: false,
                });
            }
            Err(StoreError::KeyTaken) => {
                match store.idempotency_record(cmd.user_id, &cmd.key).await? {
                    Some(previous) if previous.is_live(now) => {
                        return if previous.payload_hash == payload_hash {
                            tracing::info!(user_id = %cmd.user_id, key = %cmd.key, "deposit replayed from its idempotency record");
                            Ok(DepositReceipt {
                                status: previous.status,
                                body: previous.body,
                                replayed: true,
                            })
                        } else {
                            tracing::info!(user_id = %cmd.user_id, key = %cmd.key, "idempotency key reused with another payload");
                            Err(PaymentsError::KeyReused)
                        };
                    }
                    // Expired or deleted between the write and the read: the
                    // key is free again, so the next attempt may take it.
                    _ => {}
                }
            }
            Err(StoreError::Stale) => {
                tracing::debug!(attempt, "wallet changed since it was read; retrying");
                if attempt < MAX_ATTEMPTS {
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!(user_id = %cmd.user_id, "deposit gave up after {MAX_ATTEMPTS} conflicting attempts");
    Err(PaymentsError::Busy)
}

/// Full jitter: uniformly random up to an exponentially growing ceiling.
fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling = (BACKOFF_BASE_MS << attempt.min(6)).min(BACKOFF_CAP_MS);
    std::time::Duration::from_millis(rand::random_range(0..=ceiling))
}

/// The caller's wallet.
pub async fn wallet<S: PaymentsStore>(
    store: &S,
    user_id: UserId,
) -> Result<WalletView, PaymentsError> {
    store
        .account(user_id)
        .await?
        .map(|a| WalletView::from(&a))
        .ok_or(PaymentsError::AccountNotFound)
}

/// The caller's ledger, newest first.
pub async fn transactions<S: PaymentsStore>(
    store: &S,
    user_id: UserId,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<TransactionView>, PaymentsError> {
    let page = store.ledger(user_id, cursor, limit.clamp(1, 100)).await?;
    Ok(Page {
        items: page.items.iter().map(TransactionView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

#[cfg(test)]
mod tests;
