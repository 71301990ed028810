// How the extension finds and starts `odp-lsp`. This module does not import `vscode`, so tests (and
// anything else that wants the exact command line the extension uses) can load it on plain Node.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The binary's name, and the default of the `odp.server.path` setting. */
export const DEFAULT_SERVER_PATH = 'odp-lsp';

/** The argument that selects LSP on stdio; always last on the command line. */
export const STDIO_ARG = '--stdio';

export interface ServerCommandConfig {
  /** The binary: a name looked up on PATH or a path. Empty or missing: `odp-lsp`. */
  path?: string;
  /** Arguments placed before `--stdio`. Anything that is not a string is dropped. */
  extraArgs?: readonly unknown[];
}

export interface ServerCommand {
  command: string;
  args: string[];
}

/**
 * The command line that starts the language server: `[path, ...extraArgs, '--stdio']`.
 *
 * Pure: it neither reads the settings nor touches the file system. `server-command.json` holds
 * `serverCommand({})`, the default, for tests outside this package (a test keeps the two in sync).
 */
export function serverCommand(config: ServerCommandConfig = {}): ServerCommand {
  const command = typeof config.path === 'string' && config.path.trim() !== '' ? config.path.trim() : DEFAULT_SERVER_PATH;
  const extra = Array.isArray(config.extraArgs) ? config.extraArgs : [];
  const args = extra.filter((a): a is string => typeof a === 'string');
  return { command, args: [...args, STDIO_ARG] };
}

/** What `resolveServerPath` may look at; every field has a default that uses the real machine. */
export interface ResolveContext {
  /** The extension's folder: a bundled binary lives in `<extensionPath>/server/`. */
  extensionPath: string;
  /** The first workspace folder, for relative paths and `${workspaceFolder}`. */
  workspaceFolder?: string;
  /** Whether an executable file exists at the path. */
  isExecutable?: (file: string) => boolean;
  /** PATH (defaults to process.env.PATH). */
  envPath?: string;
  /** The platform (defaults to process.platform). */
  platform?: NodeJS.Platform;
  /** The home folder, for `~` (defaults to os.homedir()). */
  homedir?: string;
}

/** The binary's file name on a platform. */
export function binaryName(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? `${DEFAULT_SERVER_PATH}.exe` : DEFAULT_SERVER_PATH;
}

/** Expands `~`, `${userHome}` and `${workspaceFolder}` in a setting. */
export function expandVariables(value: string, ctx: Pick<ResolveContext, 'workspaceFolder' | 'homedir'>): string {
  const home = ctx.homedir ?? os.homedir();
  let out = value.replace(/\$\{userHome\}/g, home);
  if (ctx.workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, ctx.workspaceFolder);
  }
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
    out = home + out.slice(1);
  }
  return out;
}

/** Whether the binary `name` is found on PATH. */
export function onPath(name: string, ctx: Pick<ResolveContext, 'envPath' | 'platform' | 'isExecutable'> = {}): boolean {
  const platform = ctx.platform ?? process.platform;
  const isExecutable = ctx.isExecutable ?? defaultIsExecutable;
  const envPath = ctx.envPath ?? process.env.PATH ?? '';
  const delimiter = platform === 'win32' ? ';' : ':';
  const exts = platform === 'win32' ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';')] : [''];
  for (const dir of envPath.split(delimiter)) {
    if (dir === '') {
      continue;
    }
    for (const ext of exts) {
      if (isExecutable(path.join(dir, name + ext))) {
        return true;
      }
    }
  }
  return false;
}

/**
 * Whether the server command can be started: a path (with a folder in it) must be an executable file, a bare
 * name must be found on PATH.
 */
export function serverFound(
  command: string,
  ctx: Pick<ResolveContext, 'envPath' | 'platform' | 'isExecutable'> = {},
): boolean {
  const isExecutable = ctx.isExecutable ?? defaultIsExecutable;
  if (command.includes('/') || command.includes('\\')) {
    return isExecutable(command);
  }
  return onPath(command, { ...ctx, isExecutable });
}

/** The leading comments of a YAML file name it a pipeline (`# odp: pipeline`), as the server's rule says. */
const MODELINE = /^#\s*odp:\s*pipeline\b/;

/**
 * Whether a document is a pipeline the server checks, as far as the editor can tell without the server: the
 * `odp-pipeline` language (`*.odp.yaml`, `*.odp.yml`, a first-line modeline), or YAML with an `# odp: pipeline`
 * modeline among its leading comments.
 */
export function isPipelineDocument(document: { languageId: string; getText(): string }): boolean {
  if (document.languageId === 'odp-pipeline') {
    return true;
  }
  if (document.languageId !== 'yaml') {
    return false;
  }
  for (const line of document.getText().split(/\r?\n/, 200)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed === '---') {
      continue;
    }
    if (!trimmed.startsWith('#')) {
      return false;
    }
    if (MODELINE.test(trimmed)) {
      return true;
    }
  }
  return false;
}

/**
 * The binary to start, from the `odp.server.path` setting:
 *
 * - a value other than the default is used as given, after expanding `~`, `${userHome}` and
 *   `${workspaceFolder}`; a relative path with a folder in it is taken relative to the workspace folder;
 * - the default `odp-lsp` is looked up on PATH; when it is not there, a binary bundled in the
 *   extension's `server/` folder is used if present; otherwise `odp-lsp`, and starting it fails with a
 *   message that says how to install it.
 */
export function resolveServerPath(setting: string | undefined, ctx: ResolveContext): string {
  const raw = typeof setting === 'string' ? setting.trim() : '';
  const isExecutable = ctx.isExecutable ?? defaultIsExecutable;
  if (raw !== '' && raw !== DEFAULT_SERVER_PATH) {
    const expanded = expandVariables(raw, ctx);
    const hasFolder = expanded.includes('/') || expanded.includes('\\');
    if (hasFolder && !path.isAbsolute(expanded) && ctx.workspaceFolder !== undefined) {
      return path.resolve(ctx.workspaceFolder, expanded);
    }
    return expanded;
  }
  if (onPath(DEFAULT_SERVER_PATH, { ...ctx, isExecutable })) {
    return DEFAULT_SERVER_PATH;
  }
  const bundled = path.join(ctx.extensionPath, 'server', binaryName(ctx.platform));
  if (isExecutable(bundled)) {
    return bundled;
  }
  return DEFAULT_SERVER_PATH;
}

/**
 * The registry setting as the server should see it: URLs as given, paths made absolute against the
 * workspace folder (the server's working directory is not guaranteed). Empty: undefined.
 */
export function resolveRegistry(
  setting: string | undefined,
  ctx: Pick<ResolveContext, 'workspaceFolder' | 'homedir'>,
): string | undefined {
  const raw = typeof setting === 'string' ? setting.trim() : '';
  if (raw === '') {
    return undefined;
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(raw)) {
    return raw;
  }
  const expanded = expandVariables(raw, ctx);
  if (!path.isAbsolute(expanded) && ctx.workspaceFolder !== undefined) {
    return path.resolve(ctx.workspaceFolder, expanded);
  }
  return expanded;
}

function defaultIsExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
