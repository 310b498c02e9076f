//! HS256 access tokens: issuing ([`TokenIssuer`]) and strict verification
//! ([`TokenVerifier`]).
//!
//! Verification pins the algorithm to HS256 (the header's `alg` is checked
//! before anything else, so `none`, `HS512`, `RS256`, ... are rejected),
//! checks the signature, requires `exp` (leeway [`LEEWAY_SECONDS`]), honours
//! `nbf`, and requires `iss` and `aud` to equal the configured values and
//! `sub` to be non-empty.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::SecurityError;

/// Minimum length of the HMAC secret, in bytes (256 bits for HS256).
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// Clock-skew allowance applied to `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 5;

/// Tokens longer than this are rejected as malformed before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The only accepted algorithm.
const ALGORITHM: Algorithm = Algorithm::HS256;
const ALGORITHM_NAME: &str = "HS256";

/// Issuer, audience and lifetime of access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// Value of the `iss` claim; verification requires an exact match.
    pub issuer: String,
    /// Value of the `aud` claim; verification requires an exact match.
    pub audience: String,
    /// Lifetime of an access token (whole seconds; at least one second).
    pub access_ttl: Duration,
}

/// The HMAC secret shared by issuer and verifier. `Debug` is redacted.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Builds the key from a secret string (its UTF-8 bytes are the HMAC
    /// key). Fails when it is shorter than [`MIN_SIGNING_KEY_BYTES`] bytes.
    pub fn from_secret(secret: &str) -> Result<Self, SecurityError> {
        Self::from_bytes(secret.as_bytes())
    }

    /// Builds the key from raw secret bytes. Fails when shorter than
    /// [`MIN_SIGNING_KEY_BYTES`].
    pub fn from_bytes(secret: &[u8]) -> Result<Self, SecurityError> {
        if secret.len() < MIN_SIGNING_KEY_BYTES {
            return Err(SecurityError::SigningKeyTooShort {
                min: MIN_SIGNING_KEY_BYTES,
                actual: secret.len(),
            });
        }
        Ok(Self(secret.to_vec()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// Claims of a verified access token. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user id.
    pub sub: String,
    /// Roles granted to the subject.
    pub roles: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// Unique token id (UUID v4).
    pub jti: Uuid,
}

/// What is signed into a token (the verified view is [`Claims`]).
#[derive(Serialize)]
struct OutgoingClaims<'a> {
    sub: &'a str,
    roles: &'a [String],
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: Uuid,
}

/// A freshly issued access token. `Debug` redacts the token itself.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWT (bearer credential).
    pub token: String,
    /// Lifetime in seconds (OAuth `expires_in`).
    pub expires_in: i64,
    /// Expiry instant (the token's `exp`).
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Signs HS256 access tokens.
pub struct TokenIssuer {
    key: EncodingKey,
    settings: JwtSettings,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("key", &"<redacted>")
            .field("settings", &self.settings)
            .finish()
    }
}

impl TokenIssuer {
    /// An issuer signing with `key`. Settings are checked when issuing.
    pub fn new(key: SigningKey, settings: JwtSettings) -> Self {
        Self {
            key: EncodingKey::from_secret(&key.0),
            settings,
        }
    }

    /// The settings this issuer uses.
    pub fn settings(&self) -> &JwtSettings {
        &self.settings
    }

    /// Issues a token for `subject` with `roles`, valid from `now` for
    /// `access_ttl` (truncated to whole seconds). Claims: `sub`, `roles`,
    /// `iss`, `aud`, `iat` = `nbf` = `now`, `exp`, `jti` (UUID v4).
    pub fn issue(
        &self,
        subject: &str,
        roles: &[String],
        now: OffsetDateTime,
    ) -> Result<IssuedToken, SecurityError> {
        if subject.is_empty() {
            return Err(SecurityError::InvalidJwtInput("subject must not be empty"));
        }
        if self.settings.issuer.is_empty() || self.settings.audience.is_empty() {
            return Err(SecurityError::InvalidJwtInput(
                "issuer and audience must not be empty",
            ));
        }
        let expires_in = self.settings.access_ttl.whole_seconds();
        if expires_in < 1 {
            return Err(SecurityError::InvalidJwtInput(
                "access_ttl must be at least one second",
            ));
        }
        let iat = now.unix_timestamp();
        let exp = iat
            .checked_add(expires_in)
            .ok_or(SecurityError::InvalidJwtInput("expiry out of range"))?;
        let expires_at = OffsetDateTime::from_unix_timestamp(exp)
            .map_err(|_| SecurityError::InvalidJwtInput("expiry out of range"))?;

        let claims = OutgoingClaims {
            sub: subject,
            roles,
            iss: &self.settings.issuer,
            aud: &self.settings.audience,
            iat,
            nbf: iat,
            exp,
            jti: Uuid::new_v4(),
        };
        let token = jsonwebtoken::encode(&Header::new(ALGORITHM), &claims, &self.key)
            .map_err(|e| SecurityError::TokenEncoding(e.to_string()))?;
        Ok(IssuedToken {
            token,
            expires_in,
            expires_at,
        })
    }
}

