//! A cell's two halves. [`Session::begin`] runs the magics, checks the YAML with the same checker as the editor
//! (earlier cells' steps and the session's inputs in scope) and plans the steps into a job: a [`RunJob`] the server
//! runs on the executor's engine ([`RunJob::run`]), or a [`DraftJob`] it hands to a model ([`crate::draft`]).
//! [`Session::finish`] keeps what completed and builds the outputs.

use std::collections::HashMap;
use std::sync::Arc;

use odp_analysis::{
    Analysis, Code, Diagnostic, ExternalInput, ExternalStep, Section, Severity, Target,
    escape_control,
};
use odp_exec::{Engine, Plan, PlannedStep, RunOutcome, RunRequest, StepReport, StepStatus};
use serde_json::{Map, Value};

use super::magics::request_of;
use super::outputs::{CellError, CellOutput, Output, render};
use super::rust::{RustJob, is_rust_magic};
use super::{PIPELINE, Session, SessionStep, Tried, Use, type_name_of};
use crate::cell::{self, Shape, Wrapped};
use crate::mime;

/// A checked step of a cell, waiting for its run.
#[derive(Clone, Debug)]
pub(super) struct StepDef {
    pub(super) name: String,
    pub(super) method: String,
    pub(super) section: Section,
    text: String,
    name_line: usize,
    deps: Vec<String>,
    inputs_used: Vec<String>,
    pub(super) uses: Vec<Use>,
}

/// The steps of a cell, checked and planned: the server runs them and hands the runs to [`Session::finish`].
#[derive(Clone, Debug)]
pub struct RunJob {
    /// Shown before the steps run: the magics' outputs and the cell's warnings.
    pub before: Vec<Output>,
    pub sources: Vec<PlannedStep>,
    pub transforms: Vec<PlannedStep>,
    /// The inputs as one object (`{{inputs.…}}`).
    pub inputs: Value,
    /// Earlier cells' results by step name.
    pub results: Map<String, Value>,
    defs: Vec<StepDef>,
}

impl RunJob {
    /// Runs the cell's steps on the engine (the one scheduler of every front end), the session's earlier results
    /// known to them. One run, with its `run.*` events, per cell.
    pub async fn run(
        &mut self,
        engine: &dyn Engine,
        cancel: tokio_util::sync::CancellationToken,
    ) -> RunOutcome {
        let plan = Plan {
            pipeline: PIPELINE.to_string(),
            sources: std::mem::take(&mut self.sources),
            transforms: std::mem::take(&mut self.transforms),
            inputs: match &self.inputs {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            },
        };
        let known = Arc::new(std::mem::take(&mut self.results));
        let request = RunRequest::new(&plan, uuid::Uuid::now_v7()).known(known);
        let outcome = engine.execute(request, cancel).await;
        self.sources = plan.sources;
        self.transforms = plan.transforms;
        outcome
    }
}

/// A `%%draft` cell, ready for the model: the session builds it as it builds a [`RunJob`], and [`crate::draft`] runs
/// it, so that the session does not depend on the model's client.
#[derive(Clone, Debug)]
pub struct DraftJob {
    /// What the magics before `%%draft` showed.
    pub before: CellOutput,
    /// The text after `%%draft` on its line and the lines that follow.
    pub request: String,
    /// The session's steps and inputs, as the cell checker sees them.
    pub external_steps: Vec<ExternalStep>,
    pub external_inputs: Vec<ExternalInput>,
}

/// What [`Session::begin`] makes of a cell: done already, or a job for the server.
pub enum Begin {
    /// Nothing to run: the cell is done.
    Done(CellOutput),
    Run(RunJob),
    /// A `%%draft` cell: the server asks the model (see [`crate::draft`]).
    Draft(DraftJob),
    /// A `%%rust` cell: the server evaluates it (see [`crate::rust_cells`]) and hands what it published to
    /// [`Session::finish_rust`].
    Rust(RustJob),
}

/// The diagnostics of a cell's analysis, mapped back to the cell. Unused sources and inputs are not reported: a
/// later cell may use them.
fn cell_diagnostics(analysis: &Analysis, wrapped: &Wrapped) -> Vec<Diagnostic> {
    analysis
        .diagnostics
        .iter()
        .filter(|d| !matches!(d.code, Code::UnusedSource | Code::UnusedInput))
        .map(|d| {
            let mut d = d.clone();
            d.message = wrapped.message_to_cell(&d.message, d.range.start());
            d.range = wrapped.range_to_cell(d.range);
            for r in &mut d.related {
                r.range = wrapped.range_to_cell(r.range);
            }
            if let Some(fix) = &mut d.fix {
                for e in &mut fix.edits {
                    e.range = wrapped.range_to_cell(e.range);
                }
            }
            d
        })
        .collect()
}

