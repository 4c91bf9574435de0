//! Deterministic parallelism: fixed-size chunks, per-thread scratch, index-order reductions.
//!
//! The rule this module encodes: **the way work is cut never depends on the thread count.**
//! `n` items are cut into chunks `[0, c), [c, 2c), …` of a fixed size `c` chosen by the caller
//! (the last chunk may be shorter); each chunk is computed by whichever thread takes it, and any
//! per-chunk results are combined afterwards in chunk-index order. Rayon decides *who* computes a
//! chunk and *when*, never *what* is computed, so results have the same bits on 1, 2 or 7 threads.

use rayon::prelude::*;
use std::ops::Range;
use std::sync::Mutex;

/// The number of chunks of size `chunk` that cover `len` items (0 for `len == 0`).
///
/// # Panics
/// If `chunk == 0`.
pub fn n_chunks(len: usize, chunk: usize) -> usize {
    assert!(chunk > 0, "chunk size must be positive");
    len.div_ceil(chunk)
}

/// The item range of chunk `index`: `[index·chunk, min((index+1)·chunk, len))`.
pub(crate) fn chunk_range(index: usize, len: usize, chunk: usize) -> Range<usize> {
    let start = (index * chunk).min(len);
    start..(start + chunk).min(len)
}

/// Splits a row-major `n_rows × n_cols` matrix into column blocks of width `chunk`:
/// `result[c][r]` is row `r`'s columns `chunk_range(c, n_cols, chunk)`, mutably.
///
/// This is how a task that owns a block of columns (a block of chains, in a layer-major layout)
/// gets exclusive access to its part of every row without `unsafe`.
///
/// # Panics
/// If `matrix.len()` is not a multiple of `n_cols` (for `n_cols > 0`), or `chunk == 0`.
pub(crate) fn column_blocks_mut<T>(matrix: &mut [T], n_cols: usize, chunk: usize) -> Vec<Vec<&mut [T]>> {
    let blocks = n_chunks(n_cols, chunk);
    if n_cols == 0 {
        return Vec::new();
    }
    assert_eq!(matrix.len() % n_cols, 0, "matrix is not a whole number of rows");
    let n_rows = matrix.len() / n_cols;
    let mut out: Vec<Vec<&mut [T]>> = (0..blocks).map(|_| Vec::with_capacity(n_rows)).collect();
    for row in matrix.chunks_mut(n_cols) {
        for (block, piece) in out.iter_mut().zip(row.chunks_mut(chunk)) {
            block.push(piece);
        }
    }
    out
}

/// Runs `job(chunk_index, item_range, part)` for every chunk of `len` items in parallel, where
/// `part` is the caller's per-chunk state (e.g. the chunk's output slices), and returns each
/// job's result in chunk-index order.
pub(crate) fn map_chunks<P, R, F>(len: usize, chunk: usize, parts: Vec<P>, job: F) -> Vec<R>
where
    P: Send,
    R: Send,
    F: Fn(usize, Range<usize>, P) -> R + Sync,
{
    debug_assert_eq!(parts.len(), n_chunks(len, chunk));
    parts
        .into_par_iter()
        .enumerate()
        .with_max_len(1)
        .map(|(index, part)| job(index, chunk_range(index, len, chunk), part))
        .collect()
}

/// Σ values, added left to right (a fixed order, whatever produced the values).
pub(crate) fn sum_in_order<T: crate::Real>(values: &[T]) -> T {
    values.iter().fold(T::ZERO, |acc, &v| acc + v)
}

/// Scratch state that each worker thread reuses from call to call, so a kernel allocates nothing
/// once warm. A slot is picked by rayon's thread index; the lock is uncontended in normal use
/// (one thread per slot) and only keeps this safe if a caller shares it across pools.
///
/// What a slot holds never influences results: kernels overwrite every scratch element they read.
#[derive(Debug, Default)]
pub(crate) struct PerThread<S> {
    slots: Vec<Mutex<S>>,
}

impl<S: Default + Send> PerThread<S> {
    /// An empty pool of slots (they are created on first use).
    pub(crate) fn new() -> Self {
        PerThread { slots: Vec::new() }
    }

    /// Makes sure there is a slot for every thread of the current rayon pool.
    pub(crate) fn ensure_slots(&mut self) {
        let n = rayon::current_num_threads().max(1);
        while self.slots.len() < n {
            self.slots.push(Mutex::new(S::default()));
        }
    }

    /// Runs `f` with the calling thread's slot.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        debug_assert!(!self.slots.is_empty(), "call ensure_slots first");
        let index = rayon::current_thread_index().unwrap_or(0) % self.slots.len();
        // A poisoned slot only means another job panicked while holding it; its contents are
        // scratch that the next kernel overwrites, so it is safe to keep using it.
        let mut guard = match self.slots[index].lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}
