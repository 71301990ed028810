//! Type hints: after each template in a param value, the type the checker gave it (`: list<string>`). The types
//! are the analysis's own ([`odp_analysis::Reference::ty`]); nothing here types a template again.

use odp_analysis::{Code, Target, TextRange, escape_control, template};

use crate::Snapshot;
use crate::markdown::{input_markdown, method_markdown};

/// One type hint: `label` goes at `offset`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeHint {
    pub offset: usize,
    /// `: list<string>`.
    pub label: String,
    /// Where the value comes from: what [`Snapshot::type_hint_tooltip`] documents, on demand.
    pub origin: HintOrigin,
}

/// Where a template's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HintOrigin {
    /// A step (of this text, or an earlier notebook cell) and its method, when it names one.
    Step {
        name: String,
        method: Option<String>,
    },
    Input(String),
}

impl Snapshot<'_> {
    /// The type hints whose position lies in `range` (ends included). A template that is a param's whole value
    /// gets its hint after the value (after the closing quote); one inside a longer string right after its `}}`.
    /// Templates that do not resolve (a syntax error, an unknown root or field) get none: their diagnostic says
    /// more. A type mismatch keeps its hint: the type is what it is about.
    pub fn type_hints(&self, range: TextRange) -> Vec<TypeHint> {
        let analysis = self.analysis;
        let root = analysis.parse.root.as_ref();
        let mut hints = Vec::new();
        for r in &analysis.references {
            // The hint is at the template's end or at its scalar's end, a quote further: a template that ends
            // before the range cannot have its hint in it.
            if r.range.end() + 1 < range.start() || r.range.start() > range.end() {
                continue;
            }
            let origin = match &r.target {
                Target::Input(name) => HintOrigin::Input(name.to_string()),
                Target::Step(i) => {
                    let step = &analysis.pipeline.steps[*i];
                    HintOrigin::Step {
                        name: step.name.as_ref().map_or("", |n| &n.value).to_string(),
                        method: step.method.as_ref().map(|m| m.value.clone()),
                    }
                }
                Target::External(name) => HintOrigin::Step {
                    name: name.to_string(),
                    method: self
                        .env
                        .external_steps
                        .iter()
                        .find(|s| s.name.as_str() == name.as_ref())
                        .and_then(|s| s.method.clone()),
                },
                Target::Unresolved => continue,
            };
            if self.is_broken(r.range) {
                continue;
            }
            // The scalar that holds the template: when the template is all of it, the hint follows the scalar.
            let scalar = root
                .and_then(|root| root.path_to(r.range.start()).last().copied())
                .filter(|node| node.range.contains_range(r.range));
            let offset = match scalar.and_then(|node| Some((node, node.scalar()?))) {
                Some((node, s)) if node.range == r.range || template::parse(&s.value).whole => {
                    node.range.end()
                }
                _ => r.range.end(),
            };
            if offset < range.start() || offset > range.end() {
                continue;
            }
            hints.push(TypeHint {
                offset,
                label: format!(": {}", escape_control(&r.ty.to_string())),
                origin,
            });
        }
        hints
    }

    /// Whether a template's resolution is reported broken inside `range` (diagnostics are sorted by position).
    fn is_broken(&self, range: TextRange) -> bool {
        let diagnostics = &self.analysis.diagnostics;
        let first = diagnostics.partition_point(|d| d.range.start() < range.start());
        diagnostics[first..]
            .iter()
            .take_while(|d| d.range.start() <= range.end())
            .any(|d| {
                matches!(
                    d.code,
                    Code::TemplateSyntax | Code::UnknownReference | Code::UnknownField
                ) && range.contains_range(d.range)
            })
    }

    /// The Markdown a type hint shows on demand: the documentation of the method whose step the value comes
    /// from, or the input's declaration. `None` when the text no longer has what the hint named.
    pub fn type_hint_tooltip(&self, origin: &HintOrigin) -> Option<String> {
        match origin {
            HintOrigin::Step { name, method } => {
                let method = self.env.registry.get(method.as_deref()?)?;
                Some(format!(
                    "from step `{}`\n\n---\n\n{}",
                    escape_control(name),
                    method_markdown(method)
                ))
            }
            HintOrigin::Input(name) => {
                let input = self.analysis.pipeline.input(name);
                let external = self.env.external_inputs.iter().find(|i| i.name == *name);
                match (input, external) {
                    (Some(input), _) => Some(input_markdown(input)),
                    (None, Some(external)) => Some(format!(
                        "**input `{}`**: `{}` (set outside the pipeline)\n",
                        escape_control(name),
                        escape_control(&external.ty.to_string())
                    )),
                    (None, None) => None,
                }
            }
        }
    }
}
