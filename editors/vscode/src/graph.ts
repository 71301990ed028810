// "ODP: Show Pipeline Graph": the pipeline as a picture in a webview beside the editor. The server draws it
// (`odp.showGraph`: odp-graph's SVG of its analysis of the open text, and each node's ranges); the view follows the
// document as it is typed (debounced), and a click on a node puts the cursor on that step.

import * as crypto from 'crypto';
import * as vscode from 'vscode';

/** The server command that draws a document's graph. */
export const SHOW_GRAPH = 'odp.showGraph';
/** The webview panel's type. */
export const GRAPH_VIEW_TYPE = 'odp.graph';
/** How long typing must pause before the picture is drawn again. */
export const GRAPH_DEBOUNCE_MS = 300;

interface LspPosition {
  line: number;
  character: number;
}

interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

/** A node of the server's answer: `id` is its SVG group's id. */
export interface GraphNode {
  id: string;
  name: string;
  kind: string;
  range: LspRange | null;
  selectionRange: LspRange | null;
}

/** The server's answer to `odp.showGraph`. */
export interface GraphResult {
  uri: string;
  version: number;
  svg: string;
  errors: number;
  current: string | null;
  nodes: GraphNode[];
}

/** What the webview's script posts: a click on a node (its id, and its `data-start`/`data-line` as a fallback). */
export interface RevealMessage {
  type: 'reveal';
  id?: string;
  line?: number;
}

/** Sends a request to the language server (the extension's running client), or says why it cannot. */
export type SendRequest = (method: string, params: unknown) => Promise<unknown>;

/** A random nonce for the webview's script and style. */
export function makeNonce(): string {
  return crypto.randomBytes(18).toString('base64');
}

/** The webview's Content-Security-Policy: nothing remote, our own script and style by nonce, the SVG inline. */
export function contentSecurityPolicy(nonce: string, cspSource: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

/** Escapes text for HTML. */
function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The webview's page: the SVG inline, and a script that posts a click on a node and takes new pictures (`graph`
 * messages) without reloading the page, so the scroll position stays.
 */
