//! Where the cursor is, read from the text around it by indentation, so that it works while the line under the
//! cursor (or anything else) is broken.
//!
//! Why not from odp-syntax's tree: the parser recovers from errors, but it reads the text as YAML says it is, and
//! completion asks what the text is about to become. On the lines being typed the tree cannot say where the cursor
//! is (the test `the_syntax_tree_cannot_place_half_typed_lines` pins each case):
//!
//! - `    meth` under `  - name: a` (a key typed before its colon) is not `key: value`: the line is reported and
//!   left out, the step's mapping ends before it, and no node contains the cursor.
//! - `    params:` then `      q`: YAML reads `q` as the plain scalar value of `params`, not as the first key of
//!   the params mapping being written.
//! - `    params:` then `      li` then `      query: x`: `li` is again the value of `params`, and `query` lands
//!   in the step's mapping (reported as mis-indented), so the keys already under `params` would be wrong.
//! - A blank or whitespace-only line between `  - name: a` and `  - name: b` lies outside every node's range: the
//!   innermost node holding the cursor is the list, whatever the cursor's column says.
//! - `  - ` with the cursor after the dash: the item is a null scalar, not the mapping whose first key comes next.
//!
//! What the tree does answer (a value after `key: `, a template in a closed quoted value) the indentation reading
//! answers as well, so reading both would keep this module and add a second source of truth.

/// A key or list item on the way from the document's top to the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    /// A list item, with the offset of its first character after `- `.
    Item(usize),
}

/// What is being typed at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CursorContext {
    /// A key of the mapping at `path`; `present` are the keys its other lines already have.
    Key {
        path: Vec<PathPart>,
        present: Vec<String>,
    },
    /// The value of `key` in the mapping at `path`.
    Value {
        path: Vec<PathPart>,
        key: String,
    },
    /// Inside `{{ ... }}`: the path typed so far (`tweets.results[*]`), split at the last `.`: `parent` is
    /// complete, `partial` is being typed. `step_path` is where the template's value sits.
    Template {
        path: Vec<PathPart>,
        parent: Vec<String>,
        partial: String,
    },
    None,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The key of a `key: value` / `key:` line content, if any.
fn key_of(content: &str) -> Option<&str> {
    let content = content.trim_end();
    let colon = if let Some(i) = content.find(": ") {
        i
    } else if content.ends_with(':') {
        content.len() - 1
    } else {
        return None;
    };
    let key = content[..colon].trim();
    let key = key.trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty() && !key.starts_with('{') && !key.starts_with('#')).then_some(key)
}

/// The lines of a text with their start offsets (lines end at `\n`; a `\r` is dropped).
fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split('\n') {
        out.push((start, line.strip_suffix('\r').unwrap_or(line)));
        start += line.len() + 1;
    }
    out
}

/// The parents of a line whose content starts at column `col`: the keys and list items above it, outermost first.
fn parents(lines: &[(usize, &str)], line_no: usize, col: usize) -> Vec<PathPart> {
    let mut path = Vec::new();
    let mut cur = col;
    for i in (0..line_no).rev() {
        let (start, line) = lines[i];
        if is_blank_or_comment(line) {
            continue;
        }
        let ind = indent_of(line);
        let content = &line[ind..];
        if let Some(rest) = content
            .strip_prefix("- ")
            .or_else(|| (content == "-").then_some(""))
        {
            // A list item; its mapping's keys start two columns in.
            let item_col = ind + 2 + (rest.len() - rest.trim_start().len());
            if cur > ind {
                if cur > item_col
                    && let Some(k) = key_of(rest.trim_start())
                    && rest.trim_end().ends_with(':')
                {
                    path.push(PathPart::Key(k.to_string()));
                }
                path.push(PathPart::Item(start + item_col.min(line.len())));
                cur = ind;
            }
            if cur == 0 {
                break;
            }
            continue;
        }
        if ind < cur {
            if let Some(k) = key_of(content) {
                path.push(PathPart::Key(k.to_string()));
            }
            cur = ind;
            if cur == 0 {
                break;
            }
        }
    }
    path.reverse();
    path
}

