//! The `inputs:` section: each input's keys, type, default and whether it is required.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn inputs(&mut self, node: &Node) {
        if node.is_null() {
            return;
        }
        let Some(entries) = node.entries() else {
            self.wrong_type(node, "`inputs`", "a mapping of input names to declarations");
            return;
        };
        self.duplicate_keys(node);
        for entry in entries {
            if self.pipeline.input(&entry.key).is_some() {
                continue;
            }
            if !is_identifier(&entry.key) {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    entry.key_range,
                    format!(
                        "`{}` is not a valid input name: use letters, digits and `_`, not starting with a digit",
                        entry.key
                    ),
                ));
            }
            let mut input = Input {
                name: Spanned {
                    value: entry.key.to_string(),
                    range: entry.key_range,
                },
                ty: Ty::Any,
                type_name: None,
                default: None,
                description: None,
                required: false,
                range: entry.range(),
            };
            let decl = &entry.value;
            match decl.entries() {
                None => self.wrong_type(
                    decl,
                    &format!("input `{}`", entry.key),
                    "a mapping with `type`, `default`, `description`",
                ),
                Some(fields) => {
                    self.duplicate_keys(decl);
                    for f in fields {
                        match f.key.as_str() {
                            "type" => match string_of(&f.value).map(|s| (s, InputType::parse(s))) {
                                Some((name, Some(t))) => {
                                    input.ty = input_ty(t);
                                    input.type_name = Some(name.to_string());
                                }
                                Some((name, None)) => {
                                    let mut d = Diagnostic::new(
                                        Code::InvalidValue,
                                        f.value.range,
                                        format!("unknown input type `{name}`"),
                                    );
                                    if let Some(s) = suggest(name, InputType::NAMES.iter().copied())
                                    {
                                        d = d.with_fix(
                                            format!("Replace with `{s}`"),
                                            Applicability::Unsafe,
                                            vec![TextEdit {
                                                range: f.value.range,
                                                new_text: s.to_string(),
                                            }],
                                        );
                                    }
                                    self.push(d.with_help(format!(
                                        "expected one of {}",
                                        backticked(InputType::NAMES)
                                    )));
                                }
                                None => self.wrong_type(&f.value, "`type`", "a type name"),
                            },
                            "default" => input.default = Some(node_to_serde(&f.value)),
                            "description" => {
                                input.description = self
                                    .string_value(&f.value, "`description`")
                                    .map(str::to_string)
                            }
                            "required" => match f.value.scalar().map(Scalar::resolve) {
                                Some(ScalarValue::Bool(b)) => input.required = b,
                                Some(ScalarValue::Str(word)) if yaml11_bool(word).is_some() => {
                                    let b = yaml11_bool(word).unwrap_or_default();
                                    self.push(
                                        Diagnostic::new(
                                            Code::WrongType,
                                            f.value.range,
                                            format!("`required` must be true or false, found the string `{word}`"),
                                        )
                                        .with_help(format!("YAML 1.2 reads `{word}` as a string: write `{b}`"))
                                        .with_fix(
                                            format!("Use `{b}`"),
                                            Applicability::Safe,
                                            vec![TextEdit {
                                                range: f.value.range,
                                                new_text: b.to_string(),
                                            }],
                                        ),
                                    );
                                }
                                _ => self.wrong_type(&f.value, "`required`", "true or false"),
                            },
                            _ => self.unknown_key(f, Place::Input),
                        }
                    }
                    if decl.get("type").is_none() && !misspelt(fields, Place::Input, "type") {
                        self.push(
                            Diagnostic::new(
                                Code::MissingKey,
                                entry.key_range,
                                format!("input `{}` has no `type`", entry.key),
                            )
                            .with_help(format!(
                                "add `type:` with one of {}",
                                backticked(InputType::NAMES)
                            )),
                        );
                    }
                    if let (Some(default), Some(default_node)) =
                        (&input.default, decl.get("default"))
                        && !default.is_null()
                        && !Ty::of_value(default).fits(&input.ty)
                    {
                        self.push(Diagnostic::new(
                            Code::InvalidValue,
                            default_node.value.range,
                            format!(
                                "the default of `{}` is {}, but its type is `{}`",
                                entry.key,
                                default_node.value.kind_name(),
                                input.type_name.as_deref().unwrap_or("?")
                            ),
                        ));
                    }
                }
            }
            self.pipeline.inputs.push(input);
        }
    }
}

/// The input type that declares values of a type, where there is one.
pub(super) fn input_type_name(ty: &Ty) -> Option<&'static str> {
    Some(match ty {
        Ty::String => "string",
        Ty::Int => "integer",
        Ty::Number => "number",
        Ty::Bool => "boolean",
        Ty::List(_) => "array",
        Ty::Object { .. } => "object",
        _ => return None,
    })
}

pub(super) fn input_ty(t: InputType) -> Ty {
    match t {
        InputType::String => Ty::String,
        InputType::Integer => Ty::Int,
        InputType::Number => Ty::Number,
        InputType::Boolean => Ty::Bool,
        InputType::Array => Ty::list(Ty::Any),
        InputType::Object => Ty::Object {
            fields: Default::default(),
            open: true,
        },
    }
}