export function graphHtml(svg: string, options: { nonce: string; cspSource: string; title: string }): string {
  const { nonce, cspSource, title } = options;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${html(contentSecurityPolicy(nonce, cspSource))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${html(title)}</title>
<style nonce="${nonce}">
  body { margin: 0; padding: 12px; background: #ffffff; color: #1f2937; }
  #status { font: 12px var(--vscode-font-family, sans-serif); color: #6b7280; margin: 0 0 8px; min-height: 1em; }
  #status.error { color: #c62828; }
  #graph svg { max-width: none; }
  #graph g.node { cursor: pointer; }
  #graph g.node:hover rect.box { stroke-width: 3; }
  #graph g.node.current rect.box { stroke: #f59e0b; stroke-width: 4; }
</style>
</head>
<body>
<p id="status"></p>
<div id="graph">${svg}</div>
<script nonce="${nonce}">
(function () {
  const vscode = acquireVsCodeApi();
  const graph = document.getElementById('graph');
  const status = document.getElementById('status');
  // A wide picture is scaled down to the view's width, to no less than 60 % of its size (then it scrolls).
  function fit() {
    const svg = graph.querySelector('svg');
    if (!svg) return;
    const width = Number(svg.getAttribute('width'));
    const height = Number(svg.getAttribute('height'));
    if (!(width > 0 && height > 0)) return;
    const scale = Math.max(0.6, Math.min(1, (document.body.clientWidth - 24) / width));
    svg.style.width = width * scale + 'px';
    svg.style.height = height * scale + 'px';
  }
  window.addEventListener('resize', fit);
  function mark(current) {
    for (const node of graph.querySelectorAll('g.node.current')) node.classList.remove('current');
    if (current) {
      const node = document.getElementById(current);
      if (node) node.classList.add('current');
    }
  }
  graph.addEventListener('click', (event) => {
    const node = event.target instanceof Element ? event.target.closest('g.node') : null;
    if (!node) return;
    const line = Number(node.getAttribute('data-line'));
    vscode.postMessage({ type: 'reveal', id: node.id, line: Number.isFinite(line) ? line : undefined });
  });
  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message.type === 'graph') {
      graph.innerHTML = message.svg;
      fit();
      status.textContent = message.status || '';
      status.className = '';
      mark(message.current);
    } else if (message.type === 'error') {
      status.textContent = message.message;
      status.className = 'error';
    } else if (message.type === 'current') {
      mark(message.current);
    }
  });
  vscode.postMessage({ type: 'ready' });
})();
</script>
</body>
</html>
`;
}

/** A one-line status above the picture: its errors, if any. */
export function graphStatus(result: GraphResult): string {
  if (result.errors === 0) {
    return '';
  }
  return `${result.errors} error${result.errors === 1 ? '' : 's'}: see the Problems panel (failed steps are drawn red)`;
}

/** Where a click on node `id` (else on line `line`) takes the editor: the node's name. */
export function revealTarget(result: GraphResult | undefined, message: RevealMessage): vscode.Range | undefined {
  const node = result?.nodes.find((n) => n.id === message.id);
  const range = node?.selectionRange ?? node?.range;
  if (range) {
    return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
  }
  if (typeof message.line === 'number' && Number.isInteger(message.line) && message.line >= 0) {
    return new vscode.Range(message.line, 0, message.line, 0);
  }
  return undefined;
}

/** The id of the node whose range holds `position` (the step at the cursor; steps do not nest). */
export function nodeAt(result: GraphResult | undefined, position: LspPosition): string | null {
  const after = (p: LspPosition) => position.line > p.line || (position.line === p.line && position.character >= p.character);
  const before = (p: LspPosition) => position.line < p.line || (position.line === p.line && position.character <= p.character);
  const node = result?.nodes.find((n) => n.range !== null && after(n.range.start) && before(n.range.end));
  return node?.id ?? null;
}

/** One webview beside the editor for one document. */
export class GraphPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, GraphPanel>();
  private result: GraphResult | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Answers of older requests are dropped: the view never goes back to an earlier text. */
  private sequence = 0;
  private shown = 0;
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];

  /** Shows the graph of `document` beside it: a new panel, or the one it has. */
  static show(document: vscode.TextDocument, send: SendRequest, column?: vscode.ViewColumn): GraphPanel {
    const key = document.uri.toString();
    const existing = GraphPanel.panels.get(key);
    if (existing !== undefined) {
      existing.panel.reveal(undefined, true);
      void existing.refresh();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      GRAPH_VIEW_TYPE,
      `Graph: ${document.uri.path.split('/').pop() ?? 'pipeline'}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [] },
    );
    const created = new GraphPanel(panel, document, send, column);
    GraphPanel.panels.set(key, created);
    return created;
  }

  /** The open panel of a document (for tests). */
  static of(uri: string): GraphPanel | undefined {
    return GraphPanel.panels.get(uri);
  }

  /** Closes every panel (the extension's deactivation). */
  static disposeAll(): void {
    for (const panel of [...GraphPanel.panels.values()]) {
      panel.dispose();
    }
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly document: vscode.TextDocument,
    private readonly send: SendRequest,
    private readonly column: vscode.ViewColumn | undefined,
  ) {
    const nonce = makeNonce();
    panel.webview.html = graphHtml('', { nonce, cspSource: panel.webview.cspSource, title: panel.title });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document.uri.toString() === this.key) {
          this.schedule();
        }
      }),
      vscode.window.onDidChangeTextEditorSelection((event) => {
        if (event.textEditor.document.uri.toString() === this.key && event.selections.length > 0) {
          void panel.webview.postMessage({ type: 'current', current: nodeAt(this.result, event.selections[0].active) });
        }
      }),
    );
    void this.refresh();
  }

  private get key(): string {
    return this.document.uri.toString();
  }

  /** The last answer shown. */
  get graph(): GraphResult | undefined {
    return this.result;
  }

  /** Draws the graph again once typing pauses. */
  schedule(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, GRAPH_DEBOUNCE_MS);
  }

  /** Asks the server for the graph of the document's current text and shows it. */
  async refresh(): Promise<void> {
    const sequence = ++this.sequence;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.key);
    const position = editor?.selection.active;
    const options = position === undefined ? {} : { position: { line: position.line, character: position.character } };
    try {
      const result = (await this.send('workspace/executeCommand', {
        command: SHOW_GRAPH,
        arguments: [this.key, options],
      })) as GraphResult;
      if (sequence < this.shown || this.disposed) {
        return;
      }
      this.shown = sequence;
      this.result = result;
      await this.panel.webview.postMessage({
        type: 'graph',
        svg: result.svg,
        current: result.current,
        status: graphStatus(result),
      });
    } catch (error) {
      if (sequence < this.shown || this.disposed) {
        return;
      }
      this.shown = sequence;
      await this.panel.webview.postMessage({ type: 'error', message: `The graph could not be drawn: ${errorText(error)}` });
    }
  }

  private async onMessage(message: unknown): Promise<void> {
    const m = message as { type?: unknown } | undefined;
    if (m?.type === 'ready') {
      // The page was (re)loaded: it shows the last picture (or asks for one).
      if (this.result === undefined) {
        return;
      }
      await this.panel.webview.postMessage({
        type: 'graph',
        svg: this.result.svg,
        current: this.result.current,
        status: graphStatus(this.result),
      });
      return;
    }
    if (m?.type !== 'reveal') {
      return;
    }
    const target = revealTarget(this.result, message as RevealMessage);
    if (target === undefined) {
      return;
    }
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.key);
    // Closed and opened again since the view was opened: the document is a new object.
    const document = this.document.isClosed ? await vscode.workspace.openTextDocument(this.document.uri) : this.document;
    const editor = await vscode.window.showTextDocument(document, {
      viewColumn: visible?.viewColumn ?? this.column ?? vscode.ViewColumn.One,
      preserveFocus: false,
    });
    editor.selection = new vscode.Selection(target.start, target.start);
    editor.revealRange(target, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    GraphPanel.panels.delete(this.key);
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
    this.panel.dispose();
  }
}

function errorText(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}
