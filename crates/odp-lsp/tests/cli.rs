//! The command line as users and CI run it: exit codes, formats, explain.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// A deterministic generator (xorshift64*), so the corpus is the same on every run.
use odp_syntax::random_edits::Rng;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn odp_lsp(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odp-lsp"))
        .args(args)
        .current_dir(cwd)
        .env_remove("ODP_REGISTRY")
        .env_remove("ODP_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("odp-lsp runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn clean_examples_exit_0() {
    let o = odp_lsp(
        &[
            "check",
            "examples/ai-sentiment.odp.yaml",
            "examples/news-brief.odp.yaml",
        ],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("Checked 2 files: 0 errors, 0 warnings"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn errors_exit_1_with_snippets() {
    let o = odp_lsp(
        &["check", "examples/broken/unknown-method.odp.yaml"],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("error[ODP300/unknown-method]: unknown method `social.twiter.search`"),
        "{out}"
    );
    assert!(
        out.contains("examples/broken/unknown-method.odp.yaml:14:13"),
        "{out}"
    );
    assert!(
        out.contains("did you mean `social.twitter.search`?"),
        "{out}"
    );
    assert!(
        !out.contains('\u{1b}'),
        "NO_COLOR output has no escape codes"
    );
}

#[test]
fn warnings_alone_exit_0() {
    let o = odp_lsp(
        &["check", "examples/broken/unused-source.odp.yaml"],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("warning[ODP500/unused-source]"));
}

#[test]
fn json_format_has_positions_and_summary() {
    let o = odp_lsp(
        &[
            "check",
            "--format",
            "json",
            "examples/broken/type-mismatch.odp.yaml",
        ],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let d = &v["files"][0]["diagnostics"][0];
    assert_eq!(d["code"], "ODP406");
    assert_eq!(d["name"], "type-mismatch");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["range"]["start"]["line"], 23);
    assert_eq!(d["range"]["start"]["column"], 15);
    assert_eq!(
        d["fix"]["edits"][0]["new_text"],
        "{{tweets.results[*].text}}"
    );
    assert_eq!(v["summary"]["errors"], 1);
}

#[test]
fn no_matching_pipeline_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.yaml"), "a: 1\n").unwrap();
    let o = odp_lsp(&["check", "."], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no pipeline files found"),
        "{}",
        stderr(&o)
    );
    let o = odp_lsp(&["check", "missing.odp.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.odp.yaml: no such file or directory"));
    let o = odp_lsp(&["check", "--format", "xml"], dir.path());
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
}

/// A pipeline whose one template has a million `accessor`s after `{{inputs.q`, with `q` of type `ty`: far beyond
/// any bound, so it finds every recursion whose depth the input controls.
fn deep_template_pipeline(ty: &str, accessor: &str) -> String {
    format!(
        "name: deep\ndescription: d\ninputs:\n  q:\n    type: {ty}\nsources:\n  - name: s\n    method: social.twitter.search\n    params:\n      query: \"{{{{inputs.q{}}}}}\"\n",
        accessor.repeat(1_000_000)
    )
}

/// A template path with a million accessors is one error, not a stack overflow: for a file checked on the main
/// thread, and in a directory walk, whose files are checked on worker threads with smaller stacks.
#[test]
fn million_accessor_templates_are_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("fields", "object", ".a"),
        ("indexes", "array", "[0]"),
        ("wildcards", "array", "[*]"),
    ];
    for (name, ty, accessor) in cases {
        std::fs::write(
            dir.path().join(format!("{name}.odp.yaml")),
            deep_template_pipeline(ty, accessor),
        )
        .unwrap();
    }
    let o = odp_lsp(&["check", "--format", "json", "."], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["errors"], 3, "{v}");
    for file in v["files"].as_array().unwrap() {
        let d = &file["diagnostics"][0];
        assert_eq!(file["diagnostics"].as_array().unwrap().len(), 1, "{file}");
        assert_eq!(d["code"], "ODP400", "{d}");
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .contains("at most 64 accessors"),
            "{d}"
        );
    }
    for (name, _, _) in cases {
        let o = odp_lsp(&["check", &format!("{name}.odp.yaml")], dir.path());
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stdout(&o).contains("this template path is too long"));
    }
}

