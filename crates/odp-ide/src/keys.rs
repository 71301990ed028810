//! The language's keys as the editor features describe them: which keys each kind of mapping takes, with the text
//! completion and hover show (the retry defaults written into it), and the durations offered for `timeout` and the
//! retry intervals. Every feature reads them from here, so that one table can later take their place.

/// The keys of the top-level mapping.
pub(crate) const PIPELINE_KEYS: &[(&str, &str)] = &[
    ("name", "The pipeline's name (3 to 100 characters)."),
    ("description", "What the pipeline does."),
    (
        "inputs",
        "Typed parameters of a run, used as `{{inputs.NAME}}`.",
    ),
    (
        "sources",
        "Steps that fetch data; they run in parallel and may use only `inputs`.",
    ),
    (
        "transforms",
        "Steps that process results, in the order written.",
    ),
];

/// The keys of a step (an item of `sources` or `transforms`).
pub(crate) const STEP_KEYS: &[(&str, &str)] = &[
    (
        "name",
        "Unique step name; other steps use the result as `{{NAME.field}}`.",
    ),
    ("description", "What the step does."),
    ("method", "A registry method: `domain.provider.action`."),
    (
        "params",
        "The method's parameters; values may hold `{{...}}` templates.",
    ),
    (
        "retry",
        "Retry policy: `max_attempts` (3), `backoff_coefficient` (2.0), `initial_interval` (1s), `maximum_interval` (60s).",
    ),
    (
        "timeout",
        "Start-to-close timeout of one attempt: `500ms`, `30s`, `5m`.",
    ),
];

/// The keys of an input (a value of `inputs`).
pub(crate) const INPUT_KEYS: &[(&str, &str)] = &[
    (
        "type",
        "`string`, `integer`, `number`, `boolean`, `array` or `object`.",
    ),
    ("default", "The value a run uses when it does not set one."),
    ("description", "What the input means."),
    (
        "required",
        "Whether every run must set it (when it has no default).",
    ),
];

/// The keys of a step's `retry`, with their defaults.
pub(crate) const RETRY_KEYS: &[(&str, &str)] = &[
    (
        "max_attempts",
        "Attempts in all, the first included (default 3).",
    ),
    (
        "backoff_coefficient",
        "Each wait is this many times the previous one (default 2.0).",
    ),
    ("initial_interval", "The first wait (default `1s`)."),
    ("maximum_interval", "The longest wait (default `60s`)."),
];

/// The durations offered as values of `timeout`, `initial_interval` and `maximum_interval`.
pub(crate) const DURATION_SUGGESTIONS: &[&str] = &["500ms", "5s", "30s", "1m", "5m"];
