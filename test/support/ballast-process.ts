import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { closedPort } from './ports.js';

const ROOT = resolve(process.cwd());
const MAIN = join(ROOT, 'dist', 'main.js');

/**
 * ballast as it runs in production, `node dist/main.js` in a child process on its own port (the
 * suites that use it need `npm run build` first; `npm test` does that). Its log lines are kept so
 * a failing test can show them.
 */
export class BallastProcess {
  private output = '';
  private exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((done) => child.once('exit', (code) => done(code)));
  }

  static async start(env: Record<string, string>): Promise<BallastProcess> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before this suite (\`npm test\` does)`);
    const port = await closedPort();
    const child = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        ALLOW_REMOTE_MODELS: 'false',
        CLASSIFIER_THREADS: '1',
        // No embedded vector store unless asked: replicas would share (and be refused) one DATA_DIR.
        RETRIEVAL_ENABLED: 'false',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ballast = new BallastProcess(child, port);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ballast exited with ${child.exitCode} while starting:\n${ballast.log}`);
      const up = await fetch(`${ballast.url}/health`).then((r) => r.ok, () => false);
      if (up) return ballast;
      if (Date.now() > deadline) {
        await ballast.stop();
        throw new Error(`ballast did not answer /health within 30 s:\n${ballast.log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Several at once; if one fails to start, the others are stopped before the error is thrown (none is left running). */
  static async startMany(envs: Array<Record<string, string>>): Promise<BallastProcess[]> {
    const started = await Promise.allSettled(envs.map((env) => BallastProcess.start(env)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (!failed) return started.map((s) => (s as PromiseFulfilledResult<BallastProcess>).value);
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw failed.reason;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output;
  }

  /** SIGTERM (the graceful shutdown), SIGKILL after 15 s; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.child.exitCode;
  }
}