const CLEAN: &str = "name: clean pipeline\nsources:\n  - name: tweets\n    method: social.twitter.search\n    params: {query: ai}\ntransforms:\n  - name: mood\n    method: nlp.sentiment.analyze\n    params: {texts: \"{{tweets.results[*].text}}\"}\n";

/// Runs `odp-lsp check PATH` and returns its stderr, after checking that it exits 2 and prints nothing else.
fn check_fails(cwd: &Path, path: &str) -> String {
    let o = odp_lsp(&["check", path], cwd);
    assert_eq!(o.status.code(), Some(2), "{path}: {}", stderr(&o));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    stderr(&o)
}

#[test]
fn paths_that_are_no_file_or_directory_say_what_they_are() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("clean.odp.yaml"), CLEAN).unwrap();
    let made = Command::new("mkfifo")
        .arg(root.join("fifo.odp.yaml"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    symlink("loop-b.odp.yaml", root.join("loop-a.odp.yaml")).unwrap();
    symlink("loop-a.odp.yaml", root.join("loop-b.odp.yaml")).unwrap();
    symlink("gone.odp.yaml", root.join("dangling.odp.yaml")).unwrap();
    for (path, says) in [
        (
            "fifo.odp.yaml",
            "error: fifo.odp.yaml is a named pipe (FIFO), not a file or a directory\n",
        ),
        (
            "/dev/null",
            "error: /dev/null is a character device, not a file or a directory\n",
        ),
        (
            "loop-a.odp.yaml",
            "error: loop-a.odp.yaml leads into a loop of symbolic links\n",
        ),
        (
            "loop-a.odp.yaml/x.odp.yaml",
            "error: loop-a.odp.yaml/x.odp.yaml leads into a loop of symbolic links\n",
        ),
        (
            "dangling.odp.yaml",
            "error: dangling.odp.yaml is a symbolic link to `gone.odp.yaml`, which does not exist\n",
        ),
        (
            "clean.odp.yaml/x.odp.yaml",
            "error: clean.odp.yaml/x.odp.yaml cannot be reached: a part of its path is a file, not a directory\n",
        ),
        (
            "missing.odp.yaml",
            "error: missing.odp.yaml: no such file or directory\n",
        ),
    ] {
        assert_eq!(check_fails(root, path), says, "{path}");
    }
    // A directory walk takes the files only, and still checks the good one.
    let o = odp_lsp(&["check", "."], root);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Checked 1 file"), "{}", stdout(&o));
}

#[test]
fn an_unreadable_directory_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let locked = root.join("flows/locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::write(root.join("flows/a.odp.yaml"), CLEAN).unwrap();
    std::fs::write(locked.join("b.odp.yaml"), CLEAN).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads through mode 000 (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): then odp-lsp runs without those
    // capabilities, so that the mode applies to it as to any user.
    let as_root = std::fs::read_dir(&locked).is_ok();
    let run = |path: &str| {
        let mut cmd = if as_root {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--bounding-set=-dac_override,-dac_read_search", "--"])
                .arg(env!("CARGO_BIN_EXE_odp-lsp"));
            cmd
        } else {
            Command::new(env!("CARGO_BIN_EXE_odp-lsp"))
        };
        let o = cmd
            .args(["check", path])
            .current_dir(root)
            .env_remove("ODP_REGISTRY")
            .env("NO_COLOR", "1")
            .output()
            .expect("odp-lsp runs");
        (o.status.code(), stderr(&o))
    };
    let unreadable = "error: flows/locked is a directory that cannot be read (permission denied)\n";
    assert_eq!(run("flows"), (Some(2), unreadable.to_string()));
    assert_eq!(run("flows/locked"), (Some(2), unreadable.to_string()));
    assert_eq!(
        run("flows/locked/b.odp.yaml"),
        (
            Some(2),
            "error: flows/locked/b.odp.yaml cannot be reached: a directory on its way may not be entered (permission denied)\n"
                .to_string()
        )
    );
    // Ignored, it is not read.
    std::fs::write(root.join(".gitignore"), "locked/\n").unwrap();
    assert_eq!(run("flows"), (Some(0), String::new()));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn control_characters_from_the_file_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A quoted key whose escapes decode to an escape sequence and `\r\n` followed by a workflow command.
    let text = CLEAN.replace(
        "params: {query: ai}",
        "params:\n      query: ai\n      \"a\\e[31mRED\\r\\n::error file=evil.yaml::pwned\": 1",
    );
    std::fs::write(root.join("keys.odp.yaml"), &text).unwrap();
    let o = odp_lsp(&["check", "keys.odp.yaml"], root);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("has no param `a\\u{1b}[31mRED\\r\\n::error file=evil.yaml::pwned`"),
        "{out}"
    );
    assert!(!out.contains(['\u{1b}', '\r']), "{out:?}");
    assert!(!out.lines().any(|l| l.starts_with("::")), "{out}");
    let o = odp_lsp(&["check", "--format", "github", "keys.odp.yaml"], root);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("::error file=keys.odp.yaml,"), "{out}");
    assert!(!out.contains(['\u{1b}', '\r']), "{out:?}");
    // A path's control characters, in an error.
    let o = odp_lsp(&["check", "\u{1b}c\n::error::x.odp.yaml"], root);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: \\u{1b}c\\n::error::x.odp.yaml: no such file or directory\n"
    );
}

