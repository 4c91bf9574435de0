//! The matrix product behind every dense layer: `C ← init + A·B`, one fixed summation order.
//!
//! ```text
//! C[i][j] = init[i][j] + Σ_{p=0}^{k−1} A(i,p)·B[p][j]
//! ```
//!
//! A key design decision: **every element of C is one chain of fused multiply-adds over
//! p = 0, 1, …, k−1, started from +0, and `init` is applied once at the end** (added, or
//! multiplying the finished chain: [`Init`]) — whatever the element's position, the tile it
//! falls in, the SIMD width, or how the caller cut C into blocks for its threads. There is no
//! k-blocking and no parallel reduction inside a product, so a result depends only on the
//! operands, never on the thread count or on the blocking. Every SIMD level ([`Simd`]:
//! AVX-512, AVX2 + FMA, portable) performs the same IEEE operations (`mul_add` is correctly
//! rounded) and so gives the same bits; the tests run each level the CPU has.
//!
//! Layouts: B is row-major (`B[p][j]` at `b[p·ldb + j]`); A is either row-major (`A(i,p)` at
//! `a[i·lda + p]`, the forward Z = H·W and the backward ∂L/∂H = G·Wᵀ with a transposed copy of
//! W) or column-major (`A(i,p)` at `a[p·lda + i]`, the backward ∂L/∂W = Hᵀ·G, where Hᵀ is H read
//! by columns). A is read in place in both layouts — each A value is broadcast from memory, so
//! MR rows far apart cost no more than a packed panel — except a column-major A whose columns
//! lie far apart (W2: 2 KiB, whose per-step lines would share a few L1 sets) and the last partial
//! row block, which are copied into a zero-padded scratch panel. B is read in place when its
//! rows are close (W3: 64×32×32, everything in L1) and packed into panels of NR columns when they
//! are far apart ([`should_pack`]; W2's 2 KiB rows), or when n is not a multiple of NR.
//!
//! Loop order: the row blocks of A that cannot be read in place are copied first, once per
//! product (at most ROW_CHUNK × k values per thread); then B panel by B panel, every row block
//! of A passes by the same panel, which stays in L1 (32 KiB at W2's k = 256) while A streams
//! from L2. (Row block outer, B panels inner — the other order — reloads every B panel from L2
//! for every tile; W2 in that order took 2–4% longer in `f64` and 5–9% in `f32`, `gradlab-peer`
//! binaries of both alternated on one thread.)
//!
//! The register tile is MR × NR = 8 × 16 for `f64` and 8 × 32 for `f32` on AVX-512: 16
//! accumulators of one zmm each, two B loads and eight broadcasts of A per step p. AVX2 has 16
//! vector registers: the same tile runs as blocks of 4 rows × 2 ymm (8 accumulators, two B
//! loads and four broadcasts per step; one-ymm strips of 8 rows, load-bound, ran at half the
//! AVX2 FMA rate, these at 61–83%: `kernel_rate_beside_the_fma_peak`), so panels and packing
//! are the same at every level. The portable tile (other CPUs, e.g. aarch64) computes one
//! element at a time.

use crate::real::Real;

