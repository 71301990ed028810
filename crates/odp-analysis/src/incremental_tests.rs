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

/// Rounds of random edits per example: 150 in CI; more with `ODP_RANDOM_EDIT_ROUNDS` (e.g. 5000) locally.
fn rounds() -> usize {
    std::env::var("ODP_RANDOM_EDIT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(150)
}

#[test]
fn incremental_analysis_equals_a_fresh_one_after_random_edits() {
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let mut hits = 0;
    for (seed, (path, original)) in examples().into_iter().enumerate() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed as u64 + 1));
        let mut cache = CheckCache::default();
        // Each reuse is also compared with a fresh check of the body: a miss names the step, whatever the edit.
        cache.verify_reuse();
        let mut text = original.clone();
        for round in 0..rounds() {
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
    cache.verify_reuse();
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

/// Live result types refine what a reference to a `dynamic` output resolves to, never its diagnostics; an
/// incremental analysis re-checks exactly the bodies that looked up a live type that changed.
#[test]
fn live_types_refine_references_not_diagnostics_and_invalidate_what_used_them() {
    use crate::{LiveType, Target, Ty};
    let registry = Registry::bundled();
    let text = "name: live types\nsources:\n  - name: posts\n    method: social.reddit.search\n    params:\n      query: rust\ntransforms:\n  - name: ranked\n    method: data.custom.transform\n    params:\n      input: \"{{posts.results}}\"\n      expression: \".\"\n  - name: mood\n    method: nlp.sentiment.analyze\n    params:\n      texts: \"{{ranked.top[*].title}}\"\n  - name: summary\n    method: nlp.summary.generate\n    params:\n      texts: \"{{posts.results[*].text}}\"\n";
    let ty_of = |analysis: &Analysis, root: &str| {
        analysis
            .references
            .iter()
            .find(|r| r.path.root == root && matches!(r.target, Target::Step(_)))
            .map(|r| r.ty.clone())
            .expect("a reference")
    };
    let item = Ty::Object {
        fields: std::sync::Arc::new([("title".to_string(), Ty::String)].into()),
        open: false,
    };
    let live = [LiveType {
        step: "ranked".to_string(),
        ty: Ty::Object {
            fields: std::sync::Arc::new([("top".to_string(), Ty::list(item))].into()),
            open: false,
        },
    }];
    let without = Environment::new(&registry);
    let with = Environment {
        live: &live,
        ..Environment::new(&registry)
    };

    let plain = analyze(text, &without);
    assert!(plain.diagnostics.is_empty(), "{:?}", plain.diagnostics);
    assert_eq!(
        ty_of(&plain, "ranked"),
        Ty::list(Ty::Any),
        "a dynamic output"
    );
    let refined = analyze(text, &with);
    assert_eq!(ty_of(&refined, "ranked"), Ty::list(Ty::String));
    assert_eq!(refined.diagnostics, plain.diagnostics);
    // A declared output that knows the type keeps it, whatever the live types say.
    assert_eq!(ty_of(&refined, "posts"), ty_of(&plain, "posts"));

    // A live type that contradicts a param's type changes no diagnostic either.
    let wrong = [LiveType {
        step: "ranked".to_string(),
        ty: Ty::Object {
            fields: std::sync::Arc::new([("top".to_string(), Ty::Int)].into()),
            open: false,
        },
    }];
    let contradicted = analyze(
        text,
        &Environment {
            live: &wrong,
            ..Environment::new(&registry)
        },
    );
    assert_eq!(contradicted.diagnostics, plain.diagnostics);

    // Incrementally: the same text with new live types re-checks only `mood` (the body that looked one up).
    let mut cache = CheckCache::default();
    analyze_incremental(text, &without, &mut cache);
    let second = analyze_incremental(text, &with, &mut cache);
    assert_same(&refined, &second, "live types added");
    assert_eq!(cache.last_hits(), 3, "every body but `mood` is reused");
    let third = analyze_incremental(text, &with, &mut cache);
    assert_same(&refined, &third, "unchanged");
    assert_eq!(cache.last_hits(), 4);
    let fourth = analyze_incremental(text, &without, &mut cache);
    assert_same(&plain, &fourth, "live types gone");
    assert_eq!(cache.last_hits(), 3);
}

/// The checker's rules read other steps only through the scope's recording accessors (`check/scope.rs`); should
/// one not record (here: a fault injected into `lookup_step`), a reused body goes stale, and `verify_reuse` turns
/// that into a failure naming the step on the first edit that shows it.
#[test]
fn a_lookup_that_is_not_recorded_fails_the_reuse_check() {
    use crate::check::tests_only::FORGET_STEP_LOOKUPS;
    let registry = Registry::bundled();
    let env = Environment::new(&registry);
    let text = "name: forgetful\nsources:\n  - name: articles\n    method: news.newsapi.search\n    params:\n      query: rust\ntransforms:\n  - name: lang\n    method: nlp.language.detect\n    params:\n      texts: \"{{articles.results[*].title}}\"\n";
    // A tweet has no `title`: the transform's template breaks, in a step the edit did not touch.
    let other = text.replacen("news.newsapi.search", "social.twitter.search", 1);
    assert_ne!(
        analyze(text, &env).diagnostics,
        analyze(&other, &env).diagnostics,
        "the edit must change the transform's diagnostics for this test to mean anything"
    );
    let run = |verify: bool| {
        let mut cache = CheckCache::default();
        if verify {
            cache.verify_reuse();
        }
        FORGET_STEP_LOOKUPS.set(true);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            analyze_incremental(text, &env, &mut cache);
            analyze_incremental(&other, &env, &mut cache)
        }));
        FORGET_STEP_LOOKUPS.set(false);
        result
    };
    // Without the check, the stale body is served: the transform's diagnostics are those of the old method.
    let stale = run(false).expect("no check, no panic");
    assert_ne!(stale.diagnostics, analyze(&other, &env).diagnostics);
    // With it, the reuse fails and names the step.
    let failure = run(true).expect_err("the reuse check must catch the unrecorded lookup");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("step 1 (`lang`): reused diagnostics differ from a fresh check"),
        "{message}"
    );
}
