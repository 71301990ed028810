//! The evaluation set, offline: retrieval recall@k on tests/drafts/eval.yaml (the methods a good draft needs must
//! be among those offered to the model). Prints the figures; fails below the floor.

use std::path::Path;

use odp_analysis::Registry;
use odp_draft::eval::{parse_eval, retrieval_recall};

/// recall@6 must not fall below this.
const FLOOR_AT_6: f64 = 0.9;

#[test]
fn retrieval_recall_on_the_evaluation_set() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/drafts/eval.yaml");
    let cases =
        parse_eval(&std::fs::read_to_string(&path).expect("the evaluation set")).expect("parses");
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    let registry = Registry::bundled();
    for case in &cases {
        for m in &case.methods {
            assert!(
                registry.get(m).is_some(),
                "{m} is not a bundled method ({})",
                case.request
            );
        }
    }
    for k in [3, 4, 5, 6, 8] {
        let r = retrieval_recall(&registry, &cases, k);
        println!(
            "recall@{k}: {:.3} ({}/{} requests complete)",
            r.recall, r.complete, r.cases
        );
        for (request, missed) in &r.misses {
            println!("    missed {missed:?}: {request}");
        }
    }
    let at6 = retrieval_recall(&registry, &cases, 6);
    assert!(
        at6.recall >= FLOOR_AT_6,
        "recall@6 is {:.3}, below {FLOOR_AT_6}: {:#?}",
        at6.recall,
        at6.misses
    );
    // The default offer (8 methods) misses nothing.
    let at8 = retrieval_recall(&registry, &cases, odp_draft::config::DEFAULT_METHODS);
    assert!(
        at8.recall >= 0.97,
        "recall@8 is {:.3}: {:#?}",
        at8.recall,
        at8.misses
    );
}
