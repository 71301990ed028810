//! A run's plan: the checked pipeline's steps with their methods, endpoints, retry policies and timeouts, and the
//! pipeline's inputs resolved from the caller's values and the defaults.

use std::time::Duration;

use odp_analysis::{Analysis, Registry, RetryPolicy, Section, Service};
use serde_json::{Map, Value};

/// One step, ready to run.
#[derive(Clone, Debug)]
pub struct PlannedStep {
    pub name: String,
    pub method: String,
    pub service: Service,
    pub endpoint: String,
    /// The params with their templates, resolved just before the step runs.
    pub params: Map<String, Value>,
    pub retry: RetryPolicy,
    pub timeout: Duration,
}

impl PlannedStep {
    /// The names its templates read from (other steps' results; `inputs` excluded), in first-use order.
    pub fn dependencies(&self) -> Vec<String> {
        template_roots(&self.params)
    }
}

/// The names the templates in a step's params read from (other steps' results; `inputs` excluded), in first-use
/// order. Iterative: the params' nesting is the input's.
pub fn template_roots(params: &Map<String, Value>) -> Vec<String> {
    let mut deps: Vec<String> = Vec::new();
    let mut stack: Vec<&Value> = params.values().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if odp_analysis::template::may_contain_template(s) => {
                for t in odp_analysis::template::parse(s).templates {
                    if t.path.root != "inputs" && !deps.contains(&t.path.root) {
                        deps.push(t.path.root.clone());
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => stack.extend(map.values().rev()),
            _ => {}
        }
    }
    deps
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub pipeline: String,
    pub sources: Vec<PlannedStep>,
    pub transforms: Vec<PlannedStep>,
    pub inputs: Map<String, Value>,
}

impl Plan {
    /// The plan cut to the steps `wanted` and, transitively, the steps they read from that have no result in
    /// `known`, in the plan's order. `None` names a step the plan does not have.
    pub fn subset(&self, wanted: &[String], known: &Map<String, Value>) -> Result<Plan, PlanError> {
        let all: Vec<&PlannedStep> = self.sources.iter().chain(&self.transforms).collect();
        let index: std::collections::HashMap<&str, usize> = all
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut keep = vec![false; all.len()];
        let mut queue = Vec::new();
        for name in wanted {
            let i = *index
                .get(name.as_str())
                .ok_or_else(|| PlanError::UnknownStep(name.clone()))?;
            queue.push(i);
        }
        // A work list, not recursion: the chain of dependencies is as long as the pipeline.
        while let Some(i) = queue.pop() {
            if std::mem::replace(&mut keep[i], true) {
                continue;
            }
            for dep in all[i].dependencies() {
                if let Some(&j) = index
                    .get(dep.as_str())
                    .filter(|_| !known.contains_key(&dep))
                {
                    queue.push(j);
                }
            }
        }
        let n = self.sources.len();
        Ok(Plan {
            pipeline: self.pipeline.clone(),
            sources: (0..n)
                .filter(|&i| keep[i])
                .map(|i| all[i].clone())
                .collect(),
            transforms: (n..all.len())
                .filter(|&i| keep[i])
                .map(|i| all[i].clone())
                .collect(),
            inputs: self.inputs.clone(),
        })
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("the pipeline has no step `{0}`")]
    UnknownStep(String),
    #[error("the pipeline has {0} error{s}; fix them first (see `odp check`)", s = if *.0 == 1 { "" } else { "s" })]
    Invalid(usize),
    #[error("input `{0}` is required and has no default: set it with --set {0}=VALUE")]
    MissingInput(String),
    #[error("unknown input `{name}`; the pipeline's inputs are: {known}")]
    UnknownInput { name: String, known: String },
    #[error("input `{name}`: {message}")]
    BadInput { name: String, message: String },
}

/// The default start-to-close timeout of one attempt.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Converts a command-line value to the input's declared type.
pub fn coerce_input(type_name: Option<&str>, raw: &str) -> Result<Value, String> {
    match type_name {
        Some("string") | None => Ok(Value::String(raw.to_string())),
        Some("integer") => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected an integer, got `{raw}`")),
        Some("number") => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a number, got `{raw}`")),
        Some("boolean") => match raw.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got `{raw}`")),
        },
        Some("array") => match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Array(_)) => Ok(v),
            _ => Err(format!("expected a JSON list, got `{raw}`")),
        },
        Some("object") => match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(format!("expected a JSON object, got `{raw}`")),
        },
        Some(other) => Err(format!("unknown input type `{other}`")),
    }
}

