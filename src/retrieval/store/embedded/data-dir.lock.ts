import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'ballast.lock';

/** Another live process holds the data directory. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
}

/**
 * One process per embedded data directory: PGlite itself does not lock its files, and two writers
 * would corrupt them. The lock is a file holding the owner's pid, made with O_EXCL; a lock whose
 * process is gone (killed, crashed) is taken over.
 */
export class DataDirLock {
  private held = false;

  constructor(private readonly dataDir: string) {}

  get path(): string {
    return join(this.dataDir, LOCK_FILE);
  }

  /** Idempotent: a process that holds the lock keeps it (the store's worker restarts under it). */
  acquire(): void {
    if (this.held) return;
    mkdirSync(this.dataDir, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(this.path, `${process.pid}\n`, { flag: 'wx' });
        this.held = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = this.owner();
      if (owner !== undefined && isAlive(owner)) {
        throw new DataDirLockedError(
          `DATA_DIR ${this.dataDir} is in use by another ballast process (pid ${owner}); ` +
            'the embedded store allows one process per directory: stop it, or give this one another DATA_DIR (or a DATABASE_URL)',
        );
      }
      // The owner is gone: a stale lock from a process that did not shut down cleanly.
      rmSync(this.path, { force: true });
    }
    throw new DataDirLockedError(`Could not lock DATA_DIR ${this.dataDir} (${this.path} keeps reappearing)`);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.owner() === process.pid) rmSync(this.path, { force: true });
  }

  private owner(): number | undefined {
    try {
      const pid = Number.parseInt(readFileSync(this.path, 'utf8').trim(), 10);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
