//! Templates: resolving each one's root (an input, a step of this pipeline, of the environment) through the
//! scope, walking its path through the output's type, and counting half-typed ones as uses.

use super::*;
use crate::roots::StepRoot;

impl<'a> Checker<'a> {
    /// The declared input a template is exactly (`{{inputs.NAME}}`).
    pub(super) fn input_of(&mut self, path: &template::Path) -> Option<&Input> {
        let name = match path.segments.as_slice() {
            [seg] if path.root == "inputs" => match &seg.accessor {
                Accessor::Field(name) => name,
                _ => return None,
            },
            _ => return None,
        };
        // What is said about the input points at its declaration, outside the step.
        self.scope.input_declaration(&self.pipeline, name)
    }

    /// Counts the roots of broken templates (`{{tweets.` being typed) as used, so that a half-written reference
    /// does not also make its source or input "unused".
    pub(super) fn mark_partial_uses(&mut self, value: &str) {
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        for (at, _) in value.match_indices("{{") {
            let rest = value[at + 2..].trim_start_matches([' ', '\t']);
            let root = ident(rest);
            if root == "inputs" {
                if let Some(after) = rest[root.len()..].strip_prefix('.') {
                    let name = ident(after);
                    if self.scope.lookup_input(&self.pipeline, &name).is_some() {
                        self.scope.use_input(&name);
                    }
                }
            } else if let Some(StepRoot::Own(target)) = self
                .scope
                .lookup_step(&self.pipeline, &root)
                .map(|f| f.root)
            {
                self.scope.use_step(target);
            }
        }
    }

