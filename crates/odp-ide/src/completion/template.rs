//! Completion inside `{{ ... }}`: the roots a template may use here, then the fields of the type typed so far.

use odp_analysis::ty::FieldLookup;
use odp_analysis::{Section, Ty};

use super::{CompletionItem, CompletionKind, word_range};
use crate::Snapshot;
use crate::context::PathPart;
use crate::markdown::method_markdown;

impl Snapshot<'_> {
    /// The steps a template in step `from` may use, with their indices (or `None` for external steps).
    fn visible_steps(&self, from: Option<usize>) -> Vec<(String, Option<usize>)> {
        let steps = &self.analysis.pipeline.steps;
        let from_section = from.map(|i| steps[i].section);
        let mut out: Vec<(String, Option<usize>)> = Vec::new();
        if from_section == Some(Section::Sources) {
            return out;
        }
        for e in self.env.external_steps {
            out.push((e.name.clone(), None));
        }
        for (i, s) in steps.iter().enumerate() {
            let visible = match from {
                Some(f) => i != f && (s.section == Section::Sources || i < f),
                None => true,
            };
            if visible && let Some(n) = &s.name {
                out.push((n.value.clone(), Some(i)));
            }
        }
        out
    }

    pub(super) fn template_completions(
        &self,
        path: &[PathPart],
        parent: &[String],
        offset: usize,
    ) -> Vec<CompletionItem> {
        let replace = word_range(self.text, offset, |c| c.is_alphanumeric() || c == '_');
        let from = Self::section_of(path).and_then(|_| self.step_at(path, offset));
        let item = |label: &str, kind, detail: String, doc: Option<String>| CompletionItem {
            label: label.to_string(),
            kind,
            detail: Some(detail),
            documentation: doc,
            insert_text: label.to_string(),
            snippet: false,
            replace,
            sort_text: String::new(),
        };
        let Some((root, rest)) = parent.split_first() else {
            // Roots: inputs and the steps visible from here.
            let mut items = vec![item(
                "inputs",
                CompletionKind::Input,
                "the pipeline's inputs".into(),
                None,
            )];
            for (name, index) in self.visible_steps(from) {
                let (detail, doc) = match index {
                    Some(i) => {
                        let step = &self.analysis.pipeline.steps[i];
                        let method = step.method.as_ref().map_or("?", |m| m.value.as_str());
                        (
                            format!("{method} → {}", step.output),
                            self.env.registry.get(method).map(method_markdown),
                        )
                    }
                    None => ("an earlier cell".to_string(), None),
                };
                items.push(item(&name, CompletionKind::Step, detail, doc));
            }
            return items;
        };
        let ty = if root == "inputs" {
            let Some((name, rest)) = rest.split_first() else {
                return self
                    .analysis
                    .pipeline
                    .inputs
                    .iter()
                    .map(|i| {
                        item(
                            &i.name.value,
                            CompletionKind::Input,
                            i.type_name.clone().unwrap_or_else(|| i.ty.to_string()),
                            i.description.clone(),
                        )
                    })
                    .chain(
                        self.env
                            .external_inputs
                            .iter()
                            .map(|i| item(&i.name, CompletionKind::Input, i.ty.to_string(), None)),
                    )
                    .collect();
            };
            let base = self
                .analysis
                .pipeline
                .input(name)
                .map(|i| i.ty.clone())
                .or_else(|| {
                    self.env
                        .external_inputs
                        .iter()
                        .find(|i| i.name == *name)
                        .map(|i| i.ty.clone())
                });
            base.and_then(|t| walk(t, rest))
        } else {
            let base = self
                .analysis
                .pipeline
                .step(root)
                .map(|s| s.output.clone())
                .or_else(|| {
                    self.env
                        .external_steps
                        .iter()
                        .find(|e| e.name == *root)
                        .map(|e| e.output.clone())
                });
            let declared = base.and_then(|t| walk(t, rest));
            // Where the declared output knows no fields, the live result's type does.
            match declared {
                Some(t) if !fields_of(&t).is_empty() => Some(t),
                declared => self
                    .env
                    .live
                    .iter()
                    .find(|live| live.step == *root)
                    .and_then(|live| walk(live.ty.clone(), rest))
                    .or(declared),
            }
        };
        let Some(ty) = ty else {
            return Vec::new();
        };
        fields_of(&ty)
            .into_iter()
            .map(|(name, t)| item(&name, CompletionKind::Field, t.to_string(), None))
            .collect()
    }
}

/// Follows a typed template path (`results`, `[*]`, `[0]`).
fn walk(mut ty: Ty, segments: &[String]) -> Option<Ty> {
    for seg in segments {
        ty = if seg.starts_with('[') {
            ty.item()?
        } else {
            match ty.field(seg) {
                FieldLookup::Found(t) => t,
                _ => return None,
            }
        };
    }
    Some(ty)
}

/// What can follow a value of this type in a template: its fields, or `[*]`/`[0]` for a list.
fn fields_of(ty: &Ty) -> Vec<(String, Ty)> {
    match ty {
        Ty::Object { fields, .. } => fields.iter().map(|(k, t)| (k.clone(), t.clone())).collect(),
        Ty::Union(members) => members.iter().flat_map(fields_of).collect(),
        _ => Vec::new(),
    }
}
