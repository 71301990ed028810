//! Warm-up of the workers' heaps (BENCHMARKS.md, "First diagnostics after `didOpen`").
//!
//! A document's analyses run on worker threads, and glibc gives each thread a malloc arena of its own that starts
//! empty: the first analysis of a big file then page-faults on every page it allocates, and costs about half as
//! much again as the same analysis on a warm heap. Each worker therefore grows its heap once at start-up and frees
//! it again, and the freed memory stays with the arena for the analyses that follow.

/// How much each worker allocates and frees at start-up: about what a first analysis of the 20,000-line
/// benchmark file allocates.
const WARM_BYTES: usize = 8 << 20;

/// glibc returns freed memory at the top of a heap to the system once it exceeds the trim threshold (128 KiB at
/// first). Freeing a block that was allocated with `mmap` raises the threshold to twice that block's size
/// (glibc's dynamic threshold), so that a warmed heap stays warm. Call before the workers start.
pub(crate) fn raise_trim_threshold() {
    let block = vec![1u8; WARM_BYTES];
    std::hint::black_box(&block);
}

/// Grows this thread's heap by [`WARM_BYTES`] in small blocks, touching each, and frees them.
pub(crate) fn warm_this_threads_heap() {
    let started = std::time::Instant::now();
    let blocks: Vec<Vec<u8>> = (0..WARM_BYTES / 4096).map(|_| vec![1u8; 4000]).collect();
    std::hint::black_box(&blocks);
    drop(blocks);
    tracing::debug!(
        micros = started.elapsed().as_micros() as u64,
        "worker heap warmed (warm-up)"
    );
}