    /// Resolves a template's root and path, records the reference and returns its type.
    pub(super) fn reference(
        &mut self,
        index: usize,
        section: Section,
        place: &ScalarPlace,
        t: &Template,
    ) -> Ty {
        let range = place.range(t.span.clone());
        let root_range = place.range(t.path.root_span.clone());
        let path = &t.path;
        let mut reference = Reference {
            range,
            root_range,
            path: path.clone(),
            target: Target::Unresolved,
            from_step: Some(index),
            ty: Ty::Any,
        };
        let (base_ty, segments, shown_root) = if path.root == "inputs" {
            let Some((first, rest)) = path.segments.split_first() else {
                self.push(Diagnostic::new(
                    Code::TemplateSyntax,
                    range,
                    "`{{inputs}}` needs an input name: `{{inputs.NAME}}`",
                ));
                self.refs.push(reference);
                return Ty::Any;
            };
            let Accessor::Field(name) = &first.accessor else {
                self.push(Diagnostic::new(
                    Code::TemplateSyntax,
                    place.range(first.span.clone()),
                    "inputs are addressed by name: `{{inputs.NAME}}`",
                ));
                self.refs.push(reference);
                return Ty::Any;
            };
            let name_range = place.range(first.span.start + 1..first.span.end);
            let declared = self.scope.lookup_input(&self.pipeline, name);
            match declared {
                Some(ty) => {
                    self.scope.use_input(name);
                    reference.target = Target::Input(name.as_str().into());
                    (ty, rest, format!("inputs.{name}"))
                }
                None => {
                    let mut names = self.scope.every_input_name(&self.pipeline);
                    names.retain(|n| is_identifier(n)); // only names a template can address
                    let mut d = Diagnostic::new(
                        Code::UnknownReference,
                        name_range,
                        format!("unknown input `{name}`"),
                    );
                    let suggestion = suggest(name, names.iter().copied());
                    // The misspelt reference most likely meant the suggestion: count it as used, so that no
                    // "unused input" warning follows from the same typo.
                    if let Some(sug) = suggestion {
                        self.scope.use_input(sug);
                    }
                    d = match suggestion {
                        Some(sug) => did_you_mean(
                            d,
                            sug,
                            (name_range != place.node_range).then_some(name_range),
                        ),
                        None if names.is_empty() => d.with_help("declare it under `inputs:`"),
                        None => d.with_help(format!("the inputs are {}", backticked(&names))),
                    };
                    self.push(d);
                    self.refs.push(reference);
                    return Ty::Any;
                }
            }
        } else {
            let name = path.root.as_str();
            if let Some(found) = self.scope.lookup_step(&self.pipeline, name) {
                let own = match found.root {
                    StepRoot::Own(target) => Some(target),
                    StepRoot::External(_) => None,
                };
                reference.target = match own {
                    Some(target) => Target::Step(target),
                    None => Target::External(name.into()),
                };
                if own == Some(index) {
                    self.push(
                        Diagnostic::new(
                            Code::SelfReference,
                            root_range,
                            format!("step `{name}` refers to its own result"),
                        )
                        .with_help("a step's result exists only after it ran: use the result of an earlier step"),
                    );
                } else if section == Section::Sources {
                    let mut d = Diagnostic::new(
                        Code::SourceReferencesStep,
                        root_range,
                        format!("a source can only use `inputs`, but this one uses step `{name}`"),
                    );
                    if let Some(defined) = self.scope.declaration_of_step(&found) {
                        d = d.with_related(defined, format!("`{name}` is defined here"));
                    }
                    self.push(d.with_help(
                        "sources run in parallel; move this step to `transforms` if it needs another step's result",
                    ));
                } else if own.is_some_and(|target| target > index) {
                    let mut d = Diagnostic::new(
                        Code::ForwardReference,
                        root_range,
                        format!("`{name}` runs after this step"),
                    );
                    if let Some(defined) = self.scope.declaration_of_step(&found) {
                        d = d.with_related(defined, format!("`{name}` is defined here"));
                    }
                    self.push(
                        d.with_help("transforms run in the order written: move one of the steps"),
                    );
                }
                if let Some(target) = own {
                    self.scope.use_step(target);
                }
                (found.output, &path.segments[..], name.to_string())
            } else {
                let mut names = self.scope.every_step_name(&self.pipeline, index);
                names.retain(|n| is_identifier(n)); // only names a template can address
                names.push("inputs");
                let mut d = Diagnostic::new(
                    Code::UnknownReference,
                    root_range,
                    format!("unknown step `{name}`"),
                );
                let suggestion = suggest(name, names.iter().copied());
                if let Some(sug) = suggestion {
                    self.scope.use_step_named(sug);
                }
                d = match suggestion {
                    Some(sug) => did_you_mean(
                        d,
                        sug,
                        (root_range != place.node_range).then_some(root_range),
                    ),
                    None => {
                        let steps: Vec<&str> =
                            names.iter().copied().filter(|n| *n != "inputs").collect();
                        if steps.is_empty() {
                            d.with_help("a template starts with `inputs` or the name of a step")
                        } else {
                            d.with_help(format!(
                                "a template starts with `inputs` or the name of a step: {}",
                                backticked(&steps)
                            ))
                        }
                    }
                };
                self.push(d);
                self.refs.push(reference);
                return Ty::Any;
            }
        };
        let ty = self.walk_path(place, base_ty, segments, shown_root);
        reference.ty = ty.clone();
        // Where the declared output does not know the type, the step's live result may: the reference shows it
        // (completion, hover), while the checks above and the type returned (for the param's checks) stay the
        // declared ones, so diagnostics never depend on a run.
        if knows_nothing(&ty)
            && matches!(reference.target, Target::Step(_))
            && let Some(live) = self.scope.lookup_live(&path.root)
            && let Some(live) = type_at(live, segments)
        {
            reference.ty = live;
        }
        self.refs.push(reference);
        ty
    }

