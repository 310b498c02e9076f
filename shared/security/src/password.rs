//! Password hashing with argon2id.
//!
//! Hashing and verifying cost tens of milliseconds of CPU by design. Callers
//! in async code must not run them on the async executor: move the work to
//! the blocking pool with `tokio::task::spawn_blocking` (the hasher is
//! `Clone + Send + Sync`, so clone it into the closure). This crate does not
//! depend on tokio itself.

use std::fmt;

use argon2::password_hash::{
    PasswordHash as PhcHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRngCore as _;
use rand::rngs::OsRng;

use crate::SecurityError;

/// Minimum password length, in characters (Unicode scalar values).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Maximum password length, in characters (Unicode scalar values).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// argon2id memory cost in KiB (OWASP recommendation).
pub const ARGON2_M_COST_KIB: u32 = 19_456;
/// argon2id iteration count (OWASP recommendation).
pub const ARGON2_T_COST: u32 = 2;
/// argon2id parallelism (OWASP recommendation).
pub const ARGON2_P_COST: u32 = 1;

/// Salt length in bytes.
const SALT_LEN: usize = 16;

const OWASP_PARAMS: Params =
    match Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, None) {
        Ok(params) => params,
        Err(_) => panic!("OWASP argon2 parameters are invalid"),
    };

/// A fixed argon2id hash (same parameters as [`PasswordHasher`]) used by
/// [`PasswordHasher::verify_dummy`]. It is the hash of [`DUMMY_PASSWORD`]; it
/// is not a credential of anyone, it only exists to burn the same CPU as a
/// real verification.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$iJJimeqUOqoFn3w+jDiYGg$dnBoBNiE7MLMeQN1LGIgIGVjotV9bef0HGdCa+myYq8";
#[cfg(test)]
const DUMMY_PASSWORD: &str = "timing-equaliser-not-a-real-password";

/// Returns a human-readable message when `candidate` violates the length
/// policy (fewer than 8 or more than 128 characters), `None` when it is
/// acceptable. Lengths are counted in characters, not bytes.
pub fn policy_violation(candidate: &str) -> Option<&'static str> {
    // Count at most MAX + 1 characters so a huge input costs no more.
    let chars = candidate.chars().take(MAX_PASSWORD_CHARS + 1).count();
    if chars < MIN_PASSWORD_CHARS {
        Some("password must be at least 8 characters long")
    } else if chars > MAX_PASSWORD_CHARS {
        Some("password must be at most 128 characters long")
    } else {
        None
    }
}

/// A plaintext password candidate. Only wraps the string: validate user
/// input with [`policy_violation`] before hashing it. `Debug` is redacted.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a plaintext password without validating it.
    pub fn new(plaintext: String) -> Self {
        Self(plaintext)
    }

    /// The plaintext. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in PHC string format
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), as stored in the
/// database. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read back from storage. It is not parsed here; a
    /// malformed string simply never verifies.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the hash, returning the PHC string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// argon2id hasher with the OWASP parameters m = 19456 KiB, t = 2, p = 1.
