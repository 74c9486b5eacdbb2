import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateEnvironment } from '../../src/config/environment.loader.js';
import { closedPort } from '../support/ports.js';

/**
 * The deployment files, checked without a Docker engine (none runs on the test machines): the
 * Dockerfile through a small parser of its instructions, docker-compose.yml through the YAML it is,
 * and the commands both run (healthchecks, compose's entrypoint) run here against a stand-in server.
 */

const root = resolve(process.cwd());
const read = (path: string) => readFileSync(join(root, path), 'utf8');
/** `npm start` as argv: the one production command the Dockerfile and compose must repeat. */
const START_COMMAND = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(' ');

// ---------- Dockerfile ----------

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions per stage: comments dropped, `\` continuations joined, `FROM image [AS name]` opens a stage. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*(#|$)/.test(lines[i])) continue;
    const line = i + 1;
    let logical = lines[i];
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) {
      logical = logical.replace(/\\\s*$/, ' ');
      i++;
      if (!/^\s*#/.test(lines[i])) logical += lines[i].trim();
    }
    const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(logical);
    if (!match) throw new Error(`Dockerfile line ${line}: not an instruction: ${logical}`);
    const keyword = match[1].toUpperCase();
    const args = match[2].trim();
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile line ${line}: bad FROM: ${args}`);
      stages.push({ base: from[1], name: from[2], instructions: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
      stages[stages.length - 1].instructions.push({ keyword, args, line });
    }
  }
  return stages;
}

/** Words of a shell-form argument list, with double/single quotes removed (enough for ENV and COPY). */
function words(args: string): string[] {
  return [...args.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** `ENV A=1 B=2` and `ENV A 1` as a map. */
function envOf(instruction: Instruction): Record<string, string> {
  const parts = words(instruction.args);
  if (parts.length && !parts[0].includes('=')) return { [parts[0]]: parts.slice(1).join(' ') };
  return Object.fromEntries(parts.map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]));
}

