//! `%stats`: the session's size and what the kernel process has allocated. The allocation counts make a cell's cost
//! visible through the protocol, as a count rather than a timing (tests hold a cell of 4n steps to about 4 times
//! the allocation of n steps, whatever the kernel's internals).

use std::sync::OnceLock;

use serde_json::json;

/// What the process has allocated so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocationCounts {
    /// Bytes allocated since the process started (never decreases).
    pub total_bytes: u64,
    /// Bytes allocated and not yet freed.
    pub live_bytes: u64,
}

static ALLOCATION_COUNTER: OnceLock<fn() -> AllocationCounts> = OnceLock::new();

/// Registers how to read the process's allocation counts: the binary owns the global allocator, so it is the one to
/// say (`odp` does with its `alloc-stats` feature). A kernel in a binary that registers nothing reports `null`.
pub fn set_allocation_counter(read: fn() -> AllocationCounts) {
    let _ = ALLOCATION_COUNTER.set(read);
}

/// The `%stats` report, as JSON text.
pub fn report(steps: usize, inputs: usize, result_bytes: usize) -> String {
    let allocation = ALLOCATION_COUNTER.get().map(|read| {
        let counts = read();
        json!({"total_bytes": counts.total_bytes, "live_bytes": counts.live_bytes})
    });
    let report = json!({
        "steps": steps,
        "inputs": inputs,
        "result_bytes": result_bytes,
        "allocated": allocation,
    });
    format!("{report:#}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_registered_counts() {
        let before: serde_json::Value = serde_json::from_str(&report(1, 2, 3)).unwrap();
        assert_eq!(before["steps"], 1);
        assert_eq!(before["inputs"], 2);
        assert_eq!(before["result_bytes"], 3);
        set_allocation_counter(|| AllocationCounts {
            total_bytes: 10,
            live_bytes: 4,
        });
        let after: serde_json::Value = serde_json::from_str(&report(0, 0, 0)).unwrap();
        assert_eq!(after["allocated"]["total_bytes"], 10);
        assert_eq!(after["allocated"]["live_bytes"], 4);
    }
}
