// The server command line and how the binary is found: plain Node, no `vscode`.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import {
  DEFAULT_SERVER_PATH,
  binaryName,
  expandVariables,
  onPath,
  resolveRegistry,
  resolveServerPath,
  serverCommand,
} from '../src/server';

const root = path.join(__dirname, '..', '..');

describe('serverCommand', () => {
  it('defaults to `odp-lsp --stdio`', () => {
    assert.deepEqual(serverCommand(), { command: 'odp-lsp', args: ['--stdio'] });
    assert.deepEqual(serverCommand({}), { command: 'odp-lsp', args: ['--stdio'] });
    assert.deepEqual(serverCommand({ path: '  ', extraArgs: [] }), { command: 'odp-lsp', args: ['--stdio'] });
  });

  it('puts the extra arguments between the path and `--stdio`', () => {
    assert.deepEqual(serverCommand({ path: '/opt/odp/bin/odp-lsp', extraArgs: ['serve', '--log', 'debug'] }), {
      command: '/opt/odp/bin/odp-lsp',
      args: ['serve', '--log', 'debug', '--stdio'],
    });
  });

  it('trims the path and drops arguments that are not strings', () => {
    assert.deepEqual(serverCommand({ path: ' ./odp-lsp ', extraArgs: ['-v', 3, null, { a: 1 }, '--x'] }), {
      command: './odp-lsp',
      args: ['-v', '--x', '--stdio'],
    });
    assert.deepEqual(serverCommand({ extraArgs: 'serve' as unknown as string[] }).args, ['--stdio']);
  });

  it('returns a fresh array each time', () => {
    const extraArgs = ['serve'];
    const first = serverCommand({ extraArgs });
    first.args.push('mutated');
    assert.deepEqual(extraArgs, ['serve']);
    assert.deepEqual(serverCommand({ extraArgs }).args, ['serve', '--stdio']);
  });

  it('matches server-command.json, the default command line for tests outside this package', () => {
    const file = path.join(root, 'server-command.json');
    const onDisk: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(
      onDisk,
      serverCommand({}),
      `server-command.json is out of date: write ${JSON.stringify(serverCommand({}))} to it`,
    );
  });
});

