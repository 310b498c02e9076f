//! Bounded retries for writes that lose to concurrent writers. Backoff is
//! jittered so that racing writers spread out instead of colliding again.

/// Read-and-write rounds before a use case gives up (the consumer then
/// fails the record and SQS retries it later).
pub const MAX_ATTEMPTS: u32 = 10;
const BACKOFF_BASE_MS: u64 = 5;
const BACKOFF_CAP_MS: u64 = 250;

/// Full jitter: uniformly random up to an exponentially growing ceiling.
pub fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling = (BACKOFF_BASE_MS << attempt.min(6)).min(BACKOFF_CAP_MS);
    std::time::Duration::from_millis(rand::random_range(0..=ceiling))
}

/// Pauses before the next attempt, unless this was the last one.
pub async fn pause(attempt: u32) {
    if attempt < MAX_ATTEMPTS {
        tokio::time::sleep(backoff(attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_cap() {
        for attempt in 1..=MAX_ATTEMPTS {
            assert!(backoff(attempt) <= std::time::Duration::from_millis(BACKOFF_CAP_MS));
        }
    }
}
