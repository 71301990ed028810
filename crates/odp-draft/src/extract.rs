//! Getting the pipeline out of a model's answer.
//!
//! Under a strict JSON Schema the answer is one JSON object, but servers that only approximate structured output
//! wrap it in fences or prose. Without one, the answer is YAML text, usually fenced, often with a sentence before
//! and after. Both are tolerated: fences are stripped, chatter before the first key and after the document is
//! dropped, and a JSON object found where YAML was expected is converted.

use serde_json::Value;

use crate::yaml::pipeline_to_yaml;

/// The pipeline YAML found in an answer, and whether it came as JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Extracted {
    pub yaml: String,
    pub from_json: bool,
}

/// Reads an answer given as JSON (structured output), tolerating fences and chatter around the object.
pub fn from_json_answer(answer: &str) -> Result<Extracted, String> {
    let value = find_json_object(answer)
        .ok_or_else(|| format!("the answer is not a JSON object{}", preview_suffix(answer)))?;
    json_to_extracted(&value)
}

/// Reads an answer given as YAML text; a JSON object in its place is accepted too.
pub fn from_text_answer(answer: &str) -> Result<Extracted, String> {
    let body = fenced_block(answer).unwrap_or(answer);
    let trimmed = body.trim();
    if trimmed.starts_with('{')
        && let Some(value) = find_json_object(trimmed)
    {
        return json_to_extracted(&value);
    }
    let yaml = strip_chatter(body).ok_or_else(|| {
        format!(
            "no pipeline YAML found in the answer (expected a mapping starting with `name:`){}",
            preview_suffix(answer)
        )
    })?;
    Ok(Extracted {
        yaml,
        from_json: false,
    })
}

/// Either kind of answer: JSON first when `json_expected`, else text.
pub fn extract(answer: &str, json_expected: bool) -> Result<Extracted, String> {
    if json_expected {
        from_json_answer(answer).or_else(|json_err| from_text_answer(answer).map_err(|_| json_err))
    } else {
        from_text_answer(answer)
    }
}

fn json_to_extracted(value: &Value) -> Result<Extracted, String> {
    let Some(obj) = value.as_object() else {
        return Err("the answer is JSON but not an object".into());
    };
    // Some models wrap the pipeline: {"pipeline": {...}}.
    if obj.len() == 1
        && let Some(inner @ Value::Object(inner_obj)) = obj.values().next()
        && (inner_obj.contains_key("sources") || inner_obj.contains_key("name"))
    {
        return json_to_extracted(inner);
    }
    if !obj.contains_key("sources") && !obj.contains_key("name") {
        return Err(format!(
            "the JSON answer is not a pipeline: it has no `name` or `sources` (keys: {})",
            obj.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Extracted {
        yaml: pipeline_to_yaml(value),
        from_json: true,
    })
}

/// The first JSON object in a text: the whole text, a fenced block, or from the first `{` to a matching `}`.
fn find_json_object(text: &str) -> Option<Value> {
    let candidates = [Some(text.trim()), fenced_block(text).map(str::trim)];
    for c in candidates.into_iter().flatten() {
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(c) {
            return Some(v);
        }
    }
    // Scan for a balanced object, starting at each `{` in turn (the first that parses wins).
    for (start, _) in text.match_indices('{') {
        if let Some(end) = matching_brace(&text[start..])
            && let Ok(v @ Value::Object(_)) =
                serde_json::from_str::<Value>(&text[start..start + end])
        {
            return Some(v);
        }
    }
    None
}

/// The length of the balanced `{...}` at the start of `s` (strings and escapes respected).
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The body of the best fenced block: the first ```yaml / ```yml / ```json block, else the first block.
fn fenced_block(text: &str) -> Option<&str> {
    let mut blocks: Vec<(&str, &str)> = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("```") {
        let after_open = &rest[open + 3..];
        let line_end = after_open.find('\n')?;
        let lang = after_open[..line_end].trim();
        let body_start = open + 3 + line_end + 1;
        let body_and_more = &rest[body_start..];
        let close = body_and_more
            .find("\n```")
            .map(|i| i + 1)
            .or_else(|| body_and_more.find("```"));
        let (body, next) = match close {
            Some(c) => (&body_and_more[..c], body_start + c + 3),
            // An unclosed fence (the answer was cut off): take the rest.
            None => (body_and_more, rest.len()),
        };
        blocks.push((lang, body));
        offset += next;
        if next >= rest.len() {
            break;
        }
        rest = &rest[next..];
    }
    let _ = offset;
    blocks
        .iter()
        .find(|(lang, _)| {
            let lang = lang.to_ascii_lowercase();
            lang == "yaml" || lang == "yml" || lang == "json"
        })
        .or_else(|| blocks.first())
        .map(|(_, body)| *body)
}

