use std::sync::{Arc, Mutex};

use contracts::events::NotificationSent;
use contracts::{CorrelationId, ProductId};
use notifications::{
    DeliveryReceipt, DeliveryStatus, EmailMessage, InMemoryBodyArchive, InMemoryDeliveryLog,
    InMemoryDiscord, InMemoryEmailProvider, InMemoryPreferenceStore, ProviderError,
};
use time::macros::datetime;

use super::*;

fn low_stock() -> EventEnvelope<InventoryLowStock> {
    EventEnvelope::new(
        InventoryLowStock {
            product_id: ProductId::new(),
            sku: "MUG-BLUE".into(),
            available: 2,
            threshold: 5,
            detected_at: datetime!(2026-11-21 10:05 UTC),
        },
        CorrelationId::new(),
        datetime!(2026-11-21 10:05 UTC),
    )
}

fn admins(list: &str) -> AdminRecipients {
    AdminRecipients::from_env(&Env::from_pairs(&[("ADMIN_ALERT_EMAILS", list)])).expect("valid")
}

struct World<E> {
    discord: InMemoryDiscord,
    email: E,
    log: InMemoryDeliveryLog,
    archive: InMemoryBodyArchive,
    handler: LowStockAlert<
        InMemoryDiscord,
        E,
        InMemoryDeliveryLog,
        InMemoryBodyArchive,
        InMemoryPreferenceStore,
    >,
}

fn world_with<E: EmailProvider + Clone>(
    discord: InMemoryDiscord,
    email: E,
    recipients: AdminRecipients,
    preferences: InMemoryPreferenceStore,
) -> World<E> {
    let log = InMemoryDeliveryLog::new();
    let archive = InMemoryBodyArchive::new();
    World {
        handler: LowStockAlert::new(
            discord.clone(),
            email.clone(),
            recipients,
            Deliveries::new(log.clone(), archive.clone(), preferences),
        ),
        discord,
        email,
        log,
        archive,
    }
}

#[tokio::test]
async fn alerts_the_channel_and_every_admin_address_once() {
    let w = world_with(
        InMemoryDiscord::new(),
        InMemoryEmailProvider::new(),
        admins("ops@example.com, boss@example.com"),
        InMemoryPreferenceStore::new(),
    );
    let event = low_stock();

    w.handler.handle(event.clone()).await.expect("handled");
    w.handler.handle(event.clone()).await.expect("redelivery");

    let posts = w.discord.sent();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].content,
        "Low stock: **MUG-BLUE** has 2 left (threshold 5)."
    );
    let mails = w.email.sent();
    let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, vec!["boss@example.com", "ops@example.com"]);
    assert!(
        mails
            .iter()
            .all(|m| m.subject == "Low stock: MUG-BLUE (2 left)")
    );

    let entries = w.log.entries();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.status == DeliveryStatus::Sent));
    let r = admins("ops@example.com, boss@example.com");
    let discord_entry = entries
        .iter()
        .find(|e| e.channel == Channel::Discord)
        .expect("discord entry");
    assert_eq!(discord_entry.user_id, r.discord);
    assert_eq!(discord_entry.template, "low_stock_discord");
    for (address, id) in &r.emails {
        let entry = entries
            .iter()
            .find(|e| e.user_id == *id)
            .expect("an entry per address");
        assert_eq!(entry.recipient.as_deref(), Some(address.as_str()));
        assert_eq!(entry.template, "low_stock_alert");
    }
    let reports: Vec<_> = w
        .log
        .reports()
        .into_iter()
        .map(|r| r.decode::<NotificationSent>().expect("sent report"))
        .collect();
    assert_eq!(reports.len(), 3);
    let md_key = format!("low_stock_discord/2026/11/21/{}.md", event.id);
    assert!(w.archive.get(&md_key).is_some(), "discord body archived");
}

#[tokio::test]
async fn without_admin_addresses_only_discord_is_alerted() {
    let w = world_with(
        InMemoryDiscord::new(),
        InMemoryEmailProvider::new(),
        admins(""),
        InMemoryPreferenceStore::new(),
    );
    w.handler.handle(low_stock()).await.expect("handled");
    assert_eq!(w.discord.sent().len(), 1);
    assert!(w.email.sent().is_empty());
}

/// Accepts mail for everyone but one address, which is unreachable until
/// `recover` is called.
#[derive(Clone)]
struct OneAddressDown {
    down: Arc<Mutex<Option<String>>>,
    sent: Arc<Mutex<Vec<EmailMessage>>>,
}

impl OneAddressDown {
    fn new(address: &str) -> Self {
        Self {
            down: Arc::new(Mutex::new(Some(address.to_owned()))),
            sent: Arc::default(),
        }
    }
    fn recover(&self) {
        *self.down.lock().expect("lock") = None;
    }
    fn sent_to(&self) -> Vec<String> {
        self.sent
            .lock()
            .expect("lock")
            .iter()
            .map(|m| m.to.to_string())
            .collect()
    }
}

