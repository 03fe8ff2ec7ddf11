import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A fresh directory under the OS temp dir; removed by `cleanup`. On Windows a
 * file that is still mapped (a log not closed, or a closed one whose reader
 * still holds a segment until it is garbage-collected) cannot be deleted: the
 * directory is then left in the temp dir rather than failing the test.
 */
export function tempDir(label = 'walnut'): { dir: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), `${label}-`));
  const cleanup = () => {
    try {
      rmSync(base, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      if (process.platform !== 'win32') throw e;
    }
  };
  return { dir: join(base, 'log'), cleanup };
}

/** Absolute path of the built package entry, for child processes. */
export const DIST = resolve(__dirname, '..', 'dist', 'index.js');

/**
 * Runs `source` in a child Node process (CommonJS, `walnut` bound to the built
 * package) and resolves once it prints a line equal to `ready`.
 */
export function startChild(source: string, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `const walnut = require(${JSON.stringify(DIST)});\n${source}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolveChild, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes(ready)) resolveChild(child);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before "${ready}": ${err}`)));
  });
}

/** Kills a child with `signal` and waits for it to be gone. */
export function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill(signal);
  });
}