/// The keys already written in the mapping the line `line_no` belongs to (same column, same block).
fn sibling_keys(lines: &[(usize, &str)], line_no: usize, col: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let in_block = |line: &str| -> Option<Option<String>> {
        if is_blank_or_comment(line) {
            return Some(None);
        }
        let ind = indent_of(line);
        let content = &line[ind..];
        if let Some(rest) = content.strip_prefix("- ") {
            let item_col = ind + 2;
            if item_col == col {
                // The first key of a list item: a sibling, and the block's top.
                return Some(key_of(rest).map(|k| format!("\u{0}{k}")));
            }
            return None;
        }
        if ind < col {
            return None;
        }
        if ind > col {
            return Some(None);
        }
        Some(key_of(content).map(str::to_string))
    };
    for i in (0..line_no).rev() {
        match in_block(lines[i].1) {
            Some(Some(k)) if k.starts_with('\u{0}') => {
                keys.push(k[1..].to_string());
                break;
            }
            Some(Some(k)) => keys.push(k),
            Some(None) => {}
            None => break,
        }
    }
    for (_, line) in lines.iter().skip(line_no + 1) {
        if indent_of(line) == col - 2.min(col) && line.trim_start().starts_with("- ") && col >= 2 {
            break;
        }
        match in_block(line) {
            Some(Some(k)) if k.starts_with('\u{0}') => break,
            Some(Some(k)) => keys.push(k),
            Some(None) => {}
            None => break,
        }
    }
    keys
}

/// Reads the cursor context at byte `offset`.
pub fn cursor_context(text: &str, offset: usize) -> CursorContext {
    let offset = offset.min(text.len());
    let lines = lines_with_offsets(text);
    let line_no = match lines.iter().rposition(|(start, _)| *start <= offset) {
        Some(i) => i,
        None => return CursorContext::None,
    };
    let (start, line) = lines[line_no];
    let col = (offset - start).min(line.len());
    let prefix = &line[..col];
    // Inside a template?
    if let Some(open) = prefix.rfind("{{")
        && !prefix[open..].contains("}}")
    {
        let typed = prefix[open + 2..].trim_start();
        let (parent, partial) = split_template_path(typed);
        let ind = indent_of(line);
        let content_col = if line[ind..].starts_with("- ") {
            ind + 2
        } else {
            ind
        };
        let mut path = parents(&lines, line_no, content_col);
        if let Some(k) = key_of(&line[content_col..]) {
            path.push(PathPart::Key(k.to_string()));
        }
        return CursorContext::Template {
            path,
            parent,
            partial,
        };
    }
    if prefix.trim_start().starts_with('#') {
        return CursorContext::None;
    }
    let ind = indent_of(line);
    let mut content_col = ind;
    let mut path_extra = Vec::new();
    let mut rest = &line[ind..];
    // `- key: ...` lines: the item's mapping starts after the dash.
    while let Some(r) = rest.strip_prefix("- ") {
        content_col += 2 + (r.len() - r.trim_start().len());
        path_extra.push(PathPart::Item(start + content_col));
        rest = r.trim_start();
    }
    let before_cursor = &line[content_col.min(col)..col];
    if let Some(colon) = before_cursor.find(": ").or_else(|| {
        before_cursor
            .ends_with(':')
            .then(|| before_cursor.len() - 1)
    }) {
        let key = before_cursor[..colon]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        let mut path = parents(&lines, line_no, content_col);
        path.extend(path_extra);
        return CursorContext::Value {
            path,
            key: key.to_string(),
        };
    }
    if col < content_col && !line.trim().is_empty() {
        return CursorContext::None;
    }
    // A key being typed: on a blank line, its column is the cursor's.
    let key_col = if line.trim().is_empty() {
        col
    } else {
        content_col
    };
    let mut path = parents(&lines, line_no, key_col);
    path.extend(path_extra);
    let present = sibling_keys(&lines, line_no, key_col)
        .into_iter()
        .filter(|k| Some(k.as_str()) != key_of(rest))
        .collect();
    CursorContext::Key { path, present }
}