impl EmailProvider for OneAddressDown {
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, ProviderError> {
        if self.down.lock().expect("lock").as_deref() == Some(msg.to.as_str()) {
            return Err(ProviderError::Retryable(
                "mailbox server unreachable".into(),
            ));
        }
        self.sent.lock().expect("lock").push(msg.clone());
        Ok(DeliveryReceipt {
            provider: "test",
            message_id: None,
        })
    }
}

#[tokio::test]
async fn one_unreachable_admin_is_retried_without_resending_to_the_others() {
    let email = OneAddressDown::new("ops@example.com");
    let w = world_with(
        InMemoryDiscord::new(),
        email.clone(),
        admins("ops@example.com,boss@example.com"),
        InMemoryPreferenceStore::new(),
    );
    let event = low_stock();

    let first = w.handler.handle(event.clone()).await;
    assert!(
        matches!(first, Err(HandlerError::Retryable(_))),
        "{first:?}"
    );
    assert_eq!(w.discord.sent().len(), 1, "the others were not held back");
    assert_eq!(email.sent_to(), vec!["boss@example.com"]);

    email.recover();
    w.handler.handle(event).await.expect("retry");
    assert_eq!(w.discord.sent().len(), 1);
    assert_eq!(email.sent_to(), vec!["boss@example.com", "ops@example.com"]);
    assert_eq!(
        w.log
            .entries()
            .iter()
            .filter(|e| e.status == DeliveryStatus::Sent)
            .count(),
        3
    );
}

#[tokio::test]
async fn a_refused_discord_post_is_logged_failed_and_emails_still_go() {
    let w = world_with(
        InMemoryDiscord::failing_with(ProviderError::Permanent("400 bad webhook".into())),
        InMemoryEmailProvider::new(),
        admins("ops@example.com"),
        InMemoryPreferenceStore::new(),
    );
    w.handler.handle(low_stock()).await.expect("done");
    let entries = w.log.entries();
    let discord = entries
        .iter()
        .find(|e| e.channel == Channel::Discord)
        .expect("logged");
    assert_eq!(discord.status, DeliveryStatus::Failed);
    assert_eq!(w.email.sent().len(), 1);
}

#[tokio::test]
async fn a_real_users_opt_out_cannot_silence_admin_alerts() {
    // Even an opt-out stored under the recipient id would not be a user's
    // choice; but none can exist, because recipient ids are never user ids.
    let r = admins("ops@example.com");
    let (_, recipient) = r.emails[0].clone();
    assert_ne!(recipient.as_uuid().get_version_num(), 7);
    assert_eq!(recipient.as_uuid().get_version_num(), 8);
    assert_eq!(UserId::new().as_uuid().get_version_num(), 7);

    let someone = UserId::new();
    let w = world_with(
        InMemoryDiscord::new(),
        InMemoryEmailProvider::new(),
        r,
        InMemoryPreferenceStore::opted_out(someone, Channel::Email),
    );
    w.handler.handle(low_stock()).await.expect("handled");
    assert_eq!(w.email.sent().len(), 1);
}

#[test]
fn recipients_come_from_the_alert_list_or_the_bootstrap_admins() {
    let r = AdminRecipients::from_env(&Env::from_pairs(&[
        (
            "ADMIN_ALERT_EMAILS",
            " Ops@Example.com ,ops@example.com,,b@example.com",
        ),
        ("BOOTSTRAP_ADMIN_EMAILS", "root@example.com"),
    ]))
    .expect("valid");
    let addresses: Vec<&str> = r.emails.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(addresses, vec!["ops@example.com", "b@example.com"]);
    assert_ne!(r.emails[0].1, r.emails[1].1);
    assert_eq!(r.emails[0].1, recipient_id("ops@example.com").expect("id"));

    let fallback = AdminRecipients::from_env(&Env::from_pairs(&[
        ("ADMIN_ALERT_EMAILS", ""),
        ("BOOTSTRAP_ADMIN_EMAILS", "root@example.com"),
    ]))
    .expect("valid");
    assert_eq!(fallback.emails[0].0.as_str(), "root@example.com");

    assert!(
        AdminRecipients::from_env(&Env::from_pairs(&[]))
            .expect("none is fine")
            .emails
            .is_empty()
    );

    let bad = AdminRecipients::from_env(&Env::from_pairs(&[(
        "ADMIN_ALERT_EMAILS",
        "ops@example.com,not-an-address",
    )]));
    assert!(
        matches!(
            bad,
            Err(ConfigError::Invalid {
                name: "ADMIN_ALERT_EMAILS",
                ..
            })
        ),
        "{bad:?}"
    );
}
