/**
 * What a process uses, as /proc shows it: its CPU so far, its resident
 * memory, and its CPU once it has gone quiet. Parts that measure the daemon
 * by its own process (daemon, scale, paths) share these.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** The CPU a process has used so far: user and system time. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ ticks
}

/**
 * The time a process's threads have run so far, in ns from the scheduler
 * (/proc/PID/task/TID/schedstat), as ms: finer than cpuMs's 10 ms ticks,
 * for costs of a few ms. A thread that ended takes its share with it (Node's
 * threads live as long as the process).
 */
export function runTimeMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

export function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/**
 * The process's CPU once it has used none for `quietMs`. A tick is 10 ms, so
 * a quiet period must be long enough that work still going on shows in it
 * (the callers pass a few of the daemon's quiet periods: a change's second
 * look starts within one).
 */
export async function quietCpuMs(pid: number, quietMs: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (let last = cpuMs(pid); ; ) {
    await sleep(quietMs);
    const now = cpuMs(pid);
    if (now === last) return now;
    if (performance.now() > deadline) throw new Error(`the daemon (pid ${pid}) was still busy ${timeoutMs / 1000} s after a change`);
    last = now;
  }
}
