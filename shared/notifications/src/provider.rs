//! What every channel's provider answers. Each channel has its own port
//! (`EmailProvider`, `DiscordProvider`, `SmsProvider`, `PushProvider`), but
//! they all report success and failure the same way, so the delivery
//! pipeline treats them alike.

/// What a provider answers when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReceipt {
    pub provider: &'static str,
    /// The provider's id for the message, when it gives one (a Discord
    /// webhook answers 204 without a body, for example).
    pub message_id: Option<String>,
}

/// Why a provider did not accept a message. The split decides what the
/// consumer does: a retryable failure goes back to the queue (and finally to
/// the DLQ), a permanent one is recorded as a failed delivery and dropped,
/// because sending the same message again would be refused the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("provider unavailable: {0}")]
    Retryable(String),
    #[error("provider refused the message: {0}")]
    Permanent(String),
}

/// At most `max` characters of `text`, cut on a character boundary, for
/// provider answers quoted in logs and delivery entries.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_collapses_whitespace_and_cuts_on_char_boundaries() {
        assert_eq!(snippet("a\n  b\tc", 10), "a b c");
        assert_eq!(snippet("ééééé", 3), "ééé…");
        assert_eq!(snippet("", 3), "");
    }
}
