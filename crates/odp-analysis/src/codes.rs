//! The stable diagnostic codes. Codes never change meaning; retired codes are never reused.
//! `odp-lsp explain CODE` prints [`Code::doc`], the same text the diagnostics' links point to.

use serde::{Serialize, Serializer};

use crate::diagnostic::Severity;

/// Where a code's documentation lists the keys of each place, from [`crate::keys`].
const ACCEPTED_KEYS: &str = "<<the keys each place accepts>>";
const REQUIRED_KEYS: &str = "<<the keys each place needs>>";

macro_rules! codes {
    ($( $variant:ident = $id:literal, $name:literal, $sev:ident, $summary:literal, $doc:literal; )*) => {
        /// A diagnostic's stable code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The code as written in output and suppressions, e.g. `ODP300`.
            pub fn id(self) -> &'static str { match self { $( Code::$variant => $id, )* } }

            /// The code's readable name, e.g. `unknown-method` (also accepted in suppressions).
            pub fn name(self) -> &'static str { match self { $( Code::$variant => $name, )* } }

            pub fn default_severity(self) -> Severity { match self { $( Code::$variant => Severity::$sev, )* } }

            /// One line: what the code reports.
            pub fn summary(self) -> &'static str { match self { $( Code::$variant => $summary, )* } }

            /// The long explanation with an example and how to fix it (Markdown). The keys a place accepts or
            /// needs are written from the language's table ([`crate::keys`]).
            pub fn doc(self) -> std::borrow::Cow<'static, str> {
                let text: &'static str = match self { $( Code::$variant => $doc, )* };
                if text.contains("<<") {
                    text.replace(ACCEPTED_KEYS, &crate::keys::accepted_keys_doc())
                        .replace(REQUIRED_KEYS, &crate::keys::required_keys_doc())
                        .into()
                } else {
                    text.into()
                }
            }
        }
    };
}

