import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, isExecutable } from './executables.js';
import { closedPort } from './ports.js';

/** Debian's redis-server (`apt-get install -y redis-server`), another on PATH, or REDIS_SERVER_PATH. */
export const REDIS_SERVER_PATH = findExecutable('redis-server', process.env.REDIS_SERVER_PATH);

/**
 * A throwaway redis-server on 127.0.0.1 and a free port, with no persistence (no RDB, no AOF, its
 * working folder a temporary one removed on close). `stop()` and `start()` again keep the port, so
 * a test can take Redis away and bring it back under a running app. Throws (the suite fails, it is
 * never skipped) when the binary is missing.
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisServer> {
    if (!isExecutable(REDIS_SERVER_PATH)) {
      throw new Error(
        `No redis-server at ${REDIS_SERVER_PATH}: the shared-state suites start a throwaway Redis. ` +
          'Install it with `apt-get install -y redis-server` (.ci/run does this when it is missing), ' +
          'or set REDIS_SERVER_PATH to a redis-server binary.',
      );
    }
    const server = new RedisServer(await closedPort(), mkdtempSync(join(tmpdir(), 'ballast-redis-')));
    await server.resume();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the server again on the same port (after `stop`); resolves once it accepts connections. */
  async resume(): Promise<void> {
    if (this.child) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--daemonize', 'no', '--loglevel', 'warning'];
    const child = spawn(REDIS_SERVER_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<never>((_, fail) =>
      child.once('exit', (code) => fail(new Error(`redis-server exited (code ${code}) before accepting connections: ${stderr.trim()}`))),
    );
    exited.catch(() => undefined);
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const accepted = await Promise.race([accepts(this.port), exited]);
      if (accepted) break;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`redis-server did not accept connections on 127.0.0.1:${this.port} within 10 s: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered, as in a Redis stuck on a slow command. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a paused server go on (SIGCONT). */
  unpause(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server (SIGKILL: gone at once, as in a crash); resolves when the process has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGKILL');
        child.kill('SIGCONT'); // a paused server takes its SIGKILL only once it runs again
      });
    }
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether a RESP PING on the port gets PONG. */
function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      done(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}
