//! Random edits of pipeline texts, for the tests that compare incremental and full analyses (here and in
//! odp-analysis, with the `test-support` feature).

/// A small deterministic generator (xorshift64*), so a failure reproduces from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

fn char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One random edit: typing, deleting, pasting a step, or renaming (a word of the text replaced by another), the
/// last being what changes the names other steps look up.
pub fn edit(rng: &mut Rng, text: &str) -> String {
    const SNIPPETS: &[&str] = &[
        "x",
        "_",
        " ",
        "\n",
        "\r\n",
        "{{",
        "}}",
        ".",
        ":",
        "- ",
        "\"",
        "#",
        "1",
        "é",
        "😀",
        "[*].",
        "results",
        "inputs.query",
        "# odp: ignore[ODP300]",
        "\n  - name: extra\n    method: social.twitter.search\n    params:\n      query: \"{{inputs.query}}\"\n",
        "\n      limit: 5",
        "\n    timeout: 30s",
    ];
    let at = char_boundary(text, rng.below(text.len() + 1));
    match rng.below(10) {
        0..=3 => {
            let snippet = SNIPPETS[rng.below(SNIPPETS.len())];
            format!("{}{snippet}{}", &text[..at], &text[at..])
        }
        4..=6 => {
            let end = char_boundary(text, (at + 1 + rng.below(12)).min(text.len()));
            format!("{}{}", &text[..at], &text[end.max(at)..])
        }
        _ => {
            let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
            let mut words: Vec<(usize, &str)> = Vec::new();
            let mut start = None;
            for (i, c) in text
                .char_indices()
                .chain(std::iter::once((text.len(), ' ')))
            {
                match (is_word(c), start) {
                    (true, None) => start = Some(i),
                    (false, Some(s)) => {
                        if i - s > 2 {
                            words.push((s, &text[s..i]));
                        }
                        start = None;
                    }
                    _ => {}
                }
            }
            if words.len() < 2 {
                return text.to_string();
            }
            let (start, word) = words[rng.below(words.len())];
            let (_, other) = words[rng.below(words.len())];
            format!("{}{other}{}", &text[..start], &text[start + word.len()..])
        }
    }
}

/// The example pipelines of the repository, valid and broken: (path, text).
pub fn examples() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("broken")] {
        for entry in std::fs::read_dir(&dir).expect("examples") {
            let path = entry.expect("entry").path();
            if path.to_string_lossy().ends_with(".odp.yaml") {
                let text = std::fs::read_to_string(&path).expect("read");
                files.push((path.display().to_string(), text));
            }
        }
    }
    files.sort();
    assert!(files.len() > 20, "examples not found");
    files
}
