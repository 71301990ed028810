// Activation, commands and settings, against the mocked `vscode` and `vscode-languageclient/node`.

import './setup';

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import * as ext from '../src/extension';
import { clientMock, LanguageClient } from './mocks/languageclient';
import { mock, MockOutputChannel, ProgressLocation, Uri } from './mocks/vscode';

interface FakeContext {
  subscriptions: { dispose(): unknown }[];
  extensionPath: string;
}

let context: FakeContext;
let emptyPath: string;
let savedPath: string | undefined;

function makeContext(extensionPath = path.join(os.tmpdir(), 'odp-ext-none')): FakeContext {
  return { subscriptions: [], extensionPath };
}

async function activate(): Promise<ext.OdpExtension> {
  return ext.activate(context as never);
}

function lastClient(): LanguageClient {
  const client = clientMock.instances.at(-1);
  assert.ok(client, 'no LanguageClient was created');
  return client;
}

/** Lets queued promise work (restarts) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

beforeEach(() => {
  mock.reset();
  clientMock.reset();
  context = makeContext();
  // A PATH with only a fake odp-lsp (the client is mocked, nothing runs it), so that an odp-lsp installed on this
  // machine does not change the answers. Tests of a missing server remove it.
  savedPath = process.env.PATH;
  emptyPath = fs.mkdtempSync(path.join(os.tmpdir(), 'odp-empty-path-'));
  fs.writeFileSync(path.join(emptyPath, 'odp-lsp'), '#!/bin/sh\n', { mode: 0o755 });
  process.env.PATH = emptyPath;
});

afterEach(async () => {
  await ext.deactivate();
  for (const subscription of context.subscriptions) {
    await subscription.dispose();
  }
  process.env.PATH = savedPath;
  fs.rmSync(emptyPath, { recursive: true, force: true });
});

describe('activation', () => {
  it('registers every command', async () => {
    await activate();
    assert.deepEqual([...mock.commands.keys()].sort(), Object.values(ext.COMMANDS).sort());
    assert.deepEqual(Object.values(ext.COMMANDS).sort(), [
      'odp.generateDraft',
      'odp.restartServer',
      'odp.runPipeline',
      'odp.runStep',
      'odp.showGraph',
      'odp.showOutput',
      'odp.showResult',
    ]);
  });

  it('starts one client with the default server command line', async () => {
    await activate();
    assert.equal(clientMock.instances.length, 1);
    const client = lastClient();
    assert.deepEqual(client.calls, ['start']);
    assert.equal(client.id, 'odp', 'the id makes the client read `odp.trace.server`');
    assert.equal(client.name, 'ODP Language Server');
    const executable = { command: 'odp-lsp', args: ['--stdio'], options: {} };
    assert.deepEqual(client.serverOptions, { run: executable, debug: executable });
    assert.equal((client.serverOptions as { run: { transport?: unknown } }).run.transport, undefined);
    assert.ok(client.isRunning());
  });

  it('covers odp-pipeline and yaml documents', async () => {
    await activate();
    const selector = lastClient().clientOptions.documentSelector;
    assert.deepEqual(selector, [{ language: 'odp-pipeline' }, { language: 'yaml' }]);
  });

  it('passes the output channel, file watchers and an empty initializationOptions', async () => {
    await activate();
    const options = lastClient().clientOptions;
    assert.equal(mock.outputChannels.length, 1);
    assert.equal(options.outputChannel, mock.outputChannels[0]);
    assert.deepEqual(options.initializationOptions, {});
    assert.deepEqual(
      mock.watchers.map((watcher) => watcher.glob),
      ['**/odp.toml', '**/*.odp.{yaml,yml}'],
    );
    assert.deepEqual(options.synchronize, { fileEvents: mock.watchers });
  });

  it('uses the settings: path, extra arguments and registry', async () => {
    const proj = path.join(emptyPath, 'proj');
    fs.mkdirSync(path.join(proj, 'target', 'debug'), { recursive: true });
    fs.writeFileSync(path.join(proj, 'target', 'debug', 'odp-lsp'), '#!/bin/sh\n', { mode: 0o755 });
    mock.workspaceFolders = [{ uri: Uri.file(proj), name: 'proj', index: 0 }];
    mock.settings['odp.server.path'] = '${workspaceFolder}/target/debug/odp-lsp';
    mock.settings['odp.server.extraArgs'] = ['serve', '--log-level', 'debug'];
    mock.settings['odp.registry'] = 'registry.yaml';
    await activate();
    const client = lastClient();
    const executable = {
      command: path.join(proj, 'target', 'debug', 'odp-lsp'),
      args: ['serve', '--log-level', 'debug', '--stdio'],
      options: { cwd: proj },
    };
    assert.deepEqual(client.serverOptions, { run: executable, debug: executable });
    assert.deepEqual(client.clientOptions.initializationOptions, { registry: path.resolve(proj, 'registry.yaml') });
  });

  it('passes a registry URL unchanged', async () => {
    mock.settings['odp.registry'] = 'https://registry.example/odp.yaml';
    await activate();
    assert.deepEqual(lastClient().clientOptions.initializationOptions, { registry: 'https://registry.example/odp.yaml' });
  });

  it('prefers a bundled server/odp-lsp when odp-lsp is not on PATH', async () => {
    const extensionPath = fs.mkdtempSync(path.join(os.tmpdir(), 'odp-ext-'));
    try {
      fs.rmSync(path.join(emptyPath, 'odp-lsp'));
      fs.mkdirSync(path.join(extensionPath, 'server'));
      const bundled = path.join(extensionPath, 'server', process.platform === 'win32' ? 'odp-lsp.exe' : 'odp-lsp');
      fs.writeFileSync(bundled, '#!/bin/sh\n', { mode: 0o755 });
      context = makeContext(extensionPath);
      await activate();
      assert.equal((lastClient().serverOptions as { run: { command: string } }).run.command, bundled);
    } finally {
      fs.rmSync(extensionPath, { recursive: true, force: true });
    }
  });

  it('reports a server that does not start, without failing activation', async () => {
    clientMock.startError = new Error('spawn odp-lsp ENOENT');
    await activate();
    assert.equal(mock.errors.length, 1);
    assert.match(mock.errors[0].message, /could not start the language server `odp-lsp`: spawn odp-lsp ENOENT/);
    assert.match(mock.errors[0].message, /cargo install --path crates\/odp-lsp/);
    assert.deepEqual(mock.errors[0].items, ['Show Output', 'Open Settings']);
    const output = mock.outputChannels[0] as MockOutputChannel;
    assert.ok(output.lines.some((line) => line.includes('Starting odp-lsp --stdio')));
    assert.ok(output.lines.some((line) => line.includes('did not start')));
    // The commands are there all the same, so the user can fix the setting and restart.
    assert.equal(mock.commands.size, Object.values(ext.COMMANDS).length);
  });

  it('says nothing about a missing server until a pipeline is open, then says it once', async () => {
    fs.rmSync(path.join(emptyPath, 'odp-lsp'));
    await activate();
    // No client: the languageclient would show an error of its own beside ours.
    assert.equal(clientMock.instances.length, 0);
    const output = mock.outputChannels[0] as MockOutputChannel;
    assert.ok(output.lines.some((line) => line.includes('`odp-lsp` was not found')));
    mock.openDocument('yaml', 'name: not a pipeline\nitems: [1, 2]\n', '/ws/config.yaml');
    mock.openDocument('json', '{}', '/ws/package.json');
    await settle();
    assert.equal(mock.errors.length, 0, 'a YAML file that is not a pipeline stays silent');
    mock.openDocument('yaml', '# odp: pipeline\nname: flow\n', '/ws/flow.yaml');
    mock.openDocument('odp-pipeline', 'name: other\n', '/ws/other.odp.yaml');
    await settle();
    assert.equal(mock.errors.length, 1, JSON.stringify(mock.errors));
    assert.match(mock.errors[0].message, /language server `odp-lsp` was not found/);
    assert.match(mock.errors[0].message, /cargo install --path crates\/odp-lsp/);
    assert.match(mock.errors[0].message, /login shell/);
    assert.deepEqual(mock.errors[0].items, ['Show Output', 'Open Settings']);
  });

  it('says at once that the server is missing when a pipeline is already open, and not again after a restart finds it', async () => {
    fs.rmSync(path.join(emptyPath, 'odp-lsp'));
    mock.openDocument('odp-pipeline', 'name: flow\n', '/ws/flow.odp.yaml');
    await activate();
    await settle();
    assert.equal(mock.errors.length, 1);
    // A missing server set in the settings: named in the message, which points at the setting.
    mock.changeSettings({ 'odp.server.path': '/nowhere/odp-lsp' });
    await settle();
    assert.equal(mock.errors.length, 2);
    assert.match(mock.errors[1].message, /`\/nowhere\/odp-lsp` was not found\. Check the `odp.server.path` setting/);
    // Found again: the server starts, and opening pipelines says nothing more.
    fs.writeFileSync(path.join(emptyPath, 'odp-lsp'), '#!/bin/sh\n', { mode: 0o755 });
    mock.changeSettings({ 'odp.server.path': 'odp-lsp' });
    await settle();
    assert.ok(lastClient().isRunning());
    mock.openDocument('odp-pipeline', 'name: second\n', '/ws/second.odp.yaml');
    await settle();
    assert.equal(mock.errors.length, 2);
  });

  it('tells pipelines from other documents as the server does', () => {
    const doc = (languageId: string, text: string) => ({ languageId, getText: () => text });
    assert.ok(ext.isPipelineDocument(doc('odp-pipeline', 'name: x\n')));
    assert.ok(ext.isPipelineDocument(doc('yaml', '# odp: pipeline\nname: x\n')));
    assert.ok(ext.isPipelineDocument(doc('yaml', '# a flow\n\n#odp:pipeline\nname: x\n')));
    assert.ok(!ext.isPipelineDocument(doc('yaml', 'name: x\n# odp: pipeline\n')));
    assert.ok(!ext.isPipelineDocument(doc('yaml', 'key: value\n')));
    assert.ok(!ext.isPipelineDocument(doc('json', '# odp: pipeline\n')));
  });

  it('opens the settings from the start error', async () => {
    clientMock.startError = new Error('spawn odp-lsp ENOENT');
    mock.errorChoice = 'Open Settings';
    await activate();
    await settle();
    assert.ok(
      mock.executedCommands.some(
        (call) => call.command === 'workbench.action.openSettings' && call.args[0] === 'odp.server',
      ),
    );
  });

  it('does not clash with odp.generateDraft when the server advertises it', async () => {
    clientMock.serverCommands = ['odp.generateDraft', 'odp.applyFix'];
    await activate();
    const client = lastClient();
    assert.ok(client.isRunning());
    assert.deepEqual(client.executeCommandFeature.registered, ['odp.applyFix']);
    assert.ok(mock.commands.has('odp.applyFix'));
    assert.equal(mock.errors.length, 0);
  });

  it('stops the client on deactivate', async () => {
    await activate();
    const client = lastClient();
    await ext.deactivate();
    assert.deepEqual(client.calls, ['start', 'stop', 'dispose']);
    assert.ok(mock.watchers.every((watcher) => watcher.disposed));
  });
});

describe('odp.restartServer', () => {
  it('stops the client and starts a new one', async () => {
    await activate();
    const first = lastClient();
    await mock.commands.get('odp.restartServer')!();
    assert.equal(clientMock.instances.length, 2);
    assert.deepEqual(first.calls, ['start', 'stop', 'dispose']);
    const second = lastClient();
    assert.notEqual(second, first);
    assert.deepEqual(second.calls, ['start']);
    assert.ok(second.isRunning());
    assert.equal(mock.watchers.filter((watcher) => !watcher.disposed).length, 2, 'the old watchers are released');
  });

  it('starts again after a failed start', async () => {
    clientMock.startError = new Error('spawn odp-lsp ENOENT');
    await activate();
    const failed = lastClient();
    clientMock.startError = undefined;
    await mock.commands.get('odp.restartServer')!();
    assert.equal(failed.state, 'startFailed');
    assert.ok(lastClient().isRunning());
  });

  it('runs overlapping restarts one after another', async () => {
    await activate();
    const a = mock.commands.get('odp.restartServer')!();
    const b = mock.commands.get('odp.restartServer')!();
    await Promise.all([a, b]);
    assert.equal(clientMock.instances.length, 3);
    assert.equal(clientMock.instances.filter((client) => client.isRunning()).length, 1);
    assert.ok(lastClient().isRunning());
  });
});

describe('odp.showOutput', () => {
  it('shows the output channel', async () => {
    await activate();
    await mock.commands.get('odp.showOutput')!();
    assert.equal(mock.outputChannels[0].shown, 1);
  });
});

describe('settings changes', () => {
  it('restart the server when odp.server.path changes, with the new path', async () => {
    await activate();
    const first = lastClient();
    const other = path.join(emptyPath, 'opt', 'odp-lsp');
    fs.mkdirSync(path.dirname(other));
    fs.writeFileSync(other, '#!/bin/sh\n', { mode: 0o755 });
    mock.changeSettings({ 'odp.server.path': other });
    await settle();
    assert.equal(clientMock.instances.length, 2);
    assert.deepEqual(first.calls, ['start', 'stop', 'dispose']);
    assert.equal((lastClient().serverOptions as { run: { command: string } }).run.command, other);
    assert.ok(lastClient().isRunning());
  });

  it('restart the server when the extra arguments or the registry change', async () => {
    await activate();
    mock.changeSettings({ 'odp.server.extraArgs': ['serve'] });
    await settle();
    assert.deepEqual((lastClient().serverOptions as { run: { args: string[] } }).run.args, ['serve', '--stdio']);
    mock.changeSettings({ 'odp.registry': 'https://r.example/reg.yaml' });
    await settle();
    assert.equal(clientMock.instances.length, 3);
    assert.deepEqual(lastClient().clientOptions.initializationOptions, { registry: 'https://r.example/reg.yaml' });
  });

  it('leave the server alone for other settings (the trace level is applied by the client)', async () => {
    await activate();
    mock.changeSettings({ 'odp.trace.server': 'verbose', 'editor.tabSize': 4 });
    await settle();
    assert.equal(clientMock.instances.length, 1);
    assert.deepEqual(lastClient().calls, ['start']);
  });

  it('stop listening after deactivate', async () => {
    await activate();
    await ext.deactivate();
    for (const subscription of context.subscriptions) {
      await subscription.dispose();
    }
    context.subscriptions = [];
    mock.changeSettings({ 'odp.server.path': '/elsewhere/odp-lsp' });
    await settle();
    assert.equal(clientMock.instances.length, 1);
  });
});

describe('odp.generateDraft', () => {
  const uri = Uri.file('/work/proj/new.odp.yaml');

  beforeEach(() => {
    mock.activeTextEditor = { document: { uri, languageId: 'odp-pipeline' } };
  });

  it('asks for a request and sends workspace/executeCommand with {uri, request}', async () => {
    await activate();
    mock.inputBoxValue = '  tweets about rust, with their sentiment  ';
    await mock.commands.get('odp.generateDraft')!();
    assert.equal(mock.inputBoxes.length, 1);
    assert.equal(mock.inputBoxes[0].ignoreFocusOut, true);
    const validate = mock.inputBoxes[0].validateInput as (value: string) => string | undefined;
    assert.ok(validate('   '));
    assert.equal(validate('tweets'), undefined);
    assert.deepEqual(lastClient().requests, [
      {
        method: 'workspace/executeCommand',
        params: {
          command: 'odp.generateDraft',
          arguments: [{ uri: uri.toString(), request: 'tweets about rust, with their sentiment' }],
        },
      },
    ]);
    assert.deepEqual(mock.progress.map((p) => p.location), [ProgressLocation.Notification]);
    assert.equal(mock.errors.length, 0);
  });

  it('runs without asking when a code action passes {uri, request, range}', async () => {
    await activate();
    mock.activeTextEditor = undefined;
    const range = { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } };
    await mock.commands.get('odp.generateDraft')!({ uri: 'file:///w/a.odp.yaml', request: 'tweets and their mood', range });
    assert.equal(mock.inputBoxes.length, 0);
    assert.deepEqual(lastClient().requests, [
      {
        method: 'workspace/executeCommand',
        params: {
          command: 'odp.generateDraft',
          arguments: [{ uri: 'file:///w/a.odp.yaml', request: 'tweets and their mood', range }],
        },
      },
    ]);
    assert.equal(mock.errors.length, 0);
    assert.equal(ext.draftArguments({ uri: 'file:///w/a.odp.yaml', request: '  ' }), undefined);
    assert.equal(ext.draftArguments('just words'), undefined);
  });

  it('does nothing when the input box is dismissed or empty', async () => {
    await activate();
    mock.inputBoxValue = undefined;
    await mock.commands.get('odp.generateDraft')!();
    mock.inputBoxValue = '   ';
    await mock.commands.get('odp.generateDraft')!();
    assert.deepEqual(lastClient().requests, []);
    assert.equal(mock.errors.length, 0);
  });

  it('shows the error when the server rejects the command', async () => {
    await activate();
    clientMock.onRequest = async () => {
      throw Object.assign(new Error('Unhandled method workspace/executeCommand'), { code: -32601 });
    };
    mock.inputBoxValue = 'news about our brand';
    await mock.commands.get('odp.generateDraft')!();
    assert.equal(lastClient().requests.length, 1);
    assert.equal(mock.errors.length, 1);
    assert.match(mock.errors[0].message, /drafting the pipeline failed: Unhandled method workspace\/executeCommand/);
  });

  it('shows an error without an active editor, and does not ask', async () => {
    await activate();
    mock.activeTextEditor = undefined;
    await mock.commands.get('odp.generateDraft')!();
    assert.equal(mock.inputBoxes.length, 0);
    assert.equal(mock.errors.length, 1);
    assert.match(mock.errors[0].message, /open a pipeline file/);
  });

  it('shows an error when the server is not running', async () => {
    clientMock.startError = new Error('spawn odp-lsp ENOENT');
    await activate();
    mock.errors = [];
    mock.inputBoxValue = 'news';
    await mock.commands.get('odp.generateDraft')!();
    assert.deepEqual(lastClient().requests, []);
    assert.equal(mock.errors.length, 1);
    assert.match(mock.errors[0].message, /not running/);
  });
});

describe('shieldClientCommands', () => {
  it('filters our ids from static and dynamic registrations and keeps the rest', () => {
    const client = new LanguageClient('odp', 'ODP', {}, {});
    ext.shieldClientCommands(client as never, ['odp.generateDraft']);
    const feature = client.executeCommandFeature;
    feature.register({ id: '1', registerOptions: { commands: ['odp.generateDraft', 'odp.a'] } });
    feature.register({ id: '2', registerOptions: {} });
    feature.register({ id: '3', registerOptions: { commands: ['odp.b', 'odp.generateDraft'] } });
    assert.deepEqual(feature.registered, ['odp.a', 'odp.b']);
    feature.clear();
  });

  it('leaves a client without the feature alone', () => {
    const client = { getFeature: () => undefined };
    assert.doesNotThrow(() => ext.shieldClientCommands(client as never, ['odp.generateDraft']));
  });
});

describe('runs from the editor', () => {
  const uri = 'file:///work/proj/topic.odp.yaml';

  it('asks for each required input the server names and runs again with them', async () => {
    await activate();
    let calls = 0;
    clientMock.onRequest = async (_method, params) => {
      calls += 1;
      const inputs = ((params as { arguments: unknown[] }).arguments.at(-1) as { inputs: Record<string, unknown> })
        .inputs;
      if (!('topic' in inputs)) {
        throw Object.assign(new Error('required input without a value: topic'), { data: { missingInputs: ['topic'] } });
      }
      return { status: 'completed' };
    };
    mock.inputBoxValue = 'rust';
    const result = await mock.commands.get('odp.runStep')!(uri, 'tweets');
    assert.deepEqual(result, { status: 'completed' });
    assert.equal(calls, 2);
    assert.equal(mock.inputBoxes.length, 1);
    assert.match(String(mock.inputBoxes[0].title), /topic/);
    assert.deepEqual(lastClient().requests.at(-1), {
      method: 'workspace/executeCommand',
      params: { command: 'odp.runStep', arguments: [uri, 'tweets', { inputs: { topic: 'rust' } }] },
    });
    assert.equal(mock.errors.length, 0);
  });

  it('stops when the prompt is dismissed, and shows other errors', async () => {
    await activate();
    clientMock.onRequest = async () => {
      throw Object.assign(new Error('required input without a value: topic'), { data: { missingInputs: ['topic'] } });
    };
    mock.inputBoxValue = undefined;
    assert.equal(await mock.commands.get('odp.runPipeline')!(uri), undefined);
    assert.equal(lastClient().requests.length, 1);
    clientMock.onRequest = async () => {
      throw new Error('the pipeline has 1 error: nothing ran (see its diagnostics)');
    };
    await mock.commands.get('odp.runPipeline')!(uri);
    assert.match(mock.errors.at(-1)!.message, /nothing ran/);
  });

  it("opens a step's whole result as a read-only JSON document", async () => {
    await activate();
    clientMock.onRequest = async (_method, params) => {
      assert.deepEqual((params as { arguments: unknown[] }).arguments, [uri, 'tweets']);
      return { step: 'tweets', status: 'completed', value: { results: [{ text: 'hi' }] } };
    };
    await mock.commands.get('odp.showResult')!(uri, 'tweets');
    assert.equal(mock.shownDocuments.length, 1);
    const shown = mock.shownDocuments[0];
    assert.equal(shown.uri, ext.resultUri(uri, 'tweets'));
    assert.equal(shown.languageId, 'json');
    assert.deepEqual(JSON.parse(shown.text).value, { results: [{ text: 'hi' }] });
  });
});

describe('odp.inlayHints.results', () => {
  it('is passed to the server only when it is turned off, and restarts the server when it changes', async () => {
    await activate();
    assert.deepEqual(lastClient().clientOptions.initializationOptions, {});
    mock.changeSettings({ 'odp.inlayHints.results': false });
    await settle();
    assert.equal(clientMock.instances.length, 2);
    assert.deepEqual(lastClient().clientOptions.initializationOptions, { inlayHints: { results: false } });
  });
});

describe('odp.inlayHints.types', () => {
  it('is passed to the server only when it is turned off, with the results setting, and restarts the server', async () => {
    await activate();
    mock.changeSettings({ 'odp.inlayHints.types': false });
    await settle();
    assert.equal(clientMock.instances.length, 2);
    assert.deepEqual(lastClient().clientOptions.initializationOptions, { inlayHints: { types: false } });
    mock.changeSettings({ 'odp.inlayHints.results': false });
    await settle();
    assert.equal(clientMock.instances.length, 3);
    assert.deepEqual(lastClient().clientOptions.initializationOptions, {
      inlayHints: { results: false, types: false },
    });
  });
});
