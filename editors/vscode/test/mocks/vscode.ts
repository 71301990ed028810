// A stand-in for the `vscode` module, with just what the extension uses. Every call is recorded in
// `mock`, and `reset()` brings back a fresh editor between tests.

type Listener<T> = (event: T) => unknown;

export class Disposable {
  constructor(private readonly callOnDispose: () => unknown = () => undefined) {}
  dispose(): unknown {
    return this.callOnDispose();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(event: T): void {
    for (const listener of [...this.listeners]) {
      listener(event);
    }
  }
  get size(): number {
    return this.listeners.size;
  }
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
  Two = 2,
}

export enum TextEditorRevealType {
  Default = 0,
  InCenter = 1,
  InCenterIfOutsideViewport = 2,
  AtTop = 3,
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(startLine: number | Position, startCharacter: number | Position, endLine?: number, endCharacter?: number) {
    if (startLine instanceof Position && startCharacter instanceof Position) {
      this.start = startLine;
      this.end = startCharacter;
    } else {
      this.start = new Position(startLine as number, startCharacter as number);
      this.end = new Position(endLine ?? 0, endCharacter ?? 0);
    }
  }
}

export class Selection extends Range {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    super(anchor, active);
  }
}

/** A webview panel: what the extension set and posted, and the events a test fires. */
export class MockWebviewPanel {
  disposed = false;
  revealed: unknown[] = [];
  readonly posted: unknown[] = [];
  readonly received = new EventEmitter<unknown>();
  readonly disposeListeners = new EventEmitter<void>();
  readonly webview = {
    html: '',
    cspSource: 'vscode-resource:',
    postMessage: async (message: unknown): Promise<boolean> => {
      this.posted.push(message);
      return true;
    },
    onDidReceiveMessage: this.received.event,
  };
  constructor(
    readonly viewType: string,
    readonly title: string,
    readonly showOptions: unknown,
    readonly options: Record<string, unknown>,
  ) {}
  onDidDispose = this.disposeListeners.event;
  reveal(...args: unknown[]): void {
    this.revealed.push(args);
  }
  dispose(): void {
    if (!this.disposed) {
      this.disposed = true;
      this.disposeListeners.fire();
    }
  }
}

/** A text editor: its selection and what it revealed. */
export interface MockEditor {
  document: { uri: Uri; languageId: string; getText?(): string };
  viewColumn?: ViewColumn;
  selection: Selection;
  revealed: { range: Range; type: unknown }[];
  revealRange(range: Range, type?: unknown): void;
}

export function mockEditor(document: MockEditor['document'], viewColumn = ViewColumn.One): MockEditor {
  const editor: MockEditor = {
    document,
    viewColumn,
    selection: new Selection(new Position(0, 0), new Position(0, 0)),
    revealed: [],
    revealRange(range: Range, type?: unknown) {
      editor.revealed.push({ range, type });
    },
  };
  return editor;
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
    private readonly opaque = false,
  ) {}
  static file(fsPath: string): Uri {
    return new Uri('file', fsPath);
  }
  /** `scheme:path?query` (enough for the extension's own schemes). */
  static parse(value: string): Uri {
    const colon = value.indexOf(':');
    return new Uri(value.slice(0, colon), value.slice(colon + 1), true);
  }
  get path(): string {
    return this.fsPath.split('?')[0];
  }
  get query(): string {
    return this.fsPath.split('?')[1] ?? '';
  }
  toString(): string {
    return this.opaque ? `${this.scheme}:${this.fsPath}` : `${this.scheme}://${this.fsPath}`;
  }
}

export class MockOutputChannel {
  lines: string[] = [];
  shown = 0;
  disposed = false;
  constructor(readonly name: string) {}
  append(value: string): void {
    this.lines.push(value);
  }
  appendLine(value: string): void {
    this.lines.push(value);
  }
  show(): void {
    this.shown += 1;
  }
  clear(): void {
    this.lines = [];
  }
  hide(): void {}
  replace(value: string): void {
    this.lines = [value];
  }
  dispose(): void {
    this.disposed = true;
  }
}

export class MockWatcher {
  disposed = false;
  constructor(readonly glob: string) {}
  onDidCreate = new EventEmitter<Uri>().event;
  onDidChange = new EventEmitter<Uri>().event;
  onDidDelete = new EventEmitter<Uri>().event;
  dispose(): void {
    this.disposed = true;
  }
}