#[test]
fn a_line_repeating_a_code_prints_one_short_finding() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let list = vec!["ODP500"; 4000].join(", ");
    let text = CLEAN.replace(
        "  - name: tweets\n",
        &format!("  - name: tweets   # odp: ignore[{list}]\n"),
    );
    std::fs::write(root.join("repeats.odp.yaml"), &text).unwrap();
    let o = odp_lsp(&["check", "repeats.odp.yaml"], root);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.matches("warning[ODP502/unused-suppression]").count(),
        1,
        "{out}"
    );
    assert!(out.contains("0 errors, 1 warning"), "{out}");
    // The line is about 32 KB; its finding shows a few hundred bytes of it.
    assert!(out.len() < 1000, "{} bytes:\n{out}", out.len());
}

#[test]
fn walks_directories_with_config_and_registry() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("odp.toml"),
        "registry = \"reg.yaml\"\ninclude = [\"flows/*.yaml\"]\ncolour = \"red\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("reg.yaml"),
        "version: 1\nmethods:\n  - id: my.own.source\n    kind: source\n    service: crawler\n    summary: s\n    endpoint: /s\n    params: {type: object, properties: {q: {type: string}}, additionalProperties: false}\n    output: {type: object, properties: {items: {type: array, items: {type: string}}}}\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("flows")).unwrap();
    std::fs::write(
        root.join("flows/p.yaml"),
        "name: custom registry\nsources:\n  - name: s\n    method: my.own.source\n    params: {q: x}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("q.odp.yaml"),
        "name: bundled method\nsources:\n  - name: t\n    method: social.twitter.search\n    params: {query: x}\n",
    )
    .unwrap();
    let o = odp_lsp(&["check"], root);
    // The custom registry has no twitter method; the unknown key in odp.toml is a warning on stderr.
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("unknown key `colour`"),
        "{}",
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(
        out.contains("unknown method `social.twitter.search`"),
        "{out}"
    );
    assert!(!out.contains("flows/p.yaml"), "{out}");
    assert!(out.contains("Checked 2 files"), "{out}");
    // --registry wins over odp.toml.
    let o = odp_lsp(&["check", "--registry", "bundled", "q.odp.yaml"], root);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // A broken registry path is a usage error.
    let o = odp_lsp(&["check", "--registry", "nope.yaml", "q.odp.yaml"], root);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.yaml"), "{}", stderr(&o));
}

