//! Completion inside `{{ ... }}`: the roots a template may use here, then the fields of the type typed so far.

use odp_analysis::Ty;
use odp_analysis::roots::Roots;
use odp_analysis::ty::FieldLookup;

use super::{CompletionItem, CompletionKind, word_range};
use crate::Snapshot;
use crate::context::PathPart;
use crate::markdown::method_markdown;

impl Snapshot<'_> {
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
        let pipeline = &self.analysis.pipeline;
        let roots = Roots::new(pipeline, self.env);
        let Some((root, rest)) = parent.split_first() else {
            // Roots: inputs and the steps visible from here.
            let mut items = vec![item(
                "inputs",
                CompletionKind::Input,
                "the pipeline's inputs".into(),
                None,
            )];
            for (name, index) in roots.visible_steps(pipeline, from) {
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
                items.push(item(name, CompletionKind::Step, detail, doc));
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
            roots.input(pipeline, name).and_then(|t| walk(t, rest))
        } else {
            let declared = roots
                .step_output(pipeline, root)
                .and_then(|t| walk(t, rest));
            // Where the declared output knows no fields, the live result's type does.
            match declared {
                Some(t) if !fields_of(&t).is_empty() => Some(t),
                declared => roots
                    .live(root)
                    .and_then(|live| walk(live.clone(), rest))
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
