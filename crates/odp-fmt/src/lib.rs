//! The pipeline formatter.
//!
//! Layout (indentation, spacing, quotes, line width) is `pretty_yaml`'s, the engine of dprint's YAML plugin: it
//! works on a lossless tree and keeps every comment. odp adds its own conventions first, as text edits computed on
//! odp-syntax's lossless tree: unquoted templates are quoted with ODP102's safe fix (`pretty_yaml`, like any YAML
//! reader, would read `{{x}}` as a flow mapping), the keys of pipelines, steps, inputs and `retry` are put in the
//! keys table's canonical order when asked ([`reorder`]), and steps are separated by a blank line ([`steps`]).
//!
//! Nothing is trusted: the result is parsed again and refused unless it means the same YAML and keeps the same
//! comments ([`guard`]). A file with syntax errors is left alone, with the reason.

mod edits;
mod guard;
mod printer;
mod range;
mod reorder;
mod steps;
mod text;

pub use edits::{TextEdit, minimal_edits};
pub use range::format_range;

use odp_syntax::SyntaxErrorKind;

/// How to format; `[format]` in `odp.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatOptions {
    /// The width flow collections are wrapped at (long scalars are never wrapped).
    pub line_width: usize,
    /// Put keys in the keys table's canonical order, moving each key's comments with it.
    pub reorder_keys: bool,
}

impl Default for FormatOptions {
    fn default() -> Self {
        Self {
            line_width: 120,
            reorder_keys: false,
        }
    }
}

/// Why a file was left alone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file does not parse: formatting would have to guess what it means.
    #[error("left unformatted: {line}:{column}: {message} (fix the syntax error first)")]
    Syntax {
        line: u32,
        column: u32,
        message: String,
    },
    /// An unquoted template that ODP102's safe fix cannot quote (it runs over several lines).
    #[error("left unformatted: {line}:{column}: {message} (ODP102: quote the template first)")]
    UnquotedTemplate {
        line: u32,
        column: u32,
        message: String,
    },
    /// The formatted text would not mean the same or would lose a comment: a bug of the formatter, never applied.
    #[error("left unformatted: formatting would change {what}; please report this file")]
    WouldChangeMeaning { what: &'static str },
}

/// Formats a pipeline's text. The result may equal the input.
pub fn format(input: &str, options: &FormatOptions) -> Result<String, FormatError> {
    // Each step parses only when the text changed: a 1 MB file parses in a few milliseconds, but four times adds up.
    let (quoted, parse) = quote_templates(input)?;
    let reordered;
    let reordered_parse;
    let (base, base_parse) = if options.reorder_keys {
        reordered = reorder::reorder_keys(&quoted);
        reordered_parse = odp_syntax::parse(&reordered);
        (&reordered, &reordered_parse)
    } else {
        (&quoted, &parse)
    };
    let separated = steps::separate_steps(base, base_parse);
    // Separating steps only inserts blank lines: the same length means the same text, and its parse still holds.
    let separated_parse;
    let separated_parse = if separated.len() == base.len() {
        base_parse
    } else {
        separated_parse = odp_syntax::parse(&separated);
        &separated_parse
    };
    let out = layout(&separated, separated_parse, options)?;
    guard::same_meaning(&quoted, &parse, &out, options.reorder_keys)?;
    Ok(out)
}

/// The layout: odp's own printer when it takes the text, else `pretty_yaml`'s (the same, for what the printer
/// takes).
fn layout(
    text: &str,
    parse: &odp_syntax::Parse,
    options: &FormatOptions,
) -> Result<String, FormatError> {
    match printer::print(text, parse, options.line_width, text::crlf(text)) {
        Some(out) => Ok(out),
        None => pretty_layout(text, options),
    }
}

/// `pretty_yaml`'s layout with odp's settings.
fn pretty_layout(text: &str, options: &FormatOptions) -> Result<String, FormatError> {
    let mut o = pretty_yaml::config::FormatOptions::default();
    o.layout.print_width = options.line_width;
    o.layout.indent_width = 2;
    if text::crlf(text) {
        o.layout.line_break = pretty_yaml::config::LineBreak::Crlf;
    }
    // A trailing comma in a flow list is valid YAML, but not what pipelines are written with.
    o.language.trailing_comma = false;
    // Trailing spaces inside a block scalar (`|`) are part of its value.
    o.language.trim_trailing_whitespaces = false;
    pretty_yaml::format_text(text, &o).map_err(|e| {
        // Our parser accepted the text, pretty_yaml did not: report where, as a syntax error.
        let (line, column) = text::line_col(text, e.offset());
        FormatError::Syntax {
            line,
            column,
            message: e.message().to_string(),
        }
    })
}

/// Refuses a file with syntax errors and quotes unquoted templates with ODP102's safe fix; the text and its parse.
fn quote_templates(input: &str) -> Result<(String, odp_syntax::Parse), FormatError> {
    let parse = odp_syntax::parse(input);
    if parse.errors.is_empty() {
        return Ok((input.to_string(), parse));
    }
    let place = |offset: usize| text::line_col(input, offset);
    if let Some(e) = parse
        .errors
        .iter()
        .find(|e| e.kind != SyntaxErrorKind::UnquotedTemplate)
    {
        let (line, column) = place(e.range.start());
        return Err(FormatError::Syntax {
            line,
            column,
            message: e.message.clone(),
        });
    }
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for e in &parse.errors {
        let raw = &input[e.range.as_range()];
        if raw.contains('\n') {
            let (line, column) = place(e.range.start());
            return Err(FormatError::UnquotedTemplate {
                line,
                column,
                message: e.message.clone(),
            });
        }
        if !edits.iter().any(|(s, _, _)| *s == e.range.start()) {
            edits.push((
                e.range.start(),
                e.range.end(),
                odp_analysis::quote_yaml(raw),
            ));
        }
    }
    let quoted = text::apply(input, edits);
    let parse = odp_syntax::parse(&quoted);
    Ok((quoted, parse))
}

#[cfg(test)]
mod printer_tests;
#[cfg(test)]
mod tests;
