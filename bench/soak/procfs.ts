import { readdirSync, readFileSync } from 'node:fs';
import { cpuSeconds } from '../ledgerAndProc.js';

/**
 * What the soak reads of a live process from Linux's /proc: resident memory now (VmRSS)
 * and its peak (VmHWM) from /proc/<pid>/status, CPU time from /proc/<pid>/stat. Each read
 * is a few hundred bytes; a process that has exited reads as undefined.
 */
export interface ProcSample {
  rssMiB: number;
  hwmMiB: number;
  /** utime + stime, seconds. */
  cpuS: number;
}

export function readProc(pid: number | undefined): ProcSample | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return {
      rssMiB: kib('VmRSS') / 1024,
      hwmMiB: kib('VmHWM') / 1024,
      cpuS: cpuSeconds(pid),
    };
  } catch {
    return undefined;
  }
}

/**
 * The pid of a direct child of `parent` whose command name is `comm` (the Mosquitto that
 * `up` spawns for `broker: mosquitto` is not exposed by RunningDeployment; it is a child
 * of this process, so it is found by its parent pid). Undefined if there is none.
 */
export function childPidByName(parent: number, comm: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (name === comm && ppid === parent) return Number(entry);
    } catch {
      // It exited between readdir and read.
    }
  }
  return undefined;
}
