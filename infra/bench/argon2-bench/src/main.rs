//! Times `security::PasswordHasher::hash` (argon2id, OWASP parameters), the
//! CPU-bound step of identity-register, under whatever release profile this
//! binary was built with.
//!
//! Usage: argon2-bench [ITERATIONS]   (default 10, plus 1 untimed warm-up)
//!
//! Prints wall time and the thread's on-CPU time per hash (Linux
//! /proc/thread-self/schedstat); the CPU figure is the one to compare when
//! other processes load the machine.

use std::time::Instant;

use security::{Password, PasswordHasher};

/// On-CPU time of the calling thread in ns (first field of schedstat).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn summary(label: &str, mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    format!(
        "{label}: min={:.1} median={:.1} mean={:.1} max={:.1} ms",
        ms[0],
        ms[ms.len() / 2],
        mean,
        ms[ms.len() - 1]
    )
}

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

    let mut wall = Vec::with_capacity(iterations);
    let mut cpu = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let cpu0 = thread_cpu_ns();
        let start = Instant::now();
        let hash = hasher.hash(&password).expect("hash");
        let elapsed = start.elapsed();
        let cpu1 = thread_cpu_ns();
        std::hint::black_box(hash);
        wall.push(elapsed.as_secs_f64() * 1000.0);
        if let (Some(a), Some(b)) = (cpu0, cpu1) {
            cpu.push(b.saturating_sub(a) as f64 / 1e6);
        }
    }
    println!("argon2id hash (m=19456 KiB, t=2, p=1), n={iterations}");
    println!("  {}", summary("wall", wall));
    if !cpu.is_empty() {
        println!("  {}", summary("cpu ", cpu));
    }
}
