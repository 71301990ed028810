//! AI drafts: natural language → checked pipeline YAML.
//!
//! The loop: **retrieve** the registry methods that fit the request (offline BM25, [`retrieve()`]), **generate**
//! with a prompt that holds the language rules and only those methods, asking for JSON under a strict JSON Schema
//! narrowed to them (falling back to YAML text when the server refuses `response_format`), **validate** with the
//! checker ([`odp_analysis::analyze`]), and **repair**: send the findings back and ask again, up to the round
//! limit. The best draft comes back with whatever findings are left. Nothing here writes a file or edits a buffer;
//! the front ends (CLI, language server, kernel) decide what to do with the draft.
//!
//! Front ends call [`Drafter`] (settings from the environment and `odp.toml`) or, with their own provider,
//! [`draft()`]. Both are async and cancel cleanly when dropped. What a front end configures is one
//! [`DraftSettings`], loaded by [`DraftSettings::resolve`]; what the draft is checked against is its
//! [`DraftScope`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), odp_draft::DraftError> {
//! let drafter = odp_draft::Drafter::from_workspace(std::path::Path::new("."))?;
//! let outcome = drafter.draft("tweets about rust and their sentiment", &|p| eprintln!("{p}")).await?;
//! println!("{}", outcome.yaml);
//! # Ok(()) }
//! ```

pub mod cli;
pub mod config;
pub mod eval;
pub mod extract;
pub mod prompt;
pub mod provider;
pub mod retrieve;
pub mod yaml;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use odp_analysis::{
    Diagnostic, Environment, ExternalInput, ExternalStep, Registry, Severity, analyze,
};

pub use config::{ConfigError, DraftSettings, ProviderKind};
pub use odp_secret::Secret;
pub use provider::{
    AnswerFormat, ChatAnswer, ChatMessage, ChatRequest, DraftProvider, ProviderError,
    ProviderEvent, Role, provider_from_settings,
};
pub use retrieve::retrieve;

/// What a draft is checked against: the registry, and what a notebook defined before it. Not configuration: the
/// front end sets it for each draft.
#[derive(Clone)]
pub struct DraftScope {
    /// The registry the draft is checked against and whose methods are offered.
    pub registry: Arc<Registry>,
    /// Steps defined outside the draft (a notebook's earlier cells): shown to the model, and templates may use
    /// them.
    pub external_steps: Vec<ExternalStep>,
    /// Inputs set outside the draft (a notebook's `%inputs`).
    pub external_inputs: Vec<ExternalInput>,
    /// Check the draft as a fragment: `name` and `sources` may be missing (a notebook cell).
    pub fragment: bool,
}

impl DraftScope {
    /// A whole pipeline checked against `registry`.
    pub fn new(registry: Arc<Registry>) -> DraftScope {
        DraftScope {
            registry,
            external_steps: Vec::new(),
            external_inputs: Vec::new(),
            fragment: false,
        }
    }
}

/// What one draft came to.
#[derive(Clone, Debug)]
pub struct DraftOutcome {
    /// The best draft: the one with the fewest errors, then warnings (the latest on a tie).
    pub yaml: String,
    /// The checker's findings on `yaml` (empty when it is clean).
    pub diagnostics: Vec<Diagnostic>,
    /// How many answers the model gave.
    pub rounds: usize,
    /// Which round produced `yaml` (1-based).
    pub best_round: usize,
    /// The methods offered to the model, best match first.
    pub methods_offered: Vec<String>,
    /// The methods the draft uses, in order of appearance.
    pub methods_used: Vec<String>,
    /// Whether `yaml` came from a structured (JSON) answer.
    pub structured: bool,
    /// Why the loop stopped before it could finish repairing (a failed later call), if it did.
    pub interrupted: Option<String>,
}

impl DraftOutcome {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    /// No errors (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors() == 0
    }

    /// The findings, one per line, as sent to the model.
    pub fn findings(&self) -> String {
        prompt::render_findings(&self.yaml, &self.diagnostics)
    }
}

