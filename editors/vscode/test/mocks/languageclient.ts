// A stand-in for `vscode-languageclient/node`: a LanguageClient that records how it was built and what
// it was asked, with a fake executeCommand feature that registers server commands the way the real one
// does (and so throws on a duplicate VS Code command).

import { commands } from './vscode';

type State = 'initial' | 'starting' | 'running' | 'startFailed' | 'stopped';

interface Registration {
  id: string;
  registerOptions: { commands?: string[] };
}

export class FakeExecuteCommandFeature {
  registered: string[] = [];
  private disposables: { dispose(): unknown }[] = [];
  register(data: Registration): void {
    for (const command of data.registerOptions.commands ?? []) {
      this.disposables.push(commands.registerCommand(command, () => undefined));
      this.registered.push(command);
    }
  }
  clear(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
    this.disposables = [];
  }
}

export const clientMock = {
  instances: [] as LanguageClient[],
  /** Makes the next start() calls reject with this error. */
  startError: undefined as Error | undefined,
  /** Answers sendRequest; by default resolves to null. */
  onRequest: (async () => null) as (method: string, params: unknown) => Promise<unknown>,
  /** Server capabilities: the executeCommandProvider commands the fake server advertises on start. */
  serverCommands: [] as string[],
  reset(): void {
    clientMock.instances = [];
    clientMock.startError = undefined;
    clientMock.onRequest = async () => null;
    clientMock.serverCommands = [];
  },
};

export class LanguageClient {
  state: State = 'initial';
  calls: string[] = [];
  requests: { method: string; params: unknown }[] = [];
  readonly executeCommandFeature = new FakeExecuteCommandFeature();

  constructor(
    readonly id: string,
    readonly name: string,
    readonly serverOptions: unknown,
    readonly clientOptions: Record<string, unknown>,
  ) {
    clientMock.instances.push(this);
  }

  getFeature(method: string): unknown {
    return method === 'workspace/executeCommand' ? this.executeCommandFeature : undefined;
  }

  async start(): Promise<void> {
    this.calls.push('start');
    this.state = 'starting';
    await Promise.resolve();
    if (clientMock.startError !== undefined) {
      this.state = 'startFailed';
      throw clientMock.startError;
    }
    // The real client registers the server's commands while it initializes.
    this.executeCommandFeature.register({ id: 'static', registerOptions: { commands: clientMock.serverCommands } });
    this.state = 'running';
  }

  needsStop(): boolean {
    return this.state === 'starting' || this.state === 'running';
  }

  isRunning(): boolean {
    return this.state === 'running';
  }

  async stop(): Promise<void> {
    this.calls.push('stop');
    if (this.state !== 'running') {
      throw new Error(`Client is not running and can't be stopped. It's current state is: ${this.state}`);
    }
    this.executeCommandFeature.clear();
    this.state = 'stopped';
  }

  async dispose(): Promise<void> {
    this.calls.push('dispose');
    if (this.needsStop()) {
      await this.stop();
    }
  }

  async sendRequest(method: string, params: unknown): Promise<unknown> {
    this.calls.push(`request:${method}`);
    this.requests.push({ method, params });
    return clientMock.onRequest(method, params);
  }
}
