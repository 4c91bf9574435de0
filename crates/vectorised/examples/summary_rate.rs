//! A measuring instrument, run by hand (`docs/performance.md`): the time per value of
//! `Summary::of` over 2,048 values (in L1) by magnitude, best of 50 runs of 200 calls. Checks
//! each norm against √n times the values' root mean square, computed on the values scaled by an
//! exact power of two.
//!
//! `cargo run --release -p vectorised --example summary_rate`

use vectorised::stats::Summary;

/// 2ᵉ for a normal exponent e.
fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}

fn main() {
    summary_time_by_magnitude();
}

fn summary_time_by_magnitude() {
    let cases = [(1.0, 0), (1e-150, 500), (1e-158, 520), (1e-200, 660), (1e200, -660), (1e-310, 1000), (0.0, 0)];
    for (size, e) in cases {
        let v: Vec<f64> = (0..2048).map(|i| size * (1.0 + (i % 13) as f64 / 7.0)).collect();
        let scaled = v.iter().map(|x| (x * pow2(e)) * (x * pow2(e))).sum::<f64>().sqrt() / pow2(e);
        let norm = Summary::of(&v).norm;
        assert!((norm - scaled).abs() <= 1e-14 * scaled, "{size:e}: {norm:e} vs {scaled:e}");
        let mut best = f64::MAX;
        for _ in 0..50 {
            let start = std::time::Instant::now();
            for _ in 0..200 {
                std::hint::black_box(Summary::of(std::hint::black_box(&v)));
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("values of {size:e}: {:.3} ns per value", best * 1e9 / (200.0 * v.len() as f64));
    }
}