/// Why an access token was rejected. Callers answer 401 for every variant
/// and log the variant.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenError {
    /// Outside its validity window: `exp` has passed, or `nbf` is still in
    /// the future (both with [`LEEWAY_SECONDS`] of leeway).
    #[error("token expired or not yet valid")]
    Expired,
    /// The signature does not match the content.
    #[error("token signature is invalid")]
    InvalidSignature,
    /// The header's `alg` is not HS256 (e.g. `none`, `HS512`, `RS256`).
    #[error("token algorithm is not allowed")]
    WrongAlgorithm,
    /// `iss` differs from the configured issuer.
    #[error("token issuer is invalid")]
    InvalidIssuer,
    /// `aud` differs from the configured audience.
    #[error("token audience is invalid")]
    InvalidAudience,
    /// Not a well-formed token with the required claims.
    #[error("token is malformed")]
    Malformed,
}

/// Verifies HS256 access tokens.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("key", &"<redacted>")
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish()
    }
}

impl TokenVerifier {
    /// A verifier accepting only HS256 tokens signed with `key` whose `iss`
    /// and `aud` equal those of `settings` (`access_ttl` is not used).
    pub fn new(key: SigningKey, settings: JwtSettings) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[settings.issuer]);
        validation.set_audience(&[settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            key: DecodingKey::from_secret(&key.0),
            validation,
        }
    }

    /// Verifies `token` against the current system time and returns its
    /// claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        check_header(token)?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| map_jwt_error(e.kind()))?;
        let claims = data.claims;
        if claims.sub.is_empty() {
            return Err(TokenError::Malformed);
        }
        Ok(claims)
    }
}

/// Inspects the protected header before the library does, so any `alg`
/// other than HS256 (including ones the library cannot even represent, such
/// as `none`) is reported as [`TokenError::WrongAlgorithm`].
fn check_header(token: &str) -> Result<(), TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    match header.get("alg") {
        Some(serde_json::Value::String(alg)) if alg == ALGORITHM_NAME => {}
        _ => return Err(TokenError::WrongAlgorithm),
    }
    // We never issue critical extensions, so none can be understood.
    if header.contains_key("crit") {
        return Err(TokenError::Malformed);
    }
    Ok(())
}