#[test]
fn explain_prints_the_code_doc() {
    let o = odp_lsp(&["explain", "ODP102"], &repo());
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).starts_with("## ODP102 unquoted-template (error)"),
        "{}",
        stdout(&o)
    );
    let o = odp_lsp(&["explain", "unused-source"], &repo());
    assert!(stdout(&o).contains("ODP500"));
    let o = odp_lsp(&["explain", "ODP999"], &repo());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn version_and_help() {
    let o = odp_lsp(&["--version"], &repo());
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("odp-lsp "));
    let o = odp_lsp(&["check", "--help"], &repo());
    assert!(stdout(&o).contains("--format"));
}

fn copy_broken(dir: &Path, names: &[&str]) {
    for n in names {
        std::fs::copy(repo().join("examples/broken").join(n), dir.join(n)).unwrap();
    }
}

#[test]
fn fix_applies_safe_fixes_and_a_second_fix_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_broken(
        dir.path(),
        &["unquoted-template.odp.yaml", "unknown-method.odp.yaml"],
    );
    let before = std::fs::read_to_string(dir.path().join("unknown-method.odp.yaml")).unwrap();
    let o = odp_lsp(&["check", "--fix", "."], dir.path());
    // The unknown method's fix is a guess: it needs --unsafe-fixes, so an error remains.
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("fixed unquoted-template.odp.yaml: 1 fix"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("Fixed 1 problem in 1 file; 1 error and 0 warnings remain."),
        "{}",
        stderr(&o)
    );
    let fixed = std::fs::read_to_string(dir.path().join("unquoted-template.odp.yaml")).unwrap();
    assert!(fixed.contains("query: \"{{inputs.query}}\""));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("unknown-method.odp.yaml")).unwrap(),
        before
    );

    let o = odp_lsp(&["check", "--fix", "."], dir.path());
    assert!(
        stderr(&o).contains("Fixed 0 problems in 0 files"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("unquoted-template.odp.yaml")).unwrap(),
        fixed
    );

    let o = odp_lsp(&["check", "--fix", "--unsafe-fixes", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        std::fs::read_to_string(dir.path().join("unknown-method.odp.yaml"))
            .unwrap()
            .contains("method: social.twitter.search")
    );
}

#[test]
fn diff_shows_fixes_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    copy_broken(dir.path(), &["unquoted-template.odp.yaml"]);
    let before = std::fs::read_to_string(dir.path().join("unquoted-template.odp.yaml")).unwrap();
    let o = odp_lsp(
        &["check", "--diff", "unquoted-template.odp.yaml"],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "nothing remains after the fix: {}",
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(
        out.contains("--- a/unquoted-template.odp.yaml\n+++ b/unquoted-template.odp.yaml\n"),
        "{out}"
    );
    assert!(
        out.contains("-      query: {{inputs.query}}\n+      query: \"{{inputs.query}}\"\n"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("unquoted-template.odp.yaml")).unwrap(),
        before
    );
}

