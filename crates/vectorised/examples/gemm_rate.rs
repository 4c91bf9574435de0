//! Measuring instruments for the matrix product (run by hand, as `docs/performance.md` says):
//! nothing is asserted about time, but every product's bits are checked against the textbook loop.
//!
//! * `kernel`: the rate of a 256³ `f64` product at every SIMD level this CPU has, beside that
//!   level's FMA loop; `RAYON_NUM_THREADS=1 taskset -c 0 cargo run --release -p vectorised
//!   --example gemm_rate -- kernel`.
//! * `another-core`: W2's products on operands the same core or another core wrote;
//!   `cargo run --release -p vectorised --example gemm_rate -- another-core`.
//!
//! They reach the kernel through `vectorised::instruments`, the crate's one door for them.

use vectorised::Simd;
use vectorised::instruments::{ALayout, BOp, Init, Product, Scratch, gemm, gemm_at, pack_b};

fn main() {
    let what: Vec<String> = std::env::args().skip(1).collect();
    let all = what.is_empty();
    if all || what.iter().any(|w| w == "kernel") {
        kernel_rate_beside_the_fma_peak();
    }
    if all || what.iter().any(|w| w == "another-core") {
        products_on_operands_another_core_wrote();
    }
}

/// The textbook triple loop with the same per-element order (FMA chain from +0, then init).
fn reference(m: usize, n: usize, k: usize, a: &[f64], al: ALayout, b: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                let av = match al {
                    ALayout::RowMajor(lda) => a[i * lda + p],
                    ALayout::ColMajor(lda) => a[p * lda + i],
                };
                acc = av.mul_add(b[p * n + j], acc);
            }
            c[i * n + j] = acc;
        }
    }
    c
}

/// GFLOP/s of an FMA loop with independent chains (16 zmm, 12 ymm): this level's one-thread peak.
#[cfg(target_arch = "x86_64")]
fn fma_peak(simd: Simd) -> Option<f64> {
    const STEPS: usize = 2_000_000;
    let time = |f: &mut dyn FnMut() -> f64| {
        (0..3)
            .map(|_| {
                let t = std::time::Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    // (time, accumulators × lanes)
    let (secs, lanes) = match simd {
        Simd::V4(v4) => (
            time(&mut || {
                v4.vectorize(
                    #[inline(always)]
                    || {
                        let (x, y) = (v4.splat_f64x8(std::hint::black_box(0.999)), v4.splat_f64x8(1e-3));
                        let mut acc = [v4.splat_f64x8(0.0); 16];
                        for _ in 0..STEPS {
                            acc.iter_mut().for_each(|c| *c = v4.mul_add_f64x8(x, *c, y));
                        }
                        acc.iter().map(|&c| pulp::cast::<_, [f64; 8]>(c)[0]).sum()
                    },
                )
            }),
            16 * 8,
        ),
        Simd::V3(v3) => (
            time(&mut || {
                v3.vectorize(
                    #[inline(always)]
                    || {
                        let (x, y) = (v3.splat_f64x4(std::hint::black_box(0.999)), v3.splat_f64x4(1e-3));
                        let mut acc = [v3.splat_f64x4(0.0); 12];
                        for _ in 0..STEPS {
                            acc.iter_mut().for_each(|c| *c = v3.mul_add_f64x4(x, *c, y));
                        }
                        acc.iter().map(|&c| pulp::cast::<_, [f64; 4]>(c)[0]).sum()
                    },
                )
            }),
            12 * 4,
        ),
        Simd::Portable => return None,
    };
    Some((STEPS * lanes * 2) as f64 / secs / 1e9)
}

/// Not a speed test (nothing is asserted about time): prints the rate of a 256³ `f64` product
/// at every SIMD level this CPU has, with B already packed, beside that level's FMA loop in
/// the same process, and checks the product's bits. Each product is timed twice: "hot", the
/// same A and C every time (all in L2), and "cold", A and C rotated over `COLD_COPIES`
/// copies (24 MiB, beyond L2), as in a network where each layer's operands are new. Run on
/// one thread, on a quiet vCPU:
/// `cargo run --release -p vectorised --example gemm_rate -- kernel`.
fn kernel_rate_beside_the_fma_peak() {
    let (m, n, k) = (256, 256, 256);
    let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 101) as f64 - 50.0) / 700.0).collect();
    let b: Vec<f64> = (0..k * n).map(|i| ((i * 53 % 89) as f64 - 44.0) / 300.0).collect();
    let mut packed = Vec::new();
    pack_b(k, n, &b, n, &mut packed);
    let want = reference(m, n, k, &a, ALayout::RowMajor(k), &b);
    let mut scratch = Scratch::default();
    for simd in Simd::available() {
        for layout in [ALayout::RowMajor(k), ALayout::ColMajor(m)] {
            // Column-major: A's transpose, so the same product is formed.
            let a_op: Vec<f64> = match layout {
                ALayout::RowMajor(_) => a.clone(),
                ALayout::ColMajor(_) => (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect(),
            };
            const COLD_COPIES: usize = 24;
            let portable = matches!(simd, Simd::Portable);
            let copies = if portable { 1 } else { COLD_COPIES };
            let a_copies = vec![a_op; copies];
            let mut c_copies = vec![vec![f64::NAN; m * n]; copies];
            // The fastest of `reps` products, the i-th on copy `pick(i)` of A and C.
            let mut best_of = |reps: usize, pick: &dyn Fn(usize) -> usize| {
                (0..reps)
                    .map(|i| {
                        let (a, c) = (&a_copies[pick(i)], &mut c_copies[pick(i)]);
                        let t = std::time::Instant::now();
                        gemm_at(
                            simd,
                            Product {
                                m,
                                n,
                                k,
                                a,
                                a_layout: layout,
                                b: BOp::Packed(&packed),
                                c,
                                ldc: n,
                                init: Init::Zero,
                            },
                            &mut scratch,
                        );
                        t.elapsed().as_secs_f64()
                    })
                    .fold(f64::INFINITY, f64::min)
            };
            let best = best_of(if portable { 1 } else { 20 }, &|_| 0);
            let cold = (!portable).then(|| best_of(20 * COLD_COPIES, &|i| i % COLD_COPIES));
            for c in &c_copies {
                assert!(c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()), "{}", simd.name());
            }
            let rate = (2 * m * n * k) as f64 / best / 1e9;
            #[cfg(target_arch = "x86_64")]
            let peak = fma_peak(simd);
            #[cfg(not(target_arch = "x86_64"))]
            let peak: Option<f64> = None;
            let share = peak.map_or(String::new(), |p| format!(", {:.0}% of its FMA loop's {p:.1}", 100.0 * rate / p));
            let cold = cold
                .map_or(String::new(), |t| format!("; cold A and C {:.1} GFLOP/s", (2 * m * n * k) as f64 / t / 1e9));
            println!("{:>8} {layout:?}: {rate:6.1} GFLOP/s ({:.3} ms){share}{cold}", simd.name(), best * 1e3);
        }
    }
}

