//! A cell's YAML as the analysis core sees it.
//!
//! A cell holds one step (`name`, `method`, `params`), a list of steps, or a whole pipeline. The checker reads
//! pipelines, so a step or a list of steps is *wrapped* into a fragment pipeline: each step goes under `sources:`
//! or `transforms:` by its method's kind, and every line of the cell keeps its content behind a fixed prefix. The
//! wrapping remembers where each cell line went, so diagnostics, completions and hovers computed on the wrapped
//! text map back to the cell exactly.

use odp_analysis::{MethodKind, Registry, Section, TextRange};
use odp_syntax::{Node, NodeKind};

/// What a cell holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Nothing but blank lines and comments.
    Empty,
    /// A mapping with `sources`, `transforms` or `inputs`: checked as written.
    Pipeline,
    /// A mapping that is one step.
    Step,
    /// A list of steps.
    Steps,
    /// A lone scalar: not something a cell can hold.
    Scalar,
}

/// Where one cell line went in the wrapped text.
#[derive(Clone, Copy, Debug)]
struct LineMap {
    cell_start: usize,
    wrapped_start: usize,
    /// The line's length without its line break.
    len: usize,
}

/// A cell's text wrapped into a fragment pipeline, with the map back to the cell.
#[derive(Clone, Debug)]
pub struct Wrapped {
    pub text: String,
    pub shape: Shape,
    /// Sorted by `wrapped_start`.
    lines: Vec<LineMap>,
    cell_len: usize,
}

/// The byte ranges of a text's lines, without their line breaks.
fn line_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, text.len()));
    out
}

fn line_of(lines: &[(usize, usize)], offset: usize) -> usize {
    lines
        .iter()
        .position(|&(s, e)| offset >= s && offset <= e)
        .unwrap_or(lines.len().saturating_sub(1))
}

/// The section a step belongs in: `sources` for a source method, `transforms` otherwise (an unknown method is
/// reported by the checker wherever it stands).
pub fn section_of(step: &Node, registry: &Registry) -> Section {
    let method = step
        .get("method")
        .and_then(|e| e.value.scalar())
        .map(|s| s.value.as_str());
    match method.and_then(|m| registry.get(m)) {
        Some(m) if m.spec.kind == MethodKind::Source => Section::Sources,
        _ => Section::Transforms,
    }
}

struct Builder<'a> {
    cell: &'a str,
    lines: Vec<(usize, usize)>,
    text: String,
    map: Vec<LineMap>,
}

impl Builder<'_> {
    fn header(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn line(&mut self, prefix: &str, index: usize) {
        let (start, end) = self.lines[index];
        if index + 1 == self.lines.len() && start == end {
            // The empty "line" after a final line break: nothing to write, but its offset still maps.
            self.map.push(LineMap {
                cell_start: start,
                wrapped_start: self.text.len(),
                len: 0,
            });
            return;
        }
        self.text.push_str(prefix);
        self.map.push(LineMap {
            cell_start: start,
            wrapped_start: self.text.len(),
            len: end - start,
        });
        self.text.push_str(&self.cell[start..end]);
        self.text.push('\n');
    }
}

/// Wraps a cell (with any magic lines already blanked out) for the checker.
pub fn wrap(cell: &str, registry: &Registry) -> Wrapped {
    let parse = odp_syntax::parse(cell);
    let lines = line_ranges(cell);
    let mut b = Builder {
        cell,
        lines: lines.clone(),
        text: String::with_capacity(cell.len() + 64),
        map: Vec::with_capacity(lines.len()),
    };
    let shape = match &parse.root {
        None => Shape::Empty,
        Some(root) => match &root.kind {
            NodeKind::Mapping { .. } => {
                if ["sources", "transforms", "inputs"]
                    .iter()
                    .any(|k| root.get(k).is_some())
                {
                    Shape::Pipeline
                } else {
                    Shape::Step
                }
            }
            NodeKind::Sequence { .. } => Shape::Steps,
            NodeKind::Scalar(_) | NodeKind::Error => Shape::Scalar,
        },
    };
    match (shape, &parse.root) {
        (Shape::Step, Some(root)) => {
            b.header(&format!("{}:\n", section_of(root, registry).key()));
            let first = line_of(&lines, root.range.start());
            for i in 0..lines.len() {
                b.line(if i == first { "  - " } else { "    " }, i);
            }
        }
        (Shape::Steps, Some(root)) => {
            let items = root.items().unwrap_or_default();
            let flow = matches!(root.kind, NodeKind::Sequence { flow: true, .. });
            let sections: Vec<Section> = items.iter().map(|i| section_of(i, registry)).collect();
            let all_sources =
                !sections.is_empty() && sections.iter().all(|s| *s == Section::Sources);
            if flow || sections.iter().all(|s| *s == sections[0]) || sections.is_empty() {
                let section = if all_sources {
                    Section::Sources
                } else {
                    Section::Transforms
                };
                b.header(&format!("{}:\n", section.key()));
                for i in 0..lines.len() {
                    b.line("  ", i);
                }
            } else {
                // Blocks of lines, one per item (leading comments go with the first).
                let starts: Vec<usize> = items
                    .iter()
                    .map(|i| line_of(&lines, i.range.start()))
                    .collect();
                let block = |k: usize| {
                    let from = if k == 0 { 0 } else { starts[k] };
                    let to = starts.get(k + 1).copied().unwrap_or(lines.len());
                    from..to.max(from)
                };
                for section in [Section::Sources, Section::Transforms] {
                    b.header(&format!("{}:\n", section.key()));
                    for (k, s) in sections.iter().enumerate() {
                        if *s == section {
                            for i in block(k) {
                                b.line("  ", i);
                            }
                        }
                    }
                }
            }
        }
        _ => {
            for i in 0..lines.len() {
                b.line("", i);
            }
        }
    }
    let mut map = b.map;
    map.sort_by_key(|l| l.wrapped_start);
    Wrapped {
        text: b.text,
        shape,
        lines: map,
        cell_len: cell.len(),
    }
}

