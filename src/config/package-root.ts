import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json: this file is src/config/*.ts or dist/config/*.js, two levels down. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Relative paths in config are relative to the package root, so `node dist/main.js` works from any cwd. */
export function fromPackageRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(PACKAGE_ROOT, path);
}
