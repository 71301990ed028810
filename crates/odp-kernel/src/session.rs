//! A notebook session: the steps run so far with their results, the inputs, the history, and everything a cell
//! does apart from talking to services. Nothing here knows about ZeroMQ; the server calls it and publishes what
//! it returns.
//!
//! A cell runs in two halves. [`Session::begin`] runs the magics, checks the YAML with the same checker as the
//! editor (earlier cells' steps and the session's inputs in scope) and plans the steps; the server runs them with
//! the executor ([`crate::runner`]); [`Session::finish`] keeps what completed and builds the outputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use odp_analysis::{
    Analysis, Code, Diagnostic, Environment, ExternalInput, ExternalStep, Registry, Section,
    Severity, Target, Ty, escape_control, escape_control_in_lines,
};
use odp_exec::PlannedStep;
use serde_json::{Map, Value, json};

use crate::cell::{self, Shape, Wrapped};
use crate::mime::{self, Bundle};
use odp_exec::{Engine, Plan, RunOutcome, RunRequest, StepReport, StepStatus};

/// The pipeline name in events and plans of notebook cells.
pub const PIPELINE: &str = "notebook";

/// The history's session number (one session per kernel process).
pub const HISTORY_SESSION: usize = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct SessionInput {
    pub name: String,
    pub value: Value,
    /// `string`, `integer`, `number`, `boolean`, `array` or `object`.
    pub type_name: String,
}

/// A step that ran in this session, with its result.
#[derive(Clone, Debug)]
pub struct SessionStep {
    pub name: String,
    pub method: String,
    pub section: Section,
    /// The step's YAML as a mapping of its own (what `%export` writes).
    pub text: String,
    /// The line of `text` that holds the step's `name`.
    pub name_line: usize,
    /// The steps its templates use.
    pub deps: Vec<String>,
    /// The inputs its templates use.
    pub inputs_used: Vec<String>,
    /// The execution count of the cell that ran it.
    pub cell: usize,
    pub result: Value,
    pub attempts: u32,
    pub duration_ms: u64,
}

#[derive(Clone, Debug)]
pub struct HistoryItem {
    pub line: usize,
    pub input: String,
    pub output: String,
}

/// One thing a cell shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Stdout(String),
    Stderr(String),
    Display(Bundle),
    /// The cell's value (`execute_result`); when a cell has several, the last one is the result and the others
    /// are shown as display data.
    Result(Bundle),
    /// `clear_output`.
    Clear,
}

/// Why a cell failed: what the error reply and the `error` output carry.
#[derive(Clone, Debug, PartialEq)]
pub struct CellError {
    pub ename: String,
    pub evalue: String,
    pub traceback: Vec<String>,
}

impl CellError {
    /// An error whose value may quote the cell, a file or a service: its control characters are escaped (Jupyter
    /// interprets escape sequences in tracebacks).
    pub fn new(ename: &str, evalue: impl Into<String>) -> CellError {
        let evalue = escape_control_in_lines(&evalue.into()).into_owned();
        CellError {
            ename: ename.to_string(),
            traceback: vec![format!("{ename}: {evalue}")],
            evalue,
        }
    }
}

/// Everything a cell shows, in order, and how it ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CellOutput {
    pub outputs: Vec<Output>,
    pub error: Option<CellError>,
    /// Pager payloads (`%explain`): MIME bundles.
    pub pages: Vec<Bundle>,
    /// Text for the next cell (`%%draft`): a `set_next_input` payload, not run.
    pub next_input: Option<String>,
}

impl CellOutput {
    fn failed(mut self, error: CellError) -> CellOutput {
        self.error = Some(error);
        self
    }

    /// The text of the cell's result, for the history's output.
    pub fn result_text(&self) -> String {
        self.outputs
            .iter()
            .rev()
            .find_map(|o| match o {
                Output::Result(b) => b.get("text/plain").and_then(Value::as_str),
                _ => None,
            })
            .unwrap_or_default()
            .to_string()
    }
}

/// A checked step of a cell, waiting for its run.
#[derive(Clone, Debug)]
struct StepDef {
    name: String,
    method: String,
    section: Section,
    text: String,
    name_line: usize,
    deps: Vec<String>,
    inputs_used: Vec<String>,
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

pub enum Begin {
    /// Nothing to run: the cell is done.
    Done(CellOutput),
    Run(RunJob),
    /// A `%%draft` cell: the server asks the model (see [`crate::draft`]).
    Draft(crate::draft::DraftJob),
}

/// A completion: the matches replace `start..end` (byte offsets in the cell).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    pub matches: Vec<String>,
    pub start: usize,
    pub end: usize,
    /// (match, type) pairs for frontends that show them.
    pub types: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    Incomplete,
    Invalid,
}

