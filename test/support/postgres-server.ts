import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

const SCRIPT = resolve(process.cwd(), 'test', 'support', 'pglite-socket-server.mjs');

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** Stops the server process (SIGTERM; SIGKILL with `kill: true`) and waits until it is gone. */
  stop(options?: { kill?: boolean }): Promise<void>;
}

/**
 * A real PostgreSQL wire-protocol server with pgvector, in its own process: PGlite behind
 * @electric-sql/pglite-socket (see pglite-socket-server.mjs). `port` 0 picks a free one; give the
 * old port to bring a stopped server back where clients expect it.
 */
export async function startPostgresServer(dataDir = 'memory://', port = 0): Promise<PostgresServer> {
  const child: ChildProcess = spawn(process.execPath, [SCRIPT, dataDir, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const listening = new Promise<number>((resolvePort, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolvePort(Number(match[1]));
    });
    child.once('exit', (code) =>
      reject(new Error(`the test PostgreSQL server (PGlite socket server) exited with code ${code} before listening: ${stderr.slice(0, 2000)}` +
        ' — it needs the dev dependencies @electric-sql/pglite, @electric-sql/pglite-pgvector and @electric-sql/pglite-socket (npm ci)')),
    );
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const actual = await listening.finally(() => clearTimeout(timer));
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${actual}/postgres`,
    port: actual,
    async stop(options = {}) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(options.kill ? 'SIGKILL' : 'SIGTERM');
      await exited;
    },
  };
}
