import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** True if `path` is a file this process may run. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where a program a suite needs is: `override` (an env var's value) if set, else Debian's
 * /usr/bin/<name>, else the first <name> on PATH; /usr/bin/<name> when there is none (the suite then
 * fails, saying how to install it).
 */
export function findExecutable(name: string, override: string | undefined): string {
  if (override) return override;
  const dirs = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  return dirs.map((dir) => join(dir, name)).find(isExecutable) ?? `/usr/bin/${name}`;
}
