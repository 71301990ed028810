#!/usr/bin/env python3
"""Latency benchmark for a stdio language server on one (big) ODP pipeline.

Adapted from the reference harness ../shared/measure/lsp_latency.py (same client, framing, timing points and
summary statistics) to the ODP pipeline language: the edits and the completion positions are ODP ones, and an edit
is timed to the publishDiagnostics that carries the expected diagnostics for the edited version, not to any
publish. Used by tests/bench/lsp_bench.sh (BENCHMARKS.md, "Language server against yaml-language-server").

Usage:
  lsp_latency.py --file F [--edit method-typo|key-typo] [--expect-delta N] [--require-version]
                 [--complete method] [--complete template] -- SERVER_CMD [ARGS...]
  e.g.
  lsp_latency.py --file big.odp.yaml --edit method-typo --require-version \\
      --complete method --complete template -- target/release/odp-lsp --stdio
  lsp_latency.py --file big.odp.yaml --edit key-typo --complete method \\
      -- node $SCRATCH/yls-1.25.0/node_modules/yaml-language-server/bin/yaml-language-server --stdio

What it does (stdlib only, JSON-RPC 2.0 with Content-Length framing):
  1. spawn the server, `initialize` (timed from spawn: init_s), `initialized`,
     `workspace/didChangeConfiguration` with --settings; server->client requests
     are answered (workspace/configuration from --settings, everything else null).
     Waits for the configuration handshake to settle (--settle) before opening.
  2. `didOpen` the document; first_diag_ms = time to the first publishDiagnostics
     for its URI; first_diag_count its number of diagnostics (--expect-base: the count it must have).
  3. --edits edits near the middle of the file; even-numbered edits make it invalid, odd ones valid again:
       method-typo  the value of the `method:` line nearest the middle loses a letter of its provider
                    (nlp.sentiment.analyze -> nlp.sentimnt.analyze): an unknown method for odp (ODP300), still
                    a valid id for the JSON schema's pattern, so only a registry-aware server catches it;
       key-typo     the step key `timeout:` nearest the middle becomes `timeot:`: an unknown step key for odp
                    (ODP200) and for the JSON schema (additionalProperties: false).
     An invalid version must have exactly base + --expect-delta diagnostics, a valid one exactly base.
     Incremental sync if the server advertises it, else full text.
     latency_to_expected_ms (the figure to report) = didChange sent -> the first publishDiagnostics for the URI
     that belongs to the edited version and carries the expected count. "Belongs" means version == the edit's
     version; a publish without a version is accepted unless --require-version, which also counts publishes
     that lack the field (`missing_version`). next_publish_ms = didChange -> the next publish of any kind, and
     `stale_publishes` counts publishes for older versions seen in between.
  4. --completions sequential textDocument/completion requests per --complete position, near the middle:
       method    just after `method: ` on a `method:` line (the value's start); the line's own method id
                 must be among the items;
       template  just after `[*].` inside a quoted template such as "{{tweets_9.results[*].text}}"; the field
                 written there (`text`) must be among the items.
     p50/p90/p99/max, the number of items and whether the expected label was offered.
  5. Peak RSS: VmHWM from /proc/<pid>/status of the server process (and the sum
     over its process tree, for servers launched through wrappers); the server's CPU time (utime + stime).
Prints one JSON line with the results; progress goes to stderr.

Schema association for yaml-language-server: the settings map --schema to the file's absolute path (schemaStore
disabled: it would try to fetch the catalogue from the network). The reference harness maps it to "*.yaml", which
yaml-language-server 1.25 does not match under a dot directory such as ~/.cache (picomatch without `dot`): the file
then gets no schema, no diagnostics and no completions. odp-lsp ignores them and takes the file as a pipeline by its name
(*.odp.yaml).
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def pct(values, p):
    """Percentile with linear interpolation between closest ranks (numpy default)."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary_ms(vals):
    if not vals:
        return {}
    ms = [x * 1000.0 for x in vals]
    return {"n": len(ms), "min": round(min(ms), 2), "p50": round(pct(ms, 50), 2),
            "p90": round(pct(ms, 90), 2), "p99": round(pct(ms, 99), 2),
            "max": round(max(ms), 2), "mean": round(statistics.mean(ms), 2)}


