//! What a front end asks about a cell while it is typed: completions, inspection (Markdown for `Shift+Tab`) and
//! whether a console should run it now; from the language server's core (`odp-ide`) and the session's live results.

use odp_analysis::{Code, Environment};

use super::Session;
use super::magics::MAGICS;
use crate::{cell, mime};

/// A completion: the matches replace `start..end` (byte offsets in the cell).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    pub matches: Vec<String>,
    pub start: usize,
    pub end: usize,
    /// (match, type, detail) for frontends that show them. The type is one short word (`method`, `param`,
    /// `field`, `magic`, ...): JupyterLab draws an icon from it and shows it in a column, so a sentence there is
    /// unreadable. The detail (a method's summary, a field's type) goes beside it as the `signature`.
    pub types: Vec<(String, &'static str, String)>,
}

/// Whether a console should run the code now (`is_complete_reply`'s status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    Incomplete,
    Invalid,
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
            // The session's live results come in as external steps.
            live: &[],
        };
        let snapshot = odp_ide::Snapshot {
            text: &wrapped.text,
            analysis: &analysis,
            env: &env,
        };
        let answer = feature(&snapshot, &wrapped);
        (answer, wrapped)
    }

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
            out.types
                .push((text.clone(), ty, item.detail.clone().unwrap_or_default()));
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
                        out.types.push((m.to_string(), "magic", doc.to_string()));
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
                let kind = match name {
                    "%registry" => "method",
                    "%explain" => "code",
                    "%show" => "step",
                    _ => "input",
                };
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
                        out.types.push((c.clone(), kind, detail));
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
