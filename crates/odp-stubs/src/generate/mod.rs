//! Made-up results: method-specific generators for the bundled methods, and a generator driven by the output
//! schema for any other method. Everything is seeded by a hash of the method id and the params, so the same
//! call always gets the same answer; nothing depends on the clock.

mod nlp;
mod params;
mod records;
mod schema;
mod seed;
mod sources;
mod time;
mod vocab;
mod words;

use std::collections::HashMap;

use odp_analysis::registry::OutputSpec;
use odp_analysis::{Method, Registry};
use serde_json::{Value, json};

use crate::StubConfig;
use schema::from_schema;
use seed::{Rng, seed};

pub(crate) use seed::unit_hash;

/// Compiled output schemas by method id, to check the built-in generators against a custom registry.
pub(crate) struct OutputValidators(HashMap<String, jsonschema::Validator>);

impl OutputValidators {
    pub(crate) fn new(registry: &Registry) -> OutputValidators {
        let mut map = HashMap::new();
        for m in registry.methods() {
            if let OutputSpec::Schema(schema) = &m.spec.output
                && let Ok(v) = jsonschema::validator_for(&schema.0)
            {
                map.insert(m.id().to_string(), v);
            }
        }
        OutputValidators(map)
    }

    fn fits(&self, id: &str, value: &Value) -> bool {
        self.0.get(id).is_none_or(|v| v.is_valid(value))
    }
}

/// The result of a call with valid params; `Err` is a message for a `422` (params the schema cannot rule out,
/// such as a non-list `value` for `op: in`).
pub(crate) fn respond(
    method: &Method,
    params: &Value,
    config: &StubConfig,
    outputs: &OutputValidators,
) -> Result<Value, String> {
    if let Some(result) = specific(method.id(), params, config)? {
        if outputs.fits(method.id(), &result) {
            return Ok(result);
        }
        tracing::warn!(
            method = method.id(),
            "the built-in answer does not fit this registry's output schema; generating from the schema"
        );
    }
    Ok(match &method.spec.output {
        OutputSpec::Dynamic(_) => json!({ "result": params }),
        OutputSpec::Schema(schema) => {
            let mut rng = Rng::new(seed(method.id(), params));
            from_schema(&schema.0, "", &mut rng, 0)
        }
    })
}

/// The method-specific answer, for the methods of the bundled registry.
fn specific(id: &str, p: &Value, config: &StubConfig) -> Result<Option<Value>, String> {
    let max = config.max_results;
    Ok(Some(match id {
        "social.twitter.search" => sources::twitter(p, max),
        "social.reddit.search" => sources::reddit(p, max),
        "social.mastodon.search" => sources::mastodon(p, max),
        "news.newsapi.search" => sources::newsapi(p, max),
        "web.page.fetch" => sources::page(p),
        "web.rss.read" => sources::rss(p, max),
        "finance.market.quotes" => sources::quotes(p),
        "nlp.sentiment.analyze" => nlp::sentiment(p),
        "nlp.entities.extract" => nlp::entities(p),
        "nlp.summary.generate" => nlp::summary(p)?,
        "nlp.language.detect" => nlp::language(p),
        "nlp.translation.translate" => nlp::translate(p),
        "nlp.keywords.extract" => nlp::keywords(p),
        "ml.topics.cluster" => nlp::topics(p),
        "data.records.merge" => records::merge(p),
        "data.records.dedupe" => records::dedupe(p),
        "data.records.filter" => records::filter(p)?,
        "data.records.sort" => records::sort(p),
        // "data.custom.transform" is evaluated by `crate::jq`, before this is reached.
        _ => return Ok(None),
    }))
}

/// `x` rounded to `places` decimals, as the answers write their scores.
pub(crate) fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

#[cfg(test)]
mod tests;