/// How C starts before the products are added, or what multiplies them as they are stored:
/// in every case the same operations, in the same order, as a separate pass over C would do.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Init<'a, T> {
    /// C = A·B.
    Zero,
    /// C[i][j] = A·B[i][j] + bias[j].
    Bias(&'a [T]),
    /// C[i][j] = C[i][j] + A·B[i][j].
    Accumulate,
    /// C[i][j] = A·B[i][j] · s (the loss normalisation 1/ν when it is exact).
    Scale(T),
    /// C[i][j] = A·B[i][j] · d[i·ldd + j] (Δ = G ⊙ f′(Z) as G is written).
    Hadamard(&'a [T], usize),
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

/// The distance between packed panels of k rows: k·NR values and one spare row, so that the
/// panels (32 KiB apart for W2, a multiple of the L1 way size) do not all start in the same
/// cache set, which made the packing's stores, one per panel per row, conflict.
pub(crate) fn panel_stride<T: GemmReal>(k: usize) -> usize {
    (k + 1) * T::NR
}

/// Packs a row-major B (k × n) into panels of NR columns: panel q's row p at
/// `out[q·panel_stride(k) + p·NR..][..NR]`, the last panel zero-padded.
pub(crate) fn pack_b<T: GemmReal>(k: usize, n: usize, b: &[T], ldb: usize, out: &mut Vec<T>) {
    let nr = T::NR;
    let (full, rest) = (n / nr, n % nr);
    let panels = n.div_ceil(nr);
    let stride = panel_stride::<T>(k);
    out.resize(panels * stride, T::ZERO);
    // Row by row of B, so B is read sequentially (a row-by-panel order would read it with the
    // row stride, which the prefetchers do not follow when that stride is ≥ 2 KiB).
    for p in 0..k {
        let src = &b[p * ldb..p * ldb + n];
        for (q, chunk) in src.chunks_exact(nr).enumerate() {
            T::copy_nr(&mut out[q * stride + p * nr..], chunk);
        }
        if rest > 0 {
            let dst = &mut out[full * stride + p * nr..full * stride + (p + 1) * nr];
            dst[..rest].copy_from_slice(&src[full * nr..]);
            dst[rest..].iter_mut().for_each(|v| *v = T::ZERO);
        }
    }
}

/// MR as a literal, for fixed-size copies in generic code (checked against `GemmReal::MR`).
const MR_COPY: usize = 8;

/// Scratch for A's copied row blocks and B's panels; reused from call to call.
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

/// The element types with a register-blocked kernel.
pub(crate) trait GemmReal: Real {
    /// Rows of the register tile.
    const MR: usize = 8;
    /// Columns of the register tile.
    const NR: usize;
    /// One MR × NR tile: `Σ_p A(i,p)·b[p·ldb + j]`, FMA chains from +0 over p, stored
    /// through `store`, at the SIMD level `simd` (inside its `vectorize`).
    fn tile(simd: Simd, k: usize, a: APanel<'_, Self>, b: &[Self], ldb: usize, store: Store<'_, '_, Self>);
    /// `dst ← src` for one panel row of NR values (a fixed-size copy, no `memcpy` call).
    fn copy_nr(dst: &mut [Self], src: &[Self]);
    /// `dst[j·rows + i] = src[i·cols + j]` (see [`transpose`]).
    fn transpose(rows: usize, cols: usize, src: &[Self], dst: &mut [Self]);
    /// One square block of [`transpose`] through AVX-512 registers.
    #[cfg(target_arch = "x86_64")]
    fn transpose_block(simd: pulp::x86::V4, src: &[Self], lds: usize, dst: &mut [Self], ldd: usize);
}

/// `dst[j·rows + i] = src[i·cols + j]`: the rows × cols matrix `src` transposed into `dst`
/// (W_lᵀ for the backward product G_{l−1} = Δ_l·W_lᵀ). Copies only, so no rounding.
pub(crate) fn transpose<T: GemmReal>(rows: usize, cols: usize, src: &[T], dst: &mut [T]) {
    T::transpose(rows, cols, src, dst)
}

/// `dst[j·rows + i] = src[i·cols + j]`: blocks of 8 source rows, so each destination row gets
/// 8 contiguous values per step and each source line is reused for 8 steps.
fn transpose_blocked<T: Copy>(rows: usize, cols: usize, src: &[T], dst: &mut [T]) {
    const BLOCK: usize = 8;
    debug_assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
    for (blk, src_blk) in src[..rows * cols].chunks(BLOCK * cols).enumerate() {
        let i0 = blk * BLOCK;
        let ib = src_blk.len() / cols;
        if ib == BLOCK {
            let src_rows: [&[T]; BLOCK] = std::array::from_fn(|r| &src_blk[r * cols..(r + 1) * cols]);
            for (j, dst_row) in dst[..rows * cols].chunks_exact_mut(rows).enumerate() {
                let d: &mut [T; BLOCK] = (&mut dst_row[i0..i0 + BLOCK]).try_into().expect("BLOCK values");
                *d = std::array::from_fn(|r| src_rows[r][j]);
            }
        } else {
            for (j, dst_row) in dst[..rows * cols].chunks_exact_mut(rows).enumerate() {
                for (r, v) in dst_row[i0..i0 + ib].iter_mut().enumerate() {
                    *v = src_blk[r * cols + j];
                }
            }
        }
    }
}

/// [`transpose`] for `f64`: 8 × 8 blocks through AVX-512 registers (8 loads, 24 shuffles, 8
/// stores instead of 64 scalar loads and stores), the edges element by element.
fn transpose_f64(rows: usize, cols: usize, src: &[f64], dst: &mut [f64]) {
    transpose_simd::<f64, 8>(rows, cols, src, dst)
}

/// [`transpose`] for `f32`: 16 × 16 blocks, whose row pairs interleaved are an 8 × 8 matrix
/// of 64-bit pairs (transposed as for `f64`), the edges element by element.
fn transpose_f32(rows: usize, cols: usize, src: &[f32], dst: &mut [f32]) {
    transpose_simd::<f32, 16>(rows, cols, src, dst)
}

/// The blocks of B × B through registers where AVX-512 is available, the rest element by
/// element; the portable blocked loop otherwise.
fn transpose_simd<T: GemmReal, const B: usize>(rows: usize, cols: usize, src: &[T], dst: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V4::try_new() {
        let (rows_b, cols_b) = (rows / B * B, cols / B * B);
        simd.vectorize(
            #[inline(always)]
            || {
                for i0 in (0..rows_b).step_by(B) {
                    for j0 in (0..cols_b).step_by(B) {
                        T::transpose_block(simd, &src[i0 * cols + j0..], cols, &mut dst[j0 * rows + i0..], rows);
                    }
                }
            },
        );
        for i in 0..rows {
            let j_start = if i < rows_b { cols_b } else { 0 };
            for j in j_start..cols {
                dst[j * rows + i] = src[i * cols + j];
            }
        }
        return;
    }
    transpose_blocked(rows, cols, src, dst)
}

/// Eight zmm rows of eight 64-bit values, transposed: column c of the input is returned as
/// vector c (unpack pairs of rows, then pairs of pairs, then halves: 24 shuffles).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn transpose_8x8_regs(simd: pulp::x86::V4, r: [core::arch::x86_64::__m512d; 8]) -> [core::arch::x86_64::__m512d; 8] {
    use core::arch::x86_64::{__m512d, __m512i};
    let f = simd.avx512f;
    // Pairs of rows interleaved: a[2p] holds the even columns of rows 2p, 2p+1, a[2p+1] the odd.
    let a: [__m512d; 8] = std::array::from_fn(|q| {
        let (lo, hi) = (r[q / 2 * 2], r[q / 2 * 2 + 1]);
        if q % 2 == 0 { f._mm512_unpacklo_pd(lo, hi) } else { f._mm512_unpackhi_pd(lo, hi) }
    });
    // Pairs of pairs: 4 rows of columns (c, c + 4) for c = 0, 1, 2, 3.
    let first: __m512i = pulp::cast([0i64, 1, 8, 9, 4, 5, 12, 13]);
    let second: __m512i = pulp::cast([2i64, 3, 10, 11, 6, 7, 14, 15]);
    let quads = |base: usize| -> [__m512d; 4] {
        [
            f._mm512_permutex2var_pd(a[base], first, a[base + 2]),
            f._mm512_permutex2var_pd(a[base + 1], first, a[base + 3]),
            f._mm512_permutex2var_pd(a[base], second, a[base + 2]),
            f._mm512_permutex2var_pd(a[base + 1], second, a[base + 3]),
        ]
    };
    let (top, bottom) = (quads(0), quads(4));
    // Halves joined: column c from top[c] and bottom[c] low halves, column c + 4 from the high.
    let low: __m512i = pulp::cast([0i64, 1, 2, 3, 8, 9, 10, 11]);
    let high: __m512i = pulp::cast([4i64, 5, 6, 7, 12, 13, 14, 15]);
    std::array::from_fn(|c| {
        if c < 4 {
            f._mm512_permutex2var_pd(top[c], low, bottom[c])
        } else {
            f._mm512_permutex2var_pd(top[c - 4], high, bottom[c - 4])
        }
    })
}

/// One 8 × 8 `f64` block: `dst[j·ldd + i] = src[i·lds + j]` for i, j < 8.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn transpose_block_f64(simd: pulp::x86::V4, src: &[f64], lds: usize, dst: &mut [f64], ldd: usize) {
    let r = std::array::from_fn(|i| {
        let row: [f64; 8] = src[i * lds..i * lds + 8].try_into().expect("8 values");
        pulp::cast(row)
    });
    for (c, col) in transpose_8x8_regs(simd, r).into_iter().enumerate() {
        let d: &mut [f64; 8] = (&mut dst[c * ldd..c * ldd + 8]).try_into().expect("8 values");
        *d = pulp::cast(col);
    }
}

/// One 16 × 16 `f32` block: rows 2p and 2p+1 interleaved (`unpacklo/hi_ps`) hold, as 64-bit
/// pairs, columns {0,1,4,5,8,9,12,13} and {2,3,6,7,10,11,14,15}; transposing those two 8 × 8
/// pair matrices gives each output column as 8 pairs (rows 0,1 … 14,15) in order.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn transpose_block_f32(simd: pulp::x86::V4, src: &[f32], lds: usize, dst: &mut [f32], ldd: usize) {
    use core::arch::x86_64::{__m512, __m512d};
    let f = simd.avx512f;
    let r: [__m512; 16] = std::array::from_fn(|i| {
        let row: [f32; 16] = src[i * lds..i * lds + 16].try_into().expect("16 values");
        pulp::cast(row)
    });
    let lo: [__m512d; 8] = std::array::from_fn(|p| pulp::cast(f._mm512_unpacklo_ps(r[2 * p], r[2 * p + 1])));
    let hi: [__m512d; 8] = std::array::from_fn(|p| pulp::cast(f._mm512_unpackhi_ps(r[2 * p], r[2 * p + 1])));
    const LO_COLS: [usize; 8] = [0, 1, 4, 5, 8, 9, 12, 13];
    const HI_COLS: [usize; 8] = [2, 3, 6, 7, 10, 11, 14, 15];
    for (cols, pairs) in [(LO_COLS, lo), (HI_COLS, hi)] {
        for (&c, col) in cols.iter().zip(transpose_8x8_regs(simd, pairs)) {
            let d: &mut [f32; 16] = (&mut dst[c * ldd..c * ldd + 16]).try_into().expect("16 values");
            *d = pulp::cast(col);
        }
    }
}

