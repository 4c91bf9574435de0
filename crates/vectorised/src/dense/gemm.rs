//! The matrix product behind every dense layer: `C ← init + A·B`, one fixed summation order.
//!
//! ```text
//! C[i][j] = init[i][j] + Σ_{p=0}^{k−1} A(i,p)·B[p][j]
//! ```
//!
//! A key design decision: **every element of C is one chain of fused multiply-adds over
//! p = 0, 1, …, k−1, started from +0, and `init` is added once at the end** — whatever the
//! element's position, the tile it falls in, the SIMD width, or how the caller cut C into blocks
//! for its threads. There is no k-blocking and no parallel reduction inside a product, so a
//! result depends only on the operands, never on the thread count or on the blocking. The
//! scalar fallback performs the same IEEE operations (`mul_add` is correctly rounded) and so
//! gives the same bits as the AVX-512 kernel.
//!
//! Layouts: B is row-major (`B[p][j]` at `b[p·ldb + j]`); A is either row-major (`A(i,p)` at
//! `a[i·lda + p]`, the forward Z = H·W and the backward ∂L/∂H = G·Wᵀ with a transposed copy of
//! W) or column-major (`A(i,p)` at `a[p·lda + i]`, the backward ∂L/∂W = Hᵀ·G, where Hᵀ is H read
//! by columns). Nothing is packed except the last partial tiles, which are copied into a
//! zero-padded scratch panel; at this crate's sizes (k ≤ a few hundred) both operands stay in
//! L1/L2, and packing would cost more than it saves (measured for W3: 64×32×32).
//!
//! The register tile is MR × NR = 8 × 16 for `f64` and 8 × 32 for `f32` on AVX-512: 16
//! accumulators of one zmm each, two B loads and eight broadcasts of A per step p.

use crate::real::Real;

/// How C starts before the products are added.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Init<'a, T> {
    /// C = A·B.
    Zero,
    /// C[i][j] = A·B[i][j] + bias[j].
    Bias(&'a [T]),
    /// C[i][j] = C[i][j] + A·B[i][j].
    Accumulate,
}

/// How A is stored.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ALayout {
    /// `A(i,p)` at `a[i·lda + p]`.
    RowMajor(usize),
    /// `A(i,p)` at `a[p·lda + i]`.
    ColMajor(usize),
}

/// The right operand B (k × n).
#[derive(Clone, Copy, Debug)]
pub(crate) enum BOp<'a, T> {
    /// Row-major, `B[p][j]` at `b[p·ldb + j]`; packed inside the call when its rows are far
    /// apart.
    Rows(&'a [T], usize),
    /// Already packed by [`pack_b`] (for an operand several calls share).
    Packed(&'a [T]),
}

/// Whether a row-major B of k rows with stride `ldb` is worth packing (see `PACK_ABOVE_BYTES`).
pub(crate) fn should_pack<T>(k: usize, ldb: usize) -> bool {
    k * ldb * std::mem::size_of::<T>() > PACK_ABOVE_BYTES
}

/// Packs a row-major B (k × n) into panels of NR columns: panel q's row p at
/// `out[q·k·NR + p·NR..][..NR]`, the last panel zero-padded.
pub(crate) fn pack_b<T: GemmReal>(k: usize, n: usize, b: &[T], ldb: usize, out: &mut Vec<T>) {
    let nr = T::NR;
    let panels = n.div_ceil(nr);
    out.resize(panels * k * nr, T::ZERO);
    for q in 0..panels {
        let (j0, w) = (q * nr, nr.min(n - q * nr));
        let panel = &mut out[q * k * nr..(q + 1) * k * nr];
        for p in 0..k {
            let dst = &mut panel[p * nr..(p + 1) * nr];
            dst[..w].copy_from_slice(&b[p * ldb + j0..p * ldb + j0 + w]);
            dst[w..].iter_mut().for_each(|v| *v = T::ZERO);
        }
    }
}

/// Scratch for the padded edge tiles; reused from call to call.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scratch<T> {
    a_edge: Vec<T>,
    b_pack: Vec<T>,
}

/// Operands whose rows span more than this many bytes are copied into contiguous panels first:
/// read in place, a power-of-two row stride (W2's 2 KiB) maps a panel's rows onto a handful of
/// L1 sets, and the conflict misses halve the kernel's speed.
const PACK_ABOVE_BYTES: usize = 32 * 1024;

/// Where a finished tile goes: `c[i·ldc + j]` for its `rows × cols` valid part.
pub(crate) struct Store<'c, 'b, T> {
    c: &'c mut [T],
    ldc: usize,
    rows: usize,
    cols: usize,
    init: Init<'b, T>,
}

impl<T: Real> Store<'_, '_, T> {
    /// Writes row i of the tile (`acc`, NR values of which `cols` are valid).
    #[inline(always)]
    fn row(&mut self, i: usize, acc: &[T]) {
        let row = &mut self.c[i * self.ldc..i * self.ldc + self.cols];
        let acc = &acc[..self.cols];
        match self.init {
            Init::Zero => row.copy_from_slice(acc),
            Init::Bias(bias) => {
                for ((cv, &s), &bv) in row.iter_mut().zip(acc).zip(&bias[..self.cols]) {
                    *cv = s + bv;
                }
            }
            Init::Accumulate => {
                for (cv, &s) in row.iter_mut().zip(acc) {
                    *cv += s;
                }
            }
        }
    }
}

