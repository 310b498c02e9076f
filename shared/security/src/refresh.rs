//! Opaque refresh tokens.
//!
//! A token is 32 random bytes from the OS RNG, encoded base64url without
//! padding (43 characters). Only its [`fingerprint`](RefreshToken::fingerprint)
//! (lowercase hex SHA-256 of the token string) is stored; the raw token is
//! handed to the client and never persisted.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};

use crate::SecurityError;

/// Random bytes in a refresh token.
pub const REFRESH_TOKEN_BYTES: usize = 32;
/// Length of the encoded token (base64url, no padding).
pub const REFRESH_TOKEN_CHARS: usize = 43;

/// An opaque refresh token. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// A new token from 32 bytes of the operating system's RNG.
    ///
    /// # Panics
    ///
    /// Panics if the operating system's RNG fails (`getrandom`), which on
    /// supported platforms does not happen once the kernel is seeded.
    pub fn generate() -> Self {
        let mut bytes = [0u8; REFRESH_TOKEN_BYTES];
        // A token that is not random must never be produced, so failing
        // loudly is the only acceptable outcome of a broken OS RNG.
        let mut rng = OsRng.unwrap_err();
        rand::RngCore::fill_bytes(&mut rng, &mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parses a token presented by a client: exactly 43 base64url
    /// characters (no padding) that decode canonically to 32 bytes.
    pub fn parse(raw: &str) -> Result<Self, SecurityError> {
        if raw.len() != REFRESH_TOKEN_CHARS
            || !raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SecurityError::MalformedRefreshToken);
        }
        // Rejects non-canonical trailing bits, so each 32-byte value has
        // exactly one accepted spelling (and hence one fingerprint).
        match URL_SAFE_NO_PAD.decode(raw) {
            Ok(bytes) if bytes.len() == REFRESH_TOKEN_BYTES => Ok(Self(raw.to_owned())),
            _ => Err(SecurityError::MalformedRefreshToken),
        }
    }

    /// The token to hand to the client. Never log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Lowercase hex SHA-256 of the token string (64 characters): the value
    /// stored in and looked up from the database.
    pub fn fingerprint(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha256::digest(self.0.as_bytes());
        let mut out = String::with_capacity(digest.len() * 2);
        for byte in digest {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_parse_fingerprint() {
        let token = RefreshToken::generate();
        assert_eq!(token.expose().len(), REFRESH_TOKEN_CHARS);

        let parsed = RefreshToken::parse(token.expose()).expect("own token parses");
        assert_eq!(parsed, token);

        let fp = token.fingerprint();
        assert_eq!(fp.len(), 64);
        assert!(
            fp.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(fp, parsed.fingerprint(), "fingerprint must be stable");
        assert_ne!(fp, RefreshToken::generate().fingerprint());
    }

    #[test]
    fn generated_tokens_differ() {
        assert_ne!(RefreshToken::generate(), RefreshToken::generate());
    }

    #[test]
    fn fingerprint_is_sha256_hex_of_token_string() {
        // 32 zero bytes, base64url: 'A' x 43.
        let token = RefreshToken::parse(&"A".repeat(43)).expect("parses");
        // sha256("AAAA...A" x 43), computed independently (printf | sha256sum).
        assert_eq!(
            token.fingerprint(),
            "0f007385b6f9d4b7eeb2748605afe1a984a0a3bfa3f014d09e2a784ce9e5cd1a"
        );
    }

    #[test]
    fn parse_rejects_garbage() {
        let valid = RefreshToken::generate();
        let v = valid.expose();
        let cases = [
            String::new(),
            "garbage".to_owned(),
            format!("{v}A"),          // too long
            v[..42].to_owned(),       // too short
            format!("{}=", &v[..42]), // padding
            format!("{}+", &v[..42]), // standard base64 alphabet
            format!("{}/", &v[..42]), // standard base64 alphabet
            format!("{} ", &v[..42]), // whitespace
            format!("{}é", &v[..41]), // non-ASCII, 43 bytes
            "B".repeat(43),           // non-canonical trailing bits
        ];
        for case in &cases {
            assert_eq!(
                RefreshToken::parse(case),
                Err(SecurityError::MalformedRefreshToken),
                "accepted {case:?}"
            );
        }
    }

    #[test]
    fn debug_is_redacted() {
        let token = RefreshToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