/// The SIMD level a product runs at, detected once per product.
#[derive(Clone, Copy)]
pub(crate) enum Simd {
    /// AVX-512: the MR × NR tile in registers (two vectors per row).
    #[cfg(target_arch = "x86_64")]
    V4(pulp::x86::V4),
    /// AVX2 + FMA (16 vector registers): the MR × NR tile in blocks of 4 rows × 2 vectors.
    #[cfg(target_arch = "x86_64")]
    V3(pulp::x86::V3),
    /// No SIMD kernel: the portable tile.
    Portable,
}

/// The environment variable that caps the SIMD level of the dense products (to measure or check
/// a lower level on a machine that has a higher one): `avx512`, `avx2` or `portable`, any case.
/// It is read once per process; a value that names no level is reported once on standard error
/// and ignored. Every level gives the same bits.
pub const SIMD_ENV: &str = "GRADLAB_SIMD";

/// The levels from best to worst, as [`SIMD_ENV`] names them.
const LEVEL_NAMES: [&str; 3] = ["avx512", "avx2", "portable"];

/// The highest level allowed by a [`SIMD_ENV`] value: an index into [`LEVEL_NAMES`] (0 when
/// unset), or the value itself when it names no level.
fn level_cap(value: Option<&str>) -> Result<usize, String> {
    match value {
        None => Ok(0),
        Some(v) => LEVEL_NAMES.iter().position(|name| name.eq_ignore_ascii_case(v.trim())).ok_or_else(|| v.to_string()),
    }
}