/// What the loop reports while it works (for progress bars, `$/progress`, stderr).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// The methods chosen for the prompt.
    Retrieved { methods: Vec<String> },
    /// Asking the model for round `round` of at most `of`.
    Asking { round: usize, of: usize },
    /// So many characters of the answer have arrived.
    Receiving { round: usize, chars: usize },
    /// The server refused structured output; answers are asked for as YAML text.
    FallbackToText { reason: String },
    /// The answer could not be read as a pipeline.
    Unreadable { round: usize, reason: String },
    /// The round's draft was checked.
    Checked {
        round: usize,
        errors: usize,
        warnings: usize,
    },
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Progress::Retrieved { methods } => {
                write!(
                    f,
                    "offering {} method{}: {}",
                    methods.len(),
                    plural(methods.len()),
                    methods.join(", ")
                )
            }
            Progress::Asking { round: 1, .. } => write!(f, "asking the model for a draft"),
            Progress::Asking { round, of } => {
                write!(
                    f,
                    "asking the model to repair the draft (round {round} of {of})"
                )
            }
            Progress::Receiving { round, chars } => {
                write!(f, "round {round}: received {chars} characters")
            }
            Progress::FallbackToText { reason } => write!(
                f,
                "the server does not take structured output ({reason}); asking for YAML text instead"
            ),
            Progress::Unreadable { round, reason } => {
                write!(f, "round {round}: the answer is not a pipeline: {reason}")
            }
            Progress::Checked {
                round,
                errors: 0,
                warnings: 0,
            } => write!(f, "round {round}: the draft checks clean"),
            Progress::Checked {
                round,
                errors,
                warnings,
            } => write!(
                f,
                "round {round}: the draft has {errors} error{} and {warnings} warning{}",
                plural(*errors),
                plural(*warnings)
            ),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Why no draft came back.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Workspace(#[from] odp_workspace::WorkspaceError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("the request is empty: describe the pipeline you want")]
    EmptyRequest,
    #[error("the model gave no usable draft in {rounds} round{}: {reason}", plural(*rounds))]
    NoDraft { rounds: usize, reason: String },
}

/// One candidate draft.
struct Candidate {
    yaml: String,
    diagnostics: Vec<Diagnostic>,
    round: usize,
    structured: bool,
    methods_used: Vec<String>,
}

impl Candidate {
    fn score(&self) -> (usize, usize) {
        let errors = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        (errors, self.diagnostics.len() - errors)
    }
}

/// Drafts a pipeline for `request`: retrieve, generate, validate, repair (see the crate docs).
///
/// Errors only when no draft came at all (the first call failed, or no answer was a pipeline); a failure in a
/// later round returns the best draft so far with [`DraftOutcome::interrupted`] set.
pub async fn draft(
    request: &str,
    settings: &DraftSettings,
    scope: &DraftScope,
    provider: &dyn DraftProvider,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<DraftOutcome, DraftError> {
    let request = request.trim();
    if request.is_empty() {
        return Err(DraftError::EmptyRequest);
    }
    let registry = &scope.registry;
    let offered = retrieve(registry, request, settings.methods.max(1));
    let methods_offered: Vec<String> = offered.iter().map(|m| m.id().to_string()).collect();
    progress(Progress::Retrieved {
        methods: methods_offered.clone(),
    });
    let mut chat = ChatRequest {
        system: prompt::system_prompt(&offered)
            + &prompt::context_section(&scope.external_steps, &scope.external_inputs),
        json_instructions: prompt::JSON_INSTRUCTIONS.to_string(),
        text_instructions: prompt::TEXT_INSTRUCTIONS.to_string(),
        schema: settings
            .structured_output
            .then(|| prompt::answer_schema(&offered)),
        messages: vec![ChatMessage::user(prompt::request_message(request))],
        max_tokens: settings.max_tokens,
    };
    let env = Environment {
        registry,
        external_steps: &scope.external_steps,
        external_inputs: &scope.external_inputs,
        fragment: scope.fragment,
        live: &[],
    };
    let max_rounds = settings.max_rounds.max(1);
    let mut best: Option<Candidate> = None;
    let mut rounds = 0;
    let mut interrupted = None;
    let mut last_unreadable = String::new();
    for round in 1..=max_rounds {
        progress(Progress::Asking {
            round,
            of: max_rounds,
        });
        let on_event = |e: ProviderEvent| match e {
            ProviderEvent::Receiving { chars } => progress(Progress::Receiving { round, chars }),
            ProviderEvent::FallbackToText { reason } => {
                progress(Progress::FallbackToText { reason })
            }
        };
        let answer = match provider.chat(&chat, &on_event).await {
            Ok(a) => a,
            Err(e) if best.is_some() => {
                interrupted = Some(e.to_string());
                break;
            }
            Err(e) => return Err(e.into()),
        };
        rounds = round;
        let json = answer.format == AnswerFormat::Json;
        chat.messages
            .push(ChatMessage::assistant(answer.text.clone()));
        let follow_up = match extract::extract(&answer.text, json) {
            Err(reason) => {
                progress(Progress::Unreadable {
                    round,
                    reason: reason.clone(),
                });
                last_unreadable = reason.clone();
                prompt::unreadable_message(&reason, chat.schema.is_some() && json)
            }
            Ok(extracted) => {
                let analysis = analyze(&extracted.yaml, &env);
                let candidate = Candidate {
                    methods_used: methods_used(&analysis.pipeline),
                    diagnostics: analysis.diagnostics,
                    yaml: extracted.yaml,
                    round,
                    structured: extracted.from_json && json,
                };
                let (errors, warnings) = candidate.score();
                progress(Progress::Checked {
                    round,
                    errors,
                    warnings,
                });
                let message = prompt::repair_message(
                    &candidate.yaml,
                    &prompt::render_findings(&candidate.yaml, &candidate.diagnostics),
                    json,
                );
                let better = best.as_ref().is_none_or(|b| candidate.score() <= b.score());
                if better {
                    best = Some(candidate);
                }
                if errors == 0 {
                    break;
                }
                message
            }
        };
        if round < max_rounds {
            chat.messages.push(ChatMessage::user(follow_up));
        }
    }
    let Some(best) = best else {
        return Err(DraftError::NoDraft {
            rounds,
            reason: if last_unreadable.is_empty() {
                "no answer".into()
            } else {
                last_unreadable
            },
        });
    };
    Ok(DraftOutcome {
        yaml: best.yaml,
        diagnostics: best.diagnostics,
        rounds,
        best_round: best.round,
        methods_offered,
        methods_used: best.methods_used,
        structured: best.structured,
        interrupted,
    })
}

fn methods_used(pipeline: &odp_analysis::Pipeline) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for step in &pipeline.steps {
        if let Some(m) = &step.method
            && !out.contains(&m.value)
        {
            out.push(m.value.clone());
        }
    }
    out
}

