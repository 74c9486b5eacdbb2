import { readdirSync, readFileSync } from 'node:fs';

/** Niceness of every thread of this process (Linux: /proc/self/task/<tid>/stat, field 19). */
export function threadNiceness(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}
