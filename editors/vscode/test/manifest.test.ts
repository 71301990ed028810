// package.json against the code, and the packaged .vsix against package.json.

import './setup';

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import * as ext from '../src/extension';
import { serverCommand } from '../src/server';
import { clientMock } from './mocks/languageclient';
import { mock } from './mocks/vscode';
import { readZipEntries, readZipEntry, ZipEntry } from './zip';

const root = path.join(__dirname, '..', '..');

interface Manifest {
  name: string;
  publisher: string;
  version: string;
  license: string;
  main: string;
  repository: { type: string; url: string };
  engines: { vscode: string };
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations: string[] } };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  contributes: {
    languages: {
      id: string;
      aliases: string[];
      filenamePatterns?: string[];
      extensions?: string[];
      firstLine?: string;
      configuration: string;
    }[];
    grammars: { language: string; scopeName: string; path: string }[];
    commands: { command: string; title: string; category?: string }[];
    configuration: { properties: Record<string, { type: string; default: unknown; enum?: string[] }> };
  };
}

const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Activates the extension against the mocks and returns the commands it registered and the settings it read. */
async function activateAndRecord(): Promise<{ commands: string[]; settings: string[] }> {
  mock.reset();
  clientMock.reset();
  const context = { subscriptions: [] as { dispose(): unknown }[], extensionPath: root };
  await ext.activate(context as never);
  const recorded = { commands: [...mock.commands.keys()].sort(), settings: [...mock.settingsRead].sort() };
  await ext.deactivate();
  for (const subscription of context.subscriptions) {
    await subscription.dispose();
  }
  return recorded;
}