/// `tweets.results[*].te` → (`["tweets", "results", "[*]"]`, `te`).
fn split_template_path(typed: &str) -> (Vec<String>, String) {
    let mut parts = Vec::new();
    let mut current = String::new();
    for c in typed.chars() {
        match c {
            '.' => parts.push(std::mem::take(&mut current)),
            '[' => {
                if !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
                current.push('[');
            }
            ']' => {
                current.push(']');
                parts.push(std::mem::take(&mut current));
            }
            c => current.push(c),
        }
    }
    let parts = parts.into_iter().filter(|p| !p.is_empty()).collect();
    (parts, current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(fixture: &str) -> CursorContext {
        let offset = fixture.find("$0").expect("a $0 marker");
        let text = fixture.replacen("$0", "", 1);
        cursor_context(&text, offset)
    }

    fn keys(path: &[PathPart]) -> Vec<String> {
        path.iter()
            .map(|p| match p {
                PathPart::Key(k) => k.clone(),
                PathPart::Item(_) => "-".into(),
            })
            .collect()
    }

    #[test]
    fn keys_values_and_templates() {
        let doc = "name: x\nsources:\n  - name: a\n    method: social.twitter.search\n    params:\n      query: \"{{inputs.$0\"\n";
        match ctx(doc) {
            CursorContext::Template {
                path,
                parent,
                partial,
            } => {
                assert_eq!(keys(&path), ["sources", "-", "params", "query"]);
                assert_eq!(parent, ["inputs"]);
                assert_eq!(partial, "");
            }
            other => panic!("{other:?}"),
        }
        match ctx("sources:\n  - name: a\n    meth$0\n") {
            CursorContext::Key { path, present } => {
                assert_eq!(keys(&path), ["sources", "-"]);
                assert_eq!(present, ["name"]);
            }
            other => panic!("{other:?}"),
        }
        match ctx("sources:\n  - name: a\n    method: soc$0\n    params: {}\n") {
            CursorContext::Value { path, key } => {
                assert_eq!(keys(&path), ["sources", "-"]);
                assert_eq!(key, "method");
            }
            other => panic!("{other:?}"),
        }
        match ctx("sources:\n  - name: a\n    params:\n      li$0\n      query: x\n") {
            CursorContext::Key { path, present } => {
                assert_eq!(keys(&path), ["sources", "-", "params"]);
                assert_eq!(present, ["query"]);
            }
            other => panic!("{other:?}"),
        }
        match ctx("name: x\n$0\nsources: []\n") {
            CursorContext::Key { path, present } => {
                assert!(path.is_empty());
                assert_eq!(present, ["name", "sources"]);
            }
            other => panic!("{other:?}"),
        }
        match ctx(
            "transforms:\n  - name: b\n    params:\n      texts: \"{{tweets.results[*].te$0\"\n",
        ) {
            CursorContext::Template {
                parent, partial, ..
            } => {
                assert_eq!(parent, ["tweets", "results", "[*]"]);
                assert_eq!(partial, "te");
            }
            other => panic!("{other:?}"),
        }
        match ctx("sources:\n  - $0\n") {
            CursorContext::Key { path, .. } => assert_eq!(keys(&path), ["sources", "-"]),
            other => panic!("{other:?}"),
        }
    }

    /// The cases of the module's doc comment, as the tree reads them. Should one of them start to fail, the tree
    /// may now answer it, and this module may read that case from the tree.
    #[test]
    fn the_syntax_tree_cannot_place_half_typed_lines() {
        use odp_syntax::{Node, NodeKind};

        fn tree(fixture: &str) -> (Node, usize, bool) {
            let offset = fixture.find("$0").expect("a $0 marker");
            let parse = odp_syntax::parse(&fixture.replacen("$0", "", 1));
            (
                parse.root.expect("a tree"),
                offset,
                !parse.errors.is_empty(),
            )
        }
        fn step(root: &Node) -> &Node {
            &root.get("sources").unwrap().value.items().unwrap()[0]
        }
        fn is_scalar(node: &Node, value: &str) -> bool {
            node.scalar().is_some_and(|s| s.value == value)
        }

        // A key before its colon: left out of the tree.
        let (root, offset, errors) = tree("sources:\n  - name: a\n    meth$0\n");
        assert!(errors);
        assert!(root.path_to(offset).is_empty());
        assert!(step(&root).get("meth").is_none());

        // A key under `params:`: the value of `params`.
        let (root, _, _) = tree("sources:\n  - name: a\n    params:\n      q$0\n");
        assert!(is_scalar(&step(&root).get("params").unwrap().value, "q"));

        // The same, with a key after it: that key moves up to the step.
        let (root, _, errors) =
            tree("sources:\n  - name: a\n    params:\n      li$0\n      query: x\n");
        assert!(errors);
        assert!(is_scalar(&step(&root).get("params").unwrap().value, "li"));
        assert!(step(&root).get("query").is_some());

        // A blank line inside a step: only the list holds it.
        let (root, offset, _) = tree("sources:\n  - name: a\n    $0\n  - name: b\n");
        let path = root.path_to(offset);
        assert!(matches!(
            path.last().unwrap().kind,
            NodeKind::Sequence { .. }
        ));

        // After a dash: a null item.
        let (root, _, _) = tree("sources:\n  - $0\n");
        assert!(step(&root).is_null());
    }
}
