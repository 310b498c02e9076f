//! `Stripe-Signature` verification, as Stripe specifies it: the header is
//! `t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`; a `v1` is the
//! HMAC-SHA256 of `"{t}.{raw body}"` keyed with the endpoint's signing
//! secret. Several `v1` entries appear while a secret is being rolled; one
//! match is enough. The timestamp bounds replays of a captured request.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

type HmacSha256 = Hmac<Sha256>;

/// Stripe's default tolerance.
pub const DEFAULT_TOLERANCE: Duration = Duration::seconds(300);

/// A webhook endpoint's signing secret (`whsec_...`): used to verify, never
/// printed.
#[derive(Clone)]
pub struct SigningSecret(String);

impl SigningSecret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no valid timestamp")]
    BadTimestamp,
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    #[error("the Stripe-Signature timestamp is outside the tolerance")]
    OutsideTolerance,
    #[error("no v1 signature matches the payload")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail here, and
    // an empty key is still a key (it simply matches nothing real).
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

fn hex_decode(raw: &str) -> Option<Vec<u8>> {
    if !raw.len().is_multiple_of(2) {
        return None;
    }
    (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(raw.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `header` against `payload` (the raw request body, byte for byte)
/// and returns the signed timestamp. The comparison is constant-time
/// (`Mac::verify_slice`).
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secret: &str,
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<i64, SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::BadTimestamp);
                }
                timestamp = Some(
                    value
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| SignatureError::BadTimestamp)?,
                );
            }
            "v1" => signatures.push(value.trim()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::BadTimestamp)?;
    if signatures.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let age = now.unix_timestamp().saturating_sub(timestamp);
    if age.unsigned_abs() > tolerance.whole_seconds().unsigned_abs() {
        return Err(SignatureError::OutsideTolerance);
    }
    let expected = mac(secret, timestamp, payload);
    let matched = signatures
        .iter()
        .filter_map(|s| hex_decode(s))
        .any(|candidate| expected.clone().verify_slice(&candidate).is_ok());
    if matched {
        Ok(timestamp)
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `Stripe-Signature` header Stripe would send for `payload` at
/// `timestamp`: for tests, and for tools that replay events locally.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let tag = mac(secret, timestamp, payload).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("valid")
    }

    fn check(header: Option<&str>) -> Result<i64, SignatureError> {
        verify(PAYLOAD, header, SECRET, now(), DEFAULT_TOLERANCE)
    }

    #[test]
    fn a_good_signature_passes_and_names_its_timestamp() {
        let header = sign(PAYLOAD, SECRET, now().unix_timestamp() - 10);
        assert_eq!(check(Some(&header)), Ok(now().unix_timestamp() - 10));
    }

    #[test]
    fn matches_the_reference_hmac() {
        // HMAC-SHA256("whsec_test_secret", "1795000000.{payload}"), computed
        // independently with Python's hmac module.
        let header = sign(PAYLOAD, SECRET, 1_795_000_000);
        assert_eq!(
            header,
            "t=1795000000,v1=096bdec5f579c29b67585312113fcee9ace6da25584e7fc48d9c7c9d8b41d143"
        );
    }

    #[test]
    fn a_tampered_payload_or_another_secret_fails() {
        let header = sign(PAYLOAD, SECRET, now().unix_timestamp());
        assert_eq!(
            verify(
                br#"{"id":"evt_1","type":"payment_intent.succeeded "}"#,
                Some(&header),
                SECRET,
                now(),
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::Mismatch)
        );
        let other = sign(PAYLOAD, "whsec_other", now().unix_timestamp());
        assert_eq!(check(Some(&other)), Err(SignatureError::Mismatch));
        // The timestamp is signed too: moving it breaks the signature.
        let moved = header.replacen(
            &format!("t={}", now().unix_timestamp()),
            &format!("t={}", now().unix_timestamp() - 1),
            1,
        );
        assert_eq!(check(Some(&moved)), Err(SignatureError::Mismatch));
        let flipped = {
            let mut h = header.clone();
            let last = h.pop().expect("non-empty");
            h.push(if last == '0' { '1' } else { '0' });
            h
        };
        assert_eq!(check(Some(&flipped)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn old_and_future_timestamps_are_refused() {
        let t = now().unix_timestamp();
        assert!(check(Some(&sign(PAYLOAD, SECRET, t - 300))).is_ok());
        assert_eq!(
            check(Some(&sign(PAYLOAD, SECRET, t - 301))),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            check(Some(&sign(PAYLOAD, SECRET, t + 301))),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            check(Some(&sign(PAYLOAD, SECRET, 0))),
            Err(SignatureError::OutsideTolerance)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(check(None), Err(SignatureError::Missing));
        assert_eq!(check(Some("  ")), Err(SignatureError::Missing));
        assert_eq!(check(Some("garbage")), Err(SignatureError::BadTimestamp));
        assert_eq!(check(Some("v1=abcd")), Err(SignatureError::BadTimestamp));
        assert_eq!(
            check(Some("t=notanumber,v1=abcd")),
            Err(SignatureError::BadTimestamp)
        );
        let t = now().unix_timestamp();
        assert_eq!(
            check(Some(&format!("t={t}"))),
            Err(SignatureError::NoSignature)
        );
        // v0 is Stripe's test-mode scheme; it is never accepted.
        let good = sign(PAYLOAD, SECRET, t);
        let v0_only = good.replace("v1=", "v0=");
        assert_eq!(check(Some(&v0_only)), Err(SignatureError::NoSignature));
        assert_eq!(
            check(Some(&format!("t={t},v1=zz"))),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(Some(&format!(
                "t={t},t={t},{}",
                &good[good.find("v1").unwrap_or(0)..]
            ))),
            Err(SignatureError::BadTimestamp)
        );
    }

    #[test]
    fn any_one_of_several_v1_signatures_may_match() {
        let t = now().unix_timestamp();
        let good = sign(PAYLOAD, SECRET, t);
        let good_v1 = good.split(',').nth(1).expect("v1 part");
        let stale_v1 = sign(PAYLOAD, "whsec_rolled_away", t)
            .split(',')
            .nth(1)
            .expect("v1 part")
            .to_owned();
        let header = format!("t={t},{stale_v1},v0=deadbeef, {good_v1}");
        assert_eq!(check(Some(&header)), Ok(t));
        let header = format!("t={t},{stale_v1},{stale_v1}");
        assert_eq!(check(Some(&header)), Err(SignatureError::Mismatch));
    }
}
