//! Folding ranges: every multi-line entry and list item, and runs of comment lines.

use odp_syntax::{Node, NodeKind};

use crate::Snapshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoldKind {
    Region,
    Comment,
}

/// A foldable range of lines (0-based, inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    pub start_line: u32,
    pub end_line: u32,
    pub kind: FoldKind,
}

impl Snapshot<'_> {
    pub fn folds(&self) -> Vec<Fold> {
        let index = odp_syntax::LineIndex::new(self.text);
        let line = |offset: usize| index.line_of(offset) as u32;
        let mut out = Vec::new();
        if let Some(root) = &self.analysis.parse.root {
            collect_folds(root, &line, &mut out);
        }
        // Runs of two or more comment lines.
        let mut run: Option<(u32, u32)> = None;
        for c in &self.analysis.parse.comments {
            let l = line(c.range.start());
            let own_line = self.text[..c.range.start()]
                .rsplit('\n')
                .next()
                .is_some_and(|before| before.trim().is_empty());
            if !own_line {
                continue;
            }
            run = match run {
                Some((s, e)) if e + 1 == l => Some((s, l)),
                Some((s, e)) => {
                    if e > s {
                        out.push(Fold {
                            start_line: s,
                            end_line: e,
                            kind: FoldKind::Comment,
                        });
                    }
                    Some((l, l))
                }
                None => Some((l, l)),
            };
        }
        if let Some((s, e)) = run
            && e > s
        {
            out.push(Fold {
                start_line: s,
                end_line: e,
                kind: FoldKind::Comment,
            });
        }
        out.sort_by_key(|f| (f.start_line, f.end_line));
        out.dedup_by_key(|f| (f.start_line, f.end_line));
        out
    }
}

fn collect_folds(node: &Node, line: &dyn Fn(usize) -> u32, out: &mut Vec<Fold>) {
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for e in entries {
                let (s, end) = (line(e.key_range.start()), line(e.value.range.end()));
                if end > s {
                    out.push(Fold {
                        start_line: s,
                        end_line: end,
                        kind: FoldKind::Region,
                    });
                }
                collect_folds(&e.value, line, out);
            }
        }
        NodeKind::Sequence { items, .. } => {
            for item in items {
                let (s, end) = (line(item.range.start()), line(item.range.end()));
                if end > s {
                    out.push(Fold {
                        start_line: s,
                        end_line: end,
                        kind: FoldKind::Region,
                    });
                }
                collect_folds(item, line, out);
            }
        }
        _ => {}
    }
}
