//! Every example pipeline (and every broken one) as Mermaid and DOT, kept as snapshots in tests/snapshots
//! (`UPDATE_EXPECT=1 cargo test -p odp-graph` rewrites them), and as SVG, whose boxes and labels, read back from the
//! SVG text, must not overlap.

use std::path::{Path, PathBuf};

use expect_test::expect_file;
use odp_graph::{Direction, Graph, to_dot, to_mermaid, to_svg};

fn examples() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut out = Vec::new();
    for (dir, prefix) in [(root.clone(), ""), (root.join("broken"), "broken-")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if let Some(stem) = name.strip_suffix(".odp.yaml") {
                out.push((format!("{prefix}{stem}"), path));
            }
        }
    }
    out.sort();
    assert!(out.len() > 20, "the examples were not found");
    out
}

fn graph(path: &Path) -> Graph {
    let text = std::fs::read_to_string(path).unwrap();
    let analysis = odp_analysis::analyze_with_bundled_registry(&text);
    Graph::from_analysis(&text, &analysis)
}

#[test]
fn mermaid_and_dot_of_every_example() {
    for (name, path) in examples() {
        let g = graph(&path);
        expect_file![format!("snapshots/{name}.mmd")]
            .assert_eq(&to_mermaid(&g, Direction::LeftRight));
        expect_file![format!("snapshots/{name}.dot")].assert_eq(&to_dot(&g));
    }
}

/// The value of `name="..."` in an element's text.
fn attr(element: &str, name: &str) -> f64 {
    let key = format!(" {name}=\"");
    let start = element
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        + key.len();
    let end = start + element[start..].find('"').unwrap();
    element[start..end].parse().unwrap()
}

/// The bounding boxes of the `<rect class="CLASS" ...>` elements of an SVG text.
fn rects(svg: &str, class: &str) -> Vec<(f64, f64, f64, f64)> {
    let open = format!("<rect class=\"{class}\"");
    svg.match_indices(&open)
        .map(|(i, _)| {
            let element = &svg[i..i + svg[i..].find("/>").unwrap()];
            (
                attr(element, "x"),
                attr(element, "y"),
                attr(element, "width"),
                attr(element, "height"),
            )
        })
        .collect()
}

fn overlap(a: &(f64, f64, f64, f64), b: &(f64, f64, f64, f64)) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

/// Names of the pairs of boxes (nodes `n…`, labels `l…`) that overlap.
pub fn overlaps(svg: &str) -> Vec<String> {
    let boxes: Vec<(String, (f64, f64, f64, f64))> = rects(svg, "box")
        .into_iter()
        .enumerate()
        .map(|(i, r)| (format!("node {i}"), r))
        .chain(
            rects(svg, "label")
                .into_iter()
                .enumerate()
                .map(|(i, r)| (format!("label {i}"), r)),
        )
        .collect();
    let mut found = Vec::new();
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            if overlap(&a.1, &b.1) {
                found.push(format!("{} {:?} and {} {:?}", a.0, a.1, b.0, b.1));
            }
        }
    }
    found
}

#[test]
fn no_two_boxes_or_labels_overlap_in_the_svg_of_any_example() {
    for (name, path) in examples() {
        let g = graph(&path);
        let svg = to_svg(&g);
        assert_eq!(rects(&svg, "box").len(), g.nodes.len(), "{name}");
        let labelled = g
            .edges
            .iter()
            .filter(|e| !e.labels.is_empty() && e.from != e.to)
            .count();
        assert_eq!(rects(&svg, "label").len(), labelled, "{name}");
        let found = overlaps(&svg);
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
}