impl Wrapped {
    /// The wrapped offset of a cell offset.
    pub fn to_wrapped(&self, offset: usize) -> usize {
        self.lines
            .iter()
            .find(|l| offset >= l.cell_start && offset <= l.cell_start + l.len)
            .map_or(self.text.len(), |l| {
                l.wrapped_start + (offset - l.cell_start)
            })
    }

    /// The cell offset of a wrapped offset; a place in the added text maps to the start of the next cell line.
    pub fn to_cell(&self, offset: usize) -> usize {
        self.lines
            .iter()
            .find(|l| offset <= l.wrapped_start + l.len)
            .map_or(self.cell_len, |l| {
                l.cell_start + offset.saturating_sub(l.wrapped_start)
            })
    }

    /// How many columns the wrapping added in front of the cell line at `offset` (a wrapped offset).
    pub fn prefix_width(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        self.lines
            .iter()
            .find(|l| l.wrapped_start >= line_start && l.wrapped_start <= line_end)
            .map_or(0, |l| l.wrapped_start - line_start)
    }

    /// A message about the wrapped text as the cell's author reads it: indentation counted in the cell's own
    /// columns, not the wrapped text's (`at` is the diagnostic's wrapped offset).
    pub fn message_to_cell(&self, message: &str, at: usize) -> String {
        const KEY: &str = "this key is indented by ";
        const BEFORE: &str = " spaces, the keys before it by ";
        let parse = || -> Option<(usize, usize, &str)> {
            let rest = message.strip_prefix(KEY)?;
            let (ind, rest) = rest.split_once(BEFORE)?;
            let end = rest.find(|c: char| !c.is_ascii_digit())?;
            Some((ind.parse().ok()?, rest[..end].parse().ok()?, &rest[end..]))
        };
        match parse() {
            Some((ind, before, tail)) => {
                let w = self.prefix_width(at);
                format!(
                    "{KEY}{}{BEFORE}{}{tail}",
                    ind.saturating_sub(w),
                    before.saturating_sub(w)
                )
            }
            None => message.to_string(),
        }
    }

    pub fn range_to_cell(&self, range: TextRange) -> TextRange {
        let start = self.to_cell(range.start());
        let end = self.to_cell(range.end()).max(start);
        TextRange::new(start, end)
    }

    /// The YAML of the list item at `range` (a step's range in the wrapped text) as a mapping of its own: the
    /// first line as written, the others without the item's indentation.
    pub fn item_text(&self, range: TextRange) -> String {
        let text = &self.text;
        let start = range.start().min(text.len());
        let mut end = range.end().clamp(start, text.len());
        // A comment after the item's last value belongs to it.
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        if text[end..line_end].trim_start().starts_with('#') {
            end = line_end;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let col = start - line_start;
        let mut out = String::new();
        for (i, line) in text[start..end].split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                let spaces = line.len() - line.trim_start_matches(' ').len();
                out.push_str(&line[spaces.min(col)..]);
            } else {
                out.push_str(line);
            }
        }
        out.trim_end().to_string()
    }
}