interface ConfigurationChangeEvent {
  affectsConfiguration(section: string): boolean;
}

/** Everything the extension did, and the knobs the tests turn. */
export const mock = {
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  executedCommands: [] as { command: string; args: unknown[] }[],
  /** Settings, by full key (`odp.server.path`). */
  settings: {} as Record<string, unknown>,
  /** Every full key the extension read. */
  settingsRead: new Set<string>(),
  configListeners: new EventEmitter<ConfigurationChangeEvent>(),
  workspaceFolders: undefined as { uri: Uri; name: string; index: number }[] | undefined,
  outputChannels: [] as MockOutputChannel[],
  watchers: [] as MockWatcher[],
  errors: [] as { message: string; items: string[] }[],
  infos: [] as string[],
  /** What the next showErrorMessage resolves to. */
  errorChoice: undefined as string | undefined,
  inputBoxes: [] as Record<string, unknown>[],
  /** What the next showInputBox resolves to. */
  inputBoxValue: undefined as string | undefined,
  progress: [] as { location: ProgressLocation; title?: string }[],
  activeTextEditor: undefined as { document: { uri: Uri; languageId: string }; viewColumn?: ViewColumn } | undefined,
  /** `window.visibleTextEditors`. */
  visibleTextEditors: [] as MockEditor[],
  /** The webview panels created. */
  webviewPanels: [] as MockWebviewPanel[],
  changeListeners: new EventEmitter<{ document: { uri: Uri } }>(),
  selectionListeners: new EventEmitter<{ textEditor: MockEditor; selections: Selection[] }>(),
  /** Text document content providers, by scheme. */
  contentProviders: new Map<string, { provideTextDocumentContent(uri: Uri): unknown }>(),
  /** The open text documents (`workspace.textDocuments`). */
  textDocuments: [] as { uri: Uri; languageId: string; getText(): string }[],
  openListeners: new EventEmitter<{ uri: Uri; languageId: string; getText(): string }>(),
  /** Opens a document: adds it to `textDocuments` and fires onDidOpenTextDocument. */
  openDocument(languageId: string, text: string, file = '/ws/doc.yaml'): void {
    const document = { uri: Uri.file(file), languageId, getText: () => text };
    mock.textDocuments.push(document);
    mock.openListeners.fire(document);
  },
  /** The documents shown (their URI and text). */
  shownDocuments: [] as { uri: string; text: string; languageId?: string }[],

  /** Fires onDidChangeConfiguration for these full keys (a change affects its key and its parents). */
  changeSettings(changed: Record<string, unknown>): void {
    Object.assign(mock.settings, changed);
    const keys = Object.keys(changed);
    mock.configListeners.fire({
      affectsConfiguration: (section: string) =>
        keys.some((key) => key === section || key.startsWith(`${section}.`)),
    });
  },

  reset(): void {
    mock.commands.clear();
    mock.executedCommands = [];
    mock.settings = {};
    mock.settingsRead.clear();
    mock.configListeners = new EventEmitter();
    mock.workspaceFolders = undefined;
    mock.outputChannels = [];
    mock.watchers = [];
    mock.errors = [];
    mock.infos = [];
    mock.errorChoice = undefined;
    mock.inputBoxes = [];
    mock.inputBoxValue = undefined;
    mock.progress = [];
    mock.activeTextEditor = undefined;
    mock.visibleTextEditors = [];
    mock.webviewPanels = [];
    mock.changeListeners = new EventEmitter();
    mock.selectionListeners = new EventEmitter();
    mock.contentProviders = new Map();
    mock.shownDocuments = [];
    mock.textDocuments = [];
    mock.openListeners = new EventEmitter();
  },
};

export const commands = {
  registerCommand(command: string, callback: (...args: unknown[]) => unknown): Disposable {
    if (mock.commands.has(command)) {
      throw new Error(`command '${command}' already exists`);
    }
    mock.commands.set(command, callback);
    return new Disposable(() => mock.commands.delete(command));
  },
  async executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    mock.executedCommands.push({ command, args });
    const callback = mock.commands.get(command);
    return callback === undefined ? undefined : callback(...args);
  },
};