fn type_matches(type_name: Option<&str>, v: &Value) -> bool {
    match (type_name, v) {
        (None, _) => true,
        (Some("string"), Value::String(_)) => true,
        (Some("integer"), Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Some("number"), Value::Number(_)) => true,
        (Some("boolean"), Value::Bool(_)) => true,
        (Some("array"), Value::Array(_)) => true,
        (Some("object"), Value::Object(_)) => true,
        _ => false,
    }
}

/// Builds the plan of a checked pipeline. `given` are the caller's input values (already typed).
pub fn plan(
    analysis: &Analysis,
    registry: &Registry,
    given: &Map<String, Value>,
) -> Result<Plan, PlanError> {
    let errors = analysis.error_count();
    if errors > 0 {
        return Err(PlanError::Invalid(errors));
    }
    let pipeline = &analysis.pipeline;
    let mut inputs = Map::new();
    for (name, value) in given {
        let Some(decl) = pipeline.input(name) else {
            let known: Vec<&str> = pipeline
                .inputs
                .iter()
                .map(|i| i.name.value.as_str())
                .collect();
            return Err(PlanError::UnknownInput {
                name: name.clone(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        };
        if !type_matches(decl.type_name.as_deref(), value) {
            return Err(PlanError::BadInput {
                name: name.clone(),
                message: format!(
                    "expected {}, got {value}",
                    decl.type_name.as_deref().unwrap_or("a value")
                ),
            });
        }
        inputs.insert(name.clone(), value.clone());
    }
    for decl in &pipeline.inputs {
        if inputs.contains_key(&decl.name.value) {
            continue;
        }
        match &decl.default {
            Some(v) => {
                inputs.insert(decl.name.value.clone(), v.clone());
            }
            None if decl.required => return Err(PlanError::MissingInput(decl.name.value.clone())),
            None => {
                inputs.insert(decl.name.value.clone(), Value::Null);
            }
        }
    }
    let mut sources = Vec::new();
    let mut transforms = Vec::new();
    for step in &pipeline.steps {
        // A pipeline without errors has a name and a known method for every step.
        let (Some(name), Some(method)) = (&step.name, &step.method) else {
            return Err(PlanError::Invalid(1));
        };
        let Some(m) = registry.get(&method.value) else {
            return Err(PlanError::Invalid(1));
        };
        let planned = PlannedStep {
            name: name.value.clone(),
            method: method.value.clone(),
            service: m.spec.service,
            endpoint: m.spec.endpoint.clone(),
            params: (*step.params).clone(),
            retry: step.retry.clone(),
            timeout: step
                .timeout_ms
                .map_or(DEFAULT_STEP_TIMEOUT, Duration::from_millis),
        };
        match step.section {
            Section::Sources => sources.push(planned),
            Section::Transforms => transforms.push(planned),
        }
    }
    Ok(Plan {
        pipeline: pipeline
            .name
            .as_ref()
            .map_or("pipeline".into(), |n| n.value.clone()),
        sources,
        transforms,
        inputs,
    })
}

/// Resolves every template in a step's params against `lookup` (`inputs` and step results): a whole-value template
/// keeps its JSON type, anything else interpolates.
pub fn resolve_params<'v>(
    params: &Map<String, Value>,
    lookup: &dyn Fn(&str) -> Option<&'v Value>,
) -> Result<Value, odp_analysis::template::EvaluateError> {
    fn resolve<'v>(
        v: &Value,
        lookup: &dyn Fn(&str) -> Option<&'v Value>,
    ) -> Result<Value, odp_analysis::template::EvaluateError> {
        Ok(match v {
            Value::String(s) if odp_analysis::template::may_contain_template(s) => {
                odp_analysis::template::evaluate(s, lookup)?
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| resolve(i, lookup))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (k, v) in map {
                    out.insert(k.clone(), resolve(v, lookup)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
    let mut out = Map::with_capacity(params.len());
    for (k, v) in params {
        out.insert(k.clone(), resolve(v, lookup)?);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_come_from_the_caller_then_defaults() {
        let text = "name: plan test\ninputs:\n  q: {type: string, default: ai}\n  n: {type: integer, default: 5}\n  must: {type: string, required: true}\nsources:\n  - name: t\n    method: social.twitter.search\n    params: {query: \"{{inputs.q}} {{inputs.must}}\", limit: \"{{inputs.n}}\"}\n";
        let registry = Registry::bundled();
        let analysis = odp_analysis::analyze(text, &odp_analysis::Environment::new(&registry));
        assert!(!analysis.has_errors(), "{:?}", analysis.diagnostics);
        assert_eq!(
            plan(&analysis, &registry, &Map::new()).unwrap_err(),
            PlanError::MissingInput("must".into())
        );
        let mut given = Map::new();
        given.insert("must".into(), json!("x"));
        given.insert("n".into(), coerce_input(Some("integer"), "7").unwrap());
        let p = plan(&analysis, &registry, &given).unwrap();
        assert_eq!(p.inputs["n"], json!(7));
        assert_eq!(p.inputs["q"], json!("ai"));
        assert_eq!(p.sources[0].endpoint, "/v1/social/twitter/search");
        let inputs = Value::Object(p.inputs.clone());
        let params = resolve_params(&p.sources[0].params, &|root| {
            (root == "inputs").then_some(&inputs)
        })
        .unwrap();
        assert_eq!(params, json!({"query": "ai x", "limit": 7}));
        given.insert("n".into(), json!("seven"));
        assert!(matches!(
            plan(&analysis, &registry, &given),
            Err(PlanError::BadInput { .. })
        ));
        given.insert("zzz".into(), json!(1));
        given.remove("n");
        assert!(matches!(
            plan(&analysis, &registry, &given),
            Err(PlanError::UnknownInput { .. })
        ));
        assert!(coerce_input(Some("boolean"), "yes").is_err());
    }

    #[test]
    fn command_line_values_take_the_declared_type() {
        assert_eq!(coerce_input(None, "x y"), Ok(json!("x y")));
        assert_eq!(coerce_input(Some("string"), " 7 "), Ok(json!(" 7 ")));
        assert_eq!(coerce_input(Some("integer"), " 42 "), Ok(json!(42)));
        assert_eq!(coerce_input(Some("number"), "2.5"), Ok(json!(2.5)));
        assert_eq!(coerce_input(Some("boolean"), "false"), Ok(json!(false)));
        assert_eq!(
            coerce_input(Some("array"), "[1, \"a\"]"),
            Ok(json!([1, "a"]))
        );
        assert_eq!(
            coerce_input(Some("object"), "{\"k\": 1}"),
            Ok(json!({"k": 1}))
        );
        for (ty, raw, says) in [
            ("integer", "4.5", "expected an integer, got `4.5`"),
            ("number", "NaN", "expected a number, got `NaN`"),
            ("number", "many", "expected a number, got `many`"),
            ("array", "{}", "expected a JSON list, got `{}`"),
            ("object", "[1]", "expected a JSON object, got `[1]`"),
            ("date", "x", "unknown input type `date`"),
        ] {
            assert_eq!(
                coerce_input(Some(ty), raw),
                Err(says.to_string()),
                "{ty} {raw}"
            );
        }
    }

    #[test]
    fn a_pipeline_with_errors_or_unknown_inputs_is_not_planned() {
        let registry = Registry::bundled();
        let env = odp_analysis::Environment::new(&registry);
        let broken = odp_analysis::analyze(
            "name: broken\nsources:\n  - name: t\n    method: social.twitter.serch\n",
            &env,
        );
        let err = plan(&broken, &registry, &Map::new()).unwrap_err();
        assert_eq!(err, PlanError::Invalid(broken.error_count()));
        assert!(err.to_string().contains("fix them first"), "{err}");

        let no_inputs = odp_analysis::analyze(
            "name: no inputs\nsources:\n  - name: t\n    method: social.twitter.search\n    params: {query: rust}\n",
            &env,
        );
        assert!(!no_inputs.has_errors(), "{:?}", no_inputs.diagnostics);
        let mut given = Map::new();
        given.insert("q".into(), json!("x"));
        let err = plan(&no_inputs, &registry, &given).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown input `q`; the pipeline's inputs are: none"
        );
        // An optional input without a default is null.
        let optional = odp_analysis::analyze(
            "name: optional\ninputs:\n  q: {type: string}\nsources:\n  - name: t\n    method: social.twitter.search\n    params: {query: \"{{inputs.q}}\"}\n",
            &env,
        );
        assert!(!optional.has_errors(), "{:?}", optional.diagnostics);
        let p = plan(&optional, &registry, &Map::new()).unwrap();
        assert_eq!(p.inputs["q"], Value::Null);
    }

    #[test]
    fn templates_resolve_inside_lists_and_objects() {
        let inputs = json!({"q": "rust", "n": 3});
        let params: Map<String, Value> = serde_json::from_value(json!({
            "texts": ["{{inputs.q}}", "plain", 7],
            "options": {"limit": "{{inputs.n}}", "label": "q={{inputs.q}}", "on": true},
        }))
        .unwrap();
        let resolved =
            resolve_params(&params, &|root| (root == "inputs").then_some(&inputs)).unwrap();
        assert_eq!(
            resolved,
            json!({"texts": ["rust", "plain", 7], "options": {"limit": 3, "label": "q=rust", "on": true}})
        );
        // A reference to something that is not there is an error, not a silent null.
        let missing: Map<String, Value> =
            serde_json::from_value(json!({"x": ["{{nowhere.results}}"]})).unwrap();
        assert!(resolve_params(&missing, &|_| None).is_err());
    }
}
