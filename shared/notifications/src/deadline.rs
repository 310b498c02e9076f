//! The deadline of the Lambda invocation being processed, for providers that
//! may wait inside an invocation (a Discord 429 says how long to back off).
//! [`crate::runtime::run`] sets it around each batch; outside of that scope
//! nothing is known and callers must not wait.

use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Converts Lambda's wall-clock deadline into a monotonic instant.
pub fn instant_of(deadline: SystemTime) -> Instant {
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left
}

/// Runs `work` with `deadline` as the current invocation's deadline.
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// Time left before the current invocation's deadline; `None` when called
/// outside [`within`].
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|d| d.saturating_duration_since(Instant::now()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn remaining_is_known_only_inside_the_scope() {
        assert_eq!(remaining(), None);
        let left = within(Instant::now() + Duration::from_secs(5), async {
            remaining()
        })
        .await;
        let left = left.expect("inside the scope");
        assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4));
        let past = within(Instant::now(), async { remaining() }).await;
        assert_eq!(past, Some(Duration::ZERO));
    }

    #[test]
    fn a_past_wall_clock_deadline_is_now() {
        let at = instant_of(SystemTime::now() - Duration::from_secs(1));
        assert!(at <= Instant::now());
    }
}
