//! Where a block's values live: its scratch rows (laid out against 4K aliasing), and the
//! conversions between layer-major `[layer][chain]` and block-major storage.

use super::*;

/// Where a block's rows live in its scratch buffer.
///
/// Rows are `ld` values apart, with ld·size an odd number of 64-byte lines, and the derivative
/// rows start 32 (mod 64) rows after the activation rows. So no two rows that one loop touches
/// together sit a multiple of 4096 bytes apart: on x86, a load whose address matches an earlier
/// store's in its low 12 bits waits for that store ("4K aliasing"), and with power-of-two row
/// sizes every load of the backward sweep did.
pub(super) struct RowLayout {
    pub(super) ld: usize,
    pub(super) deriv_start: usize,
    len: usize,
}

impl RowLayout {
    pub(super) fn new<T>(n: usize, d: usize) -> RowLayout {
        let size = std::mem::size_of::<T>();
        let mut lines = (n * size).div_ceil(64).max(1);
        if lines.is_multiple_of(2) {
            lines += 1;
        }
        let ld = lines * 64 / size;
        let gap = (32 + 64 - (d + 1) % 64) % 64;
        let deriv_start = (d + 1 + gap) * ld;
        RowLayout { ld, deriv_start, len: deriv_start + d * ld }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }
}

pub(super) fn resize<V: Clone>(v: &mut Vec<V>, len: usize, fill: V) {
    v.truncate(len);
    v.resize(len, fill);
}

/// Splits D × S per-layer values stored in `layout` into the blocks of `chunk` chains:
/// `result[b][l]` is block b's slice of layer l, mutably (empty for an empty `values`, which is
/// how a batch without biases or extended magnitudes leaves those outputs).
pub(super) fn layer_blocks_mut<V>(
    layout: GradientLayout,
    values: &mut [V],
    n_chains: usize,
    n_layers: usize,
    chunk: usize,
) -> Vec<Vec<&mut [V]>> {
    match layout {
        GradientLayout::LayerMajor => column_blocks_mut(values, n_chains, chunk),
        GradientLayout::Blocks => values
            .chunks_mut(chunk * n_layers)
            .map(|block| {
                let n_b = block.len() / n_layers;
                block.chunks_mut(n_b).collect()
            })
            .collect(),
    }
}

/// Layer-major `[layer][chain]` → block-major (see [`ChainBatch`]'s `weights` field).
pub(super) fn to_block_major<T: Copy>(m: &[T], n_chains: usize, n_layers: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(m.len());
    let chunk = chain_chunk::<T>();
    for b in 0..n_chunks(n_chains, chunk) {
        let lanes = crate::parallel::chunk_range(b, n_chains, chunk);
        for l in 0..n_layers {
            out.extend_from_slice(&m[l * n_chains + lanes.start..l * n_chains + lanes.end]);
        }
    }
    out
}

/// Block-major → layer-major `[layer][chain]`.
pub(super) fn from_block_major<T: Copy + Default>(m: &[T], n_chains: usize, n_layers: usize) -> Vec<T> {
    let mut out = vec![T::default(); m.len()];
    let chunk = chain_chunk::<T>();
    for b in 0..n_chunks(n_chains, chunk) {
        let lanes = crate::parallel::chunk_range(b, n_chains, chunk);
        let n = lanes.len();
        for l in 0..n_layers {
            out[l * n_chains + lanes.start..l * n_chains + lanes.end]
                .copy_from_slice(&m[lanes.start * n_layers + l * n..][..n]);
        }
    }
    out
}

/// `[row][col]` (rows × cols) → `[col][row]`.
pub(super) fn transpose<T: Copy>(m: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut t = Vec::with_capacity(rows * cols);
    for c in 0..cols {
        t.extend((0..rows).map(|r| m[r * cols + c]));
    }
    t
}
