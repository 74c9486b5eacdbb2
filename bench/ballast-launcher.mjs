// FALLBACK ONLY (bench/run.mjs uses it when `node dist/main.js` refuses the benchmark's environment):
// boots ballast the way src/main.ts does, via dist/app.factory.js createApp(), but listens on
// BENCH_PORT / 127.0.0.1 itself, so PORT does not have to go through ballast's env validation.
import 'reflect-metadata';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { createApp } = await import(pathToFileURL(path.join(root, 'dist', 'app.factory.js')).href);
const app = await createApp({ envFile: false });
const port = Number(process.env.BENCH_PORT);
await app.listen({ port, host: '127.0.0.1' });
console.log(`ballast (bench launcher) listening on http://127.0.0.1:${port}`);