fn map_jwt_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => TokenError::Expired,
        ErrorKind::InvalidSignature => TokenError::InvalidSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
        ErrorKind::InvalidIssuer => TokenError::InvalidIssuer,
        ErrorKind::InvalidAudience => TokenError::InvalidAudience,
        _ => TokenError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

    fn settings() -> JwtSettings {
        JwtSettings {
            issuer: "https://auth.example.test".to_owned(),
            audience: "example-api".to_owned(),
            access_ttl: Duration::minutes(15),
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_secret(SECRET).expect("valid key")
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(key(), settings())
    }

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(key(), settings())
    }

    fn roles() -> Vec<String> {
        vec!["user".to_owned(), "admin".to_owned()]
    }

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
    }

    /// A well-formed payload for the test settings, valid right now.
    fn payload_json() -> serde_json::Value {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        serde_json::json!({
            "sub": "user-1",
            "roles": ["user"],
            "iss": "https://auth.example.test",
            "aud": "example-api",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": Uuid::new_v4(),
        })
    }

    /// Signs `payload` with the test secret and an arbitrary algorithm.
    fn sign_with(alg: Algorithm, payload: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            payload,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("encode")
    }

    #[test]
    fn round_trip_with_roles() {
        let now = OffsetDateTime::now_utc();
        let issued = issuer().issue("user-42", &roles(), now).expect("issue");
        assert_eq!(issued.expires_in, 900);
        assert_eq!(
            issued.expires_at.unix_timestamp(),
            now.unix_timestamp() + 900
        );

        let claims = verifier().verify(&issued.token).expect("verify");
        assert_eq!(claims.sub, "user-42");
        assert_eq!(claims.roles, roles());
        assert_eq!(claims.iss, "https://auth.example.test");
        assert_eq!(claims.aud, "example-api");
        assert_eq!(claims.iat, now.unix_timestamp());
        assert_eq!(claims.exp, issued.expires_at.unix_timestamp());
        assert_eq!(claims.jti.get_version_num(), 4);

        let header = jsonwebtoken::decode_header(&issued.token).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);
    }

    #[test]
    fn issued_token_carries_nbf_and_unique_jti() {
        let now = OffsetDateTime::now_utc();
        let a = issuer().issue("user-1", &[], now).expect("issue a");
        let b = issuer().issue("user-1", &[], now).expect("issue b");
        let payload: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(a.token.split('.').nth(1).expect("payload"))
                .expect("b64"),
        )
        .expect("json");
        assert_eq!(payload["nbf"], now.unix_timestamp());
        let ca = verifier().verify(&a.token).expect("a");
        let cb = verifier().verify(&b.token).expect("b");
        assert!(ca.roles.is_empty());
        assert_ne!(ca.jti, cb.jti);
    }

    #[test]
    fn expired_token_is_rejected() {
        let long_ago = OffsetDateTime::now_utc() - Duration::hours(2);
        let issued = issuer().issue("user-1", &roles(), long_ago).expect("issue");
        assert_eq!(verifier().verify(&issued.token), Err(TokenError::Expired));
    }

    #[test]
    fn leeway_is_at_most_five_seconds() {
        let ttl = Duration::seconds(60);
        let issuer = TokenIssuer::new(
            key(),
            JwtSettings {
                access_ttl: ttl,
                ..settings()
            },
        );
        // exp = now - 30 s: expired even with leeway.
        let issued = issuer
            .issue(
                "user-1",
                &[],
                OffsetDateTime::now_utc() - Duration::seconds(90),
            )
            .expect("issue");
        assert_eq!(verifier().verify(&issued.token), Err(TokenError::Expired));
    }

    #[test]
    fn future_nbf_is_rejected() {
        let later = OffsetDateTime::now_utc() + Duration::minutes(5);
        let issued = issuer().issue("user-1", &roles(), later).expect("issue");
        assert_eq!(verifier().verify(&issued.token), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let issued = issuer()
            .issue("user-1", &["user".to_owned()], OffsetDateTime::now_utc())
            .expect("issue");
        let parts: Vec<&str> = issued.token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        payload["roles"] = serde_json::json!(["user", "admin"]);
        let forged = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
        assert_eq!(
            verifier().verify(&forged),
            Err(TokenError::InvalidSignature)
        );

        // A signature from another key is rejected the same way.
        let other = TokenIssuer::new(
            SigningKey::from_secret("another-secret-that-is-long-enough!!").expect("key"),
            settings(),
        )
        .issue("user-1", &[], OffsetDateTime::now_utc())
        .expect("issue");
        assert_eq!(
            verifier().verify(&other.token),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn alg_none_is_rejected() {
        let header = b64(&serde_json::json!({"alg": "none", "typ": "JWT"}));
        let token = format!("{header}.{}.", b64(&payload_json()));
        assert_eq!(verifier().verify(&token), Err(TokenError::WrongAlgorithm));

        // Variants: capitalised, missing alg, non-string alg.
        for h in [
            serde_json::json!({"alg": "None", "typ": "JWT"}),
            serde_json::json!({"typ": "JWT"}),
            serde_json::json!({"alg": null}),
        ] {
            let token = format!("{}.{}.", b64(&h), b64(&payload_json()));
            assert_eq!(verifier().verify(&token), Err(TokenError::WrongAlgorithm));
        }
    }

    #[test]
    fn other_algorithms_are_rejected() {
        let payload = payload_json();
        // Sanity: the same payload signed with HS256 is accepted, so the
        // rejections below are about the algorithm only.
        assert!(
            verifier()
                .verify(&sign_with(Algorithm::HS256, &payload))
                .is_ok()
        );

        for alg in [Algorithm::HS384, Algorithm::HS512] {
            assert_eq!(
                verifier().verify(&sign_with(alg, &payload)),
                Err(TokenError::WrongAlgorithm),
                "{alg:?}"
            );
        }

        // An RS256 header over an HMAC signature (key-confusion attempt).
        let valid = sign_with(Algorithm::HS256, &payload);
        let parts: Vec<&str> = valid.split('.').collect();
        let rs = b64(&serde_json::json!({"alg": "RS256", "typ": "JWT"}));
        let token = format!("{rs}.{}.{}", parts[1], parts[2]);
        assert_eq!(verifier().verify(&token), Err(TokenError::WrongAlgorithm));
    }

    #[test]
    fn wrong_audience_is_rejected() {
        let issued = TokenIssuer::new(
            key(),
            JwtSettings {
                audience: "other-api".to_owned(),
                ..settings()
            },
        )
        .issue("user-1", &roles(), OffsetDateTime::now_utc())
        .expect("issue");
        assert_eq!(
            verifier().verify(&issued.token),
            Err(TokenError::InvalidAudience)
        );

        // Prefix/suffix of the expected audience is not a match.
        let mut payload = payload_json();
        payload["aud"] = serde_json::json!("example-api2");
        assert_eq!(
            verifier().verify(&sign_with(Algorithm::HS256, &payload)),
            Err(TokenError::InvalidAudience)
        );
    }

    #[test]
    fn wrong_issuer_is_rejected() {
        let issued = TokenIssuer::new(
            key(),
            JwtSettings {
                issuer: "https://evil.example.test".to_owned(),
                ..settings()
            },
        )
        .issue("user-1", &roles(), OffsetDateTime::now_utc())
        .expect("issue");
        assert_eq!(
            verifier().verify(&issued.token),
            Err(TokenError::InvalidIssuer)
        );
    }

    #[test]
    fn missing_or_empty_claims_are_malformed() {
        for field in ["exp", "sub", "iss", "aud", "roles", "jti"] {
            let mut payload = payload_json();
            payload
                .as_object_mut()
                .expect("object")
                .remove(field)
                .expect("field present");
            let verdict = verifier().verify(&sign_with(Algorithm::HS256, &payload));
            assert!(verdict.is_err(), "missing {field} accepted");
        }
        let mut payload = payload_json();
        payload.as_object_mut().expect("object").remove("exp");
        assert_eq!(
            verifier().verify(&sign_with(Algorithm::HS256, &payload)),
            Err(TokenError::Malformed)
        );

        let mut payload = payload_json();
        payload["sub"] = serde_json::json!("");
        assert_eq!(
            verifier().verify(&sign_with(Algorithm::HS256, &payload)),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for token in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.???.***",
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert_eq!(verifier().verify(token), Err(TokenError::Malformed));
        }
    }

    #[test]
    fn short_signing_key_is_rejected() {
        assert_eq!(
            SigningKey::from_secret("too-short").map(|_| ()),
            Err(SecurityError::SigningKeyTooShort { min: 32, actual: 9 })
        );
        assert!(SigningKey::from_secret(&"k".repeat(31)).is_err());
        assert!(SigningKey::from_secret(&"k".repeat(32)).is_ok());
    }

    #[test]
    fn issue_rejects_bad_input() {
        let now = OffsetDateTime::now_utc();
        assert!(issuer().issue("", &roles(), now).is_err());
        let zero_ttl = TokenIssuer::new(
            key(),
            JwtSettings {
                access_ttl: Duration::milliseconds(500),
                ..settings()
            },
        );
        assert!(zero_ttl.issue("user-1", &roles(), now).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let k = key();
        assert!(!format!("{k:?}").contains("0123"));
        let issued = issuer()
            .issue("user-1", &[], OffsetDateTime::now_utc())
            .expect("issue");
        assert!(!format!("{issued:?}").contains(&issued.token));
        assert!(!format!("{:?}", issuer()).contains("0123"));
        assert!(!format!("{:?}", verifier()).contains("0123"));
    }

    #[test]
    fn token_error_display() {
        assert_eq!(
            TokenError::Expired.to_string(),
            "token expired or not yet valid"
        );
        assert_eq!(
            TokenError::WrongAlgorithm.to_string(),
            "token algorithm is not allowed"
        );
    }
}