codes! {
    YamlSyntax = "ODP100", "yaml-syntax", Error, "The file is not valid YAML.",
"The YAML could not be read at this place: an unclosed `[` or quote, a line without `key: value`, a key indented
differently from its siblings, a tab used for indentation, text after a closed value.

The rest of the file is still checked: an error stays inside the line or block where it occurs.

```yaml
params: {query: \"ai\", limit: 10    # ODP100: `{` is never closed
```";
    UnsupportedYaml = "ODP101", "unsupported-yaml", Error, "A YAML feature pipelines do not support.",
"Pipelines use plain YAML: mappings, lists, scalars and comments. Anchors (`&a`), aliases (`*a`), tags (`!!str`),
complex keys (`? `), directives (`%YAML`) and several documents in one file are rejected, so a pipeline reads the
same in every tool and aliases cannot blow up memory.

Write the value out where it is needed instead of using an alias.";
    UnquotedTemplate = "ODP102", "unquoted-template", Error, "An unquoted value starts with `{{`.",
"In YAML an unquoted `{{tweets.results}}` is a mapping inside a mapping, not a string, so the template would be
lost. odp reads it as the template you meant, reports it, and offers a safe fix: quote it.

```yaml
query: {{inputs.query}}      # ODP102
query: \"{{inputs.query}}\"    # fixed
```";
    DuplicateKey = "ODP103", "duplicate-key", Error, "A key appears twice in the same mapping.",
"YAML mappings have unique keys; tools disagree about which duplicate wins. Remove or rename one of them.";
    UnknownKey = "ODP200", "unknown-key", Error, "A key that this place does not accept.",
"<<the keys each place accepts>> A close match is offered as a fix.";
    MissingKey = "ODP201", "missing-key", Error, "A required key is missing.",
"<<the keys each place needs>>";
    WrongType = "ODP202", "wrong-type", Error, "A value has the wrong YAML type.",
"For example `sources` must be a list of steps, `params` a mapping, `name` a string.";
    InvalidValue = "ODP203", "invalid-value", Error, "A value has the right type but is not allowed.",
"Pipeline names are 3 to 100 characters; step and input names are identifiers (`^[A-Za-z_][A-Za-z0-9_]*$`);
method ids have the form `domain.provider.action`; durations need a unit (`500ms`, `30s`, `5m`, `1h`);
`retry.max_attempts` is at least 1 and `retry.backoff_coefficient` at least 1.0; an input's default must match its
type.";
    DuplicateStep = "ODP204", "duplicate-step", Error, "Two steps have the same name.",
"Step names are unique in a pipeline (across `sources` and `transforms`): templates address steps by name.";
    UnknownMethod = "ODP300", "unknown-method", Error, "The method is not in the registry.",
"The method id is looked up in the workspace's registry (`registry` in `odp.toml`, or the bundled one). A close
match is offered as a fix. `odp-lsp check --registry PATH` checks against another registry.";
    MethodKindMismatch = "ODP301", "method-kind-mismatch", Warning, "A transform method under `sources`, or a source method under `transforms`.",
"Each registry method is a `source` (fetches data) or a `transform` (processes results). Sources run in parallel
and can only use `inputs`, so a transform method there usually means the step is in the wrong section.";
    MissingParam = "ODP302", "missing-param", Error, "A required parameter of the method is missing.",
"The method's params schema lists it under `required`. The fix inserts the parameter with an empty value to fill
in (an unsafe fix: the value is yours to choose).";
    UnknownParam = "ODP303", "unknown-param", Error, "The method has no such parameter.",
"The method's params schema does not list it. A close match is offered as a fix.";
    InvalidParam = "ODP304", "invalid-param", Error, "A parameter value does not match the method's schema.",
"The value is validated against the JSON Schema of the method's params: type, enum, minimum/maximum, length,
pattern. Values that hold templates are checked by type only (see ODP406).";
    TemplateSyntax = "ODP400", "template-syntax", Error, "A malformed `{{ ... }}` template.",
"A template is `{{ root.path }}` where root is `inputs` or a step name, followed by `.field`, `[index]` or `[*]`.
Write `\\{{` for a literal `{{`. A path has at most 64 accessors.";
    UnknownReference = "ODP401", "unknown-reference", Error, "A template refers to a step or input that does not exist.",
"The first part of a template names an input (`inputs.NAME`) or a step. A close match is offered as a fix.";
    ForwardReference = "ODP402", "forward-reference", Error, "A transform refers to a later step.",
"Transforms run in the order written; a transform can only use inputs, sources and transforms above it. Move the
step up, or the referenced step above it.";
    SelfReference = "ODP403", "self-reference", Error, "A step refers to its own result.",
"A step's result exists only after it ran.";
    SourceReferencesStep = "ODP404", "source-references-step", Error, "A source refers to another step.",
"Sources run in parallel, so a source can only use `inputs`. Make the step a transform if it needs another
step's result.";
    UnknownField = "ODP405", "unknown-field", Error, "A template addresses a field the step's output does not have.",
"The field path is checked against the output schema of the step's method (or, in a notebook, the live result).
Outputs marked `dynamic` in the registry are not checked. A close match is offered as a fix.";
    TypeMismatch = "ODP406", "type-mismatch", Error, "A template's type does not fit the parameter.",
"A template that is the whole value keeps its JSON type; it must fit the parameter's schema. A list of records does
not fill a list of strings; a projection of one of their fields does:

```yaml
texts: \"{{tweets.results}}\"          # ODP406: list<object> for list<string>
texts: \"{{tweets.results[*].text}}\"  # list<string>
```

Integers fill numbers; anything interpolated into a longer string is rendered as text.";
    UnusedSource = "ODP500", "unused-source", Warning, "No transform uses this source's result.",
"Its data is fetched and thrown away. Use it in a transform, or remove it. A pipeline without transforms returns
its sources' results, and this warning is not given.";
    UnusedInput = "ODP501", "unused-input", Warning, "No template uses this input.",
"Remove the input or use it as `{{inputs.NAME}}`.";
    UnusedSuppression = "ODP502", "unused-suppression", Warning, "A suppression comment suppresses nothing.",
"`# odp: ignore[CODE]` applies to the diagnostics of its own line, or of the next line when it stands alone on a
line. One that matches nothing is reported so stale suppressions do not pile up, and so is a code written more
than once in one suppression: once per code, however often it repeats.";
}

impl Code {
    /// Looks a code up by id (`ODP300`, case-insensitive) or name (`unknown-method`).
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.id().eq_ignore_ascii_case(s) || c.name() == s)
    }

    /// Where the code's documentation lives: its section of docs/codes.md in the repository.
    pub fn doc_url(self) -> String {
        format!(
            "{}/blob/main/docs/codes.md#{}",
            env!("CARGO_PKG_REPOSITORY"),
            self.id().to_lowercase()
        )
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}
