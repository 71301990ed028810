//! The evaluation set: natural-language requests with the methods a good draft must use.
//!
//! Offline, [`retrieval_recall`] measures retrieval alone: are the right methods among those offered to the
//! model (recall@k)? With a model configured, [`run_eval`] drafts every request and reports valid drafts, right
//! methods and rounds used (`odp draft --eval FILE`).

use std::fmt::Write as _;

use odp_analysis::Registry;
use serde_json::Value;

use crate::{Drafter, Progress, retrieve};

/// One request and the methods a good draft uses.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalCase {
    pub request: String,
    pub methods: Vec<String>,
}

/// Reads an evaluation file: `cases:` (or the top level) is a list of `{request, methods}`.
pub fn parse_eval(text: &str) -> Result<Vec<EvalCase>, String> {
    let parse = odp_syntax::parse(text);
    if let Some(e) = parse.errors.first() {
        return Err(format!("at byte {}: {}", e.range.start(), e.message));
    }
    let root = parse
        .root
        .map(|r| odp_analysis::registry::to_serde(&r.to_json()))
        .ok_or("the file is empty")?;
    let list = match &root {
        Value::Array(items) => items.clone(),
        Value::Object(map) => map
            .get("cases")
            .and_then(Value::as_array)
            .cloned()
            .ok_or("expected a `cases:` list")?,
        _ => return Err("expected a `cases:` list".into()),
    };
    let mut cases = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let request = item
            .get("request")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("case {}: `request` is missing", i + 1))?;
        let methods: Vec<String> = item
            .get("methods")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("case {}: `methods` is missing", i + 1))?
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        if methods.is_empty() {
            return Err(format!("case {}: `methods` is empty", i + 1));
        }
        cases.push(EvalCase {
            request: request.to_string(),
            methods,
        });
    }
    Ok(cases)
}

/// Retrieval recall over a set.
#[derive(Clone, Debug)]
pub struct Recall {
    pub k: usize,
    /// Mean over cases of (expected methods offered / expected methods).
    pub recall: f64,
    /// Cases whose expected methods were all offered.
    pub complete: usize,
    pub cases: usize,
    /// Per incomplete case: the request and the methods missed.
    pub misses: Vec<(String, Vec<String>)>,
}

/// Recall@k of [`retrieve`] on the cases.
pub fn retrieval_recall(registry: &Registry, cases: &[EvalCase], k: usize) -> Recall {
    let mut sum = 0.0;
    let mut complete = 0;
    let mut misses = Vec::new();
    for case in cases {
        let offered: Vec<&str> = retrieve(registry, &case.request, k)
            .into_iter()
            .map(|m| m.id())
            .collect();
        let missed: Vec<String> = case
            .methods
            .iter()
            .filter(|m| !offered.contains(&m.as_str()))
            .cloned()
            .collect();
        sum += (case.methods.len() - missed.len()) as f64 / case.methods.len() as f64;
        if missed.is_empty() {
            complete += 1;
        } else {
            misses.push((case.request.clone(), missed));
        }
    }
    Recall {
        k,
        recall: if cases.is_empty() {
            0.0
        } else {
            sum / cases.len() as f64
        },
        complete,
        cases: cases.len(),
        misses,
    }
}

/// The outcome of drafting one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub request: String,
    /// The draft has no errors.
    pub valid: bool,
    /// The draft uses every expected method.
    pub right_methods: bool,
    pub missing_methods: Vec<String>,
    pub rounds: usize,
    pub errors: usize,
    /// Set when no draft came back.
    pub failure: Option<String>,
}

/// Drafting the whole set.
#[derive(Clone, Debug, Default)]
pub struct EvalReport {
    pub results: Vec<CaseResult>,
}

impl EvalReport {
    pub fn valid(&self) -> usize {
        self.results.iter().filter(|r| r.valid).count()
    }

    pub fn right_methods(&self) -> usize {
        self.results.iter().filter(|r| r.right_methods).count()
    }

    pub fn mean_rounds(&self) -> f64 {
        let drafted: Vec<&CaseResult> = self
            .results
            .iter()
            .filter(|r| r.failure.is_none())
            .collect();
        if drafted.is_empty() {
            return 0.0;
        }
        drafted.iter().map(|r| r.rounds as f64).sum::<f64>() / drafted.len() as f64
    }

    /// A table and a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, r) in self.results.iter().enumerate() {
            let status = match (&r.failure, r.valid, r.right_methods) {
                (Some(_), _, _) => "FAILED",
                (None, true, true) => "ok",
                (None, true, false) => "valid, wrong methods",
                (None, false, _) => "errors",
            };
            let _ = write!(
                out,
                "{:>3}. [{status}] rounds {} — {}",
                i + 1,
                r.rounds,
                r.request
            );
            if !r.missing_methods.is_empty() {
                let _ = write!(out, " (missing {})", r.missing_methods.join(", "));
            }
            if let Some(f) = &r.failure {
                let _ = write!(out, " ({f})");
            } else if r.errors > 0 {
                let _ = write!(
                    out,
                    " ({} error{} left)",
                    r.errors,
                    if r.errors == 1 { "" } else { "s" }
                );
            }
            out.push('\n');
        }
        let n = self.results.len();
        let _ = writeln!(
            out,
            "valid drafts: {}/{n}; right methods: {}/{n}; mean rounds: {:.2}",
            self.valid(),
            self.right_methods(),
            self.mean_rounds()
        );
        out
    }
}

/// Drafts every case with a real model. `progress` hears `(case index, what happened)`.
pub async fn run_eval(
    drafter: &Drafter,
    cases: &[EvalCase],
    progress: &(dyn Fn(usize, Progress) + Send + Sync),
) -> EvalReport {
    let mut report = EvalReport::default();
    for (i, case) in cases.iter().enumerate() {
        let result = drafter.draft(&case.request, &|p| progress(i, p)).await;
        report.results.push(match result {
            Ok(outcome) => {
                let missing: Vec<String> = case
                    .methods
                    .iter()
                    .filter(|m| !outcome.methods_used.contains(m))
                    .cloned()
                    .collect();
                CaseResult {
                    request: case.request.clone(),
                    valid: outcome.is_valid(),
                    right_methods: missing.is_empty(),
                    missing_methods: missing,
                    rounds: outcome.rounds,
                    errors: outcome.errors(),
                    failure: None,
                }
            }
            Err(e) => CaseResult {
                request: case.request.clone(),
                valid: false,
                right_methods: false,
                missing_methods: case.methods.clone(),
                rounds: 0,
                errors: 0,
                failure: Some(e.to_string()),
            },
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts() {
        let cases = parse_eval("cases:\n  - request: a b\n    methods: [x.y.z]\n").unwrap();
        assert_eq!(cases[0].methods, vec!["x.y.z"]);
        let cases = parse_eval("- request: a b\n  methods: [x.y.z, u.v.w]\n").unwrap();
        assert_eq!(cases[0].methods.len(), 2);
        assert!(
            parse_eval("- request: a\n")
                .unwrap_err()
                .contains("methods")
        );
    }
}