const MAGICS: &[(&str, &str, &str)] = &[
    (
        "%registry",
        "[QUERY]",
        "The registry's methods, searchable: `%registry sentiment`; a method id shows its documentation.",
    ),
    (
        "%inputs",
        "[KEY=VALUE ...]",
        "Set the session's inputs (`%inputs topic=rust limit=50`), used as `{{inputs.KEY}}`; without arguments, list them.",
    ),
    (
        "%steps",
        "",
        "The session's steps: their methods, the cells that ran them and their results.",
    ),
    (
        "%show",
        "STEP",
        "Show a step's result again (a table of its records, its JSON).",
    ),
    (
        "%export",
        "PATH.yaml",
        "Write the session as a pipeline file that `odp check` accepts.",
    ),
    (
        "%reset",
        "",
        "Forget every step, result and input of the session.",
    ),
    ("%echo", "TEXT", "Print TEXT on stdout."),
    (
        "%stats",
        "",
        "The session's size (steps, inputs, bytes of results) and the memory the kernel has allocated, as JSON.",
    ),
    (
        "%explain",
        "CODE",
        "The documentation of a diagnostic code (`%explain ODP405`), in the pager.",
    ),
    ("%clear", "", "Clear the cell's output."),
    ("%help", "", "This list."),
    (
        "%%draft",
        "REQUEST",
        "Draft steps for REQUEST (the rest of the cell) with a language model; the draft goes into the next cell, not run.",
    ),
];

/// A session's state.
pub struct Session {
    registry: Arc<Registry>,
    inputs: Vec<SessionInput>,
    steps: Vec<SessionStep>,
    history: Vec<HistoryItem>,
    execution_count: usize,
    /// Where `%export` writes relative paths.
    cwd: PathBuf,
    /// ANSI colours in rendered diagnostics (Jupyter renders them in tracebacks and streams).
    pub color: bool,
    /// One line about where calls go, shown by `%steps`.
    pub services: String,
}

/// The type of an input's declared type name.
fn input_ty(type_name: &str) -> Ty {
    Ty::from_schema(&json!({ "type": type_name }))
}

/// The input type name of a value.
pub fn type_name_of(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::String(_) | Value::Null => "string",
    }
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

/// Diagnostics rendered like `odp check` does.
pub fn render(label: &str, text: &str, diagnostics: &[Diagnostic], color: bool) -> String {
    use codespan_reporting::term::termcolor::Buffer;
    let mut buf = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    let report = odp_cli::render::FileReport {
        path: label.to_string(),
        text: text.to_string(),
        diagnostics: diagnostics.to_vec(),
    };
    if let Err(e) = odp_cli::render::human(&mut buf, &[report]) {
        return format!("(could not render the diagnostics: {e})");
    }
    String::from_utf8_lossy(buf.as_slice()).into_owned()
}

/// Splits `KEY=VALUE` arguments; quoted values are strings, others are read as JSON when they can be.
pub fn parse_assignments(args: &str) -> Result<Vec<(String, Value, bool)>, String> {
    let chars: Vec<char> = args.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        if i >= chars.len() || chars[i] != '=' {
            return Err(format!("expected KEY=VALUE, got `{key}`"));
        }
        i += 1;
        let (value, quoted) = match chars.get(i) {
            Some(&q) if q == '"' || q == '\'' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != q {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(format!("the value of `{key}` has no closing {q}"));
                }
                let v: String = chars[start..i].iter().collect();
                i += 1;
                (v, true)
            }
            Some(&open) if open == '[' || open == '{' => {
                let start = i;
                let mut depth = 0i32;
                let mut in_str = false;
                while i < chars.len() {
                    let c = chars[i];
                    if in_str {
                        if c == '\\' {
                            i += 1;
                        } else if c == '"' {
                            in_str = false;
                        }
                    } else if c == '"' {
                        in_str = true;
                    } else if c == '[' || c == '{' {
                        depth += 1;
                    } else if c == ']' || c == '}' {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    i += 1;
                }
                (chars[start..i].iter().collect(), false)
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                (chars[start..i].iter().collect(), false)
            }
        };
        if key.is_empty() {
            return Err("an input needs a name: KEY=VALUE".into());
        }
        let parsed = if quoted {
            Value::String(value)
        } else {
            serde_json::from_str::<Value>(&value).unwrap_or(Value::String(value))
        };
        out.push((key, parsed, quoted));
    }
    Ok(out)
}

