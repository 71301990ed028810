//! Suppressions that repeat a code: one finding per code, however often it is written, with a fix of bounded size.

use expect_test::expect;

use crate::tests::{check, with_head};
use crate::{Code, analyze_with_bundled_registry, apply_edits};

#[test]
fn a_repeated_code_is_one_finding() {
    check(
        &with_head(
            r#"sources:
  - name: tweets   # odp: ignore[ODP500, unused-source, ODP500]
    method: social.twitter.search
    params: {query: ai, limt: 1}   # odp: ignore[ODP303,ODP303 , ODP303]
  - name: toots
    method: social.mastodon.search
    params: {query: ai, limt: 1}   # odp: ignore[ODP300, ODP303, ODP300]
  - name: posts
    method: social.reddit.search
    params: {query: ai}   # odp: ignore[ODP300, ODP300]
  # odp: ignore[unused-sorce, unused-sorce, unused-sorce]
  - name: news
    method: news.newsapi.search
    params: {query: ai}
transforms:
  - name: summary
    method: nlp.summary.generate
    params: {text: "{{toots.count}} {{posts.count}}"}
"#,
        ),
        expect![[r#"
            Warning[ODP502] 3:42..3:55 "unused-source": ODP500 is written 3 times in this suppression
              help: once is enough: the repeats suppress nothing more
              fix (Safe): Remove the repeats of ODP500 => "  - name: tweets   # odp: ignore[ODP500]"
            Warning[ODP502] 5:57..5:63 "ODP303": ODP303 is written 3 times in this suppression
              help: once is enough: the repeats suppress nothing more
              fix (Safe): Remove the repeats of ODP303 => "    params: {query: ai, limt: 1}   # odp: ignore[ODP303]"
            Warning[ODP502] 8:50..8:56 "ODP300": this suppression of ODP300 suppresses nothing
              help: there is no ODP300 on this line (and it is written 2 times)
              fix (Safe): Remove ODP300 from the suppression => "    params: {query: ai, limt: 1}   # odp: ignore[ODP303]"
            Warning[ODP502] 11:41..11:47 "ODP300": this suppression of ODP300 suppresses nothing
              help: there is no ODP300 on this line (and it is written 2 times)
              fix (Safe): Remove the suppression comment => "    params: {query: ai}"
            Warning[ODP502] 12:17..12:29 "unused-sorce": unknown code `unused-sorce` in suppression, written 3 times
              help: did you mean `unused-source`?
              fix (Unsafe): Replace with `unused-source` => "  # odp: ignore[unused-source]"
            Warning[ODP500] 13:11..13:15 "news": no transform uses the result of source `news`
              help: use it as `{{news.…}}` in a transform, or remove it
        "#]],
    );
}

#[test]
fn a_line_repeating_a_code_thousands_of_times_makes_one_finding_with_one_small_fix() {
    // Used, unused, unknown.
    for code in ["ODP500", "ODP300", "unused-sorce"] {
        let list = vec![code; 4000].join(", ");
        let text = with_head(&format!(
            "sources:\n  - name: tweets   # odp: ignore[{list}]\n    method: social.twitter.search\n    params: {{query: ai}}\ntransforms:\n  - name: summary\n    method: nlp.summary.generate\n    params: {{text: hello}}\n"
        ));
        let line = text.lines().nth(2).unwrap();
        let diagnostics = analyze_with_bundled_registry(&text).diagnostics;
        let on_the_line: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.code == Code::UnusedSuppression)
            .collect();
        assert_eq!(on_the_line.len(), 1, "{code}: {on_the_line:#?}");
        let d = on_the_line[0];
        let said = format!("{} {}", d.message, d.help.as_deref().unwrap_or(""));
        assert!(said.contains("4000 times"), "{code}: {said}");
        let fix = d.fix.as_ref().expect("a fix");
        assert!(fix.edits.len() <= 2, "{code}: {} edits", fix.edits.len());
        let written: usize = fix.edits.iter().map(|e| e.new_text.len()).sum();
        assert!(
            written <= line.len(),
            "{code}: the fix writes {written} bytes"
        );
        let (fixed, _) = apply_edits(&text, &fix.edits);
        let after = analyze_with_bundled_registry(&fixed).diagnostics;
        let expected_line = match code {
            "ODP500" => "  - name: tweets   # odp: ignore[ODP500]",
            "ODP300" => "  - name: tweets",
            _ => "  - name: tweets   # odp: ignore[unused-source]",
        };
        assert_eq!(fixed.lines().nth(2).unwrap(), expected_line, "{code}");
        assert!(
            after.iter().all(|d| d.code != Code::UnusedSuppression),
            "{code}: {after:#?}"
        );
    }
}
