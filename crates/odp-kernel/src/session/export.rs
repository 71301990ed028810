//! `%export`: the session as a pipeline file that `odp check` accepts.

use std::path::Path;

use odp_analysis::{Environment, Section};
use serde_json::Value;

use super::outputs::{CellError, CellOutput, Output, render};
use super::{Session, SessionInput, SessionStep};

impl Session {
    /// `%export PATH`: writes [`Session::export`] to PATH (relative to the kernel's directory).
    pub(super) fn export_magic(&self, args: &str, out: &mut CellOutput) -> Result<(), CellError> {
        let path = args.trim();
        if path.is_empty() {
            return Err(CellError::new(
                "UsageError",
                "%export needs a file name: `%export investigation.odp.yaml`",
            ));
        }
        let text = self.export(path)?;
        let full = self.cwd.join(path);
        std::fs::write(&full, &text)
            .map_err(|e| CellError::new("ExportError", format!("cannot write {path}: {e}")))?;
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

    fn exported_inputs(&self) -> Vec<&SessionInput> {
        self.inputs
            .iter()
            .filter(|i| self.steps.iter().any(|s| s.inputs_used.contains(&i.name)))
            .collect()
    }

    /// The session as a pipeline file: the inputs its steps use (with their values as defaults), its sources, and
    /// its transforms in an order where every step comes after the steps it uses. Checked before it is returned.
    /// Rust cells are left out; a step that reads a value only a Rust cell published makes it an error that names
    /// the steps.
    pub fn export(&self, path: &str) -> Result<String, CellError> {
        let err = |m: String| CellError::new("ExportError", m);
        // Rust cells are left out of the file; a step that reads what one published could not run from it.
        let on_rust: Vec<String> = self
            .steps
            .iter()
            .filter_map(|s| {
                let used: Vec<&str> = s
                    .deps
                    .iter()
                    .filter(|d| {
                        self.step(d).is_none() && self.published.iter().any(|p| &p.name == *d)
                    })
                    .map(String::as_str)
                    .collect();
                (!used.is_empty()).then(|| format!("`{}` (reads {})", s.name, used.join(", ")))
            })
            .collect();
        if !on_rust.is_empty() {
            return Err(err(format!(
                "the steps {} use values only a Rust cell published; a pipeline file has no Rust cells: nothing was written",
                on_rust.join(", ")
            )));
        }
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
                    "the session does not make a valid pipeline ({} error{}): nothing was written",
                    analysis.error_count(),
                    if analysis.error_count() == 1 { "" } else { "s" }
                ),
                traceback: rendered.lines().map(str::to_string).collect(),
            });
        }
        Ok(text)
    }
}
