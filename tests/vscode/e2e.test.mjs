// The extension in a real VS Code (code-server 4.139.1 = VS Code 1.139.1, in headless Chromium): what a user does,
// and what they see. One code-server for the suite, a fresh browser page per scenario, 60 s per scenario; a failed
// scenario leaves a screenshot in $ODP_E2E_ARTEFACTS. Run with `bash tests/vscode/run.sh`.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { check, lsp, repo, sleep, Suite, webviewFrame } from './harness.mjs';

const SCENARIO_MS = 60_000;
const suite = new Suite();

/** Runs `body` on a fresh workbench page; on failure keeps a screenshot and adds the page's state to the error. */
function scenario(name, body, settings = undefined) {
  it(name, { timeout: SCENARIO_MS }, async () => {
    // Settings for this scenario only: written before the window opens, so its extension host starts with them.
    const saved = { ...suite.settings };
    if (settings !== undefined) {
      suite.writeSettings(settings);
    }
    const wb = await suite.open();
    try {
      await body(wb);
    } catch (error) {
      let shot = '';
      try {
        shot = await wb.screenshot(name);
      } catch (e) {
        shot = `(no screenshot: ${e})`;
      }
      error.message = `${error.message}\n  screenshot: ${shot}`;
      throw error;
    } finally {
      await wb.close();
      if (settings !== undefined) {
        suite.settings = {};
        suite.writeSettings(saved);
      }
    }
  });
}

function example(relative) {
  return fs.readFileSync(path.join(repo, 'examples', relative), 'utf8');
}

before(async () => {
  await suite.start();
}, { timeout: 180_000 });

after(async () => {
  await suite.stop();
});