export const window = {
  get activeTextEditor() {
    return mock.activeTextEditor;
  },
  createOutputChannel(name: string): MockOutputChannel {
    const channel = new MockOutputChannel(name);
    mock.outputChannels.push(channel);
    return channel;
  },
  async showErrorMessage(message: string, ...items: string[]): Promise<string | undefined> {
    mock.errors.push({ message, items });
    return mock.errorChoice;
  },
  async showInformationMessage(message: string): Promise<string | undefined> {
    mock.infos.push(message);
    return undefined;
  },
  async showInputBox(options: Record<string, unknown>): Promise<string | undefined> {
    mock.inputBoxes.push(options);
    return mock.inputBoxValue;
  },
  get visibleTextEditors() {
    return mock.visibleTextEditors;
  },
  async showTextDocument(
    document: { uri: Uri; getText(): string; languageId?: string },
    options?: { viewColumn?: ViewColumn },
  ): Promise<MockEditor> {
    mock.shownDocuments.push({ uri: document.uri.toString(), text: document.getText(), languageId: document.languageId });
    const shown = mock.visibleTextEditors.find((e) => e.document.uri.toString() === document.uri.toString());
    if (shown !== undefined) {
      return shown;
    }
    const editor = mockEditor({ uri: document.uri, languageId: document.languageId ?? 'plaintext' }, options?.viewColumn);
    mock.visibleTextEditors.push(editor);
    return editor;
  },
  createWebviewPanel(
    viewType: string,
    title: string,
    showOptions: unknown,
    options: Record<string, unknown>,
  ): MockWebviewPanel {
    const panel = new MockWebviewPanel(viewType, title, showOptions, options);
    mock.webviewPanels.push(panel);
    return panel;
  },
  onDidChangeTextEditorSelection(listener: Listener<{ textEditor: MockEditor; selections: Selection[] }>): Disposable {
    return mock.selectionListeners.event(listener);
  },
  async withProgress<R>(
    options: { location: ProgressLocation; title?: string },
    task: (progress: { report(value: unknown): void }, token: unknown) => Thenable<R>,
  ): Promise<R> {
    mock.progress.push(options);
    return task({ report: () => undefined }, { isCancellationRequested: false });
  },
};

export const languages = {
  async setTextDocumentLanguage<T extends { languageId?: string }>(document: T, languageId: string): Promise<T> {
    return { ...document, languageId };
  },
};

export const workspace = {
  get workspaceFolders() {
    return mock.workspaceFolders;
  },
  getConfiguration(section?: string) {
    const prefix = section === undefined || section === '' ? '' : `${section}.`;
    return {
      get<T>(key: string, defaultValue?: T): T | undefined {
        const full = prefix + key;
        mock.settingsRead.add(full);
        return full in mock.settings ? (mock.settings[full] as T) : defaultValue;
      },
      has(key: string): boolean {
        return prefix + key in mock.settings;
      },
    };
  },
  get textDocuments() {
    return mock.textDocuments;
  },
  onDidOpenTextDocument(listener: Listener<{ uri: Uri; languageId: string; getText(): string }>): Disposable {
    return mock.openListeners.event(listener);
  },
  onDidChangeTextDocument(listener: Listener<{ document: { uri: Uri } }>): Disposable {
    return mock.changeListeners.event(listener);
  },
  onDidChangeConfiguration(listener: Listener<ConfigurationChangeEvent>): Disposable {
    return mock.configListeners.event(listener);
  },
  registerTextDocumentContentProvider(
    scheme: string,
    provider: { provideTextDocumentContent(uri: Uri): unknown },
  ): Disposable {
    mock.contentProviders.set(scheme, provider);
    return new Disposable(() => mock.contentProviders.delete(scheme));
  },
  async openTextDocument(uri: Uri): Promise<{ uri: Uri; getText(): string; languageId: string }> {
    const provider = mock.contentProviders.get(uri.scheme);
    const text = provider === undefined ? '' : String(await provider.provideTextDocumentContent(uri));
    return { uri, getText: () => text, languageId: 'plaintext' };
  },
  createFileSystemWatcher(glob: string): MockWatcher {
    const watcher = new MockWatcher(glob);
    mock.watchers.push(watcher);
    return watcher;
  },
};