/// A provider, its settings and a scope, ready to draft: what front ends hold.
pub struct Drafter {
    pub provider: Box<dyn DraftProvider>,
    pub settings: DraftSettings,
    pub scope: DraftScope,
}

impl Drafter {
    pub fn new(
        provider: Box<dyn DraftProvider>,
        settings: DraftSettings,
        scope: DraftScope,
    ) -> Drafter {
        Drafter {
            provider,
            settings,
            scope,
        }
    }

    /// The provider the settings name, drafting whole pipelines against `registry`.
    pub fn from_settings(
        settings: DraftSettings,
        registry: Arc<Registry>,
    ) -> Result<Drafter, ConfigError> {
        Ok(Drafter {
            provider: provider_from_settings(&settings)?,
            settings,
            scope: DraftScope::new(registry),
        })
    }

    /// For a workspace directory: the nearest `odp.toml` (its `[draft]` section and registry) and the process
    /// environment. Warnings about the configuration and the registry are logged. Blocking IO (reading files,
    /// perhaps fetching a registry URL): call it outside async code or in `spawn_blocking`.
    pub fn from_workspace(dir: &Path) -> Result<Drafter, DraftError> {
        let workspace = load_workspace(dir, None)?;
        for w in &workspace.warnings {
            tracing::warn!("{w}");
        }
        let settings = DraftSettings::from_environment(&workspace.config.config.draft)?;
        Ok(Drafter::from_settings(
            settings,
            workspace.registry.clone(),
        )?)
    }

    /// One line for humans: model and server.
    pub fn describe(&self) -> String {
        self.provider.describe()
    }

    pub async fn draft(
        &self,
        request: &str,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<DraftOutcome, DraftError> {
        draft(
            request,
            &self.settings,
            &self.scope,
            self.provider.as_ref(),
            progress,
        )
        .await
    }
}

/// The `odp.toml` for `dir` (or a default one) and the registry it names (`registry_flag` first, then
/// `ODP_REGISTRY`, then `odp.toml`, then the bundled one), with their warnings for the caller to show: the one
/// loader of `odp_workspace::workspace`, with `dir` as the current directory.
pub fn load_workspace(
    dir: &Path,
    registry_flag: Option<&str>,
) -> Result<odp_workspace::Workspace, DraftError> {
    Ok(odp_workspace::Loader::new(odp_workspace::LoadOptions {
        cwd: dir.to_path_buf(),
        registry: registry_flag.map(str::to_string),
        config_file: None,
    })
    .load(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Front ends spawn drafts on multi-threaded runtimes: the futures must be `Send`.
    #[test]
    fn draft_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let settings = DraftSettings::openai_compatible("http://127.0.0.1:9/v1", "m");
        let drafter = Drafter::from_settings(settings, Registry::bundled()).unwrap();
        let progress = |_: Progress| {};
        let future = drafter.draft("tweets", &progress);
        assert_send(&future);
        let future = draft(
            "tweets",
            &drafter.settings,
            &drafter.scope,
            drafter.provider.as_ref(),
            &progress,
        );
        assert_send(&future);
    }
}