describe('VS Code (code-server) with the packaged extension', () => {
  scenario('an example with a mistake: squiggle, Problems entry, quick fix clears it', async (wb) => {
    const text = example('broken/unknown-method.odp.yaml');
    const file = suite.addFile('broken/unknown-method.odp.yaml', text);
    await wb.openFile('broken/unknown-method.odp.yaml');
    await wb.squiggles().first().waitFor({ timeout: 30000 });
    await wb.keyboard.press('Control+Shift+M');
    const entry = wb.page.locator('.markers-panel .monaco-list-row', { hasText: 'unknown method `social.twiter.search`' });
    await entry.first().waitFor();
    assert.match(await entry.first().innerText(), /ODP300/);
    await wb.clickText('social.twiter.search', 3);
    await wb.keyboard.press('Control+.');
    const fix = wb.page.locator('.action-widget .monaco-list-row', { hasText: 'Replace with `social.twitter.search`' });
    await fix.first().waitFor();
    await fix.first().click();
    await wb.squiggles().first().waitFor({ state: 'detached', timeout: 20000 });
    await entry.first().waitFor({ state: 'detached' });
    // Saved (files.autoSave): the file on disk is fixed and clean.
    await waitFor(() => fs.readFileSync(file, 'utf8').includes('method: social.twitter.search'), 'the fix saved');
    assert.equal(check(file).code, 0, check(file).out);
  });

  scenario('a step typed by hand with completions ends as a valid, clean file', async (wb) => {
    const start = [
      'name: typed',
      'sources:',
      '  - name: tweets',
      '    method: social.twitter.search',
      '    params:',
      '      query: rust',
      'transforms:',
      '',
    ].join('\n');
    const file = suite.addFile('typed.odp.yaml', start);
    await wb.openFile('typed.odp.yaml');
    await wb.keyboard.press('Control+End');
    await wb.type('  - name: mood\n    method:');
    // Asked for right after `method:` and accepted: the completion brings its space (else `method:nlp…`, ODP100).
    await wb.suggest('data.records.dedupe', { invoke: true });
    await wb.type('sentiment');
    await wb.acceptSuggestion('nlp.sentiment.analyze');
    await wb.type('\n    params:\n      texts: ');
    // `"` auto-closes, as `{{` and `[` do: typing on and accepting a field leaves a closed, quoted template.
    const line = async () => (await wb.editorText()).split('\n').find((l) => l.includes('texts:'));
    await wb.type('"{{tweets.');
    if (process.env.ODP_E2E_TRACE) console.error('after typing', JSON.stringify(await line()));
    await wb.acceptSuggestion('results', 'res');
    if (process.env.ODP_E2E_TRACE) console.error('after results', JSON.stringify(await line()));
    await wb.type('[*].');
    if (process.env.ODP_E2E_TRACE) console.error('after [*].', JSON.stringify(await line()));
    await wb.acceptSuggestion('text', 'tex');
    if (process.env.ODP_E2E_TRACE) console.error('after text', JSON.stringify(await line()));
    await wb.keyboard.press('Escape');
    const wanted = `${start}  - name: mood\n    method: nlp.sentiment.analyze\n    params:\n      texts: "{{tweets.results[*].text}}"`;
    await waitFor(() => fs.readFileSync(file, 'utf8').trimEnd() === wanted, 'the typed file saved as wanted', () =>
      JSON.stringify(fs.readFileSync(file, 'utf8')),
    );
    const result = check(file);
    assert.equal(result.code, 0, result.out);
    // And the editor agrees: nothing underlined.
    await sleep(1500);
    assert.equal(await wb.squiggles().count(), 0);
    assert.equal(await wb.squiggles('warning').count(), 0);
  });

  scenario('hover on a method shows its documentation', async (wb) => {
    const text = example('ai-sentiment.odp.yaml');
    suite.addFile('hover.odp.yaml', text);
    await wb.openFile('hover.odp.yaml');
    await wb.clickText('social.twitter.search', 2);
    await wb.command('Show or Focus Hover');
    const hover = wb.page.locator('.monaco-hover', { hasText: 'Search recent posts on Twitter/X' });
    await hover.first().waitFor({ timeout: 20000 });
    assert.match(await hover.first().innerText(), /query/);
  });

  scenario('type hints after templates; hovering one shows the documentation of the method behind it', async (wb) => {
    suite.addFile('types.odp.yaml', example('ai-sentiment.odp.yaml'));
    await wb.openFile('types.odp.yaml');
    await wb.focusEditor();
    await wb.keyboard.press('Control+End'); // the transforms, with their templates, in view
    // The inlay hint is drawn in the line, right after the closing quote (reddit_sentiment's `texts`: in the middle
    // of the editor, clear of the sticky-scroll header at its top).
    const line = wb.page.locator('.editor-instance .view-line', {
      hasText: /"\{\{reddit_posts\.results\[\*\]\.text\}\}":\s?list<string>/,
    });
    await line.first().waitFor({ timeout: 30000 });
    // Hovering the hint resolves its tooltip: the documentation of the method the value comes from. (The mouse
    // moves off and back when no hover shows: a hover can be lost while the line is drawn again.)
    const hint = line.first().locator('span', { hasText: /^:\s?list<string>$/ }).last();
    const hover = wb.page.locator('.monaco-hover', { hasText: 'Search Reddit submissions' });
    for (let attempt = 1; ; attempt++) {
      await wb.page.mouse.move(5, 5);
      await hint.hover();
      const shown = await hover
        .first()
        .waitFor({ timeout: 8000 })
        .then(() => true)
        .catch(() => false);
      if (shown) {
        break;
      }
      if (attempt === 3) {
        assert.fail('three hovers over the type hint showed no tooltip');
      }
    }
    assert.match(await hover.first().innerText(), /from step reddit_posts/);
    await wb.screenshot('types-hint-hover');
  });

  scenario(
    'signature help pops up while typing params, with the param being typed highlighted',
    async (wb) => {
      const text = [
        'name: signature',
        'sources:',
        '  - name: tweets',
        '    method: social.twitter.search',
        '    params:',
        '      language: en',
      ].join('\n');
      suite.addFile('signature.odp.yaml', `${text}\n`);
      await wb.openFile('signature.odp.yaml');
      // The server is up once its lens shows.
      await wb.page.locator('.codelens-decoration a', { hasText: '▶ Run pipeline' }).first().waitFor({ timeout: 30000 });
      await wb.goTo(6, 19);
      const widget = wb.page.locator('.parameter-hints-widget.visible');
      const active = widget.locator('.signature .parameter.active');
      // A new line in the params (Enter is a trigger): the required param not yet given is what comes next.
      await wb.keyboard.press('Enter');
      await widget.waitFor({ timeout: 20000 });
      assert.match(await widget.innerText(), /social\.twitter\.search\(query: string, limit\?: integer = 100/);
      await waitForText(active, 'query: string');
      // Typing a key and its colon (a trigger): that param.
      await wb.type('limit:');
      await waitForText(active, 'limit?: integer = 100');
      assert.match(await widget.innerText(), /Maximum number of posts to return/);
      await wb.screenshot('signature-help');
    },
    // Enter keeps the indentation, as it does by default (the suite types its own indentation elsewhere).
    { 'editor.autoIndent': 'full' },
  );

  scenario('the outline lists the inputs and steps', async (wb) => {
    suite.addFile('outline.odp.yaml', example('ai-sentiment.odp.yaml'));
    await wb.openFile('outline.odp.yaml');
    await wb.keyboard.press('Control+Shift+O');
    const list = wb.page.locator('.quick-input-list');
    await list.locator('.monaco-list-row', { hasText: 'discussion_summary' }).first().waitFor({ timeout: 20000 });
    const rows = await list.locator('.monaco-list-row').allInnerTexts();
    for (const name of ['tweets', 'reddit_posts', 'tweet_sentiment', 'top_threads', 'query']) {
      assert.ok(rows.some((row) => row.includes(name)), `${name} not in the outline: ${rows.join(' | ')}`);
    }
  });

  scenario('a plain YAML file stays silent', async (wb) => {
    // Something a pipeline checker would flag everywhere, were it a pipeline.
    suite.addFile('config/settings.yaml', 'name: x\nsources:\n  - method: nowhere.nothing\n    params: {a: {{b}}}\n');
    // A pipeline first, so the server is known to be up and checking.
    suite.addFile('up.odp.yaml', example('broken/unknown-method.odp.yaml'));
    await wb.openFile('up.odp.yaml');
    await wb.squiggles().first().waitFor({ timeout: 30000 });
    await wb.openFile('config/settings.yaml');
    await sleep(3000);
    assert.equal(await wb.squiggles().count(), 0);
    assert.equal(await wb.squiggles('warning').count(), 0);
    assert.equal(await wb.toasts().count(), 0, await wb.toasts().allInnerTexts().then((t) => t.join(' | ')));
  });

  scenario('runs from the editor: lens, progress, result hint and hover, cancel', async (wb) => {
    const text = example('ai-sentiment.odp.yaml');
    suite.addFile('runs.odp.yaml', text);
    await wb.openFile('runs.odp.yaml');
    const lens = (title) => wb.page.locator('.codelens-decoration a', { hasText: title });
    const running = wb.page.locator('.statusbar', { hasText: 'Running ai-sentiment' });
    await lens('▶ Run pipeline').first().click({ timeout: 30000 });
    // Each step's result as an inlay hint after its name, and on hover.
    const hint = wb.page.locator('.editor-instance .view-line', { hasText: /tweets\s+✓\s\d+\sresults\s·\s\d+\sms/ });
    await hint.first().waitFor({ timeout: 30000 });
    // The whole run is over (a step's hint shows while later steps still run): no `■ Cancel`, no progress.
    await lens('■ Cancel').first().waitFor({ state: 'detached', timeout: 30000 });
    await running.waitFor({ state: 'detached', timeout: 15000 });
    await wb.focusEditor();
    await wb.keyboard.press('Control+Home');
    for (let i = 0; i < 42; i++) {
      await wb.keyboard.press('ArrowDown'); // the first source in the middle of the editor
    }
    await wb.clickText('tweets', 2, /-\sname:\stweets/);
    await wb.command('Show or Focus Hover');
    await wb.page.locator('.monaco-hover', { hasText: /results/ }).first().waitFor({ timeout: 10000 });
    await wb.keyboard.press('Escape');
    // A slow service (30 s a call): the run shows its progress and a `■ Cancel` lens, which stops it.
    await fetch(`${suite.stubsUrl}/_stubs/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'latency', delay_ms: 30000 }),
    });
    try {
      await wb.keyboard.press('Control+Home');
      // Scrolled back to the top, the editor draws its lenses anew; a click in the middle of that is lost (as it is
      // for a person, who clicks again). So: click, and click again if no run shows within a few seconds.
      let started = false;
      for (let attempt = 1; attempt <= 3 && !started; attempt++) {
        await sleep(500);
        await lens('▶ Run pipeline').first().click();
        started = await running
          .waitFor({ timeout: 6000 })
          .then(() => true)
          .catch(() => false);
      }
      if (!started) {
        // What the window showed instead: the status bar, the lenses, any notification.
        const seen = {
          statusbar: await wb.page.locator('.statusbar').innerText(),
          lenses: await wb.page.locator('.codelens-decoration a').allInnerTexts(),
          toasts: await wb.toasts().allInnerTexts(),
        };
        assert.fail(`three clicks on ▶ Run pipeline showed no run in progress; the window showed ${JSON.stringify(seen)}`);
      }
      await lens('■ Cancel').first().click({ timeout: 15000 });
      await wb.page.locator('.editor-instance .view-line', { hasText: /■\scancelled/ }).first().waitFor({ timeout: 15000 });
      await lens('■ Cancel').first().waitFor({ state: 'detached', timeout: 15000 });
      await running.waitFor({ state: 'detached' });
    } finally {
      await fetch(`${suite.stubsUrl}/_stubs/faults`, { method: 'DELETE' });
    }
  });

  scenario('the pipeline graph beside the editor: follows typing, a click on a step moves the cursor', async (wb) => {
    suite.addFile('graph/brand-watch.odp.yaml', GRAPH_PIPELINE);
    await wb.openFile('graph/brand-watch.odp.yaml');
    // The server is up once its lens shows.
    await wb.page.locator('.codelens-decoration a', { hasText: '▶ Run pipeline' }).first().waitFor({ timeout: 30000 });
    await wb.command('ODP: Show Pipeline Graph');
    await wb.page.locator('.tab', { hasText: 'Graph: brand-watch.odp.yaml' }).waitFor({ timeout: 15000 });
    const graph = webviewFrame(wb.page);
    const node = (name) => graph.locator(`g.node[data-name="${name}"]`);
    await node('mood').waitFor({ timeout: 20000 });
    for (const name of ['query', 'tweets', 'mood', 'digest']) {
      assert.match(await node(name).textContent(), new RegExp(name));
    }
    // The graph is beside the editor, which keeps the keyboard: rename the step `mood` by typing (not saved).
    await wb.focusEditor();
    await wb.goTo(10, 11);
    await wb.keyboard.press('Shift+End');
    await wb.type('feelings');
    await node('feelings').waitFor({ timeout: 15000 });
    await node('mood').waitFor({ state: 'detached', timeout: 5000 });
    // A click on a node puts the cursor on its step's name: `tweets`, line 5, column 11.
    await node('tweets').locator('rect.box').click();
    const position = wb.page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ });
    await wb.page.locator('.statusbar-item', { hasText: 'Ln 5, Col 11' }).waitFor({ timeout: 10000 }).catch(async () => {
      assert.fail(`the cursor did not move to tweets: the status bar says ${await position.first().innerText({ timeout: 2000 }).catch(() => 'nothing')}`);
    });
    await wb.page.locator('.editor-instance .monaco-editor.focused').first().waitFor({ timeout: 5000 });
    // And the graph marks the step at the cursor.
    await graph.locator('g.node.current[data-name="tweets"]').waitFor({ timeout: 5000 });
  });

  scenario(
    'format on save lays out a pipeline and keeps every comment',
    async (wb) => {
      const messy = [
        '# The demo pipeline.',
        'name:   formatted',
        'sources:',
        '    - name: tweets   # where the posts come from',
        '      method: social.twitter.search',
        '      params: {query: rust,   limit: 5}',
        '    - name: news',
        '      method: news.newsapi.search',
        '      params:',
        '          query: rust',
        'transforms:',
        '    # One score per post.',
        '    - name: mood',
        '      method: nlp.sentiment.analyze',
        '      params:',
        '        texts: "{{tweets.results[*].text}}"',
        '',
      ].join('\n');
      const file = suite.addFile('fmt/messy.odp.yaml', messy);
      // What `odp-lsp fmt` makes of the same text is what the editor must save.
      const expected = formattedByCli(messy);
      assert.notEqual(expected, messy, 'the fixture needs formatting');
      await wb.openFile('fmt/messy.odp.yaml');
      // The server is up once its lens shows; a save before that would find no formatter.
      await wb.page.locator('.codelens-decoration a', { hasText: '▶ Run pipeline' }).first().waitFor({ timeout: 30000 });
      await wb.focusEditor();
      await wb.keyboard.press('Control+S');
      await waitFor(() => fs.readFileSync(file, 'utf8') === expected, 'the formatted file saved', () =>
        JSON.stringify(fs.readFileSync(file, 'utf8')),
      );
      for (const comment of ['# The demo pipeline.', '# where the posts come from', '# One score per post.']) {
        assert.ok(expected.includes(comment), `${comment} kept`);
      }
      assert.equal(check(file).code, 0, check(file).out);
    },
    { 'editor.formatOnSave': true, 'files.autoSave': 'off' },
  );

  scenario(
    'a missing server: one error, and only once a pipeline is open',
    async (wb) => {
      suite.addFile('quiet/plain.yaml', 'items:\n  - one\n  - two\n');
      suite.addFile('quiet/flow.odp.yaml', example('ai-sentiment.odp.yaml'));
      // A YAML file that is not a pipeline: not a word about the server.
      await wb.openFile('quiet/plain.yaml');
      await sleep(4000);
      assert.equal(await wb.toasts().count(), 0, await wb.toasts().allInnerTexts().then((t) => t.join(' | ')));
      // A pipeline: one error, which names the binary and stays alone.
      await wb.openFile('quiet/flow.odp.yaml');
      await wb.toasts().first().waitFor({ timeout: 15000 });
      await sleep(3000);
      const toasts = await wb.toasts().allInnerTexts();
      assert.equal(toasts.length, 1, toasts.join(' | '));
      assert.match(toasts[0], /nowhere\/odp-lsp` was not found/);
      // Its "Open Settings" lands on the setting, in the User tab of this web (remote) window.
      await wb.toasts().first().locator('a.monaco-button', { hasText: 'Open Settings' }).click();
      const editor = wb.page.locator('.settings-editor');
      await editor.waitFor({ timeout: 15000 });
      // The settings editor opens on its User tab: a machine-scoped setting would be missing there.
      await editor.getByText('Odp › Server: Path').first().waitFor({ timeout: 15000 });
      assert.equal(await editor.getByText('No Settings Found').first().isVisible(), false);
    },
    { 'odp.server.path': '/nowhere/odp-lsp' },
  );
});

/** A small pipeline for the graph scenario: line 5 is `  - name: tweets`, line 10 `  - name: mood`. */
const GRAPH_PIPELINE = [
  'name: brand-watch',
  'inputs:',
  '  query: {type: string, default: odp}',
  'sources:',
  '  - name: tweets',
  '    method: social.twitter.search',
  '    params:',
  '      query: "{{inputs.query}}"',
  'transforms:',
  '  - name: mood',
  '    method: nlp.sentiment.analyze',
  '    params:',
  '      texts: "{{tweets.results[*].text}}"',
  '  - name: digest',
  '    method: nlp.summary.generate',
  '    params:',
  '      texts: "{{tweets.results[*].text}}"',
  '',
].join('\n');

/** `text` as `odp-lsp fmt` writes it (formatted in a temporary folder with no odp.toml: the default style, as the
 * suite's workspace has no `[format]`). */
function formattedByCli(text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odp-fmt-'));
  const file = path.join(dir, 'pipeline.odp.yaml');
  fs.writeFileSync(file, text);
  execFileSync(lsp, ['fmt', file], { encoding: 'utf8', stdio: 'pipe' });
  const out = fs.readFileSync(file, 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

/** Waits until `locator`'s first element shows `text`. */
async function waitForText(locator, text) {
  const deadline = Date.now() + 15000;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await locator.first().innerText({ timeout: 1000 }).catch(() => '');
    if (seen === text) {
      return;
    }
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${JSON.stringify(text)}; saw ${JSON.stringify(seen)}`);
}

async function waitFor(predicate, what, detail = () => '') {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (predicate()) {
      return;
    }
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what} ${detail()}`);
}
