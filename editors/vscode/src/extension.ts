// The ODP extension: starts `odp-lsp --stdio` through vscode-languageclient and adds a few commands.

import * as vscode from 'vscode';
import {
  DocumentSelector,
  Executable,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from 'vscode-languageclient/node';

import {
  DEFAULT_SERVER_PATH,
  isPipelineDocument,
  resolveRegistry,
  resolveServerPath,
  serverCommand,
  ServerCommand,
  serverFound,
} from './server';
import { GraphPanel } from './graph';

export { isPipelineDocument, serverCommand } from './server';

/** The client id: the languageclient reads the trace level from `odp.trace.server`. */
export const CLIENT_ID = 'odp';
export const CLIENT_NAME = 'ODP Language Server';
export const LANGUAGE_ID = 'odp-pipeline';

/** Every command this extension registers; package.json contributes the same list (a test checks). */
export const COMMANDS = {
  restartServer: 'odp.restartServer',
  showOutput: 'odp.showOutput',
  generateDraft: 'odp.generateDraft',
  runPipeline: 'odp.runPipeline',
  runStep: 'odp.runStep',
  showResult: 'odp.showResult',
  showGraph: 'odp.showGraph',
} as const;

/** The scheme of the read-only documents that show a step's whole result. */
export const RESULT_SCHEME = 'odp-result';

/** The URI of a step's result document: `odp-result:STEP.json?DOCUMENT-URI`. */
export function resultUri(documentUri: string, step: string): string {
  return `${RESULT_SCHEME}:${encodeURIComponent(step)}.json?${encodeURIComponent(documentUri)}`;
}

/** The document and step a result URI names. */
export function parseResultUri(path: string, query: string): { uri: string; step: string } {
  return { uri: decodeURIComponent(query), step: decodeURIComponent(path.replace(/\.json$/, '')) };
}

/** The inputs a server's "required inputs without a value" error names (its `data.missingInputs`). */
export function missingInputs(error: unknown): string[] {
  const data = (error as { data?: { missingInputs?: unknown } } | undefined)?.data;
  const names = data?.missingInputs;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
}

/** The LSP command that drafts a pipeline; its argument is `{uri, request}` (and `range`, from a code action). */
export const DRAFT_LSP_COMMAND = 'odp.generateDraft';

/** The argument of the draft command. */
export interface DraftArguments {
  uri: string;
  request: string;
  range?: unknown;
}

/**
 * The arguments a `# draft: <request>` code action of the server passes (`{uri, request, range}`), if `value` is
 * such; the command then runs without asking.
 */
export function draftArguments(value: unknown): DraftArguments | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const { uri, request, range } = value as Record<string, unknown>;
  if (typeof uri !== 'string' || typeof request !== 'string' || request.trim() === '') {
    return undefined;
  }
  return range === undefined ? { uri, request } : { uri, request, range };
}

/**
 * Pipelines with the `odp-pipeline` language id (`*.odp.yaml`, `*.odp.yml`) and every YAML file: a file
 * with a `# odp: pipeline` modeline keeps the `yaml` id, and the server itself ignores YAML files that
 * are not pipelines.
 */
export const DOCUMENT_SELECTOR: DocumentSelector = [{ language: LANGUAGE_ID }, { language: 'yaml' }];

/** Settings whose change restarts the server (the trace level is applied by the client itself). */
export const RESTART_SETTINGS = [
  'odp.server.path',
  'odp.server.extraArgs',
  'odp.registry',
  'odp.inlayHints.results',
  'odp.inlayHints.types',
] as const;

/** The inlay hints turned off, as `initializationOptions.inlayHints` (nothing when both are on). */
function inlayHintOptions(settings: Settings): { inlayHints?: { results?: false; types?: false } } {
  const off = {
    ...(settings.resultHints ? {} : { results: false as const }),
    ...(settings.typeHints ? {} : { types: false as const }),
  };
  return Object.keys(off).length === 0 ? {} : { inlayHints: off };
}

/** Files the server is told about when they change on disk. */
export const WATCHED_FILES = ['**/odp.toml', '**/*.odp.{yaml,yml}'] as const;

interface Settings {
  path: string | undefined;
  extraArgs: unknown[];
  registry: string | undefined;
  resultHints: boolean;
  typeHints: boolean;
}

