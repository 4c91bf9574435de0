//! Operand packing and transposition for the product: B in panels of NR columns, A's row blocks
//! that cannot be read in place, and Wᵀ for the backward product (copies only, no rounding).

use crate::real::Real;

/// `dst[j·rows + i] = src[i·cols + j]`: the rows × cols matrix `src` transposed into `dst`
/// (W_lᵀ for the backward product G_{l−1} = Δ_l·W_lᵀ). Copies only, so no rounding.
pub(crate) fn transpose<T: Real>(rows: usize, cols: usize, src: &[T], dst: &mut [T]) {
    T::transpose(rows, cols, src, dst)
}

/// `dst[j·rows + i] = src[i·cols + j]`: blocks of 8 source rows, so each destination row gets
/// 8 contiguous values per step and each source line is reused for 8 steps.
pub(super) fn transpose_blocked<T: Copy>(rows: usize, cols: usize, src: &[T], dst: &mut [T]) {
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
pub(super) fn transpose_f64(rows: usize, cols: usize, src: &[f64], dst: &mut [f64]) {
    transpose_simd::<f64, 8>(rows, cols, src, dst)
}

/// [`transpose`] for `f32`: 16 × 16 blocks, whose row pairs interleaved are an 8 × 8 matrix
/// of 64-bit pairs (transposed as for `f64`), the edges element by element.
pub(super) fn transpose_f32(rows: usize, cols: usize, src: &[f32], dst: &mut [f32]) {
    transpose_simd::<f32, 16>(rows, cols, src, dst)
}

/// The blocks of B × B through registers where AVX-512 is available, the rest element by
/// element; the portable blocked loop otherwise.
pub(super) fn transpose_simd<T: Real, const B: usize>(rows: usize, cols: usize, src: &[T], dst: &mut [T]) {
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
pub(super) fn transpose_8x8_regs(
    simd: pulp::x86::V4,
    r: [core::arch::x86_64::__m512d; 8],
) -> [core::arch::x86_64::__m512d; 8] {
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
pub(super) fn transpose_block_f64(simd: pulp::x86::V4, src: &[f64], lds: usize, dst: &mut [f64], ldd: usize) {
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
pub(super) fn transpose_block_f32(simd: pulp::x86::V4, src: &[f32], lds: usize, dst: &mut [f32], ldd: usize) {
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

/// Whether a row-major B of k rows with stride `ldb` is worth packing (see `PACK_ABOVE_BYTES`).
pub(crate) fn should_pack<T>(k: usize, ldb: usize) -> bool {
    k * ldb * std::mem::size_of::<T>() > PACK_ABOVE_BYTES
}

/// The distance between packed panels of k rows: k·NR values and one spare row, so that the
/// panels (32 KiB apart for W2, a multiple of the L1 way size) do not all start in the same
/// cache set, which made the packing's stores, one per panel per row, conflict.
pub(crate) fn panel_stride<T: Real>(k: usize) -> usize {
    (k + 1) * T::NR
}

/// Packs a row-major B (k × n) into panels of NR columns: panel q's row p at
/// `out[q·panel_stride(k) + p·NR..][..NR]`, the last panel zero-padded.
pub fn pack_b<T: Real>(k: usize, n: usize, b: &[T], ldb: usize, out: &mut Vec<T>) {
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
pub(super) const MR_COPY: usize = 8;

/// Scratch for A's copied row blocks and B's panels; reused from call to call.
#[derive(Debug, Default, Clone)]
pub struct Scratch<T> {
    pub(super) a_edge: Vec<T>,
    pub(super) b_pack: Vec<T>,
}

/// Operands whose rows span more than this many bytes are copied into contiguous panels first:
/// read in place, a power-of-two row stride (W2's 2 KiB) maps a panel's rows onto a handful of
/// L1 sets, and the conflict misses halve the kernel's speed.
pub(super) const PACK_ABOVE_BYTES: usize = 32 * 1024;