#[test]
fn max_warnings_and_per_path_ignores() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("legacy")).unwrap();
    std::fs::copy(
        repo().join("examples/broken/unused-source.odp.yaml"),
        dir.path().join("legacy/old.odp.yaml"),
    )
    .unwrap();
    let o = odp_lsp(&["check", "--max-warnings", "0", "."], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 warning exceeds --max-warnings 0"),
        "{}",
        stderr(&o)
    );
    let o = odp_lsp(&["check", "--max-warnings", "1", "."], dir.path());
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(
        dir.path().join("odp.toml"),
        "[lint.per-path-ignores]\n\"legacy/**\" = [\"unused-source\"]\n",
    )
    .unwrap();
    let o = odp_lsp(&["check", "--max-warnings", "0", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 warnings"), "{}", stdout(&o));
}

#[test]
fn github_and_sarif_formats() {
    let o = odp_lsp(
        &[
            "check",
            "--format",
            "github",
            "examples/broken/unknown-field.odp.yaml",
        ],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "::error file=examples/broken/unknown-field.odp.yaml,line=23,col=24,endLine=23,endColumn=30,title=ODP405 unknown-field::`tweets` has no field `resuls`%0Ahelp: did you mean `results`?\n"
    );
    let o = odp_lsp(
        &[
            "check",
            "--format",
            "sarif",
            "examples/broken/unknown-field.odp.yaml",
        ],
        &repo(),
    );
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "ODP405");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "examples/broken/unknown-field.odp.yaml"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        23
    );
}

/// One seeded mistake: the 1-based line it is on and the code it must produce.
struct Seeded {
    line: usize,
    code: &'static str,
}

/// Applies one kind of mistake to a valid pipeline, on a line chosen at random among those where the mistake has
/// exactly one effect. Returns None when the pipeline has no such line.
fn seed_mistake(lines: &mut Vec<String>, kind: usize, rng: &mut Rng) -> Option<Seeded> {
    let pick = |lines: &Vec<String>, rng: &mut Rng, pred: &dyn Fn(&str) -> bool| -> Option<usize> {
        let candidates: Vec<usize> = (0..lines.len()).filter(|&i| pred(&lines[i])).collect();
        (!candidates.is_empty()).then(|| candidates[rng.below(candidates.len())])
    };
    match kind {
        // A typo in a method id.
        0 => {
            let i = pick(lines, rng, &|l| l.trim_start().starts_with("method: "))?;
            lines[i] = format!("{}x", lines[i].trim_end());
            Some(Seeded {
                line: i + 1,
                code: "ODP300",
            })
        }
        // An unquoted whole-value template.
        1 => {
            let i = pick(lines, rng, &|l| {
                let v = l.split_once(": ").map(|(_, v)| v.trim()).unwrap_or("");
                let v = v.split("  #").next().unwrap_or("").trim();
                v.starts_with("\"{{") && v.ends_with("}}\"") && v.matches("{{").count() == 1
            })?;
            let (key, value) = lines[i].split_once(": ").unwrap();
            let value = value.split("  #").next().unwrap().trim();
            lines[i] = format!("{key}: {}", &value[1..value.len() - 1]);
            Some(Seeded {
                line: i + 1,
                code: "ODP102",
            })
        }
        // A timeout without a unit.
        2 => {
            let i = pick(lines, rng, &|l| l.trim_start().starts_with("timeout: "))?;
            let indent = &lines[i][..lines[i].len() - lines[i].trim_start().len()];
            lines[i] = format!("{indent}timeout: 30");
            Some(Seeded {
                line: i + 1,
                code: "ODP203",
            })
        }
        // An unknown key in a step.
        3 => {
            let i = pick(lines, rng, &|l| l.trim_start().starts_with("method: "))?;
            let indent = lines[i][..lines[i].len() - lines[i].trim_start().len()].to_string();
            lines.insert(i + 1, format!("{indent}colour: blue"));
            Some(Seeded {
                line: i + 2,
                code: "ODP200",
            })
        }
        // A typo in the first field of a step reference.
        _ => {
            let i = pick(lines, rng, &|l| {
                l.contains("\"{{") && l.contains(".results") && !l.contains("{{inputs.")
            })?;
            lines[i] = lines[i].replacen(".results", ".resultz", 1);
            Some(Seeded {
                line: i + 1,
                code: "ODP405",
            })
        }
    }
}

