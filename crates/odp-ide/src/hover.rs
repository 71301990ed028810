//! Hover: a template's type and origin, a method's documentation, a param's schema, a key's meaning.

use odp_analysis::{Target, TextRange, escape_control_in_lines};

use crate::Snapshot;
use crate::markdown::{method_markdown, param_markdown};
use odp_analysis::keys::Place;

#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    pub range: TextRange,
    pub markdown: String,
}

impl Snapshot<'_> {
    pub fn hover(&self, offset: usize) -> Option<Hover> {
        let analysis = self.analysis;
        // A template.
        if let Some(r) = analysis
            .references
            .iter()
            .find(|r| r.range.contains_inclusive(offset) && !r.range.is_empty())
        {
            let origin = match &r.target {
                Target::Input(name) => {
                    let input = analysis.pipeline.input(name);
                    format!(
                        "input `{name}`{}",
                        input
                            .and_then(|i| i.description.as_ref())
                            .map(|d| format!(" — {d}"))
                            .unwrap_or_default()
                    )
                }
                Target::Step(i) => {
                    let step = &analysis.pipeline.steps[*i];
                    format!(
                        "step `{}` ({})",
                        step.name.as_ref().map_or("?", |n| n.value.as_str()),
                        step.method
                            .as_ref()
                            .map_or("no method", |m| m.value.as_str())
                    )
                }
                Target::External(name) => format!("`{name}` from an earlier cell"),
                Target::Unresolved => "unresolved".into(),
            };
            return Some(Hover {
                range: r.range,
                markdown: escape_control_in_lines(&format!(
                    "`{{{{{}}}}}`: `{}`\n\nfrom {origin}",
                    r.path, r.ty
                ))
                .into_owned(),
            });
        }
        // A method id.
        for step in &analysis.pipeline.steps {
            if let Some(m) = &step.method
                && m.range.contains_inclusive(offset)
            {
                let method = self.env.registry.get(&m.value)?;
                return Some(Hover {
                    range: m.range,
                    markdown: method_markdown(method),
                });
            }
        }
        // A key: a param, a step key or a pipeline key.
        let root = analysis.parse.root.as_ref()?;
        let chain = root.path_to(offset);
        for (depth, node) in chain.iter().enumerate().rev() {
            let Some(entries) = node.entries() else {
                continue;
            };
            let Some(entry) = entries
                .iter()
                .find(|e| e.key_range.contains_inclusive(offset))
            else {
                continue;
            };
            // A param key: its mapping is the `params` of a step.
            if let Some(step) = analysis
                .pipeline
                .steps
                .iter()
                .position(|s| s.params_range == Some(node.range))
                && let Some(m) = self.method_of(step)
            {
                let (_, schema) = m.params().find(|(n, _)| *n == entry.key)?;
                let required = m.required_params().any(|r| r == entry.key);
                return Some(Hover {
                    range: entry.key_range,
                    markdown: param_markdown(&entry.key, schema, required),
                });
            }
            let place = match depth {
                0 => Place::Pipeline,
                _ if analysis
                    .pipeline
                    .steps
                    .iter()
                    .any(|s| s.range == node.range) =>
                {
                    Place::Step
                }
                _ => return None,
            };
            let key = place.key(&entry.key)?;
            return Some(Hover {
                range: entry.key_range,
                markdown: format!("**{}**\n\n{}", entry.key, key.documentation()),
            });
        }
        None
    }
}