describe('resolveServerPath', () => {
  const extensionPath = path.join(path.sep, 'ext');
  const bundled = path.join(extensionPath, 'server', 'odp-lsp');
  const exists = (files: string[]) => (file: string) => files.includes(file);

  it('uses `odp-lsp` from PATH when it is there', () => {
    const isExecutable = exists([path.join('/usr/local/bin', 'odp-lsp'), bundled]);
    assert.equal(
      resolveServerPath(undefined, { extensionPath, envPath: '/usr/bin:/usr/local/bin', platform: 'linux', isExecutable }),
      'odp-lsp',
    );
    assert.equal(
      resolveServerPath('odp-lsp', { extensionPath, envPath: '/usr/local/bin', platform: 'linux', isExecutable }),
      'odp-lsp',
    );
  });

  it('falls back to the bundled binary under server/', () => {
    const isExecutable = exists([bundled]);
    assert.equal(resolveServerPath('', { extensionPath, envPath: '/usr/bin', platform: 'linux', isExecutable }), bundled);
  });

  it('looks for odp-lsp.exe on Windows', () => {
    const bundledExe = path.join(extensionPath, 'server', 'odp-lsp.exe');
    assert.equal(binaryName('win32'), 'odp-lsp.exe');
    assert.equal(binaryName('linux'), 'odp-lsp');
    assert.equal(
      resolveServerPath(undefined, { extensionPath, envPath: '', platform: 'win32', isExecutable: exists([bundledExe]) }),
      bundledExe,
    );
  });

  it('keeps `odp-lsp` when it is nowhere, so starting fails with a clear message', () => {
    assert.equal(
      resolveServerPath(undefined, { extensionPath, envPath: '/usr/bin', platform: 'linux', isExecutable: () => false }),
      DEFAULT_SERVER_PATH,
    );
  });

  it('uses an explicit setting as given, without looking anywhere', () => {
    let looked = false;
    const isExecutable = () => {
      looked = true;
      return true;
    };
    assert.equal(resolveServerPath('/opt/odp-lsp', { extensionPath, isExecutable }), '/opt/odp-lsp');
    assert.equal(resolveServerPath('my-odp-lsp', { extensionPath, isExecutable }), 'my-odp-lsp');
    assert.equal(looked, false);
  });

  it('expands ~, ${userHome} and ${workspaceFolder}, and resolves relative paths against the workspace', () => {
    const ctx = { extensionPath, homedir: '/home/me', workspaceFolder: '/work/proj', isExecutable: () => false };
    assert.equal(resolveServerPath('~/bin/odp-lsp', ctx), '/home/me/bin/odp-lsp');
    assert.equal(resolveServerPath('${userHome}/odp-lsp', ctx), '/home/me/odp-lsp');
    assert.equal(resolveServerPath('${workspaceFolder}/target/debug/odp-lsp', ctx), '/work/proj/target/debug/odp-lsp');
    assert.equal(resolveServerPath('target/release/odp-lsp', ctx), path.resolve('/work/proj', 'target/release/odp-lsp'));
    assert.equal(expandVariables('~user/x', ctx), '~user/x');
  });

  it('finds real executables on PATH', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odp-path-'));
    try {
      const bin = path.join(dir, 'odp-lsp');
      fs.writeFileSync(bin, '#!/bin/sh\n');
      fs.chmodSync(bin, 0o644);
      assert.equal(onPath('odp-lsp', { envPath: dir, platform: 'linux' }), false, 'not executable');
      fs.chmodSync(bin, 0o755);
      assert.equal(onPath('odp-lsp', { envPath: `/nonexistent:${dir}`, platform: 'linux' }), true);
      assert.equal(onPath('odp-lsp', { envPath: '', platform: 'linux' }), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('resolveRegistry', () => {
  const ctx = { workspaceFolder: '/work/proj', homedir: '/home/me' };
  it('is undefined when unset or blank', () => {
    assert.equal(resolveRegistry(undefined, ctx), undefined);
    assert.equal(resolveRegistry('   ', ctx), undefined);
  });
  it('keeps URLs and absolute paths', () => {
    assert.equal(resolveRegistry('https://example.org/registry.yaml', ctx), 'https://example.org/registry.yaml');
    assert.equal(resolveRegistry('/etc/odp/registry.yaml', ctx), '/etc/odp/registry.yaml');
  });
  it('resolves relative paths against the workspace folder', () => {
    assert.equal(resolveRegistry('registry/methods.yaml', ctx), path.resolve('/work/proj', 'registry/methods.yaml'));
    assert.equal(resolveRegistry('~/reg.yaml', ctx), '/home/me/reg.yaml');
    assert.equal(resolveRegistry('reg.yaml', { homedir: '/home/me' }), 'reg.yaml');
  });
});

// Opt-in: ODP_LSP_BIN=/path/to/odp-lsp npm test starts the real server with the extension's command line
// and checks that it answers `initialize`.
describe('the real server', () => {
  const bin = process.env.ODP_LSP_BIN;
  it('answers initialize when started with serverCommand()', { skip: bin ? false : 'set ODP_LSP_BIN to run' }, async () => {
    const { command, args } = serverCommand({ path: bin });
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const send = (message: object) => {
      const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
      child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
      child.stdin.write(body);
    };
    const response = new Promise<Record<string, unknown>>((resolve, reject) => {
      let buffer = Buffer.alloc(0);
      child.stdout.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const headerEnd = buffer.indexOf('\r\n\r\n');
          if (headerEnd < 0) return;
          const length = Number(/Content-Length: *(\d+)/i.exec(buffer.subarray(0, headerEnd).toString())?.[1]);
          if (buffer.length < headerEnd + 4 + length) return;
          const message = JSON.parse(buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8'));
          buffer = buffer.subarray(headerEnd + 4 + length);
          if (message.id === 1) resolve(message);
        }
      });
      child.on('exit', (code) => reject(new Error(`the server exited with ${code} before answering`)));
      setTimeout(() => reject(new Error('no answer to initialize within 20 s')), 20_000).unref();
    });
    send({
      id: 1,
      method: 'initialize',
      params: { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: {} },
    });
    try {
      const answer = await response;
      assert.ok(answer.result && typeof answer.result === 'object', JSON.stringify(answer));
      assert.ok('capabilities' in (answer.result as object));
      send({ method: 'initialized', params: {} });
      send({ id: 2, method: 'shutdown' });
      send({ method: 'exit' });
    } finally {
      setTimeout(() => child.kill(), 2_000).unref();
    }
  });
});
