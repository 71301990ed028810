//! `analyze_incremental` must give exactly what `analyze` gives, whatever the edit: random edits to every example
//! (valid and broken), each analysis compared with a fresh one; and a reuse count that shows the cache is used.

use odp_syntax::random_edits::{Rng, edit, examples};

use crate::{Analysis, CheckCache, Environment, Registry, analyze, analyze_incremental};

fn assert_same(fresh: &Analysis, incremental: &Analysis, context: &str) {
    assert_eq!(
        fresh.diagnostics, incremental.diagnostics,
        "diagnostics: {context}"
    );
    assert_eq!(
        fresh.references, incremental.references,
        "references: {context}"
    );
    assert_eq!(fresh.pipeline, incremental.pipeline, "pipeline: {context}");
    assert_eq!(
        fresh.suppressed, incremental.suppressed,
        "suppressed: {context}"
    );
    assert_eq!(*fresh.parse, *incremental.parse, "tree: {context}");
}

#[test]
fn incremental_analysis_equals_a_fresh_one_after_random_edits() {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let mut hits = 0;
    for (seed, (path, original)) in examples().into_iter().enumerate() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed as u64 + 1));
        let mut cache = CheckCache::default();
        let mut text = original.clone();
        for round in 0..150 {
            // Back to the original now and then, so that the text stays a pipeline and not noise.
            text = if round % 30 == 29 {
                original.clone()
            } else {
                edit(&mut rng, &text)
            };
            let incremental = analyze_incremental(&text, &env, &mut cache);
            hits += cache.last_hits();
            let fresh = analyze(&text, &env);
            assert_same(
                &fresh,
                &incremental,
                &format!("{path}, round {round}:\n{text}"),
            );
        }
    }
    assert!(
        hits > 1000,
        "the cache was hardly used: {hits} reused step bodies"
    );
}

#[test]
fn an_edit_inside_one_step_rechecks_only_that_step() {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let mut text = String::from(
        "name: many steps\ninputs:\n  query:\n    type: string\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n      query: \"{{inputs.query}}\"\ntransforms:\n",
    );
    for i in 0..50 {
        text.push_str(&format!(
            "  - name: lang_{i}\n    method: nlp.language.detect\n    params:\n      texts: \"{{{{tweets.results[*].text}}}}\"\n"
        ));
    }
    let mut cache = CheckCache::default();
    let first = analyze_incremental(&text, &env, &mut cache);
    assert_eq!(cache.last_hits(), 0);
    assert_eq!(cache.len(), 51, "every body is kept");
    assert!(first.diagnostics.is_empty(), "{:?}", first.diagnostics);

    // A typo in the 20th transform's template: that body is checked again, the other 50 are reused and moved.
    let at = text.match_indices("tweets.results").nth(20).unwrap().0;
    let edited = format!("{}tweetz{}", &text[..at], &text[at + "tweets".len()..]);
    drop(first); // (the server drops the previous analysis's tree, too, before analysing the next version)
    let second = analyze_incremental(&edited, &env, &mut cache);
    assert_eq!(cache.last_hits(), 50);
    assert!(
        cache.last_reparsed(),
        "only the edited step is parsed again"
    );
    assert_same(&analyze(&edited, &env), &second, "typo");
    assert_eq!(second.diagnostics.len(), 1, "{:?}", second.diagnostics);

    // Inserting a line early moves every later step: still reused, at their new offsets.
    let moved = edited.replacen("sources:\n", "sources:\n  # a comment\n", 1);
    let third = analyze_incremental(&moved, &env, &mut cache);
    assert_eq!(cache.last_hits(), 50);
    assert!(
        !cache.last_reparsed(),
        "the previous tree is still held by `second`"
    );
    assert_same(&analyze(&moved, &env), &third, "moved");

    // Changing the method of `tweets` changes what every transform looks up: none is reused.
    let other = moved.replacen("social.twitter.search", "news.google.search", 1);
    let fourth = analyze_incremental(&other, &env, &mut cache);
    assert_eq!(cache.last_hits(), 0);
    assert_same(&analyze(&other, &env), &fourth, "method changed");
}

#[test]
fn a_new_registry_is_never_served_from_the_cache() {
    let text = "name: one step\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n      query: rust\n";
    let bundled = Registry::bundled();
    let mut cache = CheckCache::default();
    let a = analyze_incremental(text, &Environment::new(&bundled), &mut cache);
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
    let (empty, _) = Registry::from_yaml("version: 1\nmethods: []\n");
    let b = analyze_incremental(text, &Environment::new(&empty), &mut cache);
    assert_eq!(cache.last_hits(), 0);
    assert_same(
        &analyze(text, &Environment::new(&empty)),
        &b,
        "empty registry",
    );
    assert!(!b.diagnostics.is_empty());
}
