//! `execute_request`: a cell's magics and steps (run on the engine, cancelled by an interrupt) or its `%%draft`,
//! and the outputs published on iopub.

use std::collections::HashMap;
use std::sync::Arc;

use jupyter_protocol::{
    ClearOutput, DisplayData, ErrorOutput, ExecuteInput, ExecuteReply, ExecuteRequest,
    ExecuteResult, ExecutionCount, JupyterMessage, ReplyStatus, StreamContent, Transient,
};
use serde_json::Map;
use tokio_util::sync::CancellationToken;

use super::Kernel;
use super::replies::{isolate, media, payloads, reply_error};
use crate::session::{Begin, CellError, CellOutput, Output};

impl Kernel {
    pub(super) fn publish_outputs(&self, parent: &JupyterMessage, out: &CellOutput, count: usize) {
        let last_result = out
            .outputs
            .iter()
            .rposition(|o| matches!(o, Output::Result(_)));
        for (i, output) in out.outputs.iter().enumerate() {
            let msg = match output {
                Output::Stdout(text) => StreamContent::stdout(text).as_child_of(parent),
                Output::Stderr(text) => StreamContent::stderr(text).as_child_of(parent),
                Output::Result(bundle) if Some(i) == last_result => ExecuteResult {
                    execution_count: ExecutionCount::new(count),
                    data: media(bundle.clone()),
                    metadata: Map::new(),
                    transient: Some(Transient::default()),
                }
                .as_child_of(parent),
                Output::Result(bundle) | Output::Display(bundle) => DisplayData {
                    data: media(bundle.clone()),
                    metadata: Map::new(),
                    transient: Some(Transient::default()),
                }
                .as_child_of(parent),
                Output::Clear => ClearOutput { wait: false }.as_child_of(parent),
            };
            self.iopub.send(msg);
        }
        if let Some(e) = &out.error {
            self.iopub.send(
                ErrorOutput {
                    ename: e.ename.clone(),
                    evalue: e.evalue.clone(),
                    traceback: e.traceback.clone(),
                }
                .as_child_of(parent),
            );
        }
    }

    pub(super) async fn execute(
        &self,
        parent: &JupyterMessage,
        req: &ExecuteRequest,
    ) -> (JupyterMessage, bool) {
        let silent = req.silent;
        let store = req.store_history && !silent;
        let count = self.session().start_cell(store);
        if !silent {
            self.iopub.send(
                ExecuteInput {
                    code: req.code.clone(),
                    execution_count: ExecutionCount::new(count),
                }
                .as_child_of(parent),
            );
        }
        let begin = isolate("execute_request", || self.session().begin(&req.code, count));
        let out = match begin {
            Err(e) => CellOutput {
                error: Some(e),
                ..CellOutput::default()
            },
            Ok(Begin::Done(out)) => out,
            Ok(Begin::Draft(job)) => self.draft(parent, job, count, silent).await,
            Ok(Begin::Rust(job)) => self.rust_cell(parent, job, count, silent).await,
            Ok(Begin::Run(mut job)) => 'run: {
                let mut before = CellOutput {
                    outputs: job.before.clone(),
                    ..CellOutput::default()
                };
                let note = self
                    .services_note
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                if let Some(note) = note {
                    // On stdout: a notice, not a problem (JupyterLab draws stderr as a pink error box).
                    before.outputs.insert(0, Output::Stdout(note));
                }
                if !silent {
                    self.publish_outputs(parent, &before, count);
                    self.progress.set_parent(Some(Arc::new(parent.clone())));
                }
                if let Err(e) = self
                    .services
                    .check_steps(job.sources.iter().chain(&job.transforms))
                {
                    let out = CellOutput {
                        error: Some(CellError {
                            ename: "ConfigError".into(),
                            evalue: e.to_string(),
                            traceback: vec![format!("ConfigError: {e}")],
                        }),
                        ..CellOutput::default()
                    };
                    break 'run out;
                }
                let token = CancellationToken::new();
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
                let lost_before = self.services.events.lost();
                // The engine flushes its sinks when the run ends: the cell's events are delivered or kept before
                // its reply, so a loss shows on the cell that had it.
                let outcome = job.run(self.engine.as_ref(), token).await;
                let lost = self.services.events.lost().saturating_sub(lost_before);
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
                self.progress.set_parent(None);
                let mut out = match isolate("execute_request", || {
                    self.session().finish(job, &outcome, count)
                }) {
                    Ok(out) => out,
                    Err(e) => CellOutput {
                        error: Some(e),
                        ..CellOutput::default()
                    },
                };
                if lost > 0 {
                    out.outputs.push(Output::Stderr(format!(
                        "odp: {lost} lifecycle event{} of this cell could be neither delivered nor kept (the kernel's log says why)\n",
                        if lost == 1 { "" } else { "s" }
                    )));
                }
                out
            }
        };
        if !silent {
            self.publish_outputs(parent, &out, count);
        }
        let result_text = out.result_text();
        self.session()
            .end_cell(count, &req.code, result_text, store);
        let payload = payloads(&out);
        let failed = out.error.is_some();
        // A failure and an interrupt alike abort the executions queued behind this one (as ipykernel does): Stop
        // during "Run All" stops the notebook, not only the running cell.
        let aborts_queue = failed;
        let reply = ExecuteReply {
            status: if failed {
                ReplyStatus::Error
            } else {
                ReplyStatus::Ok
            },
            execution_count: ExecutionCount::new(count),
            payload,
            user_expressions: Some(HashMap::new()),
            error: out.error.as_ref().and_then(reply_error),
        }
        .as_child_of(parent);
        (reply, aborts_queue)
    }

    /// A `%%draft` cell: progress on stdout while the model works, the draft as the next cell. An interrupt drops
    /// the draft (cancelling its request).
    async fn draft(
        &self,
        parent: &JupyterMessage,
        job: crate::draft::DraftJob,
        count: usize,
        silent: bool,
    ) -> CellOutput {
        if !silent {
            self.publish_outputs(parent, &job.before, count);
        }
        // The magics' outputs before `%%draft` are shown already; their pages go with the reply.
        let pages = job.before.pages.clone();
        let registry = self.session().registry().clone();
        let drafter = match crate::draft::drafter(&self.draft_section, registry, &job) {
            Ok(d) => d,
            Err(e) => {
                return CellOutput {
                    pages,
                    error: Some(e),
                    ..CellOutput::default()
                };
            }
        };
        let token = CancellationToken::new();
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        let iopub = self.iopub.clone();
        let progress_parent = parent.clone();
        let progress = move |line: String| {
            if !silent {
                iopub.send(StreamContent::stdout(&line).as_child_of(&progress_parent));
            }
        };
        let out = crate::draft::run(&drafter, &job, &progress, token).await;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        CellOutput { pages, ..out }
    }
}