/// The element types with a register-blocked kernel.
pub(crate) trait GemmReal: Real {
    /// Rows of the register tile.
    const MR: usize = 8;
    /// Columns of the register tile.
    const NR: usize;
    /// One MR × NR tile: `Σ_p a[p·a_step + i]·b[p·ldb + j]`, FMA chains from +0 over p, stored
    /// through `store`. `simd` is `Some` on AVX-512 machines (inside `V4::vectorize`).
    #[allow(clippy::too_many_arguments)]
    fn tile(simd: Simd, k: usize, a: &[Self], a_step: usize, b: &[Self], ldb: usize, store: Store<'_, '_, Self>);
}

/// The SIMD level a product runs at, detected once per product.
#[derive(Clone, Copy)]
pub(crate) struct Simd(#[cfg(target_arch = "x86_64")] Option<pulp::x86::V4>);

/// The portable tile: the same FMA chains, one element at a time.
#[inline(always)]
fn tile_scalar<T: GemmReal>(k: usize, a: &[T], a_step: usize, b: &[T], ldb: usize, mut store: Store<'_, '_, T>) {
    let mut acc = [T::ZERO; 32];
    for i in 0..store.rows {
        for (j, slot) in acc.iter_mut().enumerate().take(store.cols) {
            let mut s = T::ZERO;
            for p in 0..k {
                s = a[p * a_step + i].mul_add(b[p * ldb + j], s);
            }
            *slot = s;
        }
        store.row(i, &acc);
    }
}

macro_rules! simd_tile {
    ($t:ty, $nr:expr, $lanes:expr, $vec:ident, $splat:ident, $fma:ident, $add:ident) => {
        impl GemmReal for $t {
            const NR: usize = $nr;
            #[inline(always)]
            fn tile(simd: Simd, k: usize, a: &[$t], a_step: usize, b: &[$t], ldb: usize, mut store: Store<'_, '_, $t>) {
                #[cfg(target_arch = "x86_64")]
                if let Some(simd) = simd.0 {
                    use pulp::$vec;
                    const MR: usize = 8;
                    const L: usize = $lanes;
                    #[inline(always)]
                    fn load(s: &[$t]) -> $vec {
                        let arr: [$t; L] = s[..L].try_into().expect("L lanes");
                        pulp::cast(arr)
                    }
                    let zero = simd.$splat(0.0);
                    let mut c = [[zero; 2]; MR];
                    for p in 0..k {
                        let ap: &[$t; MR] = a[p * a_step..p * a_step + MR].try_into().expect("MR rows");
                        let row = &b[p * ldb..p * ldb + 2 * L];
                        let b0 = load(&row[..L]);
                        let b1 = load(&row[L..]);
                        for (ci, &av) in c.iter_mut().zip(ap) {
                            let av = simd.$splat(av);
                            ci[0] = simd.$fma(av, b0, ci[0]);
                            ci[1] = simd.$fma(av, b1, ci[1]);
                        }
                    }
                    if store.rows == MR && store.cols == 2 * L {
                        for (i, ci) in c.iter().enumerate() {
                            let dst = &mut store.c[i * store.ldc..i * store.ldc + 2 * L];
                            let (v0, v1) = match store.init {
                                Init::Zero => (ci[0], ci[1]),
                                Init::Bias(bias) => {
                                    (simd.$add(ci[0], load(&bias[..L])), simd.$add(ci[1], load(&bias[L..2 * L])))
                                }
                                Init::Accumulate => {
                                    (simd.$add(load(&dst[..L]), ci[0]), simd.$add(load(&dst[L..]), ci[1]))
                                }
                            };
                            let lo: [$t; L] = pulp::cast(v0);
                            let hi: [$t; L] = pulp::cast(v1);
                            dst[..L].copy_from_slice(&lo);
                            dst[L..].copy_from_slice(&hi);
                        }
                    } else {
                        // Spill the registers with constant indices first, so the accumulators
                        // above stay in registers; then the partial tile, row by row.
                        let mut tile = [[0.0 as $t; 2 * L]; MR];
                        for (row, ci) in tile.iter_mut().zip(&c) {
                            let lo: [$t; L] = pulp::cast(ci[0]);
                            let hi: [$t; L] = pulp::cast(ci[1]);
                            row[..L].copy_from_slice(&lo);
                            row[L..].copy_from_slice(&hi);
                        }
                        for (i, row) in tile.iter().enumerate().take(store.rows) {
                            store.row(i, row);
                        }
                    }
                    return;
                }
                let _ = simd;
                tile_scalar(k, a, a_step, b, ldb, store)
            }
        }
    };
}

simd_tile!(f64, 16, 8, f64x8, splat_f64x8, mul_add_f64x8, add_f64x8);
simd_tile!(f32, 32, 16, f32x16, splat_f32x16, mul_add_f32x16, add_f32x16);

/// `C ← init + A·B` for an m × n block C (row stride `ldc`), with k products per element.
///
/// Every element is the same FMA chain whatever m, n and the caller's blocking (module docs).
/// Runs the AVX-512 kernel when the CPU has it, the portable one otherwise (same bits).
///
/// # Panics
/// If a slice is too short for the given sizes and strides (a broken invariant of the caller).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: GemmReal>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_layout: ALayout,
    b: BOp<'_, T>,
    c: &mut [T],
    ldc: usize,
    init: Init<'_, T>,
    scratch: &mut Scratch<T>,
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v4) = pulp::x86::V4::try_new() {
        let simd = Simd(Some(v4));
        return v4.vectorize(
            #[inline(always)]
            || gemm_body(simd, m, n, k, a, a_layout, b, c, ldc, init, scratch),
        );
    }
    #[cfg(target_arch = "x86_64")]
    let simd = Simd(None);
    #[cfg(not(target_arch = "x86_64"))]
    let simd = Simd();
    gemm_body(simd, m, n, k, a, a_layout, b, c, ldc, init, scratch)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemm_body<T: GemmReal>(
    simd: Simd,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_layout: ALayout,
    b: BOp<'_, T>,
    c: &mut [T],
    ldc: usize,
    init: Init<'_, T>,
    scratch: &mut Scratch<T>,
) {
    if m == 0 || n == 0 {
        return;
    }
    let (mr_full, nr_full) = (T::MR, T::NR);
    // B as (slice, row stride, panel stride): panel q starts at q·panel_stride.
    let (b_all, ldb, panel_stride): (&[T], usize, usize) = match b {
        BOp::Packed(panels) => (panels, nr_full, k * nr_full),
        BOp::Rows(b, ldb) if should_pack::<T>(k, ldb) || !n.is_multiple_of(nr_full) => {
            let mut buf = std::mem::take(&mut scratch.b_pack);
            pack_b(k, n, b, ldb, &mut buf);
            scratch.b_pack = buf;
            (&scratch.b_pack[..], nr_full, k * nr_full)
        }
        BOp::Rows(b, ldb) => (b, ldb, nr_full),
    };
    let elem = std::mem::size_of::<T>();
    let pack_a = match a_layout {
        ALayout::ColMajor(lda) => k * lda * elem > PACK_ABOVE_BYTES,
        ALayout::RowMajor(_) => true,
    };
    let mut i0 = 0;
    while i0 < m {
        let mr = mr_full.min(m - i0);
        // A's rows i0..i0+MR as a slice with MR contiguous values per step p: a column-major A
        // is read in place; a row-major one, or a partial last block, is copied (zero-padded).
        let (a_blk, a_step): (&[T], usize) = match a_layout {
            ALayout::ColMajor(lda) if mr == mr_full && !pack_a && k > 0 => (&a[i0..], lda),
            _ => {
                if scratch.a_edge.len() != k * mr_full {
                    scratch.a_edge.resize(k * mr_full, T::ZERO);
                }
                if mr < mr_full {
                    scratch.a_edge.iter_mut().for_each(|v| *v = T::ZERO);
                }
                match a_layout {
                    ALayout::RowMajor(lda) => {
                        for i in 0..mr {
                            let row = &a[(i0 + i) * lda..(i0 + i) * lda + k];
                            for (p, &v) in row.iter().enumerate() {
                                scratch.a_edge[p * mr_full + i] = v;
                            }
                        }
                    }
                    ALayout::ColMajor(lda) => {
                        for p in 0..k {
                            scratch.a_edge[p * mr_full..p * mr_full + mr]
                                .copy_from_slice(&a[p * lda + i0..p * lda + i0 + mr]);
                        }
                    }
                }
                (&scratch.a_edge[..], mr_full)
            }
        };
        let mut j0 = 0;
        while j0 < n {
            let nr = nr_full.min(n - j0);
            let store = Store {
                c: &mut c[i0 * ldc + j0..],
                ldc,
                rows: mr,
                cols: nr,
                init: match init {
                    Init::Bias(bias) => Init::Bias(&bias[j0..]),
                    other => other,
                },
            };
            let q = j0 / nr_full;
            T::tile(simd, k, a_blk, a_step, &b_all[q * panel_stride..], ldb, store);
            j0 += nr_full;
        }
        i0 += mr_full;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn every_size_and_layout_gives_the_reference_bits() {
        let mut scratch = Scratch::default();
        for &(m, n, k) in &[(1, 1, 1), (7, 15, 3), (8, 16, 5), (9, 17, 33), (17, 40, 0), (3, 5, 64)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 101) as f64 - 50.0) / 7.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 53 % 89) as f64 - 44.0) / 3.0).collect();
            for al in [ALayout::RowMajor(k), ALayout::ColMajor(m)] {
                let want = reference(m, n, k, &a, al, &b);
                let mut c = vec![f64::NAN; m * n];
                gemm(m, n, k, &a, al, BOp::Rows(&b, n), &mut c, n, Init::Zero, &mut scratch);
                assert_eq!(
                    c.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{m}x{n}x{k} {al:?}"
                );
            }
        }
    }
}
