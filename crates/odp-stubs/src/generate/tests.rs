use odp_analysis::Registry;
use odp_analysis::registry::OutputSpec;
use serde_json::{Value, json};

use super::time::{NOW, parse_time, rfc3339};
use super::*;
use crate::test_support::example_params;

fn run(id: &str, params: Value) -> Value {
    specific(id, &params, &StubConfig::default())
        .unwrap()
        .unwrap()
}

/// Every bundled method has its own generator (`data.custom.transform`: jq, in `crate::jq`), and its answer fits
/// the output schema with formats checked.
#[test]
fn bundled_generators_fit_their_output_schemas() {
    let registry = Registry::bundled();
    let examples = example_params();
    for method in registry.methods() {
        let params = &examples[method.id()];
        assert!(
            method.validator().unwrap().is_valid(params),
            "{}: example params",
            method.id()
        );
        if method.id() == crate::jq::METHOD {
            continue;
        }
        let result = specific(method.id(), params, &StubConfig::default())
            .unwrap()
            .unwrap_or_else(|| panic!("{} has no generator", method.id()));
        if let OutputSpec::Schema(schema) = &method.spec.output {
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema.0)
                .unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&result)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{}: {errors:#?}\n{result:#}",
                method.id()
            );
        }
    }
    assert_eq!(examples.len(), registry.methods().len());
}

#[test]
fn dates_round_trip() {
    assert_eq!(rfc3339(NOW), "2025-06-02T12:00:00Z");
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(parse_time("2025-06-02T12:00:00Z"), Some(NOW));
    assert_eq!(parse_time("2025-06-02T14:00:00.5+02:00"), Some(NOW));
    assert_eq!(
        parse_time("2024-02-29").map(rfc3339).as_deref(),
        Some("2024-02-29T00:00:00Z")
    );
}

#[test]
fn seed_ignores_key_order() {
    let a = json!({"query": "x", "limit": 3});
    let b: Value = serde_json::from_str(r#"{"limit": 3, "query": "x"}"#).unwrap();
    assert_eq!(seed("m", &a), seed("m", &b));
    assert_ne!(seed("m", &a), seed("n", &a));
}

#[test]
fn searches_respect_limit_and_mention_the_query() {
    let big = run(
        "social.twitter.search",
        json!({"query": "solar power", "limit": 1000}),
    );
    assert_eq!(big["count"], 50);
    let small = run(
        "social.twitter.search",
        json!({"query": "solar power", "limit": 5}),
    );
    assert_eq!(small["results"].as_array().unwrap().len(), 5);
    for r in small["results"].as_array().unwrap() {
        assert!(
            r["text"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("solar power"),
            "{r}"
        );
        let ids: Vec<&Value> = big["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| &b["id"])
            .collect();
        assert!(ids.contains(&&r["id"]), "a smaller limit gives a subset");
    }
    let from = run(
        "social.twitter.search",
        json!({"query": "from:nasa moon", "limit": 3}),
    );
    assert_eq!(from["results"][0]["author"], "nasa");
}

#[test]
fn sentiment_follows_the_words() {
    let out = run(
        "nlp.sentiment.analyze",
        json!({"texts": ["great, I love it", "awful and slow", "on Tuesday", "not good"]}),
    );
    let labels: Vec<&str> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["positive", "negative", "neutral", "negative"]);
    assert_eq!(
        out["summary"],
        json!({"positive": 1, "neutral": 1, "negative": 2})
    );
    assert!(out["average_score"].as_f64().unwrap() < 0.0);
}

#[test]
fn entities_find_names_with_offsets() {
    let text = "Yesterday Maria Garcia from Mozilla flew to New York for $200.";
    let out = run("nlp.entities.extract", json!({"texts": [text]}));
    let found: Vec<(String, String, String)> = out["results"][0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (s, t) = (
                e["start"].as_u64().unwrap() as usize,
                e["end"].as_u64().unwrap() as usize,
            );
            let slice: String = text.chars().skip(s).take(t - s).collect();
            assert_eq!(slice, e["text"].as_str().unwrap());
            (
                slice,
                e["type"].as_str().unwrap().to_string(),
                String::new(),
            )
        })
        .collect();
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|(a, b, _)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("Maria Garcia", "person"),
            ("Mozilla", "organization"),
            ("New York", "location"),
            ("$200", "money")
        ]
    );
}

#[test]
fn language_and_translation() {
    let out = run(
        "nlp.language.detect",
        json!({"texts": ["the cat is on the mat", "das ist nicht gut", "東京です", "42"]}),
    );
    let langs: Vec<&str> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["language"].as_str().unwrap())
        .collect();
    assert_eq!(langs, ["en", "de", "ja", "und"]);
    let out = run(
        "nlp.translation.translate",
        json!({"texts": ["das ist nicht gut", "this is it"], "target_language": "en"}),
    );
    assert_eq!(out["results"][0]["translation"], "[en] das ist nicht gut");
    assert_eq!(out["results"][0]["source_language"], "de");
    assert_eq!(out["results"][1]["translation"], "this is it");
}

