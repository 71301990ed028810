//! SVG from our own layout ([`crate::layout`]): no Graphviz. Sizes come from the texts (the font is monospace, so a
//! text's width is its cells times the font's advance); every colour is a presentation attribute, so the picture
//! looks the same inlined in a page, in an `<img>` (JupyterLab, GitHub) or opened alone.
//!
//! Each node is a `<g class="node KIND MARKS" id="odp-node-ID">` with `data-name`, `data-kind`, `data-line` (0-based)
//! and `data-start`/`data-end` (byte offsets in the text) so that a viewer can map a click to the step. Node boxes
//! are `<rect class="box">`, edge labels `<rect class="label">`.

use std::fmt::Write;

use crate::escape::{cells, truncate, visible, xml};
use crate::layout::{LayoutInput, Rect, Route, layout};
use crate::model::{Graph, NodeKind, RunStatus};

const FONT: &str = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace";
/// A monospace font's advance, in ems.
const ADVANCE: f64 = 0.6;
const NAME_PX: f64 = 13.0;
const DETAIL_PX: f64 = 11.5;
const STATUS_PX: f64 = 11.0;
const LABEL_PX: f64 = 11.0;
const PAD_X: f64 = 12.0;
const PAD_Y: f64 = 7.0;
const NAME_LH: f64 = 18.0;
const DETAIL_LH: f64 = 16.0;
const STATUS_LH: f64 = 15.0;
const LABEL_LH: f64 = 14.0;
const LABEL_PAD_X: f64 = 5.0;
const LABEL_PAD_Y: f64 = 2.0;
const MIN_NODE_W: f64 = 96.0;
/// The most cells of one line shown in a box (the whole text is in the node's `<title>`).
const MAX_CELLS: usize = 48;
const TITLE_H: f64 = 28.0;

fn width(text: &str, px: f64) -> f64 {
    cells(text) as f64 * px * ADVANCE
}

/// The lines of a node's box: name, detail, status.
struct BoxText {
    name: String,
    detail: Option<String>,
    status: Option<String>,
}

impl BoxText {
    fn of(node: &crate::model::Node) -> BoxText {
        let cut = |s: &str| truncate(&visible(s), MAX_CELLS).into_owned();
        BoxText {
            name: cut(&node.name),
            detail: node.detail.as_deref().map(cut),
            status: node.status().map(|s| cut(&s)),
        }
    }

    fn size(&self) -> (f64, f64) {
        let mut w = width(&self.name, NAME_PX);
        let mut h = 2.0 * PAD_Y + NAME_LH;
        if let Some(d) = &self.detail {
            w = w.max(width(d, DETAIL_PX));
            h += DETAIL_LH;
        }
        if let Some(s) = &self.status {
            w = w.max(width(s, STATUS_PX));
            h += STATUS_LH;
        }
        ((w + 2.0 * PAD_X).max(MIN_NODE_W).ceil(), h)
    }
}

fn label_lines(labels: &[String]) -> Vec<String> {
    labels
        .iter()
        .map(|l| truncate(&visible(l), MAX_CELLS).into_owned())
        .collect()
}

fn label_size(lines: &[String]) -> (f64, f64) {
    let w = lines.iter().map(|l| width(l, LABEL_PX)).fold(0.0, f64::max);
    (
        (w + 2.0 * LABEL_PAD_X).ceil(),
        lines.len() as f64 * LABEL_LH + 2.0 * LABEL_PAD_Y,
    )
}

/// Colours: fill, stroke, text.
fn palette(kind: NodeKind) -> (&'static str, &'static str) {
    match kind {
        NodeKind::Input => ("#eef1f5", "#6b7a90"),
        NodeKind::Source => ("#e3effc", "#2f6db5"),
        NodeKind::Transform => ("#e6f4ea", "#2f8a4c"),
        NodeKind::External => ("#f3f0fa", "#6b5aa6"),
        NodeKind::Missing => ("#fdecec", "#c62828"),
    }
}

fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// The graph as a standalone SVG document.
pub fn to_svg(graph: &Graph) -> String {
    let texts: Vec<BoxText> = graph.nodes.iter().map(BoxText::of).collect();
    let labels: Vec<Vec<String>> = graph.edges.iter().map(|e| label_lines(&e.labels)).collect();
    let input = LayoutInput {
        nodes: texts.iter().map(BoxText::size).collect(),
        edges: graph
            .edges
            .iter()
            .zip(&labels)
            .map(|(e, l)| (e.from, e.to, (!l.is_empty()).then(|| label_size(l))))
            .collect(),
    };
    let laid = layout(&input);
    let title = match (&graph.title, graph.other_errors) {
        (Some(t), _) => Some(truncate(&visible(t), 80).into_owned()),
        (None, 0) => None,
        (None, _) => Some("pipeline".to_string()),
    };
    // Errors no node holds (a YAML error between steps, a missing `name`): said beside the title.
    let note = (graph.other_errors > 0).then(|| {
        format!(
            "{} error{} outside the steps",
            graph.other_errors,
            if graph.other_errors == 1 { "" } else { "s" }
        )
    });
    let top = if title.is_some() { TITLE_H } else { 0.0 };
    let title_w = title.as_deref().map_or(0.0, |t| width(t, 15.0) + 32.0)
        + note.as_deref().map_or(0.0, |n| width(n, STATUS_PX) + 24.0);
    let (w, h) = (laid.width.max(title_w).ceil(), (laid.height + top).ceil());
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="odp-graph" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{}" font-size="{NAME_PX}">"#,
        xml(FONT)
    );
    let _ = writeln!(
        out,
        "<title>{}</title>",
        xml(graph.title.as_deref().unwrap_or("pipeline"))
    );
    out.push_str(concat!(
        r##"<defs><marker id="odp-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">"##,
        r##"<path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker>"##,
        r##"<marker id="odp-arrow-broken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">"##,
        r##"<path d="M0,0 L10,5 L0,10 z" fill="#c62828"/></marker></defs>"##,
        "\n"
    ));
    let _ = writeln!(
        out,
        r##"<rect class="background" x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##
    );
    if let Some(t) = &title {
        let note = note.as_deref().map_or(String::new(), |n| {
            format!(
                r##"<tspan dx="16" font-size="{STATUS_PX}" font-weight="normal" font-style="italic" fill="#c62828">{}</tspan>"##,
                xml(n)
            )
        });
        let _ = writeln!(
            out,
            r##"<text class="title" x="16" y="20" font-size="15" font-weight="bold" fill="#1f2937">{}{note}</text>"##,
            xml(t)
        );
    }
    let shift = |r: &Rect| Rect { y: r.y + top, ..*r };

    out.push_str("<g class=\"edges\">\n");
    for (e, (edge, route)) in graph.edges.iter().zip(&laid.edges).enumerate() {
        let Some(route) = route else { continue };
        let broken = graph.nodes[edge.from].kind == NodeKind::Missing;
        let (color, marker, dash) = if broken {
            ("#c62828", "odp-arrow-broken", r#" stroke-dasharray="5 3""#)
        } else {
            ("#6b7280", "odp-arrow", "")
        };
        let _ = writeln!(
            out,
            r#"<path class="edge{}" id="odp-edge-{e}" data-from="{}" data-to="{}" d="{}" fill="none" stroke="{color}" stroke-width="1.4"{dash} marker-end="url(#{marker})"/>"#,
            if broken { " broken" } else { "" },
            graph.nodes[edge.from].id,
            graph.nodes[edge.to].id,
            path_data(route, top)
        );
    }
    out.push_str("</g>\n<g class=\"edge-labels\">\n");
    for (e, (lines, route)) in labels.iter().zip(&laid.edges).enumerate() {
        let Some(label) = route.as_ref().and_then(|r| r.label) else {
            continue;
        };
        let r = shift(&label);
        let _ = writeln!(
            out,
            r##"<g class="edge-label" data-edge="odp-edge-{e}"><rect class="label" x="{}" y="{}" width="{}" height="{}" rx="3" fill="#ffffff" stroke="#d1d5db"/>"##,
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h)
        );
        for (k, line) in lines.iter().enumerate() {
            let _ = writeln!(
                out,
                r##"<text x="{}" y="{}" font-size="{LABEL_PX}" fill="#374151" text-anchor="middle">{}</text>"##,
                num(r.x + r.w / 2.0),
                num(r.y + LABEL_PAD_Y + LABEL_LH * k as f64 + 10.5),
                xml(line)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n<g class=\"nodes\">\n");
    for ((node, text), rect) in graph.nodes.iter().zip(&texts).zip(&laid.nodes) {
        let r = shift(rect);
        let (mut fill, mut stroke) = palette(node.kind);
        let mut stroke_width = "1.5";
        let mut dash = "";
        if node.failed() {
            (fill, stroke, stroke_width) = ("#fdecec", "#c62828", "2.5");
        }
        if node.unused || node.kind == NodeKind::Missing {
            dash = r#" stroke-dasharray="6 4""#;
        }
        if node.run == Some(RunStatus::NotRun) {
            dash = r#" stroke-dasharray="2 3""#;
        }
        let mut class = vec!["node", node.kind.key()];
        class.extend(node.marks());
        let mut attrs = format!(
            r#" data-name="{}" data-kind="{}""#,
            xml(&node.name),
            node.kind.key()
        );
        if let Some(line) = node.line {
            let _ = write!(attrs, r#" data-line="{line}""#);
        }
        if let Some(range) = node.range {
            let _ = write!(
                attrs,
                r#" data-start="{}" data-end="{}""#,
                range.start(),
                range.end()
            );
        }
        let _ = writeln!(
            out,
            r#"<g class="{}" id="odp-node-{}"{attrs}>"#,
            class.join(" "),
            node.id
        );
        let mut tooltip = visible(&node.name).into_owned();
        for extra in node.detail.iter().cloned().chain(node.status()) {
            tooltip.push_str(" · ");
            tooltip.push_str(&visible(&extra));
        }
        if let Some(line) = node.line {
            let _ = write!(tooltip, " · line {}", line + 1);
        }
        let _ = writeln!(out, "<title>{}</title>", xml(&tooltip));
        let radius = if node.kind == NodeKind::Input {
            r.h / 2.0
        } else {
            6.0
        };
        let _ = writeln!(
            out,
            r#"<rect class="box" x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>"#,
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h),
            num(radius.min(14.0))
        );
        let cx = num(r.x + r.w / 2.0);
        let muted = node.unused || node.run == Some(RunStatus::NotRun);
        let name_color = if node.failed() {
            "#8e1c1c"
        } else if muted {
            "#6b7280"
        } else {
            "#111827"
        };
        let mut y = r.y + PAD_Y + 13.5;
        let _ = writeln!(
            out,
            r#"<text class="name" x="{cx}" y="{}" font-weight="bold" fill="{name_color}" text-anchor="middle">{}</text>"#,
            num(y),
            xml(&text.name)
        );
        if let Some(d) = &text.detail {
            y += DETAIL_LH;
            let _ = writeln!(
                out,
                r##"<text class="detail" x="{cx}" y="{}" font-size="{DETAIL_PX}" fill="#4b5563" text-anchor="middle">{}</text>"##,
                num(y),
                xml(d)
            );
        }
        if let Some(s) = &text.status {
            y += STATUS_LH;
            let color = if node.failed() {
                "#c62828"
            } else if node.run == Some(RunStatus::Ok) {
                "#2f8a4c"
            } else {
                "#6b7280"
            };
            let _ = writeln!(
                out,
                r#"<text class="status" x="{cx}" y="{}" font-size="{STATUS_PX}" font-style="italic" fill="{color}" text-anchor="middle">{}</text>"#,
                num(y),
                xml(s)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// A route as path data: straight where a segment is level, a curve with level ends across a gap.
fn path_data(route: &Route, top: f64) -> String {
    let mut d = String::new();
    let pts: Vec<(f64, f64)> = route.points.iter().map(|&(x, y)| (x, y + top)).collect();
    let Some(&(x0, y0)) = pts.first() else {
        return d;
    };
    let _ = write!(d, "M{},{}", num(x0), num(y0));
    for pair in pts.windows(2) {
        let ((ax, ay), (bx, by)) = (pair[0], pair[1]);
        if (ay - by).abs() < 0.05 {
            let _ = write!(d, " L{},{}", num(bx), num(by));
        } else {
            let mx = (ax + bx) / 2.0;
            let _ = write!(
                d,
                " C{},{} {},{} {},{}",
                num(mx),
                num(ay),
                num(mx),
                num(by),
                num(bx),
                num(by)
            );
        }
    }
    d
}