/// A few hundred pipelines, two thirds with one seeded mistake: exactly the seeded files are flagged, on the
/// seeded lines, with the seeded codes.
#[test]
fn corpus_flags_exactly_the_seeded_mistakes() {
    let bases: Vec<String> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".odp.yaml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(bases.len() >= 5);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_0dd5);
    let mut expected: Vec<(String, usize, &str)> = Vec::new();
    let mut seeded_files = 0;
    for n in 0..300 {
        let base = &bases[rng.below(bases.len())];
        let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
        let name = format!("p{n:03}.odp.yaml");
        if n % 3 != 0 {
            let kind = rng.below(5);
            if let Some(seeded) = seed_mistake(&mut lines, kind, &mut rng) {
                expected.push((name.clone(), seeded.line, seeded.code));
                seeded_files += 1;
            }
        }
        std::fs::write(dir.path().join(&name), lines.join("\n") + "\n").unwrap();
    }
    assert!(seeded_files > 150, "{seeded_files}");
    let o = odp_lsp(&["check", "--format", "json", "."], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["summary"]["files"], 300);
    let mut got: Vec<(String, usize, String)> = Vec::new();
    for f in report["files"].as_array().unwrap() {
        for d in f["diagnostics"].as_array().unwrap() {
            got.push((
                f["path"].as_str().unwrap().to_string(),
                d["range"]["start"]["line"].as_u64().unwrap() as usize,
                d["code"].as_str().unwrap().to_string(),
            ));
        }
    }
    got.sort();
    let mut expected: Vec<(String, usize, String)> = expected
        .into_iter()
        .map(|(f, l, c)| (f, l, c.to_string()))
        .collect();
    expected.sort();
    assert_eq!(got, expected);
}

/// Writes one LSP message with its Content-Length header.
fn lsp_send(stdin: &mut impl std::io::Write, msg: serde_json::Value) {
    lsp_send_body(stdin, msg.to_string().as_bytes());
}

/// Writes one frame with any body.
fn lsp_send_body(stdin: &mut impl std::io::Write, body: &[u8]) {
    write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
    stdin.write_all(body).unwrap();
    stdin.flush().unwrap();
}

/// Reads one LSP message.
fn lsp_read(stdout: &mut impl std::io::BufRead) -> serde_json::Value {
    let mut len = 0;
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the server closed stdout"
        );
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    stdout.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// The server started exactly as the VS Code extension starts it (editors/vscode/server-command.json, kept in
/// sync with the extension's code by its own tests) answers over real stdio.
#[test]
fn stdio_server_with_the_vscode_command_line() {
    use std::io::{BufReader, Read as _};
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("editors/vscode/server-command.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(spec["command"], "odp-lsp");
    let args: Vec<String> = spec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_odp-lsp"))
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": null, "rootUri": null}}),
    );
    let init = lsp_read(&mut stdout);
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["serverInfo"]["name"], "odp-lsp");
    assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-16");
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    let text =
        std::fs::read_to_string(repo().join("examples/broken/unknown-method.odp.yaml")).unwrap();
    let uri = format!(
        "file://{}/examples/broken/unknown-method.odp.yaml",
        repo().canonicalize().unwrap().display()
    );
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "odp-pipeline", "version": 1, "text": text}}}),
    );
    let diagnostics = loop {
        let msg = lsp_read(&mut stdout);
        if msg["method"] == "textDocument/publishDiagnostics" {
            break msg;
        }
    };
    assert_eq!(diagnostics["params"]["version"], 1);
    assert_eq!(diagnostics["params"]["diagnostics"][0]["code"], "ODP300");
    assert_eq!(
        diagnostics["params"]["diagnostics"][0]["range"]["start"]["line"],
        13
    );
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
    );
    loop {
        let msg = lsp_read(&mut stdout);
        if msg["id"] == 2 {
            break;
        }
    }
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    let _ = stdout.read_to_string(&mut rest);
}