impl Simd {
    /// The best level this CPU has, at most the one [`SIMD_ENV`] names (read once per process; a
    /// value that names no level is reported once on standard error and ignored).
    fn detect() -> Self {
        static CAP: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let cap = *CAP.get_or_init(|| {
            let value = std::env::var(SIMD_ENV).ok();
            level_cap(value.as_deref()).unwrap_or_else(|bad| {
                eprintln!("gradlab: {SIMD_ENV}={bad:?} is not one of {}; ignored", LEVEL_NAMES.join(", "));
                0
            })
        });
        #[cfg(target_arch = "x86_64")]
        {
            if cap == 0 {
                if let Some(v4) = pulp::x86::V4::try_new() {
                    return Simd::V4(v4);
                }
            }
            if cap <= 1 {
                if let Some(v3) = pulp::x86::V3::try_new() {
                    return Simd::V3(v3);
                }
            }
        }
        let _ = cap;
        Simd::Portable
    }
}

/// The portable tile: the same FMA chains, one element at a time.
#[inline(always)]
fn tile_scalar<T: GemmReal>(k: usize, a: APanel<'_, T>, b: &[T], ldb: usize, mut store: Store<'_, '_, T>) {
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
                            // Spelled out, not `array::from_fn`: where LLVM outlined that call
                            // (the kernel test's copy of this loop; W2's was inlined), it lost that
                            // every row is k long, kept 7 bounds checks per step and broadcast A
                            // from registers (port 5, beside the FMAs): 50-52 GFLOP/s, not 65-68.
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

/// `C ← init + A·B` for an m × n block C (row stride `ldc`), with k products per element.
///
/// Every element is the same FMA chain whatever m, n and the caller's blocking (module docs).
/// Runs the best kernel the CPU has (AVX-512, AVX2 + FMA, or the portable one; same bits).
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
    gemm_at(Simd::detect(), m, n, k, a, a_layout, b, c, ldc, init, scratch)
}

