// "ODP: Show Pipeline Graph" against the mocked `vscode`: the webview beside the editor, its Content-Security-Policy,
// redrawing after typing pauses, and a click on a node moving the cursor to its step.

import './setup';

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import * as ext from '../src/extension';
import { contentSecurityPolicy, GRAPH_DEBOUNCE_MS, graphHtml, GraphPanel, GraphResult, nodeAt, revealTarget } from '../src/graph';
import { clientMock } from './mocks/languageclient';
import { mock, mockEditor, Position, Range, Selection, TextEditorRevealType, Uri, ViewColumn } from './mocks/vscode';

const DOC = 'file:///ws/flow.odp.yaml';

function range(line: number, start: number, end: number, endLine = line) {
  return { start: { line, character: start }, end: { line: endLine, character: end } };
}

/** The server's answer for a text whose second step is called `name`. */
function answer(name: string, version: number): GraphResult {
  return {
    uri: DOC,
    version,
    svg: `<svg class="odp-graph"><g class="node source" id="odp-node-n0" data-name="tweets" data-line="4"></g><g class="node transform" id="odp-node-n1" data-name="${name}" data-line="9"></g></svg>`,
    errors: 0,
    current: null,
    nodes: [
      { id: 'odp-node-n0', name: 'tweets', kind: 'source', range: range(4, 4, 31, 7), selectionRange: range(4, 10, 16) },
      { id: 'odp-node-n1', name, kind: 'transform', range: range(9, 4, 41, 12), selectionRange: range(9, 10, 10 + name.length) },
    ],
  };
}

let context: { subscriptions: { dispose(): unknown }[]; extensionPath: string };
let requests: unknown[];
let stepName: string;
let version: number;
let savedPath: string | undefined;
let fakePath: string;

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Activates with an open pipeline in the active editor; the fake server draws `stepName` at `version`. */
async function activateWithPipeline(): Promise<ext.OdpExtension> {
  const editor = mockEditor({ uri: Uri.file('/ws/flow.odp.yaml'), languageId: 'odp-pipeline', getText: () => '' }, ViewColumn.One);
  editor.selection = new Selection(new Position(11, 6), new Position(11, 6));
  mock.activeTextEditor = editor;
  mock.visibleTextEditors = [editor];
  clientMock.onRequest = async (method, params) => {
    requests.push(params);
    if (method === 'workspace/executeCommand' && (params as { command: string }).command === 'odp.showGraph') {
      return answer(stepName, version);
    }
    return null;
  };
  return ext.activate(context as never);
}

function graphMessages() {
  return mock.webviewPanels[0].posted.filter((m) => (m as { type: string }).type === 'graph') as { svg: string }[];
}

beforeEach(() => {
  mock.reset();
  clientMock.reset();
  context = { subscriptions: [], extensionPath: path.join(os.tmpdir(), 'odp-ext-none') };
  requests = [];
  stepName = 'mood';
  version = 1;
  savedPath = process.env.PATH;
  fakePath = fs.mkdtempSync(path.join(os.tmpdir(), 'odp-graph-path-'));
  fs.writeFileSync(path.join(fakePath, 'odp-lsp'), '#!/bin/sh\n', { mode: 0o755 });
  process.env.PATH = fakePath;
});

afterEach(async () => {
  await ext.deactivate();
  for (const subscription of context.subscriptions) {
    await subscription.dispose();
  }
  process.env.PATH = savedPath;
  fs.rmSync(fakePath, { recursive: true, force: true });
});