/** The extension's state: one output channel for its lifetime, one client per (re)start. */
export class OdpExtension implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  private client: LanguageClient | undefined;
  private watchers: vscode.FileSystemWatcher[] = [];
  /** Starts and stops run one after another, never interleaved. */
  private queue: Promise<void> = Promise.resolve();
  private disposed = false;
  /** While the server binary is missing: waits for a pipeline to be opened before saying so. */
  private missingServer: vscode.Disposable | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel(CLIENT_NAME);
  }

  /** Registers the commands and the settings listener, and starts the server. */
  activate(): Promise<void> {
    const subscriptions = this.context.subscriptions;
    subscriptions.push(
      this,
      this.output,
      vscode.commands.registerCommand(COMMANDS.restartServer, () => this.restart()),
      vscode.commands.registerCommand(COMMANDS.showOutput, () => this.output.show(true)),
      vscode.commands.registerCommand(COMMANDS.generateDraft, (args?: unknown) => this.generateDraft(args)),
      vscode.commands.registerCommand(COMMANDS.runPipeline, (uri?: unknown, options?: unknown) =>
        this.run(COMMANDS.runPipeline, uri, undefined, options),
      ),
      vscode.commands.registerCommand(COMMANDS.runStep, (uri?: unknown, step?: unknown, options?: unknown) =>
        this.run(COMMANDS.runStep, uri, step, options),
      ),
      vscode.commands.registerCommand(COMMANDS.showResult, (uri?: unknown, step?: unknown) => this.showResult(uri, step)),
      vscode.commands.registerCommand(COMMANDS.showGraph, (uri?: unknown) => this.showGraph(uri)),
      vscode.workspace.registerTextDocumentContentProvider(RESULT_SCHEME, {
        provideTextDocumentContent: (uri: vscode.Uri) => this.resultText(uri),
      }),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (RESTART_SETTINGS.some((section) => event.affectsConfiguration(section))) {
          this.output.appendLine('Settings changed: restarting the server.');
          void this.restart();
        }
      }),
    );
    return this.enqueue(() => this.start());
  }

  /** The running client, if any (for tests and other extensions). */
  get languageClient(): LanguageClient | undefined {
    return this.client;
  }

  /** Stops the client (if any) and starts a new one with the current settings. */
  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.stop();
      await this.start();
    });
  }

  /**
   * Asks for a natural-language request and has the server draft a pipeline into the active editor. Invoked by
   * the server's `# draft:` code action, it gets `{uri, request, range}` and does not ask.
   */
  async generateDraft(args?: unknown): Promise<void> {
    let argument = draftArguments(args);
    if (argument === undefined) {
      const editor = vscode.window.activeTextEditor;
      if (editor === undefined) {
        void vscode.window.showErrorMessage('ODP: open a pipeline file (or a new `.odp.yaml` file) to draft a pipeline into.');
        return;
      }
      const uri = editor.document.uri.toString();
      const input = await vscode.window.showInputBox({
        title: 'ODP: Draft a Pipeline with AI',
        prompt: 'Describe the pipeline you want in plain words.',
        placeHolder: 'e.g. Search tweets about our brand every day and score their sentiment',
        ignoreFocusOut: true,
        validateInput: (value) => (value.trim() === '' ? 'Describe the pipeline in a few words.' : undefined),
      });
      const request = input?.trim();
      if (request === undefined || request === '') {
        return;
      }
      argument = { uri, request };
    }
    await this.queue;
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void this.showError('ODP: the language server is not running, so it cannot draft a pipeline.');
      return;
    }
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'ODP: drafting a pipeline…', cancellable: false },
        () => client.sendRequest('workspace/executeCommand', { command: DRAFT_LSP_COMMAND, arguments: [argument] }),
      );
    } catch (error) {
      void this.showError(`ODP: drafting the pipeline failed: ${errorMessage(error)}`);
    }
  }

  /**
   * Runs the pipeline (or a step) of a document on the server. The server names the required inputs that have no
   * value: each is asked for, and the command runs again with them.
   */
  async run(command: string, uri?: unknown, step?: unknown, options?: unknown): Promise<unknown> {
    const documentUri = typeof uri === 'string' ? uri : vscode.window.activeTextEditor?.document.uri.toString();
    if (documentUri === undefined) {
      void vscode.window.showErrorMessage('ODP: open a pipeline to run it.');
      return undefined;
    }
    await this.queue;
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void this.showError('ODP: the language server is not running, so it cannot run the pipeline.');
      return undefined;
    }
    const given = (options as { inputs?: Record<string, unknown> } | undefined)?.inputs ?? {};
    const inputs: Record<string, unknown> = { ...given };
    for (;;) {
      const args = step === undefined ? [documentUri, { inputs }] : [documentUri, step, { inputs }];
      try {
        return await client.sendRequest('workspace/executeCommand', { command, arguments: args });
      } catch (error) {
        const missing = missingInputs(error).filter((name) => !(name in inputs));
        if (missing.length === 0) {
          void this.showError(`ODP: the run failed: ${errorMessage(error)}`);
          return undefined;
        }
        for (const name of missing) {
          const value = await vscode.window.showInputBox({
            title: `ODP: input \`${name}\``,
            prompt: `The pipeline needs \`${name}\` and it has no default.`,
            ignoreFocusOut: true,
          });
          if (value === undefined) {
            return undefined;
          }
          inputs[name] = value;
        }
      }
    }
  }

  /** Opens a step's whole result as a read-only JSON document. */
  async showResult(uri?: unknown, step?: unknown): Promise<void> {
    if (typeof uri !== 'string' || typeof step !== 'string') {
      void vscode.window.showErrorMessage('ODP: showResult needs a document and a step.');
      return;
    }
    const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(resultUri(uri, step)));
    await vscode.window.showTextDocument(await vscode.languages.setTextDocumentLanguage(document, 'json'));
  }

  /** Opens the graph of a pipeline (the active editor's, or `uri`'s: the editor title button) beside it (graph.ts). */
  async showGraph(uri?: unknown): Promise<GraphPanel | undefined> {
    const editor = vscode.window.activeTextEditor;
    const document = uri instanceof vscode.Uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
    if (document === undefined) {
      void vscode.window.showErrorMessage('ODP: open a pipeline to see its graph.');
      return undefined;
    }
    await this.queue;
    return GraphPanel.show(
      document,
      async (method, params) => {
        const client = this.client;
        if (client === undefined || !client.isRunning()) {
          throw new Error('the language server is not running');
        }
        return client.sendRequest(method, params);
      },
      editor?.document === document ? editor.viewColumn : undefined,
    );
  }

  /** The text of a result document: the server's `odp.showResult` answer, as JSON. */
  async resultText(uri: vscode.Uri): Promise<string> {
    const { uri: documentUri, step } = parseResultUri(uri.path, uri.query);
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      return '// the language server is not running';
    }
    try {
      const result = await client.sendRequest('workspace/executeCommand', {
        command: COMMANDS.showResult,
        arguments: [documentUri, step],
      });
      return `${JSON.stringify(result, null, 2)}\n`;
    } catch (error) {
      return `// ${errorMessage(error)}\n`;
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    GraphPanel.disposeAll();
    await this.enqueue(() => this.stop());
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private settings(): Settings {
    const config = vscode.workspace.getConfiguration('odp');
    const extraArgs = config.get<unknown>('server.extraArgs');
    return {
      path: config.get<string>('server.path'),
      extraArgs: Array.isArray(extraArgs) ? extraArgs : [],
      registry: config.get<string>('registry'),
      resultHints: config.get<boolean>('inlayHints.results', true) !== false,
      typeHints: config.get<boolean>('inlayHints.types', true) !== false,
    };
  }

  /** The server command line and client options from the current settings. */
  private options(): { command: ServerCommand; serverOptions: ServerOptions; clientOptions: LanguageClientOptions } {
    const settings = this.settings();
    const workspaceFolder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const serverPath = resolveServerPath(settings.path, { extensionPath: this.context.extensionPath, workspaceFolder });
    const command = serverCommand({ path: serverPath, extraArgs: settings.extraArgs });
    // No `transport`: the languageclient would append its own `--stdio`; ours is already on the line.
    const executable: Executable = {
      command: command.command,
      args: command.args,
      options: workspaceFolder === undefined ? {} : { cwd: workspaceFolder },
    };
    const registry = resolveRegistry(settings.registry, { workspaceFolder });
    this.watchers = WATCHED_FILES.map((glob) => vscode.workspace.createFileSystemWatcher(glob));
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.output,
      // Only what differs from the server's defaults (result and type hints are on by default).
      initializationOptions: {
        ...(registry === undefined ? {} : { registry }),
        ...inlayHintOptions(settings),
      },
      synchronize: { fileEvents: this.watchers },
    };
    return { command, serverOptions: { run: executable, debug: executable }, clientOptions };
  }

  private async start(): Promise<void> {
    if (this.disposed) {
      return;
    }
    const { command, serverOptions, clientOptions } = this.options();
    this.output.appendLine(`Starting ${[command.command, ...command.args].join(' ')}`);
    if (!serverFound(command.command)) {
      // No client at all: the languageclient would show an error of its own beside ours. One message, and only
      // once a pipeline is open: a YAML file in a project without pipelines says nothing.
      this.output.appendLine(`The server did not start: \`${command.command}\` was not found.`);
      this.reportMissingServer(
        `ODP: the language server \`${command.command}\` was not found.${missingHint(command.command)}`,
      );
      return;
    }
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    shieldClientCommands(client, Object.values(COMMANDS));
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      const message = errorMessage(error);
      this.output.appendLine(`The server did not start: ${message}`);
      void this.showError(
        `ODP: could not start the language server \`${command.command}\`: ${message}.${missingHint(command.command)}`,
        true,
      );
    }
  }

  /** Shows `message` (once) as soon as a pipeline is open: now if one is, else when one is opened. */
  private reportMissingServer(message: string): void {
    this.clearMissingServer();
    const show = () => {
      this.clearMissingServer();
      void this.showError(message, true);
    };
    if (vscode.workspace.textDocuments.some((document) => isPipelineDocument(document))) {
      show();
      return;
    }
    this.missingServer = vscode.workspace.onDidOpenTextDocument((document) => {
      if (isPipelineDocument(document)) {
        show();
      }
    });
  }

  private clearMissingServer(): void {
    this.missingServer?.dispose();
    this.missingServer = undefined;
  }

  private async stop(): Promise<void> {
    this.clearMissingServer();
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        if (client.needsStop()) {
          await client.stop();
        }
      } catch (error) {
        this.output.appendLine(`Stopping the server: ${errorMessage(error)}`);
      }
      try {
        await client.dispose();
      } catch {
        // Already stopped or never started: nothing left to release.
      }
    }
    for (const watcher of this.watchers) {
      watcher.dispose();
    }
    this.watchers = [];
  }

  private async showError(message: string, settings = false): Promise<void> {
    const actions = settings ? ['Show Output', 'Open Settings'] : ['Show Output'];
    const choice = await vscode.window.showErrorMessage(message, ...actions);
    if (choice === 'Show Output') {
      this.output.show(true);
    } else if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'odp.server');
    }
  }
}