///
/// Every method is CPU-bound (tens of milliseconds); see the module docs
/// about `spawn_blocking`.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("algorithm", &"argon2id")
            .field("m_cost_kib", &ARGON2_M_COST_KIB)
            .field("t_cost", &ARGON2_T_COST)
            .field("p_cost", &ARGON2_P_COST)
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordHasher {
    /// A hasher with the OWASP argon2id parameters.
    pub fn new() -> Self {
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, OWASP_PARAMS),
        }
    }

    /// Hashes `password` with a fresh random salt from the OS RNG and
    /// returns the PHC string.
    pub fn hash(&self, password: &Password) -> Result<PasswordHash, SecurityError> {
        let mut salt_bytes = [0u8; SALT_LEN];
        OsRng
            .try_fill_bytes(&mut salt_bytes)
            .map_err(|e| SecurityError::Rng(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| SecurityError::PasswordHashing(e.to_string()))?;
        let phc = self
            .argon2
            .hash_password(password.expose().as_bytes(), &salt)
            .map_err(|e| SecurityError::PasswordHashing(e.to_string()))?;
        Ok(PasswordHash(phc.to_string()))
    }

    /// Whether `password` matches `hash`. The comparison of the computed
    /// digest is constant-time (argon2's verifier). The cost is taken from
    /// the stored hash. A stored hash that cannot be parsed answers `false`
    /// after burning the same CPU as a real verification.
    pub fn verify(&self, password: &Password, hash: &PasswordHash) -> bool {
        match PhcHash::new(hash.as_str()) {
            Ok(parsed) => self
                .argon2
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok(),
            Err(_) => {
                self.verify_dummy(password);
                false
            }
        }
    }

    /// Burns the same CPU as [`verify`](Self::verify) against a real hash,
    /// using a fixed precomputed argon2id hash. Call it when the user does
    /// not exist, so the response time of a login does not reveal which
    /// emails are registered.
    pub fn verify_dummy(&self, password: &Password) {
        if let Ok(parsed) = PhcHash::new(DUMMY_HASH) {
            // The outcome is irrelevant (and practically always a mismatch).
            let _ = self
                .argon2
                .verify_password(password.expose().as_bytes(), &parsed);
        }
    }

    /// Whether `hash` was produced with other parameters than the current
    /// ones (or is unparseable), so it should be replaced after the next
    /// successful login.
    pub fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = PhcHash::new(hash.as_str()) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm.as_str() != Algorithm::Argon2id.ident().as_str()
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() != ARGON2_M_COST_KIB
            || params.t_cost() != ARGON2_T_COST
            || params.p_cost() != ARGON2_P_COST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::new(s.to_owned())
    }

    #[test]
    fn hash_then_verify_and_reject_wrong_password() {
        let hasher = PasswordHasher::new();
        let hash = hasher
            .hash(&pw("correct horse battery"))
            .expect("hashing works");
        assert!(hasher.verify(&pw("correct horse battery"), &hash));
        assert!(!hasher.verify(&pw("correct horse batterx"), &hash));
        assert!(!hasher.verify(&pw(""), &hash));
    }

    #[test]
    fn same_password_hashes_differently_and_uses_owasp_argon2id() {
        let hasher = PasswordHasher::new();
        let a = hasher.hash(&pw("same password")).expect("hash a");
        let b = hasher.hash(&pw("same password")).expect("hash b");
        assert_ne!(a, b, "salt must differ between hashes");
        for h in [&a, &b] {
            assert!(
                h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "unexpected PHC string {}",
                h.as_str()
            );
            assert!(!hasher.needs_rehash(h));
        }
        let salt_a = a.as_str().split('$').nth(4).expect("salt part");
        let salt_b = b.as_str().split('$').nth(4).expect("salt part");
        assert_ne!(salt_a, salt_b);
    }

    #[test]
    fn stored_hash_round_trips_through_string() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash(&pw("round trip pw")).expect("hash");
        let stored = PasswordHash::from_stored(hash.as_str().to_owned());
        assert!(hasher.verify(&pw("round trip pw"), &stored));
        assert_eq!(stored.into_string(), hash.into_string());
    }

    #[test]
    fn garbage_stored_hash_never_verifies() {
        let hasher = PasswordHasher::new();
        let garbage = PasswordHash::from_stored("not a phc string".to_owned());
        assert!(!hasher.verify(&pw("anything at all"), &garbage));
        assert!(hasher.needs_rehash(&garbage));
    }

    #[test]
    fn weaker_parameters_need_rehash() {
        let weak = PasswordHash::from_stored(
            "$argon2id$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$\
             AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                .to_owned(),
        );
        assert!(PasswordHasher::new().needs_rehash(&weak));
    }

    #[test]
    fn verify_dummy_runs_against_a_real_owasp_hash() {
        let hasher = PasswordHasher::new();
        hasher.verify_dummy(&pw("whatever the user typed"));

        // The dummy must be a genuine hash with the production cost, or it
        // would not equalise timing.
        let dummy = PasswordHash::from_stored(DUMMY_HASH.to_owned());
        assert!(!hasher.needs_rehash(&dummy));
        assert!(hasher.verify(&pw(DUMMY_PASSWORD), &dummy));
    }

    #[test]
    fn policy_violation_checks_character_length() {
        assert!(policy_violation("").is_some());
        assert!(policy_violation("1234567").is_some());
        assert_eq!(policy_violation("12345678"), None);
        assert_eq!(policy_violation(&"x".repeat(128)), None);
        assert!(policy_violation(&"x".repeat(129)).is_some());
        // 8 characters, 16 bytes: counted as characters.
        assert_eq!(policy_violation("éééééééé"), None);
        assert!(policy_violation("ééééééé").is_some());
        assert_ne!(
            policy_violation("short"),
            policy_violation(&"x".repeat(200))
        );
    }

    #[test]
    fn debug_is_redacted() {
        let p = pw("super secret value");
        assert!(!format!("{p:?}").contains("super"));
        let h = PasswordHash::from_stored("$argon2id$secretish".to_owned());
        assert!(!format!("{h:?}").contains("argon2id"));
    }
}