/// Drops prose before the first top-level key and after the document. `None` when no top-level key is found.
fn strip_chatter(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let is_key_line = |l: &str| {
        let Some((key, _)) = l.split_once(':') else {
            return false;
        };
        !key.is_empty()
            && !l.starts_with([' ', '\t', '-', '#'])
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '"')
    };
    let start = lines.iter().position(|l| is_key_line(l))?;
    // Keep comments directly above the first key.
    let mut first = start;
    while first > 0 && lines[first - 1].trim_start().starts_with('#') {
        first -= 1;
    }
    // The document ends at the first non-blank line at column 0 that is neither a key, a list item nor a comment.
    let mut end = lines.len();
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if l.trim().is_empty() || l.starts_with([' ', '\t', '-', '#']) || is_key_line(l) {
            continue;
        }
        end = i;
        break;
    }
    let mut yaml = lines[first..end].join("\n");
    let trimmed_len = yaml.trim_end().len();
    yaml.truncate(trimmed_len);
    yaml.push('\n');
    Some(yaml)
}

fn preview_suffix(answer: &str) -> String {
    let t = answer.trim();
    if t.is_empty() {
        return " (it was empty)".into();
    }
    format!(": {}", preview(t, 120))
}

/// The first `max` characters of a text on one line, for messages.
pub(crate) fn preview(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = one_line.chars().take(max).collect();
    if one_line.chars().count() > max {
        out.push('…');
    }
    format!("`{out}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = "name: demo\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params:\n      query: ai\n";

    #[test]
    fn text_answers_lose_fences_and_chatter() {
        let fenced = format!(
            "Here is your pipeline:\n\n```yaml\n{PIPELINE}```\n\nLet me know if you need changes."
        );
        assert_eq!(from_text_answer(&fenced).unwrap().yaml, PIPELINE);
        let bare = format!("Sure! Below is the draft.\n{PIPELINE}\nThis pipeline searches tweets.");
        assert_eq!(from_text_answer(&bare).unwrap().yaml, PIPELINE);
        assert_eq!(from_text_answer(PIPELINE).unwrap().yaml, PIPELINE);
        let with_comment = format!("# odp: pipeline\n{PIPELINE}");
        assert_eq!(from_text_answer(&with_comment).unwrap().yaml, with_comment);
        let unclosed = format!("```yml\n{PIPELINE}");
        assert_eq!(from_text_answer(&unclosed).unwrap().yaml, PIPELINE);
    }

    #[test]
    fn json_answers_tolerate_wrapping() {
        let json = r#"{"name": "demo", "sources": [{"name": "tweets", "method": "social.twitter.search", "params": {"query": "ai"}}]}"#;
        for answer in [
            json.to_string(),
            format!("```json\n{json}\n```"),
            format!("The pipeline: {json} Enjoy."),
            format!("{{\"pipeline\": {json}}}"),
        ] {
            let got = from_json_answer(&answer).unwrap();
            assert!(got.from_json);
            assert_eq!(got.yaml, PIPELINE, "{answer}");
        }
        // A JSON answer where YAML was asked for is converted.
        assert_eq!(from_text_answer(json).unwrap().yaml, PIPELINE);
        // And YAML where JSON was asked for is read as YAML.
        assert_eq!(extract(PIPELINE, true).unwrap().yaml, PIPELINE);
    }

    #[test]
    fn garbage_is_reported_with_a_preview() {
        let e = extract("I'm sorry, I can't help with that.", true).unwrap_err();
        assert!(
            e.contains("not a JSON object") && e.contains("I'm sorry"),
            "{e}"
        );
        let e = extract("", false).unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = extract(r#"{"answer": 42}"#, true).unwrap_err();
        assert!(e.contains("not a pipeline"), "{e}");
    }
}
