"""The protocol conformance suite of Jupyter (jupyter_kernel_test), with every test it has that applies."""

from __future__ import annotations

import jupyter_kernel_test as jkt

from odp_kernel_helpers import ensure_kernel

STEP = 'name: page\nmethod: web.page.fetch\nparams: {url: "https://example.com/"}\n'


class OdpKernelTests(jkt.KernelTests):
    kernel_name = "odp"
    language_name = "odp"
    file_extension = ".yaml"

    @classmethod
    def setUpClass(cls) -> None:
        ensure_kernel()
        super().setUpClass()

    # stdout, stderr (a warning: the stale suppression is reported, and the step still runs), an error (a check
    # failure: exactly one `error` output and no other).
    code_hello_world = "%echo hello, world"
    code_stderr = 'name: page\nmethod: web.page.fetch   # odp: ignore[unknown-method]\nparams: {url: "https://example.com/"}\n'
    code_generate_error = "name: mood\nmethod: nlp.sentiment.analyz\n"

    code_execute_result = [
        {"code": "%inputs greeting=hello", "result": 'greeting: string = "hello"\n'},
        {"code": STEP, "mime": "application/vnd.odp.result+json"},
        {"code": STEP, "mime": "text/html"},
        {"code": STEP, "mime": "text/plain"},
    ]
    code_display_data = [
        {"code": "%registry sentiment", "mime": "text/html"},
        {"code": "%steps", "mime": "text/html"},
    ]
    code_history_pattern = "%inputs*"
    supported_history_operations = ("tail", "range", "search")

    completion_samples = [
        {"text": "%reg", "matches": ["%registry"]},
        {"text": "name: t\nmethod: social.twitter.se", "matches": ["social.twitter.search"]},
        {"text": "name: t\nmethod: social.twitter.search\nparams:\n  qu", "matches": ["query: "]},
        {"text": 'name: t\nmethod: social.twitter.search\nparams:\n  query: "{{', "matches": ["inputs"]},
        {"text": "%registry nlp.sum", "matches": ["nlp.summary.generate"]},
    ]
    complete_code_samples = [
        "%steps",
        "name: t\nmethod: social.twitter.search\nparams: {query: ai}\n",
        "- name: a\n  method: web.page.fetch\n  params: {url: 'https://example.com'}\n",
    ]
    incomplete_code_samples = [
        "name: t\nmethod: social.twitter.search\nparams:",
        "name: t\nparams: {query: [ai, ml",
        'name: "unclosed',
    ]
    invalid_code_samples = ["name: t\n\tmethod: social.twitter.search\n"]

    code_inspect_sample = "name: mood\nmethod: nlp.sentiment.analyze"
    code_clear_output = "%clear"
    code_page_something = "%explain ODP405"
