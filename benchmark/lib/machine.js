'use strict';
/** A description of the machine and run, for the report header. */
const os = require('node:os');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');


/** File system type and device of the mount holding `dir` (longest mount point prefix). */
function fsType(dir) {
  try {
    let best = { point: '', type: 'unknown', dev: '' };
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, point, type] = line.split(' ');
      if (!point) continue;
      const inside = dir === point || dir.startsWith(point.endsWith('/') ? point : `${point}/`);
      if (inside && point.length > best.point.length) best = { point, type, dev };
    }
    return `${best.type} on ${best.dev}`;
  } catch {
    return 'unknown';
  }
}

function gitRev(root) {
  try {
    const rev = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim();
    return dirty ? `${rev} (with uncommitted changes)` : rev;
  } catch {
    return 'unknown';
  }
}

/** Machine facts: CPU model and count, memory, kernel, file system of `dataDir`. */
function describe(dataDir, root) {
  const cpus = os.cpus();
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return {
    cpu: `${cpus.length} x ${cpus[0]?.model ?? 'unknown'}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    fs: `${fsType(dataDir)} (${dataDir})`,
    load,
    commit: gitRev(root),
    date: new Date().toISOString(),
    // A shared or virtual machine: say so, figures move with the neighbours.
    virtual: fs.existsSync('/sys/hypervisor/type') || /hypervisor/.test(readCpuFlags()) ? 'yes' : 'no',
  };
}

function readCpuFlags() {
  try {
    return fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? '';
  } catch {
    return '';
  }
}

module.exports = { describe };