interface CommandRegistration {
  id: string;
  registerOptions: { commands?: string[] };
}

/**
 * The languageclient registers a VS Code command for every command the server advertises in
 * `executeCommandProvider`. `odp.generateDraft` is both a server command and this extension's own
 * command (which asks for the request first), and registering it twice throws: drop our own ids from
 * what the server advertises, statically or dynamically.
 */
export function shieldClientCommands(client: LanguageClient, own: readonly string[]): void {
  const feature = client.getFeature('workspace/executeCommand') as
    | { register(data: CommandRegistration): void }
    | undefined;
  if (feature === undefined || typeof feature.register !== 'function') {
    return;
  }
  const register = feature.register.bind(feature);
  feature.register = (data: CommandRegistration) => {
    const commands = (data.registerOptions.commands ?? []).filter((command) => !own.includes(command));
    register({ ...data, registerOptions: { ...data.registerOptions, commands } });
  };
}

/** What to do about a server that cannot be started. */
function missingHint(command: string): string {
  return command === DEFAULT_SERVER_PATH
    ? ' Install it (`cargo install --path crates/odp-lsp`) or set `odp.server.path` (the extension host takes PATH from your login shell).'
    : ' Check the `odp.server.path` setting.';
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message.replace(/\.$/, '');
  }
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String((error as { message: unknown }).message).replace(/\.$/, '');
  }
  return String(error);
}

let extension: OdpExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<OdpExtension> {
  extension = new OdpExtension(context);
  await extension.activate();
  return extension;
}

export async function deactivate(): Promise<void> {
  const current = extension;
  extension = undefined;
  await current?.dispose();
}
