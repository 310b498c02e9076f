//! Times `security::PasswordHasher::hash` (argon2id, OWASP parameters), the
//! CPU-bound step of identity-register, under whatever release profile this
//! binary was built with.
//!
//! Usage: argon2-bench [ITERATIONS]   (default 10, plus 1 untimed warm-up)

use std::time::{Duration, Instant};

use security::{Password, PasswordHasher};

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("ITERATIONS must be a positive integer"))
        .unwrap_or(10)
        .max(1);

    let hasher = PasswordHasher::new();
    let password = Password::new("correct horse battery staple 42".to_owned());

    // Warm-up: page in the 19 MiB working memory once.
    let warm = hasher.hash(&password).expect("hash");
    assert!(hasher.verify(&password, &warm), "round trip failed");

    let mut samples: Vec<Duration> = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        let hash = hasher.hash(&password).expect("hash");
        samples.push(start.elapsed());
        std::hint::black_box(hash);
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = samples[samples.len() / 2];
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64;
    println!(
        "argon2id hash (m=19456 KiB, t=2, p=1): n={} min={:.1} ms median={:.1} ms mean={:.1} ms max={:.1} ms",
        samples.len(),
        ms(samples[0]),
        ms(median),
        mean,
        ms(samples[samples.len() - 1]),
    );
}