interface Copy {
  from?: string;
  chown?: string;
  sources: string[];
  dest: string;
}
function copyOf(instruction: Instruction): Copy {
  const parts = instruction.args.startsWith('[') ? (JSON.parse(instruction.args) as string[]) : words(instruction.args);
  const flags = Object.fromEntries(
    parts.filter((part) => part.startsWith('--')).map((flag) => [flag.slice(2, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)]),
  );
  const paths = parts.filter((part) => !part.startsWith('--'));
  return { from: flags.from, chown: flags.chown, sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
}

/** `HEALTHCHECK [--opt=v ...] CMD command`: the options and the command (shell form here). */
function healthcheckOf(instruction: Instruction): { options: Record<string, string>; command: string } {
  const match = /^((?:--\S+\s+)*)CMD\s+(.*)$/s.exec(instruction.args);
  if (!match) throw new Error(`HEALTHCHECK without CMD: ${instruction.args}`);
  const options = Object.fromEntries(match[1].trim().split(/\s+/).filter(Boolean).map((o) => o.slice(2).split('=') as [string, string]));
  return { options, command: match[2] };
}

/** .dockerignore as Docker reads it: later lines win, `!` re-includes, a matched folder takes its contents. */
function dockerignore(text: string): { patterns: string[]; excludes(path: string): boolean } {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const toRegExp = (pattern: string) =>
    new RegExp(
      '^' +
        pattern
          .replace(/^\/+|\/+$/g, '')
          .split('')
          .map((c, i, all) => (c === '*' ? (all[i + 1] === '*' ? '' : all[i - 1] === '*' ? '.*' : '[^/]*') : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
          .join('') +
        '$',
    );
  const rules = patterns.map((pattern) => ({ negate: pattern.startsWith('!'), re: toRegExp(pattern.replace(/^!/, '')) }));
  return {
    patterns,
    excludes(path: string) {
      const segments = path.replace(/^\.\/|\/+$/g, '').split('/');
      const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
      let excluded = false;
      for (const rule of rules) if (prefixes.some((prefix) => rule.re.test(prefix))) excluded = !rule.negate;
      return excluded;
    },
  };
}

// ---------- helpers shared by both files ----------

/** Every key ballast reads: `.env.example` lists each one (some commented out, e.g. CLASSIFIER_THREADS). */
function knownKeys(): Set<string> {
  return new Set([...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
}

/** Docker duration strings (`10s`, `1m30s`, `500ms`) in ms. */
function durationMs(value: string): number {
  const parts = [...String(value).matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g)];
  expect(parts.map((p) => p[0]).join('')).toBe(String(value));
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

/** A stand-in for ballast's /health (`status` there, 404 elsewhere), to run the healthcheck commands against. */
async function healthServer(status = 200): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(req.url === '/health' ? status : 404, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

// ---------- the tests ----------

describe('Dockerfile', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const runtime = stages[stages.length - 1];
  const named = (name: string) => stages.find((stage) => stage.name === name);
  const runtimeCopies = runtime.instructions.filter((i) => i.keyword === 'COPY').map(copyOf);
  const buildName = runtimeCopies.find((copy) => copy.from)?.from ?? '';
  const build = named(buildName);
  const ignore = dockerignore(read('.dockerignore'));
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; engines: { node: string }; type: string };

  it('is multi-stage: a named build stage the runtime stage copies from', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    expect(build).not.toBe(runtime);
  });

  it('pins base images to a Node the package supports (engines)', () => {
    const [, minMajor, minMinor] = /(\d+)\.(\d+)/.exec(pkg.engines.node)!.map(Number);
    for (const stage of stages) {
      const base = /^node:(\d+)\.(\d+)(?:\.\d+)?-\S+$/.exec(stage.base);
      expect(base).not.toBeNull(); // node:<major>.<minor>-<variant>, never :latest or a bare major
      const [, major, minor] = base!.map(Number);
      expect(major > minMajor || (major === minMajor && minor >= minMinor)).toBe(true);
    }
  });

  it('build stage: skips the CUDA download before `npm ci`, builds, then prunes dev dependencies', () => {
    const steps = build!.instructions;
    const ciAt = steps.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(ciAt).toBeGreaterThan(-1);
    const envBefore = Object.assign({}, ...steps.slice(0, ciAt).filter((i) => i.keyword === 'ENV').map(envOf)) as Record<string, string>;
    expect(envBefore).toMatchObject({ ONNXRUNTIME_NODE_INSTALL: 'skip', ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' });
    const later = steps.slice(ciAt).filter((i) => i.keyword === 'RUN').map((i) => i.args).join(' && ');
    expect(later).toMatch(/npm run build/);
    expect(later).toMatch(/npm prune --omit=dev|npm ci [^&]*--omit=dev/);
    expect(later.indexOf('npm run build')).toBeLessThan(later.search(/--omit=dev/));
  });

  it('runtime stage: package.json, pruned node_modules and dist from the build, the models from the repo', () => {
    const copied = (path: string) => runtimeCopies.find((copy) => copy.sources.some((source) => source.replace(/^\/app\//, '').replace(/\/$/, '') === path));
    expect(copied('node_modules')?.from).toBe(buildName);
    expect(copied('dist')?.from).toBe(buildName);
    expect(copied('package.json')).toBeDefined(); // "type": "module": dist/ is ESM
    expect(pkg.type).toBe('module');
    const models = copied('models');
    expect(models).toBeDefined();
    expect(models!.from).toBeUndefined();
    expect(existsSync(join(root, 'models/lexicon-sentiment'))).toBe(true); // the LOCAL_MODEL_FALLBACK default
    // No install in the runtime stage: dependencies come only from the pruned build.
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN' && /npm (ci|install|i)\b/.test(i.args))).toEqual([]);
  });

  it('every COPY source from the build context exists and is not excluded by .dockerignore', () => {
    const fromContext = stages.flatMap((stage) => stage.instructions.filter((i) => i.keyword === 'COPY').map(copyOf)).filter((copy) => !copy.from);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const copy of fromContext) {
      for (const source of copy.sources) {
        expect([source, existsSync(join(root, source))]).toEqual([source, true]);
        expect([source, ignore.excludes(source)]).toEqual([source, false]);
      }
    }
    for (const copy of stages.flatMap((stage) => stage.instructions.filter((i) => i.keyword === 'COPY').map(copyOf))) {
      if (copy.from) expect(named(copy.from)).toBeDefined();
    }
  });

  it('.dockerignore keeps node_modules, dist, .env and .git out of the context', () => {
    for (const path of ['node_modules', 'dist', '.env', '.git', 'node_modules/x/index.js']) {
      expect([path, ignore.excludes(path)]).toEqual([path, true]);
    }
  });

  it('runs as a non-root user, listens on the PORT it exposes', () => {
    const users = runtime.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users[users.length - 1]);
    const userAt = runtime.instructions.findIndex((i) => i.keyword === 'USER');
    const cmdAt = runtime.instructions.findIndex((i) => i.keyword === 'CMD');
    expect(userAt).toBeLessThan(cmdAt);
    const env = Object.assign({}, ...runtime.instructions.filter((i) => i.keyword === 'ENV').map(envOf)) as Record<string, string>;
    expect(env.NODE_ENV).toBe('production');
    for (const key of Object.keys(env).filter((k) => k !== 'NODE_ENV')) expect(knownKeys()).toContain(key);
    expect(runtime.instructions.find((i) => i.keyword === 'EXPOSE')?.args).toBe(env.PORT);
  });

  it('CMD is exec form `node <flags> dist/main.js`, exactly as `npm start` runs it', () => {
    const cmds = runtime.instructions.filter((i) => i.keyword === 'CMD');
    expect(cmds).toHaveLength(1);
    expect(JSON.parse(cmds[0].args)).toEqual(START_COMMAND);
    expect(START_COMMAND[0]).toBe('node');
    expect(START_COMMAND.at(-1)).toBe('dist/main.js');
    expect(runtime.instructions.some((i) => i.keyword === 'ENTRYPOINT')).toBe(false);
  });

  it('HEALTHCHECK asks /health on $PORT: exit 0 when it answers 200, 1 on a 503 or when nothing listens', async () => {
    const checks = runtime.instructions.filter((i) => i.keyword === 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const { options, command } = healthcheckOf(checks[0]);
    expect(command).toMatch(/\/health/);
    for (const key of ['interval', 'timeout']) expect(durationMs(options[key])).toBeGreaterThan(0);
    const { server, port, hits } = await healthServer();
    try {
      const env = { PATH: process.env.PATH, PORT: String(port) };
      await expect(run('/bin/sh', ['-c', command], env)).resolves.toMatchObject({ code: 0 });
      expect(hits).toEqual(['/health']);
      await expect(run('/bin/sh', ['-c', command], { ...env, PORT: String(await closedPort()) })).resolves.toMatchObject({ code: 1 });
    } finally {
      server.close();
    }
    const failing = await healthServer(503);
    try {
      await expect(run('/bin/sh', ['-c', command], { PATH: process.env.PATH, PORT: String(failing.port) })).resolves.toMatchObject({ code: 1 });
    } finally {
      failing.server.close();
    }
  });
});

interface ComposeService {
  build?: string | { context?: string; dockerfile?: string };
  image?: string;
  profiles?: string[];
  env_file?: string | (string | { path: string; required?: boolean })[];
  environment?: Record<string, string | number | null> | string[];
  ports?: (string | { target: number; published?: string | number })[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, { condition: string; required?: boolean }>;
  entrypoint?: string | string[];
  command?: string | string[];
  healthcheck?: { test: string | string[]; interval?: string; timeout?: string; start_period?: string; retries?: number };
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
  init?: boolean;
}
interface ComposeFile {
  services: Record<string, ComposeService & { configs?: Array<{ source: string; target: string }> }>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string; file?: string }>;
}

describe('docker-compose.yml', () => {
  // Merge keys (`<<: *ballast`) as compose reads them: the replicas share one definition.
  const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as ComposeFile;
  const { ballast, ollama, redis, lb } = compose.services;
  const ballast2 = compose.services['ballast-2'];
  const keys = knownKeys();
  const entrypoint = ballast.entrypoint as string[];
  /** Compose interpolates `${VAR}` and `$VAR` from the host; `$$` is a literal `$` for the container. */
  const script = entrypoint[2];
  const environment = (service: ComposeService): Record<string, string> =>
    Array.isArray(service.environment)
      ? Object.fromEntries(service.environment.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]))
      : Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));
  /** The settings the entrypoint exports when a service (ollama, redis) resolves on the network. */
  const exportsWhen = (service: string): Record<string, string> =>
    Object.fromEntries(
      [...script.matchAll(/getent hosts (\S+)[^\n]*\n\s*export\s+([^\n]+)/g)]
        .filter((m) => m[1] === service)
        .flatMap((m) => m[2].trim().split(/\s+/).map((pair) => pair.split('=') as [string, string])),
    );
  const ollamaSettings = exportsWhen('ollama');
  const redisSettings = exportsWhen('redis');
  const ports = (service: ComposeService) => (service.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published ?? ''}:${p.target}`));
  const active = (profiles: string[]) =>
    Object.entries(compose.services).filter(([, s]) => !s.profiles?.length || s.profiles.some((p) => profiles.includes(p)));

  it('has the ballast service built from the Dockerfile, always on, ollama under the ollama profile, the replicas set under replicas', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['ballast', 'ballast-2', 'lb', 'ollama', 'redis']);
    expect([ballast2.profiles, redis.profiles, lb.profiles]).toEqual([['replicas'], ['replicas'], ['replicas']]);
    const context = typeof ballast.build === 'string' ? ballast.build : ballast.build?.context;
    expect(context).toBe('.');
    expect(existsSync(join(root, context!, 'Dockerfile'))).toBe(true);
    expect(ballast.profiles).toBeUndefined();
    expect(ollama.profiles).toEqual(['ollama']);
  });

  it('exactly one service publishes port 3000, whichever profiles are on', () => {
    for (const profiles of [[], ['ollama'], ['replicas'], ['ollama', 'replicas']]) {
      const publishing = active(profiles).filter(([, s]) => ports(s).some((p) => /:3000$/.test(p)));
      expect([profiles, publishing.map(([name]) => name)]).toEqual([profiles, ['ballast']]);
    }
    expect(ports(ballast)).toEqual(['${PORT:-3000}:3000']);
    expect(environment(ballast)).toMatchObject({ PORT: '3000', HOST: '0.0.0.0' }); // what the container listens on
  });

  it('ballast reads .env when there is one (optional), restarts, and gets time to shut down gracefully', () => {
    expect(ballast.env_file).toEqual([{ path: '.env', required: false }]);
    expect(ballast.restart).toBe('unless-stopped');
    expect(ballast.init).toBe(true);
    const graceMs = Number(/^SHUTDOWN_GRACE_MS=(\d+)/m.exec(read('.env.example'))![1]);
    expect(durationMs(ballast.stop_grace_period!)).toBeGreaterThan(graceMs);
  });

  it('every environment key compose sets for ballast is one ballast knows (.env.example)', () => {
    const set = [...Object.keys(environment(ballast)), ...Object.keys(ollamaSettings), ...Object.keys(redisSettings)];
    expect(set.length).toBeGreaterThan(2);
    for (const key of set) expect([key, keys.has(key)]).toEqual([key, true]);
  });

  it('under the ollama profile ballast waits for ollama and is pointed at it', () => {
    expect(ballast.depends_on).toEqual({
      ollama: { condition: 'service_healthy', required: false },
      redis: { condition: 'service_healthy', required: false },
    });
    expect(ollamaSettings).toMatchObject({ OPENAI_BASE_URL: 'http://ollama:11434/v1', OPENAI_API_KEY: 'ollama', CHAT_MODEL: 'llama3.2' });
    // The entrypoint replaces the image's, which drops its CMD: the command is restated, the same.
    expect(entrypoint.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(ballast.command).toEqual(START_COMMAND);
    // No `$` left for compose to interpolate from the host: the script's variables are all `$$`.
    expect(script.replaceAll('$$', '')).not.toContain('$');
  });

  it('the entrypoint switches to ollama / redis only when that service resolves, then execs the command', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'ballast-compose-'));
    try {
      const unescaped = script.replaceAll('$$', '$');
      const argv = ['-c', unescaped, entrypoint[3], process.execPath, '-e', 'console.log(JSON.stringify(process.env))'];
      const fromDotEnv = { OPENAI_BASE_URL: 'https://api.openai.com/v1', OPENAI_API_KEY: 'sk-from-env', CHAT_MODEL: 'gpt-4o-mini' };
      /** A getent that resolves exactly these hosts. */
      const envWith = (hosts: string[]) => {
        const cases = hosts.map((host) => `[ "$1 $2" = "hosts ${host}" ] && exit 0\n`).join('');
        writeFileSync(join(bin, 'getent'), `#!/bin/sh\n${cases}exit 2\n`);
        chmodSync(join(bin, 'getent'), 0o755);
        return { ...fromDotEnv, PATH: `${bin}:${process.env.PATH}` };
      };
      const envOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, string>;

      const withOllama = await run('/bin/sh', argv, envWith(['ollama']));
      expect(withOllama.code).toBe(0);
      expect(envOf(withOllama.stdout)).toMatchObject(ollamaSettings);
      expect(envOf(withOllama.stdout).REDIS_URL).toBeUndefined();
      expect(withOllama.stdout).toContain('upstream http://ollama:11434/v1');

      const withRedis = await run('/bin/sh', argv, envWith(['redis']));
      expect(withRedis.code).toBe(0);
      expect(envOf(withRedis.stdout)).toMatchObject({ ...fromDotEnv, ...redisSettings });
      expect(withRedis.stdout).toContain('the redis service is up');

      const withBoth = await run('/bin/sh', argv, envWith(['ollama', 'redis']));
      expect(envOf(withBoth.stdout)).toMatchObject({ ...ollamaSettings, ...redisSettings });

      const without = await run('/bin/sh', argv, envWith([]));
      expect(without.code).toBe(0);
      expect(JSON.parse(without.stdout.trim()) as Record<string, string>).toMatchObject(fromDotEnv);
      expect(envOf(without.stdout).REDIS_URL).toBeUndefined();
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('ballast has a healthcheck on /health: passes on 200, fails on a 503 or a closed port', async () => {
    const test = ballast.healthcheck!.test as string[];
    expect(test.slice(0, 2)).toEqual(['CMD', 'node']);
    expect(test.join(' ')).toContain('http://127.0.0.1:3000/health');
    for (const key of ['interval', 'timeout', 'start_period'] as const) expect(durationMs(ballast.healthcheck![key]!)).toBeGreaterThan(0);
    const onPort = (p: number) => test.slice(2).map((arg) => arg.replace('127.0.0.1:3000', `127.0.0.1:${p}`));
    const { server, port, hits } = await healthServer();
    try {
      await expect(run(process.execPath, onPort(port), { PATH: process.env.PATH })).resolves.toMatchObject({ code: 0 });
      expect(hits).toEqual(['/health']);
      await expect(run(process.execPath, onPort(await closedPort()), { PATH: process.env.PATH })).resolves.toMatchObject({ code: 1 });
    } finally {
      server.close();
    }
    const failing = await healthServer(503);
    try {
      await expect(run(process.execPath, onPort(failing.port), { PATH: process.env.PATH })).resolves.toMatchObject({ code: 1 });
    } finally {
      failing.server.close();
    }
  });

  it('ollama: pinned image, models in a named volume, port 11434 internal only, a healthcheck', () => {
    expect(ollama.image).toMatch(/^ollama\/ollama:\d+\.\d+\.\d+$/);
    expect(ollama.volumes).toEqual(['ollama:/root/.ollama']);
    expect(compose.volumes).toHaveProperty('ollama');
    expect(ollama.expose?.map(String)).toEqual(['11434']);
    expect(ollama.ports).toBeUndefined();
    expect(ollama.healthcheck?.test).toEqual(['CMD', 'ollama', 'list']);
    expect(ollama.restart).toBe('unless-stopped');
  });

  it('replicas: ballast-2 is ballast without a host port (same image, command, entrypoint, healthcheck, lifecycle)', () => {
    const { ports: published, profiles, ...shared } = ballast;
    expect(published).toHaveLength(1);
    expect(profiles).toBeUndefined();
    const { profiles: replicaProfiles, ...replica } = ballast2;
    expect(replicaProfiles).toEqual(['replicas']);
    expect(replica).toEqual(shared);
    expect(ballast2.ports).toBeUndefined();
  });

  it('replicas: the entrypoint points both at the redis service with the limit split in two, as settings ballast accepts', () => {
    expect(redisSettings).toEqual({ REDIS_URL: 'redis://redis:6379/0', RATE_LIMIT_INSTANCES: '2' });
    const replicasBehindLb = [...(lbConfig().matchAll(/^\s*server\s+(\S+):3000\b/gm))].map((m) => m[1]);
    expect(replicasBehindLb).toEqual(['ballast', 'ballast-2']);
    expect(Number(redisSettings.RATE_LIMIT_INSTANCES)).toBe(replicasBehindLb.length);
    const env = validateEnvironment(redisSettings);
    expect([env.REDIS_URL, env.RATE_LIMIT_INSTANCES]).toEqual(['redis://redis:6379/0', 2]);
  });

  it('replicas: redis is pinned, keeps nothing on disk, internal only, with a healthcheck ballast waits for', () => {
    expect(redis.image).toMatch(/^redis:\d+\.\d+\.\d+(-alpine)?$/);
    const command = redis.command as string[];
    expect(command[0]).toBe('redis-server');
    expect(command.join(' ')).toContain('--save  --appendonly no');
    expect(command[command.indexOf('--save') + 1]).toBe('');
    expect(redis.expose?.map(String)).toEqual(['6379']);
    expect(redis.ports).toBeUndefined();
    expect(redis.volumes).toBeUndefined();
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect((ballast.depends_on as Record<string, unknown>).redis).toEqual({ condition: 'service_healthy', required: false });
  });

  function lbConfig(): string {
    const [mount] = lb.configs ?? [];
    expect(mount?.target).toBe('/etc/nginx/conf.d/default.conf');
    const content = compose.configs?.[mount!.source]?.content;
    expect(typeof content).toBe('string');
    return content!;
  }

  it('replicas: lb is a pinned nginx on one host port, round robin over both replicas once they are healthy, streams unbuffered', () => {
    expect(lb.image).toMatch(/^nginx:\d+\.\d+\.\d+(-alpine)?$/);
    expect(ports(lb)).toEqual(['${REPLICAS_PORT:-8080}:8080']);
    expect(lb.depends_on).toEqual({ ballast: { condition: 'service_healthy' }, 'ballast-2': { condition: 'service_healthy' } });
    const config = lbConfig();
    expect(config).toMatch(/^\s*listen 8080;$/m);
    expect(config).toMatch(/^\s*proxy_pass http:\/\/ballast_replicas;$/m);
    expect(config).toMatch(/^\s*proxy_buffering off;$/m); // SSE events reach the client as they are written
    expect(config).toMatch(/^\s*proxy_http_version 1\.1;$/m); // keep-alive to the replicas
    expect(config).toMatch(/^\s*client_max_body_size 0;$/m); // ballast's own BODY_LIMIT_BYTES decides
    // Compose interpolates inline config content: nginx's variables must be written `$$`.
    expect(config.replaceAll('$$', '')).not.toContain('$');
    // Balanced braces: a typo here would only show when nginx starts.
    expect(config.split('{').length).toBe(config.split('}').length);
  });

  it('named volumes used by services are declared', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (!/^[./~]/.test(source)) expect(compose.volumes).toHaveProperty(source);
      }
    }
  });
});