impl Session {
    /// Runs a cell's magics and checks and plans its YAML.
    pub fn begin(&mut self, code: &str, count: usize) -> Begin {
        let (magics, yaml) = cell::split_magics(code);
        let mut out = CellOutput::default();
        for (start, line) in &magics {
            if is_rust_magic(line) {
                return self.rust_job(code, *start, line, out);
            }
            if let Some(request) = request_of(line) {
                if request.trim().is_empty() {
                    return Begin::Done(out.failed(CellError::new(
                        "UsageError",
                        "%%draft needs a request: `%%draft tweets about rust and their sentiment` (more lines may follow)",
                    )));
                }
                return Begin::Draft(DraftJob {
                    before: out,
                    request,
                    external_steps: self.external_steps(false),
                    external_inputs: self.external_inputs(),
                });
            }
            if let Err(e) = self.magic(line, &mut out) {
                return Begin::Done(out.failed(e));
            }
        }
        if yaml.trim().is_empty() {
            return Begin::Done(out);
        }
        let wrapped = cell::wrap(&yaml, &self.registry);
        match wrapped.shape {
            Shape::Empty => return Begin::Done(out),
            Shape::Scalar => {
                return Begin::Done(out.failed(CellError::new(
                    "CellError",
                    "a cell holds a step (`name`, `method`, `params`), a list of steps, a pipeline, or %magics (`%help` lists them)",
                )));
            }
            _ => {}
        }
        let analysis = self.analyze(&wrapped.text, false);
        let diagnostics = cell_diagnostics(&analysis, &wrapped);
        let label = format!("cell[{count}]");
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if errors > 0 {
            let text = render(&label, &yaml, &diagnostics, self.color);
            let first = diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map(|d| format!("{}: {}", d.code.id(), escape_control(&d.message)))
                .unwrap_or_default();
            return Begin::Done(out.failed(CellError {
                ename: "CheckError".into(),
                evalue: format!(
                    "the cell has {errors} error{}; nothing ran ({first})",
                    if errors == 1 { "" } else { "s" }
                ),
                traceback: text.lines().map(str::to_string).collect(),
            }));
        }
        if !diagnostics.is_empty() {
            out.outputs.push(Output::Stderr(render(
                &label,
                &yaml,
                &diagnostics,
                self.color,
            )));
        }
        // Inputs: the session's values for the inputs the cell declares, the declared defaults for the others.
        let mut given = Map::new();
        for decl in &analysis.pipeline.inputs {
            if let Some(i) = self.input(&decl.name.value) {
                given.insert(i.name.clone(), i.value.clone());
            }
        }
        let plan = match odp_exec::plan(&analysis, &self.registry, &given) {
            Ok(plan) => plan,
            Err(e) => {
                let message = match e {
                    odp_exec::PlanError::MissingInput(name) => format!(
                        "input `{name}` is required and has no default: set it with `%inputs {name}=VALUE`"
                    ),
                    other => other.to_string(),
                };
                return Begin::Done(out.failed(CellError::new("CheckError", message)));
            }
        };
        for decl in &analysis.pipeline.inputs {
            let name = &decl.name.value;
            if self.input(name).is_none() {
                let value = plan.inputs.get(name).cloned().unwrap_or(Value::Null);
                let type_name = decl
                    .type_name
                    .clone()
                    .unwrap_or_else(|| type_name_of(&value).to_string());
                self.set_input(name, value, type_name);
            }
        }
        let steps = &analysis.pipeline.steps;
        // Each step's references, grouped once: a cell may hold thousands of steps.
        let mut references_of: Vec<Vec<&odp_analysis::Reference>> = vec![Vec::new(); steps.len()];
        for r in &analysis.references {
            if let Some(list) = r.from_step.and_then(|i| references_of.get_mut(i)) {
                list.push(r);
            }
        }
        let mut defs: Vec<StepDef> = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            let (Some(name), Some(method)) = (&step.name, &step.method) else {
                continue;
            };
            let mut deps = Vec::new();
            let mut inputs_used = Vec::new();
            let mut uses: Vec<Use> = Vec::new();
            for r in &references_of[index] {
                let used = match &r.target {
                    Target::Input(n) => Some((n.to_string(), true, 2)),
                    Target::Step(j) => steps[*j].name.as_ref().map(|n| (n.value.clone(), false, 1)),
                    Target::External(n) => Some((n.to_string(), false, 1)),
                    Target::Unresolved => None,
                };
                if let Some((name, input, skip)) = used {
                    let path = odp_graph::field_path(&r.path, skip);
                    if !uses
                        .iter()
                        .any(|u| u.name == name && u.input == input && u.path == path)
                    {
                        uses.push(Use { name, input, path });
                    }
                }
                let (list, name) = match &r.target {
                    Target::Input(n) => (&mut inputs_used, n.to_string()),
                    Target::Step(j) => match steps[*j].name.as_ref() {
                        Some(n) => (&mut deps, n.value.clone()),
                        None => continue,
                    },
                    Target::External(n) => (&mut deps, n.to_string()),
                    Target::Unresolved => continue,
                };
                if !list.contains(&name) {
                    list.push(name);
                }
            }
            let name_line = wrapped.text
                [step.range.start()..name.range.start().max(step.range.start())]
                .matches('\n')
                .count();
            defs.push(StepDef {
                name: name.value.clone(),
                method: method.value.clone(),
                section: step.section,
                text: wrapped.item_text(step.range),
                name_line,
                deps,
                inputs_used,
                uses,
            });
        }
        if defs.is_empty() {
            return Begin::Done(out);
        }
        if let Some(e) = self.steps_named_like_published(defs.iter().map(|d| d.name.as_str())) {
            return Begin::Done(out.failed(e));
        }
        let mut inputs = Map::new();
        for i in &self.inputs {
            inputs.insert(i.name.clone(), i.value.clone());
        }
        let results = self
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.result.clone()))
            .chain(
                self.published
                    .iter()
                    .map(|p| (p.name.clone(), p.value.clone())),
            )
            .collect();
        Begin::Run(RunJob {
            before: std::mem::take(&mut out.outputs),
            sources: plan.sources,
            transforms: plan.transforms,
            inputs: Value::Object(inputs),
            results,
            defs,
        })
    }

    /// Keeps the steps that completed (a failed or interrupted step leaves the session as it was) and shows the
    /// last result.
    pub fn finish(&mut self, job: RunJob, outcome: &RunOutcome, count: usize) -> CellOutput {
        let runs = &outcome.steps;
        let mut out = CellOutput::default();
        let mut kept: Vec<String> = Vec::new();
        let mut last: Option<(String, String, Value)> = None;
        // By name, once: a cell may hold thousands of steps and the session many more.
        let defs: HashMap<&str, &StepDef> = job.defs.iter().map(|d| (d.name.as_str(), d)).collect();
        let mut session_index: HashMap<String, usize> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        for run in runs {
            if let Some(def) = defs.get(run.name.as_str()) {
                let status = match run.status {
                    StepStatus::Completed => odp_graph::RunStatus::Ok,
                    StepStatus::Failed => odp_graph::RunStatus::Failed,
                    StepStatus::Cancelled | StepStatus::Skipped => odp_graph::RunStatus::NotRun,
                };
                self.record_try(Tried {
                    def: (*def).clone(),
                    status,
                });
            }
            let Some(result) = outcome
                .results
                .get(&run.name)
                .filter(|_| run.status == StepStatus::Completed)
            else {
                continue;
            };
            let Some(def) = defs.get(run.name.as_str()) else {
                continue;
            };
            let step = SessionStep {
                name: def.name.clone(),
                method: def.method.clone(),
                section: def.section,
                text: def.text.clone(),
                name_line: def.name_line,
                deps: def.deps.clone(),
                inputs_used: def.inputs_used.clone(),
                uses: def.uses.clone(),
                cell: count,
                result: result.clone(),
                attempts: run.attempts,
                duration_ms: run.duration_ms,
                revision: self.next_revision(),
            };
            match session_index.get(&step.name) {
                Some(&i) => self.steps[i] = step,
                None => {
                    session_index.insert(step.name.clone(), self.steps.len());
                    self.steps.push(step);
                }
            }
            kept.push(run.name.clone());
            last = Some((def.name.clone(), def.method.clone(), result.clone()));
        }
        let interrupted = runs
            .iter()
            .any(|r| matches!(r.status, StepStatus::Cancelled));
        let failed: Vec<&StepReport> = runs
            .iter()
            .filter(|r| matches!(r.status, StepStatus::Failed))
            .collect();
        let skipped: Vec<&str> = runs
            .iter()
            .filter(|r| matches!(r.status, StepStatus::Skipped | StepStatus::Cancelled))
            .map(|r| r.name.as_str())
            .collect();
        let mut details = Vec::new();
        if !kept.is_empty() {
            details.push(format!("completed and kept: {}", kept.join(", ")));
        }
        if !skipped.is_empty() {
            details.push(format!("not run: {}", skipped.join(", ")));
        }
        if let Some(first) = failed.first() {
            let message = escape_control(first.error.as_deref().unwrap_or_default());
            let mut traceback = vec![format!(
                "StepFailed: step `{}` ({}) failed: {message}",
                first.name, first.method
            )];
            for other in &failed[1..] {
                traceback.push(format!(
                    "step `{}` ({}) failed: {}",
                    other.name,
                    other.method,
                    escape_control(other.error.as_deref().unwrap_or_default())
                ));
            }
            traceback.extend(details);
            traceback.push(
                "a failed step keeps its earlier definition and result, if it had one".into(),
            );
            return out.failed(CellError {
                ename: "StepFailed".into(),
                evalue: format!("step `{}` failed: {message}", first.name),
                traceback,
            });
        }
        if interrupted {
            let mut traceback =
                vec!["Interrupted: the cell was interrupted; the session keeps its steps, results and inputs".to_string()];
            traceback.extend(details);
            return out.failed(CellError {
                ename: "Interrupted".into(),
                evalue: "the cell was interrupted; the session keeps its steps, results and inputs"
                    .into(),
                traceback,
            });
        }
        if let Some((name, method, value)) = last {
            let plain = mime::summary(&name, &method, &value);
            out.outputs.push(Output::Result(mime::result_bundle(
                &name, &method, &value, plain,
            )));
        }
        out
    }
}
