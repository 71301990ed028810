// Maps `vscode` and `vscode-languageclient/node` to the mocks. Import this before anything that
// imports the extension.

import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('module') as {
  _resolveFilename(request: string, parent: unknown, ...rest: unknown[]): string;
};

const mocks: Record<string, string> = {
  vscode: path.join(__dirname, 'mocks', 'vscode.js'),
  'vscode-languageclient/node': path.join(__dirname, 'mocks', 'languageclient.js'),
};

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request: string, parent: unknown, ...rest: unknown[]): string {
  const mock = mocks[request];
  return mock !== undefined ? mock : resolve.call(this, request, parent, ...rest);
};