    /// The type at the end of a path, reporting the first segment that does not exist.
    pub(super) fn walk_path(
        &mut self,
        place: &ScalarPlace,
        ty: Ty,
        segments: &[template::Segment],
        mut shown: String,
    ) -> Ty {
        let Some((seg, rest)) = segments.split_first() else {
            return ty;
        };
        crate::work::add(1);
        match &seg.accessor {
            Accessor::Field(field) => match ty.field(field) {
                FieldLookup::Found(next) => {
                    shown.push('.');
                    shown.push_str(field);
                    self.walk_path(place, next, rest, shown)
                }
                FieldLookup::Missing(fields) => {
                    let range = place.range(seg.span.start + 1..seg.span.end);
                    let mut d = Diagnostic::new(
                        Code::UnknownField,
                        range,
                        format!("`{shown}` has no field `{field}`"),
                    );
                    d = match suggest(field, fields.iter().copied()) {
                        Some(sug) => {
                            did_you_mean(d, sug, (range != place.node_range).then_some(range))
                        }
                        None => d.with_help(format!("its fields are {}", backticked(&fields))),
                    };
                    self.push(d);
                    Ty::Any
                }
                FieldLookup::NotAnObject => {
                    let range = place.range(seg.span.clone());
                    let mut d = Diagnostic::new(
                        Code::UnknownField,
                        range,
                        format!("`{shown}` is {ty}, which has no fields"),
                    );
                    let item_has_field = ty
                        .item()
                        .is_some_and(|item| matches!(item.field(field), FieldLookup::Found(_)));
                    if ty.is_list() && item_has_field {
                        d = d.with_help(format!(
                            "`{shown}` is a list: use `{shown}[*].{field}` for the `{field}` of every item, or `{shown}[0].{field}` for the first"
                        ));
                        // Only where the accessor is written as it reads (not inside an escaped scalar).
                        if range != place.node_range {
                            d = d.with_fix(
                                format!("Use `{shown}[*].{field}`"),
                                Applicability::Unsafe,
                                vec![TextEdit {
                                    range,
                                    new_text: format!("[*].{field}"),
                                }],
                            );
                        }
                    } else if ty.is_list() {
                        d = d.with_help(format!(
                            "`{shown}` is a list: address its items with `[*]` or `[0]`"
                        ));
                    }
                    self.push(d);
                    Ty::Any
                }
            },
            Accessor::Index(i) => match ty.item() {
                Some(item) => {
                    shown.push_str(&format!("[{i}]"));
                    self.walk_path(place, item, rest, shown)
                }
                None => {
                    self.push(Diagnostic::new(
                        Code::UnknownField,
                        place.range(seg.span.clone()),
                        format!("`{shown}` is {ty}, not a list: it cannot be indexed"),
                    ));
                    Ty::Any
                }
            },
            Accessor::Wildcard => match ty.item() {
                Some(item) => {
                    shown.push_str("[*]");
                    Ty::list(self.walk_path(place, item, rest, shown))
                }
                None => {
                    self.push(Diagnostic::new(
                        Code::UnknownField,
                        place.range(seg.span.clone()),
                        format!("`{shown}` is {ty}, not a list: `[*]` needs a list"),
                    ));
                    Ty::Any
                }
            },
        }
    }
}

/// `any`, or a list (of lists ...) of `any`: what a path into a `dynamic` output resolves to.
pub(super) fn knows_nothing(mut ty: &Ty) -> bool {
    loop {
        match ty {
            Ty::Any => return true,
            Ty::List(item) => ty = item,
            _ => return false,
        }
    }
}

/// The type at the end of a path, or `None` where it does not exist (no diagnostics: see [`Checker::walk_path`]).
pub(super) fn type_at(mut ty: Ty, segments: &[template::Segment]) -> Option<Ty> {
    // Wildcards wrap what follows them in a list: count them and wrap at the end (no recursion).
    let mut lists = 0;
    for seg in segments {
        ty = match &seg.accessor {
            Accessor::Field(field) => match ty.field(field) {
                FieldLookup::Found(next) => next,
                _ => return None,
            },
            Accessor::Index(_) => ty.item()?,
            Accessor::Wildcard => {
                lists += 1;
                ty.item()?
            }
        };
    }
    for _ in 0..lists {
        ty = Ty::list(ty);
    }
    Some(ty)
}

/// When a list of objects is given where a list of something else is expected, the projection of a field that
/// fits (`{{tweets.results[*].text}}` for a list of strings).
pub(super) fn projection_hint(path: &template::Path, actual: &Ty, expected: &Ty) -> Option<String> {
    let expected_item = match expected {
        Ty::List(item) => item,
        _ => return None,
    };
    let Ty::List(item) = actual else {
        return None;
    };
    let Ty::Object { fields, .. } = &**item else {
        return None;
    };
    // Prefer `text`, then any field that fits.
    let mut names: Vec<&String> = fields.keys().collect();
    names.sort_by_key(|n| (*n != "text", *n != "content", (*n).clone()));
    let field = names.into_iter().find(|n| fields[*n].fits(expected_item))?;
    Some(format!("{path}[*].{field}"))
}