describe('package.json', () => {
  it('identifies the extension for the marketplace', () => {
    assert.equal(manifest.publisher, 'odp');
    assert.equal(manifest.license, 'Apache-2.0');
    assert.ok(fs.existsSync(path.join(root, 'LICENSE')));
    assert.match(manifest.repository.url, /^https:\/\//);
    assert.equal(manifest.engines.vscode, '^1.85.0');
    assert.ok(fs.existsSync(path.join(root, 'README.md')));
  });

  it('points main at the bundled extension, which exports activate and deactivate', () => {
    assert.equal(manifest.main, './dist/extension.js');
    const main = path.join(root, manifest.main);
    assert.ok(fs.existsSync(main), `${manifest.main} is missing: run npm run build`);
    // The bundle carries the real languageclient, which the mocks cannot stand in for: the .vsix test below loads
    // it with a fake `vscode`. Here: it is the bundle of this source, exporting what VS Code calls.
    const code = fs.readFileSync(main, 'utf8');
    assert.match(code, /activate/);
    assert.match(code, /deactivate/);
    assert.ok(fs.statSync(main).mtimeMs >= fs.statSync(path.join(root, 'src', 'extension.ts')).mtimeMs, 'stale bundle');
  });

  it('activates on pipelines, on YAML and in workspaces that have pipelines', () => {
    for (const event of ['onLanguage:odp-pipeline', 'onLanguage:yaml', 'workspaceContains:**/*.odp.yaml']) {
      assert.ok(manifest.activationEvents.includes(event), `missing activation event ${event}`);
    }
    assert.ok(!manifest.activationEvents.includes('*'), 'no star activation');
    for (const event of manifest.activationEvents) {
      assert.match(event, /^(onLanguage|workspaceContains|onCommand):/);
    }
  });

  it('contributes exactly the commands the code registers', async () => {
    const { commands } = await activateAndRecord();
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(contributed, commands);
    assert.deepEqual(contributed, Object.values(ext.COMMANDS).sort());
    for (const command of manifest.contributes.commands) {
      assert.equal(command.category, 'ODP');
      assert.ok(command.title.length > 0);
    }
    const titles = Object.fromEntries(manifest.contributes.commands.map((c) => [c.command, `${c.category}: ${c.title}`]));
    assert.equal(titles['odp.restartServer'], 'ODP: Restart Language Server');
    assert.equal(titles['odp.generateDraft'], 'ODP: Draft a Pipeline with AI…');
  });

  it('declares every setting the code reads, with defaults that match the code', async () => {
    const { settings } = await activateAndRecord();
    const properties = manifest.contributes.configuration.properties;
    assert.ok(settings.length > 0);
    for (const key of settings) {
      assert.ok(key in properties, `the code reads ${key}, which package.json does not declare`);
    }
    assert.deepEqual(Object.keys(properties).sort(), [
      'odp.inlayHints.results',
      'odp.inlayHints.types',
      'odp.registry',
      'odp.server.extraArgs',
      'odp.server.path',
      'odp.trace.server',
    ]);
    assert.equal(properties['odp.server.path'].default, serverCommand({}).command);
    assert.deepEqual(properties['odp.server.extraArgs'].default, []);
    assert.equal(properties['odp.registry'].default, '');
    assert.equal(properties['odp.inlayHints.results'].default, true);
    assert.equal(properties['odp.inlayHints.types'].default, true);
    // The languageclient reads `<client id>.trace.server`.
    assert.equal(`${ext.CLIENT_ID}.trace.server`, 'odp.trace.server');
    assert.deepEqual(properties['odp.trace.server'].enum, ['off', 'messages', 'verbose']);
    assert.equal(properties['odp.trace.server'].default, 'off');
    for (const setting of ext.RESTART_SETTINGS) {
      assert.ok(setting in properties, `${setting} restarts the server but is not declared`);
    }
    // A workspace must not pick the binary the extension runs unless the user trusts it.
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    assert.deepEqual([...restricted].sort(), ['odp.server.extraArgs', 'odp.server.path']);
  });

  it('contributes the odp-pipeline language with its files, configuration and grammar', () => {
    const [language] = manifest.contributes.languages;
    assert.equal(manifest.contributes.languages.length, 1);
    assert.equal(language.id, ext.LANGUAGE_ID);
    assert.ok(language.aliases.includes('ODP Pipeline'));
    assert.deepEqual(language.filenamePatterns, ['*.odp.yaml', '*.odp.yml']);
    const firstLine = new RegExp(language.firstLine!);
    assert.ok(firstLine.test('# odp: pipeline'));
    assert.ok(firstLine.test('#odp:pipeline'));
    assert.ok(!firstLine.test('# odp: pipelines'));
    assert.ok(!firstLine.test('name: x # odp: pipeline'));

    const config = JSON.parse(fs.readFileSync(path.join(root, language.configuration), 'utf8'));
    assert.equal(config.comments.lineComment, '#');
    const pairs = (config.autoClosingPairs as { open: string; close: string }[]).map((p) => `${p.open}${p.close}`);
    for (const pair of ['{{}}', '{}', '[]', '()', '""', "''"]) {
      assert.ok(pairs.includes(pair), `missing auto-closing pair ${pair}`);
    }
    assert.ok(config.brackets.length >= 3);

    const [grammar] = manifest.contributes.grammars;
    assert.equal(grammar.language, 'odp-pipeline');
    const tm = JSON.parse(fs.readFileSync(path.join(root, grammar.path), 'utf8'));
    assert.equal(tm.scopeName, grammar.scopeName);
    assert.deepEqual(tm.patterns, [{ include: 'source.yaml' }]);
  });

  it('selects the documents the server handles', () => {
    assert.deepEqual(ext.DOCUMENT_SELECTOR, [{ language: 'odp-pipeline' }, { language: 'yaml' }]);
  });

  it('pins the dev dependencies exactly and has a lockfile that agrees', () => {
    for (const [name, version] of Object.entries({ ...manifest.devDependencies, ...manifest.dependencies })) {
      assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is not pinned exactly: ${version}`);
    }
    assert.match(manifest.dependencies['vscode-languageclient'], /^9\./);
    const types = manifest.devDependencies['@types/vscode'];
    assert.ok(
      types.localeCompare(manifest.engines.vscode.replace('^', ''), undefined, { numeric: true }) <= 0,
      '@types/vscode must not be newer than engines.vscode (vsce refuses to package)',
    );
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
    assert.deepEqual(lock.packages[''].devDependencies, manifest.devDependencies);
    assert.deepEqual(lock.packages[''].dependencies, manifest.dependencies);
  });

  it('has build, test and package scripts', () => {
    assert.match(manifest.scripts.build, /\btsc\b/);
    assert.match(manifest.scripts.test, /npm run build/);
    assert.match(manifest.scripts.package, /vsce package --no-dependencies/);
    assert.match(manifest.scripts['vscode:prepublish'], /npm run bundle/);
    assert.match(manifest.scripts.bundle, /esbuild src\/extension\.ts --bundle .*--external:vscode .*--outfile=dist\/extension\.js/);
  });

  it('keeps the server-path settings in the User settings tab of remote and web windows (not machine scoped)', () => {
    const properties = (manifest as unknown as { contributes: { configuration: { properties: Record<string, { scope?: string }> } } })
      .contributes.configuration.properties;
    for (const key of ['odp.server.path', 'odp.server.extraArgs']) {
      assert.equal(properties[key].scope, 'window', key);
    }
  });
});

describe('the .vsix', () => {
  let dir: string;
  let vsix: Buffer;
  let entries: ZipEntry[];
  let names: string[];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odp-vsix-'));
    const out = path.join(dir, 'odp.vsix');
    const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
    execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--out', out], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    });
    vsix = fs.readFileSync(out);
    entries = readZipEntries(vsix);
    names = entries.map((e) => e.name);
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function read(name: string): string {
    const entry = entries.find((e) => e.name === name);
    assert.ok(entry, `${name} is not in the .vsix`);
    return readZipEntry(vsix, entry).toString('utf8');
  }

  it('holds the manifest, the compiled code, the grammar and the language configuration', () => {
    for (const name of [
      'extension.vsixmanifest',
      'extension/package.json',
      `extension/${manifest.main.replace(/^\.\//, '')}`,
      'extension/language-configuration.json',
      'extension/syntaxes/odp.tmLanguage.json',
      'extension/readme.md',
    ]) {
      assert.ok(names.includes(name), `${name} is not in the .vsix`);
    }
    assert.ok(names.some((n) => /^extension\/LICENSE(\.txt)?$/.test(n)), 'no LICENSE in the .vsix');
  });

  it('leaves out sources, tests and dev dependencies', () => {
    const unwanted = names.filter(
      (n) =>
        n.startsWith('extension/src/') ||
        n.startsWith('extension/test/') ||
        n.startsWith('extension/out/') ||
        n.startsWith('extension/node_modules/') ||
        n.startsWith('extension/node_modules/typescript/') ||
        n.startsWith('extension/node_modules/@vscode/vsce') ||
        n.startsWith('extension/node_modules/@types/') ||
        n.startsWith('extension/node_modules/vscode-textmate/') ||
        n === 'extension/tsconfig.json' ||
        n.endsWith('.vsix') ||
        n === 'extension/.npmrc' ||
        n === 'extension/server-command.json' ||
        n.endsWith('.js.map') ||
        (n.endsWith('.ts') && !n.endsWith('.d.ts')),
    );
    assert.deepEqual(unwanted, []);
    assert.ok(vsix.length < 2 * 1024 * 1024, `the .vsix is ${vsix.length} bytes`);
    // One bundled file of code, not hundreds of node_modules files (vsce warned of 211).
    assert.ok(names.length <= 12, `${names.length} files in the .vsix: ${names.join(', ')}`);
  });

  it('carries this package.json, and a vsixmanifest that names the extension', () => {
    const packaged = JSON.parse(read('extension/package.json'));
    assert.equal(packaged.name, manifest.name);
    assert.equal(packaged.main, manifest.main);
    assert.deepEqual(packaged.contributes, manifest.contributes);
    assert.deepEqual(packaged.activationEvents, manifest.activationEvents);
    const xml = read('extension.vsixmanifest');
    assert.match(xml, new RegExp(`Id="${manifest.name}"`));
    assert.match(xml, new RegExp(`Publisher="${manifest.publisher}"`));
    assert.match(xml, new RegExp(`Version="${manifest.version.replace(/\./g, '\\.')}"`));
    assert.match(xml, /Microsoft\.VisualStudio\.Code/);
  });

  it('ships one bundle that carries vscode-languageclient and loads with only vscode provided', () => {
    const code = read(`extension/${manifest.main.replace(/^\.\//, '')}`);
    assert.doesNotMatch(code, /require\("vscode-languageclient/);
    assert.match(code, /require\("vscode"\)/);
    // Unpack, then load the extension in a fresh Node with only `vscode` faked (every member a dummy
    // class): nothing else may be required from outside the bundle.
    const unpacked = path.join(dir, 'unpacked');
    for (const entry of entries) {
      if (entry.name.endsWith('/')) continue;
      const target = path.join(unpacked, entry.name);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, readZipEntry(vsix, entry));
    }
    const main = path.join(unpacked, 'extension', manifest.main);
    const loader = path.join(unpacked, 'load.js');
    fs.writeFileSync(
      loader,
      [
        "const Module = require('module');",
        "const path = require('path');",
        'const handler = { get: (t, k) => (k in t ? t[k] : (t[k] = new Proxy(class {}, handler))) };',
        'const resolve = Module._resolveFilename;',
        "Module._resolveFilename = function (request, ...rest) { return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest); };",
        "require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: new Proxy({}, handler) };",
        `const main = ${JSON.stringify(main)};`,
        'const ext = require(main);',
        "let client = 'not found';",
        "try { client = require.resolve('vscode-languageclient/node', { paths: [path.dirname(main)] }); } catch {}",
        'console.log(JSON.stringify({ activate: typeof ext.activate, deactivate: typeof ext.deactivate, client }));',
      ].join('\n'),
    );
    const result = JSON.parse(
      execFileSync(process.execPath, [loader], { cwd: unpacked, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } }),
    );
    assert.equal(result.activate, 'function');
    assert.equal(result.deactivate, 'function');
    assert.equal(result.client, 'not found', 'the .vsix carries no node_modules');
  });
});