/// Not a speed test (nothing is asserted about time): W2's products (`rows` × 256 × 256, B
/// packed, A row-major in place), each timed right after its A and B were written again —
/// by the thread that runs the product ("local"), or by a second thread ("remote"), which
/// the OS runs on the other vCPU while the first one waits, as in two-thread W2, where a
/// block's operands were mostly written by the other core. The two alternate, 100 products
/// each; the bits are checked. Run with nothing else busy (both vCPUs are used):
/// `cargo run --release -p vectorised --example gemm_rate -- another-core`.
fn products_on_operands_another_core_wrote() {
    use std::sync::{Barrier, Mutex};
    const ROUNDS: usize = 200;
    let (m, n, k) = (256, 256, 256);
    let src_a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 101) as f64 - 50.0) / 700.0).collect();
    let src_b: Vec<f64> = (0..k * n).map(|i| ((i * 53 % 89) as f64 - 44.0) / 300.0).collect();
    let want = reference(m, n, k, &src_a, ALayout::RowMajor(k), &src_b);
    let (a, b_packed) = (Mutex::new(vec![0.0; m * k]), Mutex::new(Vec::new()));
    let write = || {
        a.lock().expect("not poisoned").copy_from_slice(&src_a);
        pack_b(k, n, &src_b, n, &mut b_packed.lock().expect("not poisoned"));
    };
    let remote = |round: usize| round % 2 == 1;
    for rows in [32, 128, 256] {
        let barrier = Barrier::new(2);
        let mut times = [Vec::new(), Vec::new()];
        std::thread::scope(|s| {
            s.spawn(|| {
                for round in 0..ROUNDS {
                    if remote(round) {
                        write();
                    }
                    barrier.wait(); // operands written
                    barrier.wait(); // product done
                }
            });
            let mut c = vec![f64::NAN; rows * n];
            let mut scratch = Scratch::default();
            for round in 0..ROUNDS {
                if !remote(round) {
                    write();
                }
                barrier.wait();
                let (a, b) = (a.lock().expect("not poisoned"), b_packed.lock().expect("not poisoned"));
                let t = std::time::Instant::now();
                gemm(
                    Product {
                        m: rows,
                        n,
                        k,
                        a: &a,
                        a_layout: ALayout::RowMajor(k),
                        b: BOp::Packed(&b),
                        c: &mut c,
                        ldc: n,
                        init: Init::Zero,
                    },
                    &mut scratch,
                );
                times[usize::from(remote(round))].push(t.elapsed().as_secs_f64() * 1e3);
                drop((a, b));
                assert!(c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()));
                barrier.wait();
            }
        });
        let [local, remote] = times.map(|mut t| {
            t.sort_by(f64::total_cmp);
            (t[0], t[t.len() / 2])
        });
        println!(
            "{rows:>3} rows: local {:.3} ms best, {:.3} median; remote {:.3} best, {:.3} median ({:.2}× the local median)",
            local.0,
            local.1,
            remote.0,
            remote.1,
            remote.1 / local.1
        );
    }
}
