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
//! for every tile, and is slower.)
//!
//! The register tile is MR × NR = 8 × 16 for `f64` and 8 × 32 for `f32` on AVX-512: 16
//! accumulators of one zmm each, two B loads and eight broadcasts of A per step p. AVX2 has 16
//! vector registers: the same tile runs as blocks of 4 rows × 2 ymm (8 accumulators, two B
//! loads and four broadcasts per step; one-ymm strips of 8 rows are load-bound, as
//! `examples/gemm_rate.rs` shows beside the FMA peak), so panels and packing
//! are the same at every level. The portable tile (other CPUs, e.g. aarch64) computes one
//! element at a time.

use crate::real::Real;
use crate::simd::Simd;

mod pack;
mod tile;

use pack::{MR_COPY, PACK_ABOVE_BYTES, transpose_block_f32, transpose_block_f64, transpose_f32, transpose_f64};
pub use pack::{Scratch, pack_b};
pub(crate) use pack::{panel_stride, should_pack, transpose};
use tile::{APanel, Store};

/// How C starts before the products are added, or what multiplies them as they are stored:
/// in every case the same operations, in the same order, as a separate pass over C would do.
#[derive(Clone, Copy, Debug)]
pub enum Init<'a, T> {
    /// C = A·B.
    Zero,
    /// `C[i][j] = A·B[i][j] + bias[j]`.
    Bias(&'a [T]),
    /// `C[i][j] = C[i][j] + A·B[i][j]`.
    Accumulate,
    /// `C[i][j] = A·B[i][j] · s` (the loss normalisation 1/ν when it is exact).
    Scale(T),
    /// `C[i][j] = A·B[i][j] · d[i·ldd + j]` (Δ = G ⊙ f′(Z) as G is written).
    Hadamard(&'a [T], usize),
}

/// How A is stored.
#[derive(Clone, Copy, Debug)]
pub enum ALayout {
    /// `A(i,p)` at `a[i·lda + p]`.
    RowMajor(usize),
    /// `A(i,p)` at `a[p·lda + i]`.
    ColMajor(usize),
}

/// The right operand B (k × n).
#[derive(Clone, Copy, Debug)]
pub enum BOp<'a, T> {
    /// Row-major, `B[p][j]` at `b[p·ldb + j]`; packed inside the call when its rows are far
    /// apart.
    Rows(&'a [T], usize),
    /// Already packed by [`pack_b`] (for an operand several calls share).
    Packed(&'a [T]),
}

/// The element types with a register-blocked kernel.
pub(crate) trait GemmReal: Copy + 'static {
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

/// `C ← init + A·B` for the [`Product`] (an m × n block C, k products per element).
///
/// Every element is the same FMA chain whatever m, n and the caller's blocking (module docs).
/// Runs the best kernel the CPU has (AVX-512, AVX2 + FMA, or the portable one; same bits).
///
/// # Panics
/// If a slice is too short for the given sizes and strides (a broken invariant of the caller).
pub fn gemm<T: Real>(product: Product<'_, T>, scratch: &mut Scratch<T>) {
    gemm_at(Simd::detect(), product, scratch)
}

/// One product's operands and output: `C ← init + A·B` for the m × n block C at `c` (row stride
/// `ldc`), with k products per element, A in `a` as `a_layout` says and B as `b` says.
pub struct Product<'a, T> {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of B and C.
    pub n: usize,
    /// Columns of A, rows of B: the products per element.
    pub k: usize,
    /// A's values.
    pub a: &'a [T],
    /// How A is stored.
    pub a_layout: ALayout,
    /// B.
    pub b: BOp<'a, T>,
    /// C's block (written).
    pub c: &'a mut [T],
    /// C's row stride.
    pub ldc: usize,
    /// How C starts, or what multiplies the products as they are stored.
    pub init: Init<'a, T>,
}

/// [`gemm`] at a given SIMD level (each level gives the same bits; tests run every level the
/// CPU has).
pub fn gemm_at<T: Real>(simd: Simd, product: Product<'_, T>, scratch: &mut Scratch<T>) {
    simd.run(Body { simd, product, scratch })
}

/// [`gemm_body`] with its arguments, for [`Simd::run`], which calls it through the
/// `#[inline(always)]` method below (a closure might stay a call, and then every SIMD intrinsic
/// inside it would be outside the function that enables AVX-512 and become a call too).
struct Body<'a, 'p, T> {
    simd: Simd,
    product: Product<'p, T>,
    scratch: &'a mut Scratch<T>,
}

impl<T: Real> pulp::NullaryFnOnce for Body<'_, '_, T> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Body { simd, product, scratch } = self;
        gemm_body(simd, product, scratch)
    }
}

#[inline(always)]
fn gemm_body<T: Real>(simd: Simd, product: Product<'_, T>, scratch: &mut Scratch<T>) {
    let Product { m, n, k, a, a_layout, b, c, ldc, init } = product;
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
mod tests;
