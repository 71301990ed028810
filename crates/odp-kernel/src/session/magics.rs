//! Magics: the `%` lines before a cell's YAML (`%help` lists them) and the request of `%%draft`.

use odp_analysis::{Code, Section};
use serde_json::{Map, Value};

use super::outputs::{CellError, CellOutput, Output};
use super::{Session, type_name_of};
use crate::mime::{self, Bundle};

/// What `%steps` and `%show` name as the origin of a value a Rust cell published.
const PUBLISHED_BY: &str = "odp::publish (%%rust)";

/// Every magic: its name, its arguments and what it does (`%help`, completion and inspection show them).
pub(super) const MAGICS: &[(&str, &str, &str)] = &[
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
        "%graph",
        "",
        "The session's steps as a picture: what each reads from which, and how its last run went (ok, failed, not run).",
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
        "%%rust",
        "",
        "Rust code (evcxr), in the session: each step's result is a `serde_json::Value` variable named after the step; `odp::publish(\"name\", &value)` makes a value later cells use as `{{name}}`.",
    ),
    (
        "%%draft",
        "REQUEST",
        "Draft steps for REQUEST (the rest of the cell) with a language model; the draft goes into the next cell, not run.",
    ),
];

/// The request of a `%%draft` magic (as [`crate::cell::split_magics`] gives it: the rest of the cell), or `None`
/// for other magics.
pub fn request_of(magic: &str) -> Option<String> {
    let (first, body) = magic.split_once('\n').unwrap_or((magic, ""));
    let args = first.trim_start().strip_prefix("%%draft")?;
    if !(args.is_empty() || args.starts_with(char::is_whitespace)) {
        return None;
    }
    let mut request = args.trim().to_string();
    if !body.trim().is_empty() {
        if !request.is_empty() {
            request.push('\n');
        }
        request.push_str(body.trim());
    }
    Some(request)
}

/// Splits `KEY=VALUE` arguments; quoted values are strings, others are read as JSON when they can be.
///
/// Hand-written rather than `shlex`: shlex splits `c=[1, 2]` at the space inside the brackets and drops the quotes
/// without saying a value had them, while a quoted value must stay a string (`f='7'` is `"7"`, `f=7` is `7`); the
/// kernel's tests check both.
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

impl Session {
    pub(super) fn magic(&mut self, line: &str, out: &mut CellOutput) -> Result<(), CellError> {
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
                if let Some(p) = self.published.iter().find(|p| p.name == args) {
                    let plain = mime::summary(&p.name, PUBLISHED_BY, &p.value);
                    out.outputs.push(Output::Result(mime::result_bundle(
                        &p.name,
                        PUBLISHED_BY,
                        &p.value,
                        plain,
                    )));
                    return Ok(());
                }
                let Some(step) = self.step(args) else {
                    let names: Vec<&str> = self
                        .steps
                        .iter()
                        .map(|s| s.name.as_str())
                        .chain(self.published.iter().map(|p| p.name.as_str()))
                        .collect();
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
            "%export" => self.export_magic(args, out),
            "%graph" => {
                out.outputs.push(self.graph_magic());
                Ok(())
            }
            "%reset" => {
                let (steps, inputs) = (self.steps.len() + self.published.len(), self.inputs.len());
                self.steps.clear();
                self.tried.clear();
                self.published.clear();
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
                    .map(|s| &s.result)
                    .chain(self.published.iter().map(|p| &p.value))
                    .map(|v| serde_json::to_vec(v).map_or(0, |v| v.len()))
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
            format!(
                "{} method{}",
                methods.len(),
                if methods.len() == 1 { "" } else { "s" }
            )
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
        if self.inputs.is_empty() {
            // Not an empty table: say so, as text/plain does.
            b.insert(
                "text/html".into(),
                Value::String(
                    "<p>no inputs: set them with <code>%inputs KEY=VALUE</code></p>\n".into(),
                ),
            );
        }
        b.insert(mime::RESULT_MIME.into(), Value::Object(object));
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
                format!(
                    "{} ms, {} attempt{}",
                    s.duration_ms,
                    s.attempts,
                    if s.attempts == 1 { "" } else { "s" }
                ),
            ]);
        }
        for p in &self.published {
            plain.push_str(&format!(
                "[{}] {} ← {PUBLISHED_BY}: {}\n",
                p.cell,
                p.name,
                mime::describe(&p.value)
            ));
            rows.push(vec![
                p.name.clone(),
                PUBLISHED_BY.to_string(),
                "published".to_string(),
                p.cell.to_string(),
                mime::describe(&p.value),
                String::new(),
            ]);
        }
        if self.steps.is_empty() && self.published.is_empty() {
            plain.push_str("no steps yet: run a cell with a step\n");
        }
        if !self.services.is_empty() {
            plain.push_str(&format!("services: {}\n", self.services));
        }
        let count = format!(
            "{} step{}",
            self.steps.len(),
            if self.steps.len() == 1 { "" } else { "s" }
        );
        let title = if self.services.is_empty() {
            count
        } else {
            format!("{count} · services: {}", self.services)
        };
        Output::Display(mime::table_bundle(
            &title,
            &["step", "method", "kind", "cell", "result", "run"],
            &rows,
            plain,
        ))
    }
}
