//! The register tiles: one MR × NR block of C as FMA chains, per SIMD level (AVX-512, AVX2 +
//! FMA through `pulp`) and the portable tile, all performing the same IEEE operations.

use super::{GemmReal, Init, Simd, transpose_block_f32, transpose_block_f64, transpose_f32, transpose_f64};
use crate::real::Real;

/// The portable tile: the same FMA chains, one element at a time.
#[inline(always)]
pub(super) fn tile_scalar<T: Real>(k: usize, a: APanel<'_, T>, b: &[T], ldb: usize, mut store: Store<'_, '_, T>) {
    let mut acc = [T::ZERO; 32];
    let a_at = |i: usize, p: usize| match a {
        APanel::Steps(a, step) => a[p * step + i],
        APanel::Rows(a, lda) => a[i * lda + p],
    };
    for i in 0..store.rows {
        for (j, slot) in acc.iter_mut().enumerate().take(store.cols) {
            let mut s = T::ZERO;
            for p in 0..k {
                s = a_at(i, p).mul_add(b[p * ldb + j], s);
            }
            *slot = s;
        }
        store.row(i, &acc);
    }
}

macro_rules! simd_tile {
    (
        $t:ty, $nr:expr, $lanes:expr, $vec:ident, $splat:ident, $fma:ident, $add:ident, $mul:ident,
        $lanes3:expr, $vec3:ident, $splat3:ident, $fma3:ident, $transpose:path, $block:path
    ) => {
        impl GemmReal for $t {
            const NR: usize = $nr;
            #[inline(always)]
            fn transpose(rows: usize, cols: usize, src: &[$t], dst: &mut [$t]) {
                $transpose(rows, cols, src, dst)
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            fn transpose_block(simd: pulp::x86::V4, src: &[$t], lds: usize, dst: &mut [$t], ldd: usize) {
                $block(simd, src, lds, dst, ldd)
            }
            #[inline(always)]
            fn copy_nr(dst: &mut [$t], src: &[$t]) {
                let d: &mut [$t; $nr] = (&mut dst[..$nr]).try_into().expect("NR values");
                *d = src[..$nr].try_into().expect("NR values");
            }
            #[inline(always)]
            fn tile(simd: Simd, k: usize, a: APanel<'_, $t>, b: &[$t], ldb: usize, mut store: Store<'_, '_, $t>) {
                #[cfg(target_arch = "x86_64")]
                if let Simd::V3(simd) = simd {
                    // Blocks of 4 rows × 2 vectors (2·L3 columns): 8 accumulators, two B loads
                    // and four broadcasts per step; each element is the same FMA chain as above.
                    use pulp::$vec3;
                    const MR: usize = 8;
                    const L3: usize = $lanes3;
                    const HALF: usize = MR / 2;
                    #[inline(always)]
                    fn load3(s: &[$t]) -> $vec3 {
                        let arr: [$t; L3] = s[..L3].try_into().expect("L3 lanes");
                        pulp::cast(arr)
                    }
                    #[inline(always)]
                    fn block(
                        simd: pulp::x86::V3,
                        k: usize,
                        a_col: impl Fn(usize) -> [$t; HALF],
                        b: &[$t],
                        ldb: usize,
                    ) -> [[$vec3; 2]; HALF] {
                        let mut c = [[simd.$splat3(0.0); 2]; HALF];
                        for p in 0..k {
                            let ap = a_col(p);
                            let row = &b[p * ldb..p * ldb + 2 * L3];
                            let (b0, b1) = (load3(&row[..L3]), load3(&row[L3..]));
                            for (ci, &av) in c.iter_mut().zip(&ap) {
                                let av = simd.$splat3(av);
                                ci[0] = simd.$fma3(av, b0, ci[0]);
                                ci[1] = simd.$fma3(av, b1, ci[1]);
                            }
                        }
                        c
                    }
                    let mut tile = [[0.0 as $t; $nr]; MR];
                    for h in 0..store.rows.div_ceil(HALF) {
                        let r0 = h * HALF;
                        for q in 0..store.cols.div_ceil(2 * L3) {
                            let b = &b[q * 2 * L3..];
                            let c = match a {
                                APanel::Steps(a, step) => block(
                                    simd,
                                    k,
                                    |p| a[p * step + r0..p * step + r0 + HALF].try_into().expect("HALF rows"),
                                    b,
                                    ldb,
                                ),
                                APanel::Rows(a, lda) => {
                                    // Spelled out, as in the AVX-512 tile below (and why).
                                    let row = |i: usize| &a[(r0 + i) * lda..][..k];
                                    let rows: [&[$t]; HALF] = [row(0), row(1), row(2), row(3)];
                                    block(simd, k, |p| std::array::from_fn(|i| rows[i][p]), b, ldb)
                                }
                            };
                            for (row, ci) in tile[r0..r0 + HALF].iter_mut().zip(&c) {
                                for (part, &v) in row[q * 2 * L3..(q + 1) * 2 * L3].chunks_exact_mut(L3).zip(ci) {
                                    let v: [$t; L3] = pulp::cast(v);
                                    part.copy_from_slice(&v);
                                }
                            }
                        }
                    }
                    for (i, row) in tile.iter().enumerate().take(store.rows) {
                        store.row(i, row);
                    }
                    return;
                }
                #[cfg(target_arch = "x86_64")]
                if let Simd::V4(simd) = simd {
                    use pulp::$vec;
                    const MR: usize = 8;
                    const L: usize = $lanes;
                    #[inline(always)]
                    fn load(s: &[$t]) -> $vec {
                        let arr: [$t; L] = s[..L].try_into().expect("L lanes");
                        pulp::cast(arr)
                    }
                    #[inline(always)]
                    fn chains(
                        simd: pulp::x86::V4,
                        k: usize,
                        a_col: impl Fn(usize) -> [$t; MR],
                        b: &[$t],
                        ldb: usize,
                    ) -> [[$vec; 2]; MR] {
                        let zero = simd.$splat(0.0);
                        let mut c = [[zero; 2]; MR];
                        for p in 0..k {
                            let ap = a_col(p);
                            let row = &b[p * ldb..p * ldb + 2 * L];
                            let b0 = load(&row[..L]);
                            let b1 = load(&row[L..]);
                            for (ci, &av) in c.iter_mut().zip(&ap) {
                                let av = simd.$splat(av);
                                ci[0] = simd.$fma(av, b0, ci[0]);
                                ci[1] = simd.$fma(av, b1, ci[1]);
                            }
                        }
                        c
                    }
                    // One monomorphic loop per layout, so the A addressing is fixed inside it.
                    let c = match a {
                        APanel::Steps(a, step) => {
                            chains(simd, k, |p| a[p * step..p * step + MR].try_into().expect("MR rows"), b, ldb)
                        }
                        APanel::Rows(a, lda) => {
                            // Spelled out, not `array::from_fn`: where LLVM outlines that call,
                            // it loses that every row is k long, keeps 7 bounds checks per step
                            // and broadcasts A from registers (port 5, beside the FMAs).
                            let row = |i: usize| &a[i * lda..][..k];
                            let rows: [&[$t]; MR] = [row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)];
                            chains(simd, k, |p| std::array::from_fn(|i| rows[i][p]), b, ldb)
                        }
                    };
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
                                Init::Scale(f) => {
                                    let f = simd.$splat(f);
                                    (simd.$mul(ci[0], f), simd.$mul(ci[1], f))
                                }
                                Init::Hadamard(d, ldd) => {
                                    let d = &d[i * ldd..i * ldd + 2 * L];
                                    (simd.$mul(ci[0], load(&d[..L])), simd.$mul(ci[1], load(&d[L..])))
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
                tile_scalar(k, a, b, ldb, store)
            }
        }
    };
}

simd_tile!(
    f64,
    16,
    8,
    f64x8,
    splat_f64x8,
    mul_add_f64x8,
    add_f64x8,
    mul_f64x8,
    4,
    f64x4,
    splat_f64x4,
    mul_add_f64x4,
    transpose_f64,
    transpose_block_f64
);
simd_tile!(
    f32,
    32,
    16,
    f32x16,
    splat_f32x16,
    mul_add_f32x16,
    add_f32x16,
    mul_f32x16,
    8,
    f32x8,
    splat_f32x8,
    mul_add_f32x8,
    transpose_f32,
    transpose_block_f32
);

/// Where a finished tile goes: `c[i·ldc + j]` for its `rows × cols` valid part.
pub(crate) struct Store<'c, 'b, T> {
    pub(super) c: &'c mut [T],
    pub(super) ldc: usize,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) init: Init<'b, T>,
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
            Init::Scale(f) => {
                for (cv, &s) in row.iter_mut().zip(acc) {
                    *cv = s * f;
                }
            }
            Init::Hadamard(d, ldd) => {
                for ((cv, &s), &dv) in row.iter_mut().zip(acc).zip(&d[i * ldd..i * ldd + self.cols]) {
                    *cv = s * dv;
                }
            }
        }
    }
}

/// A's MR rows for one tile: `A(i,p)` for i < MR, p < k.
#[derive(Clone, Copy, Debug)]
pub(crate) enum APanel<'a, T> {
    /// `A(i,p)` at `a[p·step + i]`: a column-major A read in place, or a packed panel.
    Steps(&'a [T], usize),
    /// `A(i,p)` at `a[i·lda + p]`: a row-major A read in place (each value is broadcast from
    /// memory anyway, so MR rows far apart cost nothing more than one packed panel).
    Rows(&'a [T], usize),
}