/// [`gemm`] at a given SIMD level (each level gives the same bits; tests run every level the
/// CPU has).
#[allow(clippy::too_many_arguments)]
fn gemm_at<T: GemmReal>(
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
    let body = Body { simd, m, n, k, a, a_layout, b, c, ldc, init, scratch };
    match simd {
        #[cfg(target_arch = "x86_64")]
        Simd::V4(v4) => v4.vectorize(body),
        #[cfg(target_arch = "x86_64")]
        Simd::V3(v3) => v3.vectorize(body),
        Simd::Portable => pulp::NullaryFnOnce::call(body),
    }
}

/// [`gemm_body`] with its arguments, for `vectorize`, which calls it through the
/// `#[inline(always)]` method below. (With a closure it went through the closure's
/// `FnOnce::call_once` shim, which LLVM inlines only while it looks cheap: when an experiment
/// made the product's body a little larger, the shim stayed a call, every SIMD intrinsic inside
/// it — now outside the function that enables AVX-512 — became a call too, and the 256³
/// product fell from ≈ 60 to 1 GFLOP/s at every level.)
struct Body<'a, T> {
    simd: Simd,
    m: usize,
    n: usize,
    k: usize,
    a: &'a [T],
    a_layout: ALayout,
    b: BOp<'a, T>,
    c: &'a mut [T],
    ldc: usize,
    init: Init<'a, T>,
    scratch: &'a mut Scratch<T>,
}

