//! The session's side of `%%rust` cells: the job a Rust cell makes ([`Session::begin`] hands it to the server,
//! which evaluates it with evcxr, see [`crate::rust_cells`]), and the values a Rust cell published
//! (`odp::publish`), checked and kept as results later cells use like a step's.

use serde_json::Value;

use super::outputs::{CellError, CellOutput, Output};
use super::{Begin, Session, SessionStep};
use crate::mime;
use crate::rust_cells::PublishRecord;

/// A `%%rust` cell, ready for evcxr.
#[derive(Clone, Debug)]
pub struct RustJob {
    /// What the magics before `%%rust` showed.
    pub before: CellOutput,
    /// The cell with every line up to `%%rust` blanked: line N of `code` is line N of the cell, so that compile
    /// errors name the cell's lines.
    pub code: String,
    /// Every result the cell can read (steps and published values), by name, with its revision.
    pub results: Vec<(String, u64)>,
}

/// A value a Rust cell published.
#[derive(Clone, Debug)]
pub struct Published {
    pub name: String,
    pub value: Value,
    /// The execution count of the cell that published it.
    pub cell: usize,
    pub revision: u64,
}

/// Whether a magic line is `%%rust` (with or without text after it).
pub(super) fn is_rust_magic(line: &str) -> bool {
    let first = line.lines().next().unwrap_or_default().trim_start();
    first
        .strip_prefix("%%rust")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// Why `name` cannot be published, if it cannot: a published value is addressed as `{{name.…}}`, so it follows
/// the rules of a step's name.
pub fn check_published_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let identifier = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        return Err(format!(
            "`{}` is not a valid step name: use letters, digits and `_`, not starting with a digit",
            odp_analysis::escape_control(name)
        ));
    }
    if name == "inputs" {
        return Err(
            "a value cannot be published as `inputs`: `{{inputs.…}}` means the pipeline's inputs"
                .into(),
        );
    }
    Ok(())
}

impl Session {
    /// What a `%%rust` cell whose magic line starts at `start` does: a job for the server, or a usage error.
    pub(super) fn rust_job(&self, code: &str, start: usize, line: &str, out: CellOutput) -> Begin {
        let first = line.lines().next().unwrap_or_default().trim();
        if first != "%%rust" {
            return Begin::Done(out.failed(CellError::new(
                "UsageError",
                "%%rust takes no arguments: the Rust code goes on the lines below it",
            )));
        }
        let body_start = code[start..]
            .find('\n')
            .map_or(code.len(), |i| start + i + 1);
        let blank = code[..body_start].matches('\n').count();
        let mut rust = "\n".repeat(blank);
        rust.push_str(&code[body_start..]);
        Begin::Rust(RustJob {
            before: out,
            code: rust,
            results: self.result_revisions(),
        })
    }

    /// The error of a step cell that defines a step under a name a Rust cell published.
    pub(super) fn steps_named_like_published<'a>(
        &self,
        mut names: impl Iterator<Item = &'a str>,
    ) -> Option<CellError> {
        let p = names.find_map(|n| self.published.iter().find(|p| p.name == n))?;
        Some(CellError::new(
            "CheckError",
            format!(
                "`{}` is a value a Rust cell published (cell [{}]): a step cannot take its name; rename the step (or `%reset` the session)",
                p.name, p.cell
            ),
        ))
    }

    /// Keeps what a Rust cell published, when every value can be kept: a name must be a valid step name that no
    /// step of the session has, and the value must have been serializable. Otherwise nothing is kept and the
    /// cell fails, naming every problem. Returns what the cell shows about them.
    pub fn finish_rust(
        &mut self,
        records: Vec<PublishRecord>,
        count: usize,
    ) -> Result<Vec<Output>, CellError> {
        let mut problems = Vec::new();
        for r in &records {
            let name = r.name();
            if let Err(e) = check_published_name(name) {
                problems.push(e);
            } else if let Some(step) = self.step(name) {
                problems.push(step_collision(step));
            } else if let PublishRecord::Unserializable { message, .. } = r {
                problems.push(format!(
                    "`{name}` could not be turned into JSON: {}",
                    odp_analysis::escape_control(message)
                ));
            }
        }
        if !problems.is_empty() {
            let evalue = format!(
                "nothing was published: {}",
                problems.first().cloned().unwrap_or_default()
            );
            let mut traceback = vec![format!("PublishError: {evalue}")];
            traceback.extend(problems.iter().skip(1).cloned());
            return Err(CellError {
                ename: "PublishError".into(),
                evalue,
                traceback,
            });
        }
        let mut outputs = Vec::new();
        for r in records {
            let PublishRecord::Value { name, value } = r else {
                continue;
            };
            outputs.push(Output::Stdout(format!(
                "odp: published `{name}`: {} (use it as {{{{{name}}}}} in later cells)\n",
                mime::describe(&value)
            )));
            let revision = self.next_revision();
            let published = Published {
                name,
                value,
                cell: count,
                revision,
            };
            match self.published.iter_mut().find(|p| p.name == published.name) {
                Some(p) => *p = published,
                None => self.published.push(published),
            }
        }
        Ok(outputs)
    }
}

fn step_collision(step: &SessionStep) -> String {
    format!(
        "`{}` is a step of this session (cell [{}]): publish under another name (a step's result is read-only from Rust)",
        step.name, step.cell
    )
}