// ---------- README ----------

interface PackageJson {
  scripts: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}
const pkg = JSON.parse(read('package.json')) as PackageJson;
/** The shell lines of every ```bash / ```sh block, comments and continuations resolved. */
function shellLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
      .filter(Boolean),
  );
}

describe('README.md', () => {
  const readme = read('README.md');

  it('opens with the two commands, unchanged: `npm install && npm start` and `npm install && npm test`', () => {
    const firstBlock = /^# ballast\n\n```bash\n([\s\S]*?)```/.exec(readme);
    expect(firstBlock).not.toBeNull();
    const commands = firstBlock![1].split('\n').filter(Boolean).map((line) => line.replace(/\s+#.*$/, ''));
    expect(commands).toEqual(['npm install && npm start', 'npm install && npm test']);
  });

  it('says what those commands do, and package.json does it: start builds first, test builds and type-checks', () => {
    expect(readme).toMatch(/npm start\s+# builds and starts the server on http:\/\/localhost:3000/);
    expect(pkg.scripts.prestart).toBe('npm run build');
    expect(readme).toMatch(/npm test\s+# builds, type-checks, runs unit \+ e2e tests/);
    expect(pkg.scripts.test).toMatch(/^npm run build && npm run typecheck && .*jest/);
  });

  it('every npm script a shell line in README.md or docs/ runs exists in package.json', () => {
    const docs = ['README.md', 'docs/operations.md', 'docs/benchmarks.md', 'docs/architecture.md'];
    const builtIn = new Set(['install', 'ci', 'exec', 'prune']);
    const named = docs.flatMap((doc) =>
      shellLines(read(doc)).flatMap((line) =>
        [...line.matchAll(/\bnpm (?:run )?([a-z][\w:-]*)/g)].map((m) => ({ doc, line, script: m[1] })),
      ),
    );
    expect(named.map((n) => n.script)).toEqual(expect.arrayContaining(['start', 'test', 'bench']));
    for (const { doc, line, script } of named) {
      if (builtIn.has(script)) continue;
      expect({ doc, line, script, defined: script in pkg.scripts }).toEqual({ doc, line, script, defined: true });
    }
  });

  it('every `node … dist/main.js` it or docs/operations.md shows carries the flags of `npm start`', () => {
    let seen = 0;
    for (const doc of ['README.md', 'docs/operations.md']) {
      const shown = [...read(doc).matchAll(/node((?: --[\w-]+(?:=\S+)?)*) dist\/main\.js/g)].map((m) => `node${m[1]} dist/main.js`);
      for (const command of shown) expect({ doc, command }).toEqual({ doc, command: START_COMMAND.join(' ') });
      seen += shown.length;
    }
    expect(seen).toBeGreaterThan(0);
    expect(pkg.scripts['start:prod']).toBe(pkg.scripts.start);
  });

  it("the fake upstream it starts for a first chat is where its command says (bench/tsconfig.json's outDir)", () => {
    expect(readme).toContain('npx tsc -p bench/tsconfig.json && node dist-bench/bench/fake-upstream-server.js');
    const tsconfig = JSON.parse(read('bench/tsconfig.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(resolve(root, 'bench', tsconfig.compilerOptions.outDir, 'bench/fake-upstream-server.js')).toBe(resolve(root, 'dist-bench/bench/fake-upstream-server.js'));
    expect(resolve(root, 'bench', tsconfig.compilerOptions.rootDir)).toBe(root);
    expect(existsSync(join(root, 'bench/fake-upstream-server.ts'))).toBe(true);
  });

  /** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
  const anchorsOf = (markdown: string): Set<string> =>
    new Set(
      [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#+ (.*)$/gm)].map((m) =>
        m[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'),
      ),
    );
  const docsDir = join(root, 'docs');
  const allDocs = ['README.md', ...readdirSync(docsDir).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

  it('every relative link in README.md and docs/ points at a file that exists, and at a heading in it', () => {
    for (const doc of allDocs) {
      const text = read(doc).replace(/```[\s\S]*?```/g, '');
      for (const [, target, anchor] of text.matchAll(/\]\(((?!https?:)[^)#\s]*)(?:#([^)\s]*))?\)/g)) {
        const file = target ? resolve(root, doc, '..', target) : resolve(root, doc);
        expect({ doc, target, exists: existsSync(file) }).toEqual({ doc, target, exists: true });
        if (anchor && file.endsWith('.md')) {
          expect({ doc, link: `${target}#${anchor}`, found: anchorsOf(readFileSync(file, 'utf8')).has(anchor) }).toEqual({
            doc,
            link: `${target}#${anchor}`,
            found: true,
          });
        }
      }
    }
  });

  it('tells a newcomer where to read about a 429, a 503 upstream_circuit_open and a slow /classify', () => {
    const rows = readme.split('\n').filter((line) => line.startsWith('| '));
    const pointer = (what: RegExp) => rows.find((row) => what.test(row))?.match(/\]\((docs\/[\w-]+\.md)#/)?.[1];
    expect(pointer(/429/)).toBe('docs/resilience.md');
    expect(pointer(/upstream_circuit_open/)).toBe('docs/resilience.md');
    expect(pointer(/slow `\/classify`/)).toBe('docs/local-model.md');
  });
});

// ---------- install scripts ----------

describe('install scripts (package.json allowScripts, .npmrc)', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean }> };

  it('every dependency with an install script has a recorded decision in allowScripts', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    const decided = Object.keys(pkg.allowScripts ?? {}).map((key) => key.replace(/(.)@.*$/, '$1'));
    for (const name of withScripts) expect({ name, decided: decided.includes(name) }).toEqual({ name, decided: true });
  });

  it("onnxruntime-node's script is denied (it only downloads CUDA providers), and the CPU binary is in the package", () => {
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    const binary = join(root, 'node_modules/onnxruntime-node/bin/napi-v6', `${process.platform}/${process.arch}`, 'onnxruntime_binding.node');
    expect(existsSync(binary)).toBe(true);
  });

  it('.npmrc holds only settings npm knows, so npm prints no "Unknown project config" warning', () => {
    const keys = read('.npmrc')
      .split('\n')
      .filter((line) => /^\s*[^#;\s]/.test(line))
      .map((line) => line.split('=')[0].trim());
    expect(keys).toEqual(['fund', 'audit']);
    const env = { ...process.env };
    delete env.ONNXRUNTIME_NODE_INSTALL;
    const out = spawnSync('npm', ['config', 'get', 'fund'], { cwd: root, env, encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stderr).not.toMatch(/Unknown (project|user|builtin|env) config/);
  });
});