impl<T: GemmReal> pulp::NullaryFnOnce for Body<'_, T> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Body { simd, m, n, k, a, a_layout, b, c, ldc, init, scratch } = self;
        gemm_body(simd, m, n, k, a, a_layout, b, c, ldc, init, scratch)
    }
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
    debug_assert_eq!(mr_full, MR_COPY);
    // B as (slice, row stride, panel stride): panel q starts at q·panel_stride.
    let (b_all, ldb, panel_stride): (&[T], usize, usize) = match b {
        BOp::Packed(panels) => (panels, nr_full, panel_stride::<T>(k)),
        BOp::Rows(b, ldb) if should_pack::<T>(k, ldb) || !n.is_multiple_of(nr_full) => {
            let mut buf = std::mem::take(&mut scratch.b_pack);
            pack_b(k, n, b, ldb, &mut buf);
            scratch.b_pack = buf;
            (&scratch.b_pack[..], nr_full, panel_stride::<T>(k))
        }
        BOp::Rows(b, ldb) => (b, ldb, nr_full),
    };
    let elem = std::mem::size_of::<T>();
    // A column-major A whose columns are far apart is packed: read in place, its per-step
    // lines would fall into a handful of L1 sets (W2's 2 KiB stride).
    let pack_col_major = match a_layout {
        ALayout::ColMajor(lda) => k * lda * elem > PACK_ABOVE_BYTES,
        ALayout::RowMajor(_) => false,
    };
    // Pass 1: A's row blocks that cannot be read in place (the last partial one, or a
    // column-major A whose columns are far apart) are copied once into zero-padded panels of MR
    // contiguous values per step p, block after block.
    let blocks = m.div_ceil(mr_full);
    let in_place = |i0: usize| {
        let whole = i0 + mr_full <= m && k > 0;
        match a_layout {
            ALayout::ColMajor(_) => whole && !pack_col_major,
            ALayout::RowMajor(_) => whole,
        }
    };
    let panel_len = k * mr_full;
    let packed_blocks = (0..blocks).filter(|&blk| !in_place(blk * mr_full)).count();
    if scratch.a_edge.len() < packed_blocks * panel_len {
        scratch.a_edge.resize(packed_blocks * panel_len, T::ZERO);
    }
    let mut slot = 0;
    for blk in 0..blocks {
        let i0 = blk * mr_full;
        if in_place(i0) {
            continue;
        }
        let mr = mr_full.min(m - i0);
        let panel = &mut scratch.a_edge[slot * panel_len..(slot + 1) * panel_len];
        slot += 1;
        if mr < mr_full {
            panel.iter_mut().for_each(|v| *v = T::ZERO);
        }
        match a_layout {
            ALayout::RowMajor(lda) => {
                for i in 0..mr {
                    let row = &a[(i0 + i) * lda..(i0 + i) * lda + k];
                    for (p, &v) in row.iter().enumerate() {
                        panel[p * mr_full + i] = v;
                    }
                }
            }
            ALayout::ColMajor(lda) if mr == MR_COPY => {
                for (p, dst) in panel.chunks_exact_mut(MR_COPY).enumerate() {
                    let dst: &mut [T; MR_COPY] = dst.try_into().expect("MR values");
                    *dst = a[p * lda + i0..p * lda + i0 + MR_COPY].try_into().expect("MR values");
                }
            }
            ALayout::ColMajor(lda) => {
                for p in 0..k {
                    panel[p * mr_full..p * mr_full + mr].copy_from_slice(&a[p * lda + i0..p * lda + i0 + mr]);
                }
            }
        }
    }
    let a_edge = &scratch.a_edge[..];
    // Pass 2: B panel by B panel (each stays in L1 while it is used), every row block of A.
    let mut j0 = 0;
    while j0 < n {
        let nr = nr_full.min(n - j0);
        let b_panel = &b_all[j0 / nr_full * panel_stride..];
        let mut slot = 0;
        for blk in 0..blocks {
            let i0 = blk * mr_full;
            let mr = mr_full.min(m - i0);
            let a_blk: APanel<'_, T> = if in_place(i0) {
                match a_layout {
                    ALayout::ColMajor(lda) => APanel::Steps(&a[i0..], lda),
                    ALayout::RowMajor(lda) => APanel::Rows(&a[i0 * lda..], lda),
                }
            } else {
                slot += 1;
                APanel::Steps(&a_edge[(slot - 1) * panel_len..slot * panel_len], mr_full)
            };
            let store = Store {
                c: &mut c[i0 * ldc + j0..],
                ldc,
                rows: mr,
                cols: nr,
                init: match init {
                    Init::Bias(bias) => Init::Bias(&bias[j0..]),
                    Init::Hadamard(d, ldd) => Init::Hadamard(&d[i0 * ldd + j0..], ldd),
                    other => other,
                },
            };
            T::tile(simd, k, a_blk, b_panel, ldb, store);
        }
        j0 += nr_full;
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

    /// Every SIMD level this CPU has, and the portable tile.
    fn levels() -> Vec<Simd> {
        let mut levels = vec![Simd::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            levels.extend(pulp::x86::V3::try_new().map(Simd::V3));
            levels.extend(pulp::x86::V4::try_new().map(Simd::V4));
        }
        levels
    }

    fn level_name(simd: Simd) -> &'static str {
        match simd {
            #[cfg(target_arch = "x86_64")]
            Simd::V4(_) => "AVX-512",
            #[cfg(target_arch = "x86_64")]
            Simd::V3(_) => "AVX2",
            Simd::Portable => "portable",
        }
    }

    #[test]
    fn every_size_layout_and_simd_level_gives_the_reference_bits() {
        let mut scratch = Scratch::default();
        // The last two are big enough for packed B (with a partial panel) and packed
        // column-major A (with a partial row block).
        for &(m, n, k) in
            &[(1, 1, 1), (7, 15, 3), (8, 16, 5), (9, 17, 33), (17, 40, 0), (3, 5, 64), (9, 70, 300), (20, 33, 520)]
        {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 101) as f64 - 50.0) / 7.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 53 % 89) as f64 - 44.0) / 3.0).collect();
            for al in [ALayout::RowMajor(k), ALayout::ColMajor(m)] {
                let want = reference(m, n, k, &a, al, &b);
                for simd in levels() {
                    let mut c = vec![f64::NAN; m * n];
                    gemm_at(simd, m, n, k, &a, al, BOp::Rows(&b, n), &mut c, n, Init::Zero, &mut scratch);
                    assert_eq!(
                        c.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        "{m}x{n}x{k} {al:?} {}",
                        level_name(simd)
                    );
                }
            }
        }
    }

    /// Every init and both element types: each SIMD level gives the portable tile's bits.
    fn levels_agree<T: GemmReal>() {
        let mut scratch = Scratch::default();
        let value = |i: usize, m: usize| T::from_f64(((i * 37 % m) as f64 - (m / 2) as f64) / 7.0);
        for &(m, n, k) in &[(9, 17, 33), (8, 32, 7), (20, 33, 520), (3, 70, 300)] {
            let a: Vec<T> = (0..m * k).map(|i| value(i, 101)).collect();
            let b: Vec<T> = (0..k * n).map(|i| value(i, 89)).collect();
            let bias: Vec<T> = (0..n).map(|i| value(i, 13)).collect();
            let d: Vec<T> = (0..m * n).map(|i| value(i, 11)).collect();
            let start: Vec<T> = (0..m * n).map(|i| value(i, 17)).collect();
            let inits = [
                Init::Zero,
                Init::Bias(&bias[..]),
                Init::Accumulate,
                Init::Scale(T::from_f64(0.125)),
                Init::Hadamard(&d[..], n),
            ];
            for init in inits {
                for al in [ALayout::RowMajor(k), ALayout::ColMajor(m)] {
                    let run = |simd: Simd, scratch: &mut Scratch<T>| {
                        let mut c = start.clone();
                        gemm_at(simd, m, n, k, &a, al, BOp::Rows(&b, n), &mut c, n, init, scratch);
                        c.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>()
                    };
                    let want = run(Simd::Portable, &mut scratch);
                    for simd in levels() {
                        assert_eq!(run(simd, &mut scratch), want, "{m}x{n}x{k} {al:?} {init:?} {}", level_name(simd));
                    }
                }
            }
        }
    }

    #[test]
    fn every_simd_level_gives_the_portable_bits_for_every_init_in_both_types() {
        levels_agree::<f64>();
        levels_agree::<f32>();
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
    /// `cargo test -p vectorised --release --lib kernel_rate -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement; run by hand (docs/performance.md)"]
    fn kernel_rate_beside_the_fma_peak() {
        let (m, n, k) = (256, 256, 256);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 101) as f64 - 50.0) / 700.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 53 % 89) as f64 - 44.0) / 300.0).collect();
        let mut packed = Vec::new();
        pack_b(k, n, &b, n, &mut packed);
        let want = reference(m, n, k, &a, ALayout::RowMajor(k), &b);
        let mut scratch = Scratch::default();
        for simd in levels().into_iter().rev() {
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
                            gemm_at(simd, m, n, k, a, layout, BOp::Packed(&packed), c, n, Init::Zero, &mut scratch);
                            t.elapsed().as_secs_f64()
                        })
                        .fold(f64::INFINITY, f64::min)
                };
                let best = best_of(if portable { 1 } else { 20 }, &|_| 0);
                let cold = (!portable).then(|| best_of(20 * COLD_COPIES, &|i| i % COLD_COPIES));
                for c in &c_copies {
                    assert!(c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()), "{}", level_name(simd));
                }
                let rate = (2 * m * n * k) as f64 / best / 1e9;
                #[cfg(target_arch = "x86_64")]
                let peak = fma_peak(simd);
                #[cfg(not(target_arch = "x86_64"))]
                let peak: Option<f64> = None;
                let share =
                    peak.map_or(String::new(), |p| format!(", {:.0}% of its FMA loop's {p:.1}", 100.0 * rate / p));
                let cold = cold.map_or(String::new(), |t| {
                    format!("; cold A and C {:.1} GFLOP/s", (2 * m * n * k) as f64 / t / 1e9)
                });
                println!("{:>8} {layout:?}: {rate:6.1} GFLOP/s ({:.3} ms){share}{cold}", level_name(simd), best * 1e3);
            }
        }
    }

    /// Not a speed test (nothing is asserted about time): W2's products (`rows` × 256 × 256, B
    /// packed, A row-major in place), each timed right after its A and B were written again —
    /// by the thread that runs the product ("local"), or by a second thread ("remote"), which
    /// the OS runs on the other vCPU while the first one waits, as in two-thread W2, where a
    /// block's operands were mostly written by the other core. The two alternate, 100 products
    /// each; the bits are checked. Run with nothing else busy (both vCPUs are used):
    /// `cargo test -p vectorised --release --lib another_core -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement; run by hand (docs/performance.md)"]
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
                    gemm(rows, n, k, &a, ALayout::RowMajor(k), BOp::Packed(&b), &mut c, n, Init::Zero, &mut scratch);
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

    #[test]
    fn the_simd_variable_caps_the_level_and_names_a_bad_value() {
        assert_eq!(level_cap(None), Ok(0));
        assert_eq!(level_cap(Some("avx512")), Ok(0));
        assert_eq!(level_cap(Some(" AVX2 ")), Ok(1));
        assert_eq!(level_cap(Some("portable")), Ok(2));
        assert_eq!(level_cap(Some("sse9")), Err("sse9".to_string()));
        assert_eq!(level_cap(Some("")), Err(String::new()));
    }
}