class Client:
    def __init__(self, cmd, settings, stderr_path):
        self.settings = settings
        self.cv = threading.Condition()
        self.wlock = threading.Lock()
        self.responses = {}
        self.diags = []            # (t, params)
        self.server_requests = {}  # method -> count
        self.notifications = {}    # method -> count
        self.config_answered = 0
        self.next_id = 1
        self.closed = False
        self.err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, bufsize=0)
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    # ---------------------------------------------------------------- wire
    def _write(self, msg):
        body = json.dumps(msg, separators=(",", ":")).encode("utf-8")
        data = b"Content-Length: %d\r\n\r\n" % len(body) + body
        with self.wlock:
            t = time.perf_counter()  # before the write: a 1 MB didOpen blocks on the pipe
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        return t

    def _read_exact(self, f, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = f.read(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def _read_loop(self):
        f = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = f.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                body = self._read_exact(f, length)
                t = time.perf_counter()
                msg = json.loads(body)
                self._dispatch(t, msg)
        except (EOFError, ValueError, OSError):
            pass
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def _lookup(self, section):
        if not section:
            return self.settings
        if section in self.settings:
            return self.settings[section]
        cur = self.settings
        for part in section.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                return None
        return cur

    def _dispatch(self, t, msg):
        method = msg.get("method")
        if method is not None and "id" in msg:            # server -> client request
            result = None
            if method == "workspace/configuration":
                result = [self._lookup(it.get("section")) for it in msg["params"].get("items", [])]
            elif method == "workspace/workspaceFolders":
                result = []
            self._write({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            with self.cv:
                self.server_requests[method] = self.server_requests.get(method, 0) + 1
                if method == "workspace/configuration":
                    self.config_answered += 1
                self.cv.notify_all()
        elif method is not None:                          # notification
            with self.cv:
                self.notifications[method] = self.notifications.get(method, 0) + 1
                if method == "textDocument/publishDiagnostics":
                    self.diags.append((t, msg["params"]))
                self.cv.notify_all()
        else:                                             # response
            with self.cv:
                self.responses[msg.get("id")] = (t, msg)
                self.cv.notify_all()

    # ---------------------------------------------------------------- api
    def request(self, method, params):
        rid = self.next_id
        self.next_id += 1
        t0 = self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return rid, t0

    def notify(self, method, params):
        return self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_response(self, rid, timeout):
        with self.cv:
            ok = self.cv.wait_for(lambda: rid in self.responses or self.closed, timeout)
            if rid not in self.responses:
                raise TimeoutError("no response to request %d (closed=%s)" % (rid, self.closed))
            return self.responses.pop(rid)

    def wait_diag(self, uri, start_index, timeout, min_version=None):
        """First publishDiagnostics for uri at index >= start_index."""
        def find():
            for i in range(start_index, len(self.diags)):
                t, p = self.diags[i]
                if p.get("uri") != uri:
                    continue
                if min_version is not None and p.get("version") is not None and p["version"] < min_version:
                    continue
                return i
            return None
        with self.cv:
            res = [None]

            def pred():
                res[0] = find()
                return res[0] is not None or self.closed
            self.cv.wait_for(pred, timeout)
            if res[0] is None:
                raise TimeoutError("no publishDiagnostics for %s (closed=%s)" % (uri, self.closed))
            t, p = self.diags[res[0]]
            return res[0], t, p

    def diag_count(self):
        with self.cv:
            return len(self.diags)


def proc_tree(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    s = f.read()
                ppid = int(s[s.rindex(")") + 2:].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def vm(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def nearest(lines, pattern, avoid=()):
    """Index of the line matching pattern nearest the middle of the file (not in avoid)."""
    rx = re.compile(pattern)
    mid = len(lines) // 2
    found = [i for i, l in enumerate(lines) if rx.search(l) and i not in avoid]
    if not found:
        raise SystemExit("no line matches %r" % pattern)
    return min(found, key=lambda i: (abs(i - mid), i))


def edit_site(lines, kind):
    """(line, start column, end column, valid text, invalid text) of the token the edits toggle."""
    if kind == "method-typo":
        i = nearest(lines, r"^\s*(-\s+)?method:\s*\w+\.\w{4,}\.\w+\s*$")
        m = re.search(r"method:\s*(\S+)", lines[i])
        good = m.group(1)
        dom, prov, act = good.split(".")
        bad = "%s.%s.%s" % (dom, prov[:-3] + prov[-2:], act)  # sentiment -> sentimnt
        return i, m.start(1), m.end(1), good, bad
    if kind == "key-typo":
        i = nearest(lines, r"^\s*(-\s+)?timeout:")
        c = lines[i].index("timeout")
        return i, c, c + len("timeout"), "timeout", "timeot"
    raise SystemExit("unknown --edit %r" % kind)


def completion_site(lines, kind, avoid):
    """(line, character, label that must be offered) for a completion position."""
    if kind == "method":
        i = nearest(lines, r"^\s*(-\s+)?method:\s*\w+\.\w+\.\w+\s*$", avoid)
        m = re.search(r"method:\s*", lines[i])
        return i, m.end(), lines[i][m.end():].strip()
    if kind == "template":
        i = nearest(lines, r"""["']\{\{\s*\w+\.\w+\[\*\]\.\w+""", avoid)
        m = re.search(r"""["']\{\{\s*\w+\.\w+\[\*\]\.(\w+)""", lines[i])
        return i, m.start(1), m.group(1)
    raise SystemExit("unknown --complete %r" % kind)


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
        fields = s[s.rindex(")") + 2:].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", required=True)
    ap.add_argument("--schema", default=os.path.join(HERE, "..", "..", "schemas", "pipeline.schema.json"))
    ap.add_argument("--settings", help="JSON settings object (default: yaml-language-server settings for --schema)")
    ap.add_argument("--schema-glob", help="the yaml.schemas pattern for --schema (default: the file's absolute path; "
                    "yaml-language-server matches patterns with picomatch without `dot`, so `*.yaml` misses files "
                    "under a dot directory such as ~/.cache)")
    ap.add_argument("--language-id", default="yaml")
    ap.add_argument("--edit", default="method-typo", choices=["method-typo", "key-typo"])
    ap.add_argument("--expect-delta", type=int, default=1,
                    help="diagnostics an invalid version has on top of the opened file's (default 1)")
    ap.add_argument("--expect-base", type=int, help="diagnostics the opened file must have (e.g. 0)")
    ap.add_argument("--require-version", action="store_true",
                    help="a publish counts for an edit only if it carries that edit's version")
    ap.add_argument("--complete", action="append", choices=["method", "template"],
                    help="completion position(s) (default: method)")
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--completions", type=int, default=50)
    ap.add_argument("--gap", type=float, default=0.1, help="pause between edits / completions (s)")
    ap.add_argument("--settle", type=float, default=0.5, help="pause after config handshake before didOpen (s)")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--expect-timeout", type=float, default=10.0,
                    help="how long to wait for the expected publish after a wrong one (s)")
    ap.add_argument("--full-sync", action="store_true", help="send full text even if the server syncs incrementally")
    ap.add_argument("--server-stderr", help="file for the server's stderr (default: discarded)")
    ap.add_argument("--label", default="")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("give the server command after --")
    completes = a.complete or ["method"]

    path = pathlib.Path(a.file).resolve()
    uri = path.as_uri()
    schema_uri = pathlib.Path(a.schema).resolve().as_uri()
    if a.settings:
        settings = json.loads(a.settings)
    else:
        settings = {"yaml": {"schemas": {schema_uri: a.schema_glob or str(path)}, "validate": True, "completion": True,
                             "hover": True, "schemaStore": {"enable": False}}}
    text = path.read_text()
    lines = text.split("\n")
    edit_line, edit_start, edit_end, good, bad_text = edit_site(lines, a.edit)
    comp_sites = {k: completion_site(lines, k, {edit_line}) for k in completes}

    def log(*x):
        print(*x, file=sys.stderr, flush=True)

    c = Client(cmd, settings, a.server_stderr)
    res = {"label": a.label, "server_cmd": cmd, "file": str(path),
           "lines": len(lines) - (1 if text.endswith("\n") else 0), "bytes": len(text.encode()),
           "schema_assoc": "settings", "edit_kind": a.edit}
    try:
        rid, _ = c.request("initialize", {
            "processId": os.getpid(),
            "clientInfo": {"name": "lsp_latency.py", "version": "1"},
            "rootUri": path.parent.as_uri(),
            "workspaceFolders": [{"uri": path.parent.as_uri(), "name": path.parent.name}],
            "initializationOptions": settings,
            "capabilities": {
                "general": {"positionEncodings": ["utf-16"]},
                "workspace": {"configuration": True, "workspaceFolders": True,
                              "didChangeConfiguration": {"dynamicRegistration": False}},
                "textDocument": {
                    "synchronization": {"dynamicRegistration": False, "didSave": False},
                    "publishDiagnostics": {"relatedInformation": True, "versionSupport": True},
                    "completion": {"contextSupport": True, "completionItem": {
                        "snippetSupport": True, "documentationFormat": ["markdown", "plaintext"]}},
                    "hover": {"contentFormat": ["markdown", "plaintext"]},
                },
            },
        })
        t, init = c.wait_response(rid, a.timeout)
        res["init_s"] = round(t - c.t_spawn, 4)
        caps = init.get("result", {}).get("capabilities", {})
        res["server_info"] = init.get("result", {}).get("serverInfo")
        sync = caps.get("textDocumentSync")
        kind = sync.get("change") if isinstance(sync, dict) else sync
        incremental = kind == 2 and not a.full_sync
        res["sync"] = "incremental" if incremental else "full"
        c.notify("initialized", {})
        c.notify("workspace/didChangeConfiguration", {"settings": settings})
        # let a pull-configuration server ask for (and apply) its settings
        with c.cv:
            c.cv.wait_for(lambda: c.config_answered >= 1 or c.closed, 3.0)
        time.sleep(a.settle)

        # ------------------------------------------------------------ open
        version = 1
        n0 = c.diag_count()
        t0 = c.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": a.language_id, "version": version, "text": text}})
        _, t1, p = c.wait_diag(uri, n0, a.timeout)
        res["first_diag_ms"] = round((t1 - t0) * 1000, 2)
        base_count = len(p.get("diagnostics", []))
        res["first_diag_count"] = base_count
        res["first_diag_version"] = p.get("version")
        if a.expect_base is not None:
            res["first_diag_as_expected"] = base_count == a.expect_base
        log("first diagnostics after %.1f ms (%d diagnostics%s)" % (
            (t1 - t0) * 1000, base_count,
            (", e.g. %r" % p["diagnostics"][0].get("message", "")[:100]) if base_count else ""))
        time.sleep(0.5)  # let any follow-up publish arrive before editing
        res["rss_after_open_kb"] = vm(c.proc.pid, "VmRSS")

        # ------------------------------------------------------------ edits
        # The token [edit_start, edit_end) on edit_line toggles between good and bad_text.
        lat_next, lat_match, counts, matched = [], [], [], 0
        stale = missing_version = 0
        first_messages = {}
        cur = good
        for i in range(a.edits):
            bad = (i % 2 == 0)
            new_val = bad_text if bad else good
            rng = {"start": {"line": edit_line, "character": edit_start},
                   "end": {"line": edit_line, "character": edit_start + len(cur)}}
            line = lines[edit_line]
            lines[edit_line] = line[:edit_start] + new_val + line[edit_start + len(cur):]
            cur = new_val
            version += 1
            want = base_count + a.expect_delta if bad else base_count
            if incremental:
                changes = [{"range": rng, "text": new_val}]
            else:
                changes = [{"text": "\n".join(lines)}]
            n0 = c.diag_count()
            t0 = c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                    "contentChanges": changes})
            # every publish for the URI after the change, until the one for this version with `want` diagnostics
            idx, t_next, tm, ok, cnt = n0, None, None, False, None
            deadline = time.perf_counter() + a.timeout
            while time.perf_counter() < deadline:
                try:
                    idx, t1, p = c.wait_diag(uri, idx, deadline - time.perf_counter())
                except TimeoutError:
                    break
                idx += 1
                if t_next is None:
                    t_next = t1
                    deadline = min(deadline, time.perf_counter() + a.expect_timeout)
                pv = p.get("version")
                if pv is None:
                    missing_version += 1
                    if a.require_version:
                        continue
                elif pv < version:
                    stale += 1
                    continue
                elif pv != version:
                    continue
                cnt = len(p.get("diagnostics", []))
                if cnt == want:
                    ok, tm = True, t1
                    if bad and "bad" not in first_messages:
                        first_messages["bad"] = [d.get("message", "")[:120] for d in p["diagnostics"]][:3]
                    break
            counts.append(cnt)
            matched += ok
            if t_next is not None:
                lat_next.append(t_next - t0)
            if ok:
                lat_match.append(tm - t0)
            log("edit %2d (%s, v%d): next publish %s, expected (%d diagnostics) %s%s" % (
                i, "invalid" if bad else "valid", version,
                "%.1f ms" % ((t_next - t0) * 1000) if t_next else "never",
                want, "%.1f ms" % ((tm - t0) * 1000) if ok else "never",
                "" if ok else "  [UNEXPECTED: last count %s]" % cnt))
            time.sleep(a.gap)
        res["edit_line"] = edit_line
        res["edit"] = {"token": [good, bad_text], "line": edit_line, "character": edit_start}
        res["edits"] = {"latency_to_expected_ms": summary_ms(lat_match), "next_publish_ms": summary_ms(lat_next),
                        "raw_ms": [round(x * 1000, 2) for x in lat_match], "diag_counts": counts,
                        "matched_expectation": "%d/%d" % (matched, a.edits), "stale_publishes": stale,
                        "publishes_without_version": missing_version, "invalid_messages": first_messages.get("bad")}

        # ------------------------------------------------------------ completion
        res["completion"] = {}
        for kind_name, (cline, cchar, expect_label) in comp_sites.items():
            pos = {"line": cline, "character": cchar}
            clat, items, labels = [], None, []
            for i in range(a.completions):
                rid, t0 = c.request("textDocument/completion", {
                    "textDocument": {"uri": uri}, "position": pos, "context": {"triggerKind": 1}})
                t1, r = c.wait_response(rid, a.timeout)
                clat.append(t1 - t0)
                result = r.get("result")
                if isinstance(result, dict):
                    result = result.get("items", [])
                n = len(result or [])
                if items is None:
                    items = n
                    labels = [x.get("label") for x in (result or [])]
                    log("completion %s at %d:%d -> %d items: %s" % (kind_name, cline, cchar, n, labels[:5]))
                time.sleep(a.gap / 2)
            res["completion"][kind_name] = dict(summary_ms(clat), items=items, position=pos,
                                                raw_ms=[round(x * 1000, 2) for x in clat],
                                                expected_label=expect_label,
                                                expected_label_offered=expect_label in labels,
                                                first_labels=labels[:5])

        # ------------------------------------------------------------ memory
        tree = proc_tree(c.proc.pid)
        res["peak_rss_kb"] = vm(c.proc.pid, "VmHWM")
        res["tree_pids"] = len(tree)
        res["tree_peak_rss_kb_sum"] = sum(vm(p, "VmHWM") or 0 for p in tree)
        res["cpu_s"] = cpu_seconds(c.proc.pid)
        res["server_requests"] = c.server_requests
        res["notifications"] = c.notifications
    finally:
        try:
            rid, _ = c.request("shutdown", None)
            c.wait_response(rid, 5)
            c.notify("exit", None)
        except Exception:
            pass
        try:
            c.proc.wait(5)
        except subprocess.TimeoutExpired:
            c.proc.kill()
            c.proc.wait()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
