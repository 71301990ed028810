// Makes the README's pictures from the real client: the editor with a diagnostic, a completion, a run's results,
// and types inline with signature help. Run by hand (CI never rewrites them), then look at them:
//
//   bash tests/vscode/run.sh --screenshots      # writes docs/images/vscode-*.png
//   bash tests/vscode/run.sh --screenshots graph    # only some: diagnostic, completion, run, graph
//
// Same world as the suite (harness.mjs): code-server with the packaged extension, the debug odp-lsp, the stubs.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { repo, sleep, Suite, webviewFrame } from './harness.mjs';

const out = path.join(repo, 'docs', 'images');
fs.mkdirSync(out, { recursive: true });
const example = (relative) => fs.readFileSync(path.join(repo, 'examples', relative), 'utf8');
const viewport = { width: 1100, height: 640 };
const only = process.argv.slice(2);
const wanted = (name) => only.length === 0 || only.includes(name);
const written = [];

/** More room for the editor: no Explorer, no secondary side bar (chat). */
async function hideSideBars(wb) {
  await wb.command('View: Toggle Primary Side Bar Visibility');
  if (await wb.page.locator('.part.auxiliarybar').isVisible()) {
    await wb.command('View: Toggle Secondary Side Bar Visibility');
  }
}

const suite = new Suite();
await suite.start();
try {
  // 1. A diagnostic: the squiggle, its hover and the Problems panel.
  if (wanted('diagnostic')) {
    suite.addFile('unknown-method.odp.yaml', example('broken/unknown-method.odp.yaml'));
    const wb = await suite.open(viewport);
    await hideSideBars(wb);
    await wb.openFile('unknown-method.odp.yaml');
    await wb.squiggles().first().waitFor({ timeout: 30000 });
    await wb.keyboard.press('Control+Shift+M');
    await wb.page.locator('.markers-panel .monaco-list-row').first().waitFor();
    await wb.clickText('social.twiter.search', 4);
    await wb.command('Show or Focus Hover');
    await wb.page.locator('.monaco-hover', { hasText: 'unknown method' }).first().waitFor({ timeout: 20000 });
    await sleep(500);
    await wb.page.screenshot({ path: path.join(out, 'vscode-diagnostic.png') });
    written.push('vscode-diagnostic.png');
    await wb.close();
  }

  // 2. A completion: the fields of a step's output inside `{{`.
  if (wanted('completion')) {
    const start = [
      'name: brand-watch',
      'sources:',
      '  - name: tweets',
      '    method: social.twitter.search',
      '    params:',
      '      query: odp',
      'transforms:',
      '  - name: mood',
      '    method: nlp.sentiment.analyze',
      '    params:',
      '      texts: ',
    ].join('\n');
    suite.addFile('brand-watch.odp.yaml', start);
    const wb = await suite.open(viewport);
    await hideSideBars(wb);
    await wb.openFile('brand-watch.odp.yaml');
    await wb.keyboard.press('Control+End');
    await wb.keyboard.type('"{{tweets.');
    await wb.acceptSuggestion('results', 'res');
    await wb.keyboard.type('[*].');
    await wb.suggest('text');
    await wb.page.locator('.suggest-widget .monaco-list-row.focused').waitFor();
    // The details of the focused item (its type and documentation).
    await sleep(800);
    await wb.page.screenshot({ path: path.join(out, 'vscode-completion.png') });
    written.push('vscode-completion.png');
    await wb.close();
  }

  // 3. A run: the lens, then each step's result as an inlay hint and on hover.
  if (wanted('run')) {
    suite.addFile('ai-sentiment.odp.yaml', example('ai-sentiment.odp.yaml'));
    const wb = await suite.open(viewport);
    await hideSideBars(wb);
    await wb.openFile('ai-sentiment.odp.yaml');
    await wb.page.locator('.codelens-decoration a', { hasText: '▶ Run pipeline' }).first().click({ timeout: 30000 });
    await wb.page.locator('.editor-instance .view-line', { hasText: /tweets\s+✓/ }).first().waitFor({ timeout: 30000 });
    // The first step's name: its result after it, and its hover.
    await wb.focusEditor();
    for (let i = 0; i < 42; i++) {
      await wb.keyboard.press('ArrowDown'); // the sources and their results in the middle of the editor
    }
    await wb.clickText('tweets', 2, /-\sname:\stweets/);
    await wb.command('Show or Focus Hover');
    try {
      await wb.page.locator('.monaco-hover', { hasText: /results/ }).first().waitFor({ timeout: 10000 });
    } catch (error) {
      await wb.page.screenshot({ path: path.join(out, 'failed-vscode-run.png') });
      throw error;
    }
    await sleep(500);
    await wb.page.screenshot({ path: path.join(out, 'vscode-run.png') });
    written.push('vscode-run.png');
    await wb.close();
  }

  // 4. The pipeline graph beside the editor, after a click on a step's node (the cursor on its name, the node marked).
  if (wanted('graph')) {
    suite.addFile('graph/ai-sentiment.odp.yaml', example('ai-sentiment.odp.yaml'));
    const wb = await suite.open({ width: 1500, height: 720 });
    await hideSideBars(wb);
    await wb.openFile('graph/ai-sentiment.odp.yaml');
    await wb.page.locator('.codelens-decoration a', { hasText: '▶ Run pipeline' }).first().waitFor({ timeout: 30000 });
    await wb.command('ODP: Show Pipeline Graph');
    const graph = webviewFrame(wb.page);
    await graph.locator('g.node[data-name="tweet_sentiment"]').waitFor({ timeout: 20000 });
    await graph.locator('g.node[data-name="tweet_sentiment"] rect.box').click();
    await graph.locator('g.node.current[data-name="tweet_sentiment"]').waitFor({ timeout: 10000 });
    await wb.page.mouse.move(5, 400);
    await sleep(800);
    await wb.page.screenshot({ path: path.join(out, 'vscode-graph.png') });
    written.push('vscode-graph.png');
    await wb.close();
  }

  // 5. Types inline and signature help: the type of each template after it, and the method's params while typing.
  if (wanted('types')) {
    suite.addFile('types.odp.yaml', example('ai-sentiment.odp.yaml'));
    const wb = await suite.open(viewport);
    await hideSideBars(wb);
    await wb.openFile('types.odp.yaml');
    await wb.page.locator('.codelens-decoration a', { hasText: '▶ Run pipeline' }).first().waitFor({ timeout: 30000 });
    // The end of reddit_sentiment's `params:`: the widget opens above the new line, the type hints below stay in view.
    await wb.goTo(67, 100);
    await wb.page
      .locator('.editor-instance .view-line', { hasText: /"\{\{reddit_posts\.results\[\*\]\.text\}\}":\s?list</ })
      .first()
      .waitFor({ timeout: 30000 });
    await wb.keyboard.type('\n      neutral_threshold:', { delay: 25 });
    await wb.page.locator('.parameter-hints-widget.visible').waitFor({ timeout: 20000 });
    // The completion of the value, if it opened, hides part of the signature: closed, as a person would.
    if (await wb.page.locator('.editor-widget.suggest-widget.visible').isVisible()) {
      await wb.keyboard.press('Escape');
    }
    await sleep(800);
    await wb.page.screenshot({ path: path.join(out, 'vscode-types.png') });
    written.push('vscode-types.png');
    await wb.close();
  }
} finally {
  await suite.stop();
}
console.log(`wrote ${written.map((f) => path.join(out, f)).join(', ')}`);
