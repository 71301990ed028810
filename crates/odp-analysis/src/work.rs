//! A count of the work an analysis does on the current thread: bytes of scalar text scanned and compared, template
//! accessors walked. Tests hold its growth to near-linear (a count is the same on every machine, unlike a timing):
//! a pipeline 4 times larger must not cost more than 4.5 times the work.

use std::cell::Cell;

thread_local! {
    static UNITS: Cell<u64> = const { Cell::new(0) };
}

/// Counts `units` of work.
pub(crate) fn add(units: usize) {
    UNITS.with(|u| u.set(u.get().saturating_add(units as u64)));
}

/// The work counted on this thread since the last call, and a fresh start.
pub fn take() -> u64 {
    UNITS.with(|u| u.replace(0))
}
