//! `%%draft REQUEST`: a language model drafts steps for the request (`odp-draft`: retrieve, generate, check,
//! repair), checked as a cell with the session's steps and inputs in scope. The draft goes into the next cell (a
//! `set_next_input` payload); nothing runs. Progress lines go to stdout, findings left in the draft to stderr; a
//! configuration or server error is the cell's error (`DraftError`, never holding the API key: the providers redact
//! it from everything made of a response). An interrupt drops the draft's future, which cancels it; the session is
//! not touched either way.

use std::sync::Arc;

use odp_analysis::Registry;
use odp_draft::{DraftError, DraftOutcome, DraftSettings, Drafter, Progress};
use tokio_util::sync::CancellationToken;

use crate::session::{CellError, CellOutput, Output};

/// The job is built by the session (it recognises `%%draft` among the magics); named here too, where it is run.
pub use crate::session::DraftJob;

/// The drafter for a cell: the model from the environment and `odp.toml`'s `[draft]` section, the kernel's
/// registry, the cell's scope. Reads only the environment (no IO).
pub fn drafter(
    section: &odp_workspace::DraftSection,
    registry: Arc<Registry>,
    job: &DraftJob,
) -> Result<Drafter, CellError> {
    let settings = DraftSettings::from_environment(section).map_err(|e| draft_error(&e))?;
    let drafter = Drafter::from_settings(settings, registry).map_err(|e| draft_error(&e))?;
    Ok(configure(drafter, job))
}

/// Sets the drafter up for a notebook cell: a fragment with the session's steps and inputs in scope.
pub fn configure(mut drafter: Drafter, job: &DraftJob) -> Drafter {
    drafter.scope.fragment = true;
    drafter.scope.external_steps = job.external_steps.clone();
    drafter.scope.external_inputs = job.external_inputs.clone();
    drafter
}

fn draft_error(e: &dyn std::fmt::Display) -> CellError {
    CellError::new("DraftError", e.to_string())
}

/// One progress line, or `None` for the frequent ones (characters received).
pub fn progress_line(p: &Progress) -> Option<String> {
    match p {
        Progress::Receiving { .. } => None,
        other => Some(format!("… {other}\n")),
    }
}

/// Runs the draft until it is done or `cancel` fires (the future is dropped then: the request is cancelled).
pub async fn run(
    drafter: &Drafter,
    job: &DraftJob,
    progress: &(dyn Fn(String) + Send + Sync),
    cancel: CancellationToken,
) -> CellOutput {
    progress(format!("… drafting with {}\n", drafter.describe()));
    let on_progress = |p: Progress| {
        if let Some(line) = progress_line(&p) {
            progress(line);
        }
    };
    let result = tokio::select! {
        r = drafter.draft(&job.request, &on_progress) => Some(r),
        _ = cancel.cancelled() => None,
    };
    outcome_output(result)
}

/// "1 error and 2 warnings".
fn findings_left(errors: usize, warnings: usize) -> String {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "{errors} error{} and {warnings} warning{}",
        s(errors),
        s(warnings)
    )
}

/// What a draft shows: `None` is an interrupt.
pub fn outcome_output(result: Option<Result<DraftOutcome, DraftError>>) -> CellOutput {
    let mut out = CellOutput::default();
    let outcome = match result {
        None => {
            out.error = Some(CellError::new(
                "Interrupted",
                "the draft was interrupted; the session keeps its steps, results and inputs",
            ));
            return out;
        }
        Some(Err(e)) => {
            out.error = Some(draft_error(&e));
            return out;
        }
        Some(Ok(o)) => o,
    };
    let rounds = format!(
        "{} round{}",
        outcome.rounds,
        if outcome.rounds == 1 { "" } else { "s" }
    );
    if outcome.diagnostics.is_empty() {
        out.outputs.push(Output::Stdout(format!(
            "✓ drafted in {rounds}: the draft is in the next cell (not run)\n"
        )));
    } else {
        out.outputs.push(Output::Stdout(format!(
            "drafted in {rounds} with {} left: the draft is in the next cell (not run)\n",
            findings_left(outcome.errors(), outcome.warnings())
        )));
        out.outputs.push(Output::Stderr(format!(
            "the draft still has findings:\n{}\n",
            outcome.findings().trim_end()
        )));
    }
    if let Some(why) = &outcome.interrupted {
        out.outputs.push(Output::Stderr(format!(
            "the repair rounds stopped early: {why}\n"
        )));
    }
    out.next_input = Some(outcome.yaml);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_is_an_error_and_keeps_no_draft() {
        let out = outcome_output(None);
        assert_eq!(out.error.unwrap().ename, "Interrupted");
        assert_eq!(out.next_input, None);
    }
}