/// A glob (`*`, `?`) matched against the whole text, like IPython's history search.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None::<usize>, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Byte offset ↔ character index (the protocol counts Unicode characters).
pub fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

pub fn byte_to_char(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].chars().count()
}

impl Session {
    pub fn new(registry: Arc<Registry>, cwd: PathBuf) -> Session {
        Session {
            registry,
            inputs: Vec::new(),
            steps: Vec::new(),
            history: Vec::new(),
            execution_count: 0,
            cwd,
            color: false,
            services: String::new(),
        }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn steps(&self) -> &[SessionStep] {
        &self.steps
    }

    pub fn inputs(&self) -> &[SessionInput] {
        &self.inputs
    }

    pub fn execution_count(&self) -> usize {
        self.execution_count
    }

    pub fn step(&self, name: &str) -> Option<&SessionStep> {
        self.steps.iter().find(|s| s.name == name)
    }

    pub fn input(&self, name: &str) -> Option<&SessionInput> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// The execution count of a new cell: incremented when the cell goes into the history.
    pub fn start_cell(&mut self, store_history: bool) -> usize {
        if store_history {
            self.execution_count += 1;
        }
        self.execution_count
    }

    pub fn end_cell(&mut self, count: usize, code: &str, output: String, store_history: bool) {
        if store_history {
            self.history.push(HistoryItem {
                line: count,
                input: code.to_string(),
                output,
            });
        }
    }

    pub fn history(&self) -> &[HistoryItem] {
        &self.history
    }

    fn set_input(&mut self, name: &str, value: Value, type_name: String) {
        match self.inputs.iter_mut().find(|i| i.name == name) {
            Some(i) => {
                i.value = value;
                i.type_name = type_name;
            }
            None => self.inputs.push(SessionInput {
                name: name.to_string(),
                value,
                type_name,
            }),
        }
    }

    fn external_inputs(&self) -> Vec<ExternalInput> {
        self.inputs
            .iter()
            .map(|i| ExternalInput {
                name: i.name.clone(),
                ty: input_ty(&i.type_name),
            })
            .collect()
    }

    /// Earlier steps as the checker sees them: `live` takes each result's own type (what completion offers);
    /// otherwise the method's output type, so that what a cell accepts `%export` writes as a valid pipeline (a
    /// `dynamic` output is unknown to the registry, so its live type is used either way).
    fn external_steps(&self, live: bool) -> Vec<ExternalStep> {
        self.steps
            .iter()
            .map(|s| {
                let declared = self
                    .registry
                    .get(&s.method)
                    .map_or(Ty::Any, |m| m.output.clone());
                let output = if live || declared == Ty::Any {
                    Ty::of_value(&s.result)
                } else {
                    declared
                };
                ExternalStep {
                    name: s.name.clone(),
                    method: Some(s.method.clone()),
                    output,
                }
            })
            .collect()
    }

    /// Runs an editor feature on a cell: its YAML wrapped as a pipeline fragment and checked with the session's
    /// steps (their live results) and inputs in scope. Returns the feature's answer and the wrapping, to map
    /// positions back to the cell.
    fn with_ide<T>(
        &self,
        code: &str,
        feature: impl FnOnce(&odp_ide::Snapshot<'_>, &cell::Wrapped) -> T,
    ) -> (T, cell::Wrapped) {
        let (_, yaml) = cell::split_magics(code);
        let wrapped = cell::wrap(&yaml, &self.registry);
        let analysis = self.analyze(&wrapped.text, true);
        let steps = self.external_steps(true);
        let inputs = self.external_inputs();
        let env = Environment {
            registry: &self.registry,
            external_steps: &steps,
            external_inputs: &inputs,
            fragment: true,
        };
        let snapshot = odp_ide::Snapshot {
            text: &wrapped.text,
            analysis: &analysis,
            env: &env,
        };
        let answer = feature(&snapshot, &wrapped);
        (answer, wrapped)
    }

    fn analyze(&self, text: &str, live: bool) -> Analysis {
        let steps = self.external_steps(live);
        let inputs = self.external_inputs();
        let env = Environment {
            registry: &self.registry,
            external_steps: &steps,
            external_inputs: &inputs,
            fragment: true,
        };
        odp_analysis::analyze(text, &env)
    }

    // ---- executing a cell ---------------------------------------------------------------------------------

    /// Runs a cell's magics and checks and plans its YAML.
    pub fn begin(&mut self, code: &str, count: usize) -> Begin {
        let (magics, yaml) = cell::split_magics(code);
        let mut out = CellOutput::default();
        for (_, line) in &magics {
            if let Some(request) = crate::draft::request_of(line) {
                if request.trim().is_empty() {
                    return Begin::Done(out.failed(CellError::new(
                        "UsageError",
                        "%%draft needs a request: `%%draft tweets about rust and their sentiment` (more lines may follow)",
                    )));
                }
                return Begin::Draft(crate::draft::DraftJob {
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
            for r in &references_of[index] {
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
            });
        }
        if defs.is_empty() {
            return Begin::Done(out);
        }
        let mut inputs = Map::new();
        for i in &self.inputs {
            inputs.insert(i.name.clone(), i.value.clone());
        }
        let results = self
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.result.clone()))
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
                cell: count,
                result: result.clone(),
                attempts: run.attempts,
                duration_ms: run.duration_ms,
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

    // ---- magics -------------------------------------------------------------------------------------------

    fn magic(&mut self, line: &str, out: &mut CellOutput) -> Result<(), CellError> {
        let (name, args) = match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        match name {
            "%registry" => {
                out.outputs.push(self.registry_magic(args));
                Ok(())
            }
            "%inputs" => self.inputs_magic(args, out),
            "%steps" => {
                out.outputs.push(self.steps_magic());
                Ok(())
            }
            "%show" => {
                let Some(step) = self.step(args) else {
                    let names: Vec<&str> = self.steps.iter().map(|s| s.name.as_str()).collect();
                    let known = if names.is_empty() {
                        "the session has no steps yet".to_string()
                    } else {
                        format!("the steps are {}", names.join(", "))
                    };
                    return Err(CellError::new(
                        "UsageError",
                        format!("%show needs a step's name: {known}"),
                    ));
                };
                let plain = mime::summary(&step.name, &step.method, &step.result);
                out.outputs.push(Output::Result(mime::result_bundle(
                    &step.name,
                    &step.method,
                    &step.result,
                    plain,
                )));
                Ok(())
            }
            "%export" => {
                let path = args.trim();
                if path.is_empty() {
                    return Err(CellError::new(
                        "UsageError",
                        "%export needs a file name: `%export investigation.odp.yaml`",
                    ));
                }
                let text = self.export(path)?;
                let full = self.cwd.join(path);
                std::fs::write(&full, &text).map_err(|e| {
                    CellError::new("ExportError", format!("cannot write {path}: {e}"))
                })?;
                out.outputs.push(Output::Stdout(format!(
                    "wrote {path}: {} step{} and {} input{} (`odp check {path}` accepts it)\n",
                    self.steps.len(),
                    if self.steps.len() == 1 { "" } else { "s" },
                    self.exported_inputs().len(),
                    if self.exported_inputs().len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                )));
                Ok(())
            }
            "%reset" => {
                let (steps, inputs) = (self.steps.len(), self.inputs.len());
                self.steps.clear();
                self.inputs.clear();
                out.outputs.push(Output::Stdout(format!(
                    "session reset: forgot {steps} step{} and {inputs} input{}\n",
                    if steps == 1 { "" } else { "s" },
                    if inputs == 1 { "" } else { "s" }
                )));
                Ok(())
            }
            "%stats" => {
                let result_bytes = self
                    .steps
                    .iter()
                    .map(|s| serde_json::to_vec(&s.result).map_or(0, |v| v.len()))
                    .sum();
                out.outputs.push(Output::Stdout(crate::stats::report(
                    self.steps.len(),
                    self.inputs.len(),
                    result_bytes,
                )));
                Ok(())
            }
            "%echo" => {
                let text = line[name.len()..]
                    .strip_prefix(' ')
                    .unwrap_or(&line[name.len()..]);
                out.outputs.push(Output::Stdout(format!("{text}\n")));
                Ok(())
            }
            "%explain" => {
                let code = Code::parse(args).ok_or_else(|| {
                    CellError::new(
                        "UsageError",
                        format!("unknown code `{args}`: write an id like `ODP405` or a name like `unknown-field`"),
                    )
                })?;
                let text = format!(
                    "{} ({}): {}\n\n{}\n",
                    code.id(),
                    code.name(),
                    code.summary(),
                    code.doc()
                );
                let mut page = Bundle::new();
                page.insert("text/plain".into(), Value::String(text.clone()));
                page.insert("text/markdown".into(), Value::String(text));
                out.pages.push(page);
                Ok(())
            }
            "%clear" => {
                out.outputs.push(Output::Clear);
                Ok(())
            }
            "%help" | "%lsmagic" => {
                let mut text = String::from(
                    "A cell holds one step (name, method, params), a list of steps, or a whole pipeline, in YAML.\nLater cells use earlier results: \"{{tweets.results[*].text}}\".\n\nMagics:\n",
                );
                for (m, args, doc) in MAGICS {
                    text.push_str(&format!("  {m} {args}\n      {doc}\n"));
                }
                out.outputs.push(Output::Stdout(text));
                Ok(())
            }
            other => Err(CellError::new(
                "UsageError",
                format!(
                    "unknown magic `{other}`; the magics are {}",
                    MAGICS.iter().map(|m| m.0).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    fn registry_magic(&self, query: &str) -> Output {
        if let Some(m) = self.registry.get(query.trim()) {
            let md = odp_ide::method_markdown(m);
            let mut b = Bundle::new();
            b.insert("text/plain".into(), Value::String(md.clone()));
            b.insert("text/markdown".into(), Value::String(md));
            return Output::Display(b);
        }
        let words: Vec<String> = query.split_whitespace().map(|w| w.to_lowercase()).collect();
        let methods: Vec<&odp_analysis::Method> = self
            .registry
            .methods()
            .iter()
            .filter(|m| {
                let hay =
                    format!("{} {} {}", m.id(), m.spec.summary, m.spec.description).to_lowercase();
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .collect();
        let kind = |m: &odp_analysis::Method| match m.spec.kind {
            odp_analysis::MethodKind::Source => "source",
            odp_analysis::MethodKind::Transform => "transform",
        };
        let rows: Vec<Vec<String>> = methods
            .iter()
            .map(|m| {
                let required: Vec<&str> = m.required_params().collect();
                vec![
                    m.id().to_string(),
                    kind(m).to_string(),
                    m.spec.summary.clone(),
                    required.join(", "),
                ]
            })
            .collect();
        let title = if query.trim().is_empty() {
            format!("{} methods", methods.len())
        } else {
            format!(
                "{} method{} matching “{}”",
                methods.len(),
                if methods.len() == 1 { "" } else { "s" },
                query.trim()
            )
        };
        let mut plain = format!("{title}\n");
        for m in &methods {
            plain.push_str(&format!(
                "  {:<28} {:<9} {}\n",
                m.id(),
                kind(m),
                m.spec.summary
            ));
        }
        Output::Display(mime::table_bundle(
            &title,
            &["method", "kind", "summary", "required params"],
            &rows,
            plain,
        ))
    }

    fn inputs_magic(&mut self, args: &str, out: &mut CellOutput) -> Result<(), CellError> {
        let assignments = parse_assignments(args).map_err(|e| CellError::new("UsageError", e))?;
        for (name, value, quoted) in assignments {
            if !name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(CellError::new(
                    "UsageError",
                    format!("`{name}` is not a valid input name: use letters, digits and `_`"),
                ));
            }
            // A known input keeps its type: the text is converted to it.
            let (value, type_name) = match self.input(&name).map(|i| i.type_name.clone()) {
                Some(t) => {
                    let raw = match &value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let converted = if quoted && t != "string" {
                        odp_exec::coerce_input(Some(&t), &raw)
                    } else if t == "string" {
                        Ok(Value::String(raw))
                    } else {
                        odp_exec::coerce_input(Some(&t), &raw)
                    };
                    let v = converted.map_err(|e| {
                        CellError::new("UsageError", format!("input `{name}` is {t}: {e}"))
                    })?;
                    (v, t)
                }
                None => {
                    let t = type_name_of(&value).to_string();
                    (value, t)
                }
            };
            self.set_input(&name, value, type_name);
        }
        let mut object = Map::new();
        let mut plain = String::new();
        let mut rows = Vec::new();
        for i in &self.inputs {
            object.insert(i.name.clone(), i.value.clone());
            plain.push_str(&format!("{}: {} = {}\n", i.name, i.type_name, i.value));
            rows.push(vec![
                i.name.clone(),
                i.type_name.clone(),
                mime::short(&i.value, 200),
            ]);
        }
        if self.inputs.is_empty() {
            plain.push_str("no inputs: set them with %inputs KEY=VALUE\n");
        }
        let mut b = mime::table_bundle("", &["input", "type", "value"], &rows, plain);
        b.insert("application/json".into(), Value::Object(object));
        out.outputs.push(Output::Result(b));
        Ok(())
    }

    fn steps_magic(&self) -> Output {
        let section = |s: Section| match s {
            Section::Sources => "source",
            Section::Transforms => "transform",
        };
        let mut plain = String::new();
        let mut rows = Vec::new();
        for s in &self.steps {
            plain.push_str(&format!(
                "[{}] {} ← {} ({}): {}\n",
                s.cell,
                s.name,
                s.method,
                section(s.section),
                mime::describe(&s.result)
            ));
            rows.push(vec![
                s.name.clone(),
                s.method.clone(),
                section(s.section).to_string(),
                s.cell.to_string(),
                mime::describe(&s.result),
                format!("{} ms, {} attempt(s)", s.duration_ms, s.attempts),
            ]);
        }
        if self.steps.is_empty() {
            plain.push_str("no steps yet: run a cell with a step\n");
        }
        if !self.services.is_empty() {
            plain.push_str(&format!("services: {}\n", self.services));
        }
        let title = if self.services.is_empty() {
            format!("{} steps", self.steps.len())
        } else {
            format!("{} steps · services: {}", self.steps.len(), self.services)
        };
        Output::Display(mime::table_bundle(
            &title,
            &["step", "method", "kind", "cell", "result", "run"],
            &rows,
            plain,
        ))
    }

    // ---- export ---------------------------------------------------------------------------------------------

    fn exported_inputs(&self) -> Vec<&SessionInput> {
        self.inputs
            .iter()
            .filter(|i| self.steps.iter().any(|s| s.inputs_used.contains(&i.name)))
            .collect()
    }

    /// The session as a pipeline file: the inputs its steps use (with their values as defaults), its sources, and
    /// its transforms in an order where every step comes after the steps it uses. Checked before it is returned.
    pub fn export(&self, path: &str) -> Result<String, CellError> {
        let err = |m: String| CellError::new("ExportError", m);
        if !self.steps.iter().any(|s| s.section == Section::Sources) {
            return Err(err(
                "nothing to export yet: a pipeline needs at least one source (run a cell with a source step)"
                    .into(),
            ));
        }
        let sources: Vec<&SessionStep> = self
            .steps
            .iter()
            .filter(|s| s.section == Section::Sources)
            .collect();
        let mut pending: Vec<&SessionStep> = self
            .steps
            .iter()
            .filter(|s| s.section == Section::Transforms)
            .collect();
        let mut transforms: Vec<&SessionStep> = Vec::new();
        while !pending.is_empty() {
            let ready = pending.iter().position(|t| {
                t.deps.iter().all(|d| {
                    transforms.iter().any(|p| &p.name == d)
                        || sources.iter().any(|s| &s.name == d)
                        || !pending.iter().any(|p| &p.name == d)
                })
            });
            match ready {
                Some(i) => transforms.push(pending.remove(i)),
                None => {
                    let names: Vec<&str> = pending.iter().map(|p| p.name.as_str()).collect();
                    return Err(err(format!(
                        "the steps {} use each other's results in a circle: run one of them again so that it uses an earlier step",
                        names.join(", ")
                    )));
                }
            }
        }
        let stem = Path::new(path)
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("notebook");
        let stem = stem
            .strip_suffix(".yaml")
            .or_else(|| stem.strip_suffix(".yml"))
            .unwrap_or(stem);
        let stem = stem.strip_suffix(".odp").unwrap_or(stem);
        let mut name: String = stem.chars().take(100).collect();
        if name.chars().count() < 3 {
            name = format!("notebook {name}").trim().to_string();
        }
        let mut text = String::from("# Exported from an odp notebook session (`%export`).\n");
        text.push_str(&format!("name: {}\n", Value::String(name)));
        text.push_str(&format!(
            "description: {}\n",
            Value::String(format!(
                "Steps run cell by cell in a notebook: {}.",
                self.steps
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        ));
        let inputs = self.exported_inputs();
        if !inputs.is_empty() {
            text.push_str("\ninputs:\n");
            for i in inputs {
                text.push_str(&format!("  {}:\n    type: {}\n", i.name, i.type_name));
                text.push_str(&format!("    default: {}\n", i.value));
            }
        }
        let write_step = |text: &mut String, s: &SessionStep, unused: bool| {
            for (n, line) in s.text.lines().enumerate() {
                if unused && n == s.name_line {
                    text.push_str(if n == 0 { "  " } else { "    " });
                    text.push_str(
                        "# odp: ignore[unused-source] (looked at in the notebook; no transform uses it)\n",
                    );
                }
                if n == 0 {
                    text.push_str("  - ");
                } else if !line.is_empty() {
                    text.push_str("    ");
                }
                text.push_str(line);
                text.push('\n');
            }
        };
        text.push_str("\nsources:\n");
        for s in &sources {
            let unused =
                !transforms.is_empty() && !transforms.iter().any(|t| t.deps.contains(&s.name));
            write_step(&mut text, s, unused);
        }
        if !transforms.is_empty() {
            text.push_str("\ntransforms:\n");
            for t in &transforms {
                write_step(&mut text, t, false);
            }
        }
        let analysis = odp_analysis::analyze(&text, &Environment::new(&self.registry));
        if analysis.has_errors() {
            let rendered = render(path, &text, &analysis.diagnostics, self.color);
            return Err(CellError {
                ename: "ExportError".into(),
                evalue: format!(
                    "the session does not make a valid pipeline ({} error(s)): nothing was written",
                    analysis.error_count()
                ),
                traceback: rendered.lines().map(str::to_string).collect(),
            });
        }
        Ok(text)
    }

    // ---- completion, inspection, completeness ------------------------------------------------------------------

    /// Completions at a byte offset.
    pub fn complete(&self, code: &str, cursor: usize) -> Completion {
        let cursor = cursor.min(code.len());
        let line_start = code[..cursor].rfind('\n').map_or(0, |i| i + 1);
        let line_to_cursor = &code[line_start..cursor];
        let line_indent = line_to_cursor.len() - line_to_cursor.trim_start().len();
        if line_to_cursor.trim_start().starts_with('%') {
            return self.complete_magic(code, line_start + line_indent, cursor);
        }
        let (mut items, wrapped) = self.with_ide(code, |snapshot, wrapped| {
            snapshot.completions(wrapped.to_wrapped(cursor))
        });
        items.sort_by(|a, b| a.sort_text.cmp(&b.sort_text));
        let Some(first) = items.first() else {
            return Completion {
                start: cursor,
                end: cursor,
                ..Completion::default()
            };
        };
        let start = wrapped.to_cell(first.replace.start()).min(cursor);
        let end = wrapped.to_cell(first.replace.end()).max(cursor);
        let typed = code[start..cursor].to_lowercase();
        let mut out = Completion {
            start,
            end,
            ..Completion::default()
        };
        for item in items {
            let text = if item.snippet {
                match item.kind {
                    odp_ide::CompletionKind::Param => format!("{}: ", item.label),
                    _ => item.label.clone(),
                }
            } else {
                item.insert_text.clone()
            };
            if !text.to_lowercase().starts_with(&typed) || out.matches.contains(&text) {
                continue;
            }
            let ty = match item.kind {
                odp_ide::CompletionKind::Key => "key",
                odp_ide::CompletionKind::Method => "method",
                odp_ide::CompletionKind::Param => "param",
                odp_ide::CompletionKind::Value => "value",
                odp_ide::CompletionKind::Step => "step",
                odp_ide::CompletionKind::Input => "input",
                odp_ide::CompletionKind::Field => "field",
            };
            out.types.push((
                text.clone(),
                item.detail.clone().unwrap_or_else(|| ty.into()),
            ));
            out.matches.push(text);
        }
        out
    }

    fn complete_magic(&self, code: &str, magic_start: usize, cursor: usize) -> Completion {
        let before = &code[magic_start..cursor];
        let mut out = Completion {
            start: magic_start,
            end: cursor,
            ..Completion::default()
        };
        match before.find(char::is_whitespace) {
            None => {
                for (m, _, doc) in MAGICS {
                    if m.starts_with(before) {
                        out.matches.push(m.to_string());
                        out.types.push((m.to_string(), doc.to_string()));
                    }
                }
            }
            Some(i) => {
                let name = &before[..i];
                let word_start = before.rfind(char::is_whitespace).map_or(0, |j| {
                    j + before[j..].chars().next().map_or(1, char::len_utf8)
                });
                let word = &before[word_start..];
                out.start = magic_start + word_start;
                let candidates: Vec<(String, String)> = match name {
                    "%registry" => self
                        .registry
                        .methods()
                        .iter()
                        .map(|m| (m.id().to_string(), m.spec.summary.clone()))
                        .collect(),
                    "%explain" => Code::ALL
                        .iter()
                        .map(|c| (c.id().to_string(), c.summary().to_string()))
                        .collect(),
                    "%show" => self
                        .steps
                        .iter()
                        .map(|s| (s.name.clone(), s.method.clone()))
                        .collect(),
                    "%inputs" => self
                        .inputs
                        .iter()
                        .map(|i| (format!("{}=", i.name), i.type_name.clone()))
                        .collect(),
                    _ => Vec::new(),
                };
                for (c, detail) in candidates {
                    if c.to_lowercase().starts_with(&word.to_lowercase()) {
                        out.types.push((c.clone(), detail));
                        out.matches.push(c);
                    }
                }
            }
        }
        out
    }

    /// What the cursor is on, as Markdown: a method, a param, a template's type, a magic.
    pub fn inspect(&self, code: &str, cursor: usize) -> Option<String> {
        let cursor = cursor.min(code.len());
        let line_start = code[..cursor].rfind('\n').map_or(0, |i| i + 1);
        let line_end = code[cursor..].find('\n').map_or(code.len(), |i| cursor + i);
        let line = &code[line_start..line_end];
        let word = {
            let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == '%';
            let s = code[..cursor]
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_word(*c))
                .last()
                .map_or(cursor, |(i, _)| i);
            let e = code[cursor..]
                .char_indices()
                .find(|(_, c)| !is_word(*c))
                .map_or(code.len(), |(i, _)| cursor + i);
            code[s..e].trim_matches('.').to_string()
        };
        if let Some(m) = self.registry.get(&word) {
            return Some(odp_ide::method_markdown(m));
        }
        if line.trim_start().starts_with('%') {
            let name = line.split_whitespace().next().unwrap_or("");
            if let Some((m, args, doc)) = MAGICS.iter().find(|(m, _, _)| *m == name) {
                return Some(format!("**{m}** {args}\n\n{doc}\n"));
            }
            if let Some(code) = Code::parse(&word) {
                return Some(format!(
                    "**{}** ({}): {}\n",
                    code.id(),
                    code.name(),
                    code.summary()
                ));
            }
            return None;
        }
        let (hover, _) = self.with_ide(code, |snapshot, wrapped| {
            snapshot.hover(wrapped.to_wrapped(cursor))
        });
        if let Some(h) = hover {
            return Some(h.markdown);
        }
        // A step name of the session.
        let name = word.split('.').next().unwrap_or("");
        if let Some(s) = self.step(name) {
            return Some(format!(
                "**{}** ← `{}` (cell {})\n\n```\n{}```\n",
                s.name,
                s.method,
                s.cell,
                mime::summary(&s.name, &s.method, &s.result)
            ));
        }
        None
    }

    /// Whether a console should run the code now or read another line.
    pub fn is_complete(&self, code: &str) -> (Completeness, String) {
        let (_, yaml) = cell::split_magics(code);
        if yaml.trim().is_empty() {
            return (Completeness::Complete, String::new());
        }
        let last = yaml
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .unwrap_or("");
        let indent = last.len() - last.trim_start().len();
        let content = match last.find(" #") {
            Some(i) => &last[..i],
            None => last,
        }
        .trim_end();
        let parse = odp_syntax::parse(&yaml);
        let unclosed = parse
            .errors
            .iter()
            .any(|e| e.message.contains("never closed") || e.message.contains("unterminated"));
        if unclosed {
            return (Completeness::Incomplete, " ".repeat(indent + 2));
        }
        if content.ends_with(':')
            || content == "-"
            || content.ends_with(" |")
            || content.ends_with(" >")
        {
            return (Completeness::Incomplete, " ".repeat(indent + 2));
        }
        if parse
            .errors
            .iter()
            .any(|e| e.kind == odp_syntax::SyntaxErrorKind::Invalid)
        {
            return (Completeness::Invalid, String::new());
        }
        (Completeness::Complete, String::new())
    }
}

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod tests;