/// The real process over stdio: a body that is not JSON is logged, one that is not a message is answered with its
/// id, a lone surrogate escape in a change keeps the text in sync, and only input that cannot be framed ends the
/// server, exit code 2 with the reason on stderr.
#[test]
fn stdio_server_survives_malformed_messages_and_reports_an_unframeable_stream() {
    use std::io::{BufReader, Read as _, Write as _};
    let mut child = Command::new(env!("CARGO_BIN_EXE_odp-lsp"))
        .arg("--stdio")
        .env_remove("ODP_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Responses by id, skipping notifications.
    let response = |stdout: &mut BufReader<_>, id: i64| loop {
        let msg = lsp_read(stdout);
        if msg["id"] == id {
            break msg;
        }
    };
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"capabilities": {}, "processId": null, "initializationOptions": {"testing": true}}}),
    );
    response(&mut stdout, 1);
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    lsp_send_body(&mut stdin, b"this is not JSON");
    lsp_send_body(&mut stdin, br#"{"jsonrpc":"2.0","id":2,"method":7}"#);
    let answer = response(&mut stdout, 2);
    assert_eq!(answer["error"]["code"], -32600, "{answer}");

    let uri = "file:///tmp/odp-lsp-cli/flow.odp.yaml";
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
            {"uri": uri, "languageId": "yaml", "version": 1, "text": "name: x\n"}}}),
    );
    // Half of a surrogate pair at the start, then `!` one UTF-16 unit after it.
    let change = |version: u32, character: u32, text: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didChange","params":{{"textDocument":{{"uri":"{uri}","version":{version}}},"contentChanges":[{{"range":{{"start":{{"line":0,"character":{character}}},"end":{{"line":0,"character":{character}}}}},"text":"{text}"}}]}}}}"#
        )
    };
    lsp_send_body(&mut stdin, change(2, 0, r"\ud83d").as_bytes());
    lsp_send_body(&mut stdin, change(3, 1, "!").as_bytes());
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "odp/debugText", "params": {"uri": uri}}),
    );
    let state = response(&mut stdout, 3);
    assert_eq!(state["result"]["text"], "\u{FFFD}!name: x\n", "{state}");
    assert_eq!(state["result"]["version"], 3);

    stdin.write_all(b"garbage\r\n\r\n").unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("rejected the client's message at byte")
            && stderr.contains("the body is not JSON"),
        "the malformed body is logged: {stderr}"
    );
    assert!(
        stderr.contains("cannot be framed at byte") && stderr.contains("\"garbage\""),
        "{stderr}"
    );
}

/// The language server analyses a pipeline with a million-accessor template (on whichever thread it analyses) and
/// answers with one diagnostic, then goes on answering.
#[test]
fn stdio_server_survives_a_million_accessor_template() {
    use std::io::BufReader;
    let mut child = Command::new(env!("CARGO_BIN_EXE_odp-lsp"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": null, "rootUri": null}}),
    );
    assert_eq!(lsp_read(&mut stdout)["id"], 1);
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file://{}/deep.odp.yaml", dir.path().display());
    for (version, (ty, accessor)) in [("object", ".a"), ("array", "[0]"), ("array", "[*]")]
        .into_iter()
        .enumerate()
    {
        let text = deep_template_pipeline(ty, accessor);
        let message = if version == 0 {
            serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "odp-pipeline", "version": 0, "text": text}}})
        } else {
            serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}})
        };
        lsp_send(&mut stdin, message);
        let diagnostics = loop {
            let msg = lsp_read(&mut stdout);
            if msg["method"] == "textDocument/publishDiagnostics" {
                break msg;
            }
        };
        assert_eq!(diagnostics["params"]["version"], version);
        let list = diagnostics["params"]["diagnostics"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["code"], "ODP400");
    }
    lsp_send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {"textDocument": {"uri": uri}, "position": {"line": 9, "character": 20}}}),
    );
    loop {
        let msg = lsp_read(&mut stdout);
        if msg["id"] == 2 {
            assert!(msg.get("error").is_none(), "{msg}");
            break;
        }
    }
    drop(stdin);
    let _ = child.wait();
}