/// Replaces each magic line (`%...` at the start of a line, before the YAML) with spaces, so the rest keeps its
/// offsets; returns the magic lines and the blanked text.
pub fn split_magics(code: &str) -> (Vec<(usize, String)>, String) {
    let mut magics = Vec::new();
    let mut yaml = String::with_capacity(code.len());
    let mut in_yaml = false;
    for (start, end) in line_ranges(code) {
        let line = &code[start..end];
        let trimmed = line.trim_start();
        if !in_yaml && trimmed.starts_with('%') {
            magics.push((start, trimmed.trim_end().to_string()));
            yaml.extend(line.chars().map(|c| if c == '\r' { c } else { ' ' }));
            // A cell magic (`%%name`) takes the rest of the cell.
            if trimmed.starts_with("%%") {
                let rest_start = (end + 1).min(code.len());
                let body = &code[rest_start..];
                if let Some((_, m)) = magics.last_mut() {
                    m.push('\n');
                    m.push_str(body);
                }
                yaml.push_str(&" ".repeat(code.len() - end));
                return (magics, yaml);
            }
        } else {
            if !(trimmed.is_empty() || trimmed.starts_with('#')) {
                in_yaml = true;
            }
            yaml.push_str(line);
        }
        if end < code.len() {
            yaml.push('\n');
        }
    }
    (magics, yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(cell: &str) -> Wrapped {
        wrap(cell, &Registry::bundled())
    }

    #[test]
    fn a_step_goes_under_its_methods_section() {
        let w = wrapped("name: tweets\nmethod: social.twitter.search\nparams: {query: ai}\n");
        assert_eq!(w.shape, Shape::Step);
        assert_eq!(
            w.text,
            "sources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\n"
        );
        let w = wrapped("name: mood\nmethod: nlp.sentiment.analyze");
        assert!(w.text.starts_with("transforms:\n  - name: mood\n"));
        // Offsets map both ways.
        let at = "name: mood\nmethod: nlp.".len();
        let back = w.to_cell(w.to_wrapped(at));
        assert_eq!(back, at);
        assert_eq!(&w.text[w.to_wrapped(at) - 4..w.to_wrapped(at)], "nlp.");
        // The added text maps to the start of the next cell line.
        assert_eq!(w.to_cell(0), 0);
        assert_eq!(
            w.to_cell(w.text.len()),
            "name: mood\nmethod: nlp.sentiment.analyze".len()
        );
    }

    #[test]
    fn a_list_of_steps_is_split_by_section() {
        let cell = "# first the posts\n- name: mood\n  method: nlp.sentiment.analyze\n  params: {texts: \"{{tweets.results[*].text}}\"}\n- name: tweets\n  method: social.twitter.search\n  params: {query: ai}\n";
        let w = wrapped(cell);
        assert_eq!(w.shape, Shape::Steps);
        assert_eq!(
            w.text,
            "sources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\ntransforms:\n  # first the posts\n  - name: mood\n    method: nlp.sentiment.analyze\n    params: {texts: \"{{tweets.results[*].text}}\"}\n"
        );
        for at in [0, 5, 20, cell.find("tweets\n").unwrap(), cell.len()] {
            assert_eq!(w.to_cell(w.to_wrapped(at)), at, "offset {at}");
        }
    }

    #[test]
    fn pipelines_are_read_as_written() {
        let cell = "inputs:\n  q: {type: string}\nsources: []\n";
        let w = wrapped(cell);
        assert_eq!(w.shape, Shape::Pipeline);
        assert_eq!(w.text, cell);
        assert_eq!(w.to_cell(7), 7);
        assert_eq!(wrapped("  \n# only a comment\n").shape, Shape::Empty);
        assert_eq!(wrapped("hello").shape, Shape::Scalar);
    }

    #[test]
    fn item_text_is_a_mapping_of_its_own() {
        let w = wrapped(
            "- name: a\n  method: social.twitter.search   # posts\n  params:\n    query: ai\n",
        );
        let analysis = odp_analysis::analyze(
            &w.text,
            &odp_analysis::Environment {
                fragment: true,
                ..odp_analysis::Environment::new(&Registry::bundled())
            },
        );
        let step = &analysis.pipeline.steps[0];
        assert_eq!(
            w.item_text(step.range),
            "name: a\nmethod: social.twitter.search   # posts\nparams:\n  query: ai"
        );
    }

    #[test]
    fn magic_lines_are_blanked() {
        let (magics, yaml) = split_magics("%inputs q=ai\n%steps\nname: x\n%notmagic\n");
        assert_eq!(
            magics,
            vec![(0, "%inputs q=ai".to_string()), (13, "%steps".to_string())]
        );
        assert_eq!(yaml, "            \n      \nname: x\n%notmagic\n");
        let (magics, yaml) = split_magics("%%draft\nsome words\n");
        assert_eq!(magics, vec![(0, "%%draft\nsome words\n".to_string())]);
        assert_eq!(yaml.trim(), "");
    }
}
