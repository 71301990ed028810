//! The keys of the language, in one table: for a pipeline, a step, an input and a step's `retry`, each key's name,
//! what its value is, whether it is required, its default and its documentation, in canonical order (the order
//! odp writes them in). The checker (unknown and missing keys), completion and hover, the draft writer, the
//! generated JSON schema and the code docs (ODP200, ODP201) all read it; a test in odp-cli fails when any of them
//! disagrees with it.

use std::fmt::Write as _;

/// Where a key is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Place {
    /// The top of a pipeline file.
    Pipeline,
    /// An item of `sources` or `transforms`.
    Step,
    /// The declaration of one input under `inputs`.
    Input,
    /// A step's `retry` mapping.
    Retry,
}

/// One key of the language.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Key {
    pub name: &'static str,
    /// What its value is, in the words of the checker's messages ("a list of steps").
    pub value: &'static str,
    /// Whether every such place must have it.
    pub required: bool,
    /// Its default, as written in a file (`3`, `1s`), where it has one.
    pub default: Option<&'static str>,
    /// One or two sentences of documentation (Markdown), without the default.
    pub doc: &'static str,
    /// The place its value is, when it is a mapping of keys of its own (a step's `retry`).
    pub holds: Option<Place>,
}

impl Key {
    /// The documentation with the default (or the defaults of the keys it holds), as hover and the JSON schema
    /// show it.
    pub fn documentation(&self) -> String {
        let doc = self.doc.trim_end_matches('.');
        if let Some(default) = self.default {
            return format!("{doc} (default {}).", shown_default(default));
        }
        if let Some(place) = self.holds {
            let keys: Vec<String> = place
                .keys()
                .iter()
                .map(|k| match k.default {
                    Some(d) => format!("`{}` ({d})", k.name),
                    None => format!("`{}`", k.name),
                })
                .collect();
            return format!("{doc}: {}.", keys.join(", "));
        }
        self.doc.to_string()
    }
}

const PIPELINE: &[Key] = &[
    Key {
        name: "name",
        value: "a string",
        required: true,
        default: None,
        doc: "The pipeline's name (3 to 100 characters).",
        holds: None,
    },
    Key {
        name: "description",
        value: "a string",
        required: false,
        default: None,
        doc: "What the pipeline does.",
        holds: None,
    },
    Key {
        name: "inputs",
        value: "a mapping of input names to declarations",
        required: false,
        default: None,
        doc: "Typed parameters of a run, used as `{{inputs.NAME}}`.",
        holds: None,
    },
    Key {
        name: "sources",
        value: "a list of steps",
        required: true,
        default: None,
        doc: "Steps that fetch data; they run in parallel and may use only `inputs`.",
        holds: None,
    },
    Key {
        name: "transforms",
        value: "a list of steps",
        required: false,
        default: None,
        doc: "Steps that process results, in the order written; they may use inputs, sources and earlier transforms.",
        holds: None,
    },
];

const STEP: &[Key] = &[
    Key {
        name: "name",
        value: "a string",
        required: true,
        default: None,
        doc: "Unique step name; other steps use the result as `{{NAME.field}}`.",
        holds: None,
    },
    Key {
        name: "description",
        value: "a string",
        required: false,
        default: None,
        doc: "What the step does.",
        holds: None,
    },
    Key {
        name: "method",
        value: "a string",
        required: true,
        default: None,
        doc: "A registry method: `domain.provider.action`.",
        holds: None,
    },
    Key {
        name: "params",
        value: "a mapping of param names to values",
        required: false,
        default: None,
        doc: "The method's parameters; values may hold `{{...}}` templates.",
        holds: None,
    },
    Key {
        name: "retry",
        value: "a mapping",
        required: false,
        default: None,
        doc: "Retry policy",
        holds: Some(Place::Retry),
    },
    Key {
        name: "timeout",
        value: "a duration such as `30s`",
        required: false,
        default: None,
        doc: "Start-to-close timeout of one attempt: `500ms`, `30s`, `5m`.",
        holds: None,
    },
];

const INPUT: &[Key] = &[
    Key {
        name: "type",
        value: "a type name",
        required: true,
        default: None,
        doc: "`string`, `integer`, `number`, `boolean`, `array` or `object`.",
        holds: None,
    },
    Key {
        name: "default",
        value: "a value of the input's type",
        required: false,
        default: None,
        doc: "The value a run uses when it does not set one.",
        holds: None,
    },
    Key {
        name: "description",
        value: "a string",
        required: false,
        default: None,
        doc: "What the input means.",
        holds: None,
    },
    Key {
        name: "required",
        value: "true or false",
        required: false,
        default: None,
        doc: "Whether every run must set it (when it has no default).",
        holds: None,
    },
];

