//! The checker: walks the syntax tree of a pipeline, builds the [`Pipeline`] model and reports diagnostics.
//!
//! One module per group of rules: [`document`] (the pipeline's keys and the order of the passes), [`inputs`],
//! [`steps`] (headers and methods), [`params`], [`references`] (templates) and [`unused`]. Two modules carry the
//! machinery: [`scope`], the only way a step body's rules can look up names outside the step (each lookup is
//! recorded), and [`incremental`], which owns [`CheckCache`] and reuses a body when its recorded lookups answer the
//! same.

mod incremental;
mod scope;
#[cfg(test)]
pub(crate) use scope::tests_only;
mod document;
mod inputs;
mod params;
mod references;
mod steps;
mod unused;

use incremental::CacheState;
pub use incremental::CheckCache;
use inputs::input_type_name;
use params::param_docs;
use references::projection_hint;
use scope::{Lookup, Scope};
use steps::yaml11_bool;

use std::collections::HashSet;

// FxHash: the checker hashes every step name and input several times per analysis; SipHash's DoS resistance buys
// nothing for names from the user's own file.
use rustc_hash::{FxHashMap, FxHashSet};

use odp_syntax::{
    Entry, Node, NodeKind, Scalar, ScalarStyle, ScalarValue, SyntaxErrorKind, TextRange,
};
use serde_json::Value;

use crate::codes::Code;
use crate::diagnostic::{Applicability, Diagnostic, TextEdit};
use crate::keys::Place;
use crate::model::{Input, Pipeline, Reference, RetryPolicy, Section, Spanned, Step, Target};
use crate::registry::{Method, MethodKind, node_to_serde};
use crate::scalar_place::ScalarPlace;
use crate::schema::{InputType, parse_duration_ms};
use crate::template::{self, Accessor, Template};
use crate::ty::{FieldLookup, Ty};
use crate::{Environment, suggest};

pub(crate) struct Checked {
    pub pipeline: Pipeline,
    pub references: Vec<Reference>,
    pub diagnostics: Vec<Diagnostic>,
}

struct Checker<'a> {
    text: &'a str,
    env: &'a Environment<'a>,
    diags: Vec<Diagnostic>,
    pipeline: Pipeline,
    refs: Vec<Reference>,
    /// The names a step body may look up, and which of them were used.
    scope: Scope<'a>,
    cache: Option<CacheState>,
}

/// `change` is the change from the text `cache` was last filled from to `text`.
pub(crate) fn check(
    text: &str,
    parse: &odp_syntax::Parse,
    env: &Environment<'_>,
    mut cache: Option<&mut CheckCache>,
    change: Option<odp_syntax::Change>,
) -> Checked {
    let state = CacheState::begin(cache.as_deref_mut(), text, env, change);
    let mut c = Checker {
        text,
        env,
        diags: Vec::new(),
        pipeline: Pipeline::default(),
        refs: Vec::new(),
        scope: Scope::new(env),
        cache: state,
    };
    c.syntax_errors(parse);
    match &parse.root {
        None => c.diags.push(
            Diagnostic::new(
                Code::MissingKey,
                TextRange::empty(0),
                "the pipeline is empty",
            )
            .with_help("a pipeline needs at least `name` and `sources`"),
        ),
        Some(root) => c.root(root),
    }
    c.drop_after_syntax_errors(parse);
    if let (Some(cache), Some(state)) = (cache, c.cache.take()) {
        state.finish(cache, c.refs.len());
    }
    Checked {
        pipeline: c.pipeline,
        references: c.refs,
        diagnostics: c.diags,
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_method_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// The text of a string scalar; `None` for other nodes.
fn string_of(node: &Node) -> Option<&str> {
    match node.scalar()?.resolve() {
        ScalarValue::Str(s) => Some(s),
        _ => None,
    }
}

impl<'a> Checker<'a> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn col_of(&self, offset: usize) -> usize {
        offset - self.text[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The end of the line holding `offset` (before its line break).
    fn line_end(&self, offset: usize) -> usize {
        let end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        if end > offset && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// The line break this file uses.
    fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    // ---- syntax ---------------------------------------------------------------------------------------------

    // ---- the document ---------------------------------------------------------------------------------------
}

/// Whether a mapping has an unknown key that is a misspelling of `key` (reported as such by ODP200).
fn misspelt(entries: &[Entry], place: Place, key: &str) -> bool {
    entries
        .iter()
        .any(|e| place.key(&e.key).is_none() && suggest(&e.key, place.names()) == Some(key))
}

/// "Did you mean" help, with a fix where the misspelt text has an exact range (not inside an escaped scalar).
fn did_you_mean(d: Diagnostic, suggestion: &str, exact: Option<TextRange>) -> Diagnostic {
    let d = d.with_help(format!("did you mean `{suggestion}`?"));
    match exact {
        Some(range) => d.with_fix(
            format!("Replace with `{suggestion}`"),
            Applicability::Unsafe,
            vec![TextEdit {
                range,
                new_text: suggestion.to_string(),
            }],
        ),
        None => d,
    }
}

fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    let shown: Vec<String> = items
        .iter()
        .take(12)
        .map(|s| format!("`{}`", s.as_ref()))
        .collect();
    let mut out = shown.join(", ");
    if items.len() > 12 {
        out.push_str(", …");
    }
    out
}

/// Quotes a scalar for YAML: double quotes when that needs no escapes, else single quotes. ODP102's safe fix and
/// the formatter (which quotes unquoted templates first) both use it.
pub fn quote_yaml(raw: &str) -> String {
    if !raw.contains('"') && !raw.contains('\\') {
        format!("\"{raw}\"")
    } else {
        format!("'{}'", raw.replace('\'', "''"))
    }
}