#[test]
fn topics_and_keywords() {
    let examples = example_params();
    let out = run("ml.topics.cluster", examples["ml.topics.cluster"].clone());
    assert_eq!(
        out["topics"][0]["label"]
            .as_str()
            .unwrap()
            .split(' ')
            .next(),
        Some("Battery")
    );
    assert_eq!(out["topics"][0]["size"], 3);
    assert_eq!(out["assignments"].as_array().unwrap().len(), 6);
    let out = run(
        "nlp.keywords.extract",
        examples["nlp.keywords.extract"].clone(),
    );
    assert_eq!(
        out["keywords"][0],
        json!({"keyword": "async", "score": 1.0, "count": 3})
    );
    assert_eq!(out["keywords"][1]["keyword"], "rust");
}

#[test]
fn record_transforms_apply() {
    let examples = example_params();
    let out = run(
        "data.records.dedupe",
        examples["data.records.dedupe"].clone(),
    );
    assert_eq!(
        (out["count"].clone(), out["removed"].clone()),
        (json!(3), json!(1))
    );
    let out = run(
        "data.records.filter",
        examples["data.records.filter"].clone(),
    );
    assert_eq!(
        out["results"],
        json!([{"likes": 10, "author": {"name": "Ann"}}])
    );
    let out = run(
        "data.records.filter",
        json!({"records": [{"author": {"name": "ann"}}], "field": "author.name", "op": "eq", "value": "ANN", "case_sensitive": false}),
    );
    assert_eq!(out["count"], 1);
    let out = run("data.records.sort", examples["data.records.sort"].clone());
    assert_eq!(
        out["results"],
        json!([{"likes": 10}, {"likes": 7}, {"likes": 3}])
    );
    let out = run("data.records.merge", examples["data.records.merge"].clone());
    assert_eq!(out["count"], 3);
    assert_eq!(out["results"][2]["source"], 1);
    let err = specific(
        "data.records.filter",
        &json!({"records": [], "field": "x", "op": "in", "value": 3}),
        &StubConfig::default(),
    );
    assert!(err.is_err());
}

#[test]
fn custom_methods_get_answers_from_their_schema() {
    let yaml = r#"
version: 1
methods:
  - id: acme.widgets.list
    kind: source
    service: crawler
    summary: Widgets.
    endpoint: /v1/acme/widgets
    params: {type: object, properties: {q: {type: string}}}
    output:
      type: object
      required: [results, count]
      properties:
        results:
          type: array
          minItems: 2
          items:
            type: object
            required: [id, url, created_at, status, code]
            properties:
              id: {type: string}
              url: {type: string, format: uri}
              created_at: {type: string, format: date-time}
              status: {type: string, enum: [open, closed]}
              code: {type: string, pattern: "^[A-Z]{3}$"}
              rating: {type: number, minimum: 1, maximum: 5}
        count: {type: integer}
  - id: acme.any.thing
    kind: transform
    service: model
    summary: Anything.
    endpoint: /v1/acme/any
    params: {type: object}
    output: dynamic
"#;
    let (registry, errors) = Registry::from_yaml(yaml);
    assert!(errors.is_empty(), "{errors:?}");
    let outputs = OutputValidators::new(&registry);
    let list = registry.get("acme.widgets.list").unwrap();
    let out = respond(list, &json!({"q": "x"}), &StubConfig::default(), &outputs).unwrap();
    let OutputSpec::Schema(schema) = &list.spec.output else {
        unreachable!()
    };
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema.0)
        .unwrap();
    assert!(validator.is_valid(&out), "{out:#}");
    assert_eq!(
        out["count"].as_u64().unwrap() as usize,
        out["results"].as_array().unwrap().len()
    );
    assert_eq!(
        out,
        respond(list, &json!({"q": "x"}), &StubConfig::default(), &outputs).unwrap()
    );
    let any = registry.get("acme.any.thing").unwrap();
    let out = respond(any, &json!({"a": 1}), &StubConfig::default(), &outputs).unwrap();
    assert_eq!(out, json!({"result": {"a": 1}}));
}

#[test]
fn phrases_and_fuzzy_duplicates() {
    let out = run(
        "nlp.keywords.extract",
        json!({"texts": ["Electric cars sell well", "electric cars: slow, buggy", "buggy again"]}),
    );
    assert_eq!(
        out["keywords"][0],
        json!({"keyword": "electric cars", "score": 1.0, "count": 2})
    );
    assert_eq!(
        out["keywords"][1]["keyword"], "buggy",
        "no phrase across punctuation"
    );
    let records = json!([
        {"text": "Tesla cuts prices in Europe"},
        {"text": "Tesla cuts prices in Europe again"},
        {"text": "Something else entirely"},
    ]);
    let out = run(
        "data.records.dedupe",
        json!({"records": records, "key": "text", "strategy": "fuzzy", "threshold": 0.8}),
    );
    assert_eq!(out["removed"], 1);
}