const RETRY: &[Key] = &[
    Key {
        name: "max_attempts",
        value: "an integer",
        required: false,
        default: Some("3"),
        doc: "Attempts in all, the first included.",
        holds: None,
    },
    Key {
        name: "backoff_coefficient",
        value: "a number",
        required: false,
        default: Some("2.0"),
        doc: "Each wait is this many times the previous one.",
        holds: None,
    },
    Key {
        name: "initial_interval",
        value: "a duration such as `30s`",
        required: false,
        default: Some("1s"),
        doc: "The first wait.",
        holds: None,
    },
    Key {
        name: "maximum_interval",
        value: "a duration such as `30s`",
        required: false,
        default: Some("60s"),
        doc: "The longest wait.",
        holds: None,
    },
];

impl Place {
    pub const ALL: [Place; 4] = [Place::Pipeline, Place::Step, Place::Input, Place::Retry];

    /// Its keys, in canonical order.
    pub fn keys(self) -> &'static [Key] {
        match self {
            Place::Pipeline => PIPELINE,
            Place::Step => STEP,
            Place::Input => INPUT,
            Place::Retry => RETRY,
        }
    }

    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.keys().iter().map(|k| k.name)
    }

    pub fn key(self, name: &str) -> Option<&'static Key> {
        self.keys().iter().find(|k| k.name == name)
    }

    /// The place in the words of messages: "a pipeline", "`retry`".
    pub fn described(self) -> &'static str {
        match self {
            Place::Pipeline => "a pipeline",
            Place::Step => "a step",
            Place::Input => "an input",
            Place::Retry => "`retry`",
        }
    }

    /// Where the code docs say the place is: "pipelines", "`retry`".
    fn plural(self) -> &'static str {
        match self {
            Place::Pipeline => "pipelines",
            Place::Step => "steps",
            Place::Input => "inputs",
            Place::Retry => "`retry`",
        }
    }
}

/// A number as it is; a duration or a word as code.
fn shown_default(default: &str) -> String {
    if default.parse::<f64>().is_ok() {
        default.to_string()
    } else {
        format!("`{default}`")
    }
}

/// `a`, `a` and `b`, `a`, `b` and `c`.
pub(crate) fn listed<'s>(names: impl IntoIterator<Item = &'s str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The keys each place accepts, in one sentence per place (ODP200's documentation).
pub(crate) fn accepted_keys_doc() -> String {
    let mut out = String::new();
    for (i, place) in Place::ALL.iter().enumerate() {
        let verb = if *place == Place::Retry {
            "accepts"
        } else {
            "accept"
        };
        let place_text = place.plural();
        let place_text = if i == 0 {
            let mut c = place_text.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        } else {
            place_text.to_string()
        };
        let sep = if i + 1 == Place::ALL.len() { "." } else { ";" };
        let _ = write!(out, "{place_text} {verb} {}{sep} ", listed(place.names()));
    }
    out.trim_end().to_string()
}

/// The keys each place requires (ODP201's documentation).
pub(crate) fn required_keys_doc() -> String {
    let mut parts = Vec::new();
    for place in Place::ALL {
        let required: Vec<&str> = place
            .keys()
            .iter()
            .filter(|k| k.required)
            .map(|k| k.name)
            .collect();
        if !required.is_empty() {
            parts.push(format!("{} needs {}", place.described(), listed(required)));
        }
    }
    let mut text = parts.join("; ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text + "."
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RetryPolicy;
    use crate::schema::parse_duration_ms;

    /// The defaults the table documents are the ones a run uses.
    #[test]
    fn the_documented_retry_defaults_are_the_policys() {
        let default = |name: &str| Place::Retry.key(name).and_then(|k| k.default).expect(name);
        let policy = RetryPolicy::default();
        assert_eq!(default("max_attempts").parse(), Ok(policy.max_attempts));
        assert_eq!(
            default("backoff_coefficient").parse(),
            Ok(policy.backoff_coefficient)
        );
        assert_eq!(
            parse_duration_ms(default("initial_interval")),
            Some(policy.initial_interval_ms)
        );
        assert_eq!(
            parse_duration_ms(default("maximum_interval")),
            Some(policy.maximum_interval_ms)
        );
    }

    #[test]
    fn the_code_docs_list_each_places_keys() {
        assert_eq!(
            required_keys_doc(),
            "A pipeline needs `name` and `sources`; a step needs `name` and `method`; an input needs `type`."
        );
        assert!(accepted_keys_doc().starts_with(
            "Pipelines accept `name`, `description`, `inputs`, `sources` and `transforms`; steps accept"
        ));
        assert!(accepted_keys_doc().ends_with("`initial_interval` and `maximum_interval`."));
    }
}
