//! What a cell shows: its outputs in order, how it ended (the error reply and the `error` output), pager pages and
//! the next cell's text; and diagnostics rendered as `odp check` renders them.

use odp_analysis::{Diagnostic, escape_control_in_lines};
use serde_json::Value;

use crate::mime::Bundle;

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
    pub(super) fn failed(mut self, error: CellError) -> CellOutput {
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