describe('ODP: Show Pipeline Graph', () => {
  it('opens a webview beside the editor with the server graph of the document and the cursor', async () => {
    await activateWithPipeline();
    await mock.commands.get('odp.showGraph')!();
    await settle();
    assert.equal(mock.webviewPanels.length, 1);
    const panel = mock.webviewPanels[0];
    assert.equal(panel.viewType, 'odp.graph');
    assert.equal(panel.title, 'Graph: flow.odp.yaml');
    assert.deepEqual(panel.showOptions, { viewColumn: ViewColumn.Beside, preserveFocus: true });
    assert.equal(panel.options.enableScripts, true);
    assert.deepEqual(panel.options.localResourceRoots, []);
    assert.deepEqual(requests, [
      { command: 'odp.showGraph', arguments: [DOC, { position: { line: 11, character: 6 } }] },
    ]);
    const [shown] = graphMessages();
    assert.match(shown.svg, /data-name="mood"/);
    // Running it again shows the same panel, drawn again.
    await mock.commands.get('odp.showGraph')!();
    await settle();
    assert.equal(mock.webviewPanels.length, 1);
    assert.equal(panel.revealed.length, 1);
    assert.equal(requests.length, 2);
  });

  it('draws again once typing in that document pauses, and not for other documents', async () => {
    await activateWithPipeline();
    await mock.commands.get('odp.showGraph')!();
    await settle();
    stepName = 'feeling';
    version = 4;
    for (let i = 0; i < 3; i++) {
      mock.changeListeners.fire({ document: { uri: Uri.file('/ws/flow.odp.yaml') } });
    }
    mock.changeListeners.fire({ document: { uri: Uri.file('/ws/other.odp.yaml') } });
    await settle();
    assert.equal(requests.length, 1, 'not before the pause');
    await new Promise((resolve) => setTimeout(resolve, GRAPH_DEBOUNCE_MS + 100));
    await settle();
    assert.equal(requests.length, 2, 'one request for the three changes');
    const messages = graphMessages();
    assert.match(messages.at(-1)!.svg, /data-name="feeling"/);
    assert.equal(GraphPanel.of(DOC)?.graph?.version, 4);
  });

  it('a click on a node puts the cursor on its step', async () => {
    await activateWithPipeline();
    await mock.commands.get('odp.showGraph')!();
    await settle();
    const panel = mock.webviewPanels[0];
    panel.received.fire({ type: 'reveal', id: 'odp-node-n0', line: 4 });
    await settle();
    const editor = mock.visibleTextEditors[0];
    assert.deepEqual(editor.selection.active, new Position(4, 10));
    assert.deepEqual(editor.selection.anchor, new Position(4, 10));
    assert.deepEqual(editor.revealed, [
      { range: new Range(4, 10, 4, 16), type: TextEditorRevealType.InCenterIfOutsideViewport },
    ]);
    // Messages that are not a click do nothing.
    panel.received.fire({ type: 'something', id: 'odp-node-n1' });
    await settle();
    assert.equal(editor.revealed.length, 1);
  });

  it('the cursor moving marks its step in the picture', async () => {
    await activateWithPipeline();
    await mock.commands.get('odp.showGraph')!();
    await settle();
    const editor = mock.visibleTextEditors[0];
    mock.selectionListeners.fire({ textEditor: editor, selections: [new Selection(new Position(5, 2), new Position(5, 2))] });
    await settle();
    assert.deepEqual(mock.webviewPanels[0].posted.at(-1), { type: 'current', current: 'odp-node-n0' });
  });

  it('an error of the server shows in the view; closing the view stops listening', async () => {
    await activateWithPipeline();
    clientMock.onRequest = async () => {
      throw new Error('file:///ws/flow.odp.yaml is not an open pipeline the server is in sync with');
    };
    await mock.commands.get('odp.showGraph')!();
    await settle();
    const panel = mock.webviewPanels[0];
    assert.deepEqual(panel.posted.at(-1), {
      type: 'error',
      message: 'The graph could not be drawn: file:///ws/flow.odp.yaml is not an open pipeline the server is in sync with',
    });
    const listeners = mock.changeListeners.size;
    panel.dispose();
    assert.equal(mock.changeListeners.size, listeners - 1);
    assert.equal(GraphPanel.of(DOC), undefined);
  });

  it('says so without an open editor', async () => {
    await ext.activate(context as never);
    await mock.commands.get('odp.showGraph')!();
    assert.deepEqual(
      mock.errors.map((e) => e.message),
      ['ODP: open a pipeline to see its graph.'],
    );
    assert.equal(mock.webviewPanels.length, 0);
  });
});

describe('the graph page', () => {
  it('allows nothing remote: scripts and styles by nonce only, the SVG inline', () => {
    const page = graphHtml('<svg id="x"></svg>', { nonce: 'abc123', cspSource: 'vscode-resource:', title: 'Graph <a>' });
    assert.equal(
      contentSecurityPolicy('abc123', 'vscode-resource:'),
      "default-src 'none'; img-src vscode-resource: data:; style-src 'nonce-abc123'; script-src 'nonce-abc123'",
    );
    assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; [^"]*script-src &#39;nonce-abc123&#39;">/);
    assert.match(page, /<div id="graph"><svg id="x"><\/svg><\/div>/);
    assert.match(page, /<title>Graph &#60;a&#62;<\/title>/);
    const scripts = page.match(/<script[^>]*>/g) ?? [];
    assert.deepEqual(scripts, ['<script nonce="abc123">']);
    assert.doesNotMatch(page, /https?:\/\//);
  });

  it("maps a click to the node's name, else to its line; the cursor to its node", () => {
    const result = answer('mood', 1);
    assert.deepEqual(revealTarget(result, { type: 'reveal', id: 'odp-node-n1' }), new Range(9, 10, 9, 14));
    assert.deepEqual(revealTarget(result, { type: 'reveal', id: 'odp-node-n9', line: 3 }), new Range(3, 0, 3, 0));
    assert.equal(revealTarget(result, { type: 'reveal', id: 'odp-node-n9' }), undefined);
    assert.equal(nodeAt(result, new Position(10, 0)), 'odp-node-n1');
    assert.equal(nodeAt(result, new Position(4, 3)), null);
    assert.equal(nodeAt(result, new Position(7, 31)), 'odp-node-n0');
  });
});

describe('the graph command in package.json', () => {
  it('has a title and a button in the title bar of pipeline editors', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const command = manifest.contributes.commands.find((c: { command: string }) => c.command === 'odp.showGraph');
    assert.equal(`${command.category}: ${command.title}`, 'ODP: Show Pipeline Graph');
    assert.match(command.icon, /^\$\(/);
    assert.deepEqual(manifest.contributes.menus['editor/title'], [
      { command: 'odp.showGraph', when: 'resourceLangId == odp-pipeline', group: 'navigation' },
    ]);
  });
});
