//! The language's keys are defined once ([`odp_analysis::keys`]); every place that lists them must agree with the
//! table, in its order: the generated JSON schema, completion, the draft writer and the checker.

use odp_analysis::keys::Place;
use odp_analysis::{Environment, Registry, analyze};
use odp_ide::{CompletionKind, Snapshot};

/// The names of the table, in its order.
fn table(place: Place) -> Vec<&'static str> {
    place.names().collect()
}

#[test]
fn the_generated_schema_lists_the_tables_keys_in_its_order() {
    let schema = odp_analysis::schema::pipeline_schema();
    for (pointer, place) in [
        ("/properties", Place::Pipeline),
        ("/$defs/StepDoc/properties", Place::Step),
        ("/$defs/InputDoc/properties", Place::Input),
        ("/$defs/RetryDoc/properties", Place::Retry),
    ] {
        let properties = schema
            .pointer(pointer)
            .and_then(|p| p.as_object())
            .expect(pointer);
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(names, table(place), "{pointer}");
        for key in place.keys() {
            assert_eq!(
                properties[key.name]["description"],
                key.documentation(),
                "{pointer}/{}",
                key.name
            );
        }
    }
}

#[test]
fn completion_offers_the_tables_keys_in_its_order() {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    for (fixture, place) in [
        ("$0\n", Place::Pipeline),
        (
            "name: p\nsources:\n  - description: d\n    $0\n",
            Place::Step,
        ),
        ("name: p\ninputs:\n  q:\n    $0\n", Place::Input),
        (
            "name: p\nsources:\n  - name: a\n    method: social.twitter.search\n    retry:\n      $0\n",
            Place::Retry,
        ),
    ] {
        let offset = fixture.find("$0").expect("a cursor");
        let text = fixture.replacen("$0", "", 1);
        let analysis = analyze(&text, &env);
        let snapshot = Snapshot {
            text: &text,
            analysis: &analysis,
            env: &env,
        };
        let items = snapshot.completions(offset);
        let offered: Vec<&str> = items
            .iter()
            .filter(|i| i.kind == CompletionKind::Key)
            .map(|i| i.label.as_str())
            .collect();
        let expected: Vec<&str> = table(place)
            .into_iter()
            .filter(|k| !(place == Place::Step && *k == "description"))
            .collect();
        assert_eq!(offered, expected, "{place:?}: {fixture:?}");
        for item in items.iter().filter(|i| i.kind == CompletionKind::Key) {
            let key = place.key(&item.label).expect("a key of the table");
            assert_eq!(
                item.documentation.as_deref(),
                Some(key.documentation().as_str())
            );
        }
    }
}

/// A pipeline with every key of every place, each mapping's keys written in reverse order.
fn every_key_reversed() -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let value_of = |place: Place, key: &str| -> Value {
        match (place, key) {
            (Place::Pipeline, "name") => json!("every key"),
            (Place::Pipeline, "inputs") => {
                let mut input = Map::new();
                for k in table(Place::Input).into_iter().rev() {
                    input.insert(
                        k.into(),
                        match k {
                            "type" => json!("string"),
                            "default" => json!("rust"),
                            "required" => json!(false),
                            _ => json!("a query"),
                        },
                    );
                }
                json!({ "query": input })
            }
            (Place::Pipeline, "sources" | "transforms") => {
                let mut step = Map::new();
                for k in table(Place::Step).into_iter().rev() {
                    step.insert(
                        k.into(),
                        match k {
                            "name" if key == "sources" => json!("tweets"),
                            "name" => json!("mood"),
                            "method" if key == "sources" => json!("social.twitter.search"),
                            "method" => json!("nlp.sentiment.analyze"),
                            "params" if key == "sources" => json!({ "query": "{{inputs.query}}" }),
                            "params" => json!({ "texts": "{{tweets.results[*].text}}" }),
                            "timeout" => json!("30s"),
                            "retry" => {
                                let mut retry = Map::new();
                                for r in table(Place::Retry).into_iter().rev() {
                                    retry.insert(
                                        r.into(),
                                        match r {
                                            "max_attempts" => json!(5),
                                            "backoff_coefficient" => json!(1.5),
                                            _ => json!("2s"),
                                        },
                                    );
                                }
                                Value::Object(retry)
                            }
                            _ => json!("what it does"),
                        },
                    );
                }
                json!([step])
            }
            _ => json!("a pipeline with every key"),
        }
    };
    let mut pipeline = Map::new();
    for key in table(Place::Pipeline).into_iter().rev() {
        pipeline.insert(key.into(), value_of(Place::Pipeline, key));
    }
    Value::Object(pipeline)
}

/// The keys of each mapping of a parsed file, in the order written, with the place each mapping is.
fn written_keys(text: &str) -> Vec<(Place, Vec<String>)> {
    let parse = odp_syntax::parse(text);
    assert!(parse.errors.is_empty(), "{:?}\n{text}", parse.errors);
    let root = parse.root.expect("a document");
    let names = |node: &odp_syntax::Node| -> Vec<String> {
        node.entries()
            .expect("a mapping")
            .iter()
            .map(|e| e.key.to_string())
            .collect()
    };
    let mut out = vec![(Place::Pipeline, names(&root))];
    for input in root
        .get("inputs")
        .and_then(|e| e.value.entries())
        .unwrap_or_default()
    {
        out.push((Place::Input, names(&input.value)));
    }
    for section in ["sources", "transforms"] {
        for step in root
            .get(section)
            .and_then(|e| e.value.items())
            .unwrap_or_default()
        {
            out.push((Place::Step, names(step)));
            if let Some(retry) = step.get("retry") {
                out.push((Place::Retry, names(&retry.value)));
            }
        }
    }
    out
}

#[test]
fn the_draft_writer_writes_the_tables_keys_in_its_order_and_the_checker_accepts_them() {
    let yaml = odp_draft::yaml::pipeline_to_yaml(&every_key_reversed());
    let written = written_keys(&yaml);
    assert_eq!(
        written.len(),
        6,
        "pipeline, input, two steps, two retries:\n{yaml}"
    );
    for (place, keys) in written {
        assert_eq!(keys, table(place), "{place:?}:\n{yaml}");
    }
    let registry = Registry::bundled();
    let analysis = analyze(&yaml, &Environment::new(&registry));
    assert!(
        analysis.diagnostics.is_empty(),
        "every key of the table is accepted: {:?}\n{yaml}",
        analysis.diagnostics
    );
}
