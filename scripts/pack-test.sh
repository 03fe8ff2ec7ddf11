#!/usr/bin/env bash
# Packaging test: does `npm install walnut` work for a user with no Rust?
#
# Packs the main package and the linux-x64-gnu platform package the way the
# release does (napi artifacts + napi pre-publish, which writes the
# optionalDependencies), installs both tarballs into a fresh project outside
# the repository with no Rust toolchain on PATH and no network (npm
# --offline: runtime dependencies, if walnut ever has any, must come from the
# npm cache `npm ci` filled), then uses walnut from a CommonJS script, an ES
# module and a TypeScript file checked with `tsc --noEmit`, and runs the
# `walnut` bin. Needs `npm run build` first (dist/ and the .node file).
#
#   bash scripts/pack-test.sh          # keeps nothing; KEEP=1 keeps the temp dir
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
started=$SECONDS
platform=linux-x64-gnu
target=x86_64-unknown-linux-gnu
binary="walnut.$platform.node"

fail() {
  echo "pack-test: FAIL: $*" >&2
  exit 1
}
step() { printf 'pack-test [%3ss] %s\n' "$((SECONDS - started))" "$*"; }

[[ "$(node -p 'process.platform + "-" + process.arch')" == linux-x64 ]] ||
  fail "this test packs the $platform binary and must run on linux-x64"
for f in dist/index.js dist/cli.js "$binary"; do
  [[ -f "$f" ]] || fail "$f is missing: run \`npm run build\` first"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/walnut-pack-test.XXXXXX")"
if [[ -z "${KEEP:-}" ]]; then trap 'rm -rf "$work"' EXIT; else echo "pack-test: keeping $work"; fi
napi="$repo/node_modules/.bin/napi"
tsc="$repo/node_modules/typescript/bin/tsc"
version="$(node -p 'require("./package.json").version')"

step "npm pack (main package, as published)"
mkdir -p "$work/stage" "$work/artifacts" "$work/tgz"
npm pack --silent --pack-destination "$work/stage" >/dev/null
tar xzf "$work/stage/walnut-$version.tgz" -C "$work/stage"
if tar tzf "$work/stage/walnut-$version.tgz" | grep -q '\.node$'; then
  fail "the main package contains a .node binary; binaries belong in the platform packages"
fi
pkg="$work/stage/package"

step "napi artifacts + pre-publish (platform package $platform)"
# The release runs these with all six targets; only this host's binary exists
# here, so a config with just its target stands in for package.json "napi".
printf '{"binaryName":"walnut","targets":["%s"]}\n' "$target" >"$work/napi-host.json"
mkdir -p "$pkg/npm"
cp -R "npm/$platform" "$pkg/npm/"
cp "$binary" "$work/artifacts/"
(
  cd "$pkg"
  "$napi" artifacts -c "$work/napi-host.json" --output-dir "$work/artifacts" --npm-dir npm
  "$napi" pre-publish -c "$work/napi-host.json" -p npm -t npm --no-gh-release --skip-optional-publish
) >"$work/napi.log" 2>&1 || {
  cat "$work/napi.log" >&2
  fail "napi artifacts / pre-publish failed"
}
[[ -f "$pkg/npm/$platform/$binary" ]] || fail "napi artifacts did not place $binary in npm/$platform"
node -e '
  const p = require(process.argv[1]);
  const want = process.argv[2];
  if (p.optionalDependencies?.[want] !== p.version) {
    console.error("optionalDependencies:", p.optionalDependencies);
    process.exit(1);
  }' "$pkg/package.json" "walnut-$platform" || fail "pre-publish did not add walnut-$platform to optionalDependencies"
(cd "$pkg" && npm pack --silent --pack-destination "$work/tgz" >/dev/null)
(cd "$pkg/npm/$platform" && npm pack --silent --pack-destination "$work/tgz" >/dev/null)
ls -l "$work/tgz"

step "install into a fresh project: no Rust on PATH, no network"
# A PATH with node and npm only: cargo and rustc must be unreachable.
mkdir -p "$work/bin" "$work/home" "$work/app"
for tool in node npm npx; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
npm_cache="$(npm config get cache)"
clean_env=(env -i "HOME=$work/home" "PATH=$work/bin" "npm_config_cache=$npm_cache" "npm_config_update_notifier=false")
for tool in cargo rustc rustup; do
  if "${clean_env[@]}" /bin/sh -c "command -v $tool" >/dev/null 2>&1; then fail "$tool is reachable from the test PATH"; fi
done
cd "$work/app"
printf '{ "name": "walnut-pack-test-app", "version": "1.0.0", "private": true }\n' >package.json
"${clean_env[@]}" npm install --offline --no-audit --no-fund --loglevel=error \
  "$work/tgz/walnut-$version.tgz" "$work/tgz/walnut-$platform-$version.tgz"
[[ -f "node_modules/walnut-$platform/$binary" ]] || fail "the platform package was not installed"
# A user of TypeScript has @types/node; copy it (and what it needs) in.
mkdir -p node_modules/@types
cp -R "$repo/node_modules/@types/node" node_modules/@types/
cp -R "$repo/node_modules/undici-types" node_modules/

step "CommonJS"
cat >cjs.cjs <<'JS'
const assert = require('node:assert/strict');
const path = require('node:path');
const walnut = require('walnut');
const { Wal, WalErrorCode, WalOutOfRangeError } = walnut;
(async () => {
  // Loaded from this project, the binding from the platform package.
  assert.ok(require.resolve('walnut').startsWith(path.join(__dirname, 'node_modules', 'walnut') + path.sep));
  const natives = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
  assert.deepEqual(natives, [path.join(__dirname, 'node_modules', 'walnut-linux-x64-gnu', 'walnut.linux-x64-gnu.node')]);
  const dir = path.join(__dirname, 'log-cjs');
  const wal = await Wal.open(dir);
  assert.equal(wal.append('one'), 1);
  assert.equal(await wal.write(Buffer.from('two')), 2);
  assert.equal(wal.appendBatch(['three', 'four']), 3);
  await wal.sync();
  assert.equal(wal.durableIndex, 4);
  assert.throws(() => wal.read(99), (e) => e instanceof WalOutOfRangeError && e.code === WalErrorCode.OUT_OF_RANGE);
  await wal.close();
  const again = Wal.openSync(dir);
  assert.deepEqual([...again.entries()].map((e) => e.data.toString()), ['one', 'two', 'three', 'four']);
  again.closeSync();
  console.log('cjs: ok');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
JS
"${clean_env[@]}" node cjs.cjs

step "ES module"
cat >esm.mjs <<'JS'
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import walnut, { Wal, WalErrorCode, WalCorruptError } from 'walnut';
assert.equal(walnut.Wal, Wal, 'the default export is the CommonJS module');
assert.equal(typeof WalCorruptError, 'function');
assert.equal(WalErrorCode.CORRUPT, 'ERR_WAL_CORRUPT');
const dir = fileURLToPath(new URL('./log-esm', import.meta.url));
const wal = await Wal.open(dir, { sync: { everyMs: 2 } });
const writes = [];
for (let i = 0; i < 100; i++) writes.push(wal.write(`event ${i}`));
assert.deepEqual(await Promise.all(writes), Array.from({ length: 100 }, (_, i) => i + 1));
assert.equal(wal.read(100).toString(), 'event 99');
await wal.close();
console.log('esm: ok');
JS
"${clean_env[@]}" node esm.mjs

step "TypeScript (tsc --noEmit)"
cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "node16",
    "moduleResolution": "node16",
    "strict": true,
    "noEmit": true,
    "types": ["node"]
  },
  "files": ["types.ts"]
}
JSON
cat >types.ts <<'TS'
import { Wal, WalCorruptError, WalErrorCode, type Entry, type RecoveryReport, type WalOptions } from 'walnut';

const options: WalOptions = { sync: { everyBytes: 1 << 20 }, recovery: 'tolerateTail' };

export async function roundTrip(dir: string): Promise<string[]> {
  const wal: Wal = await Wal.open(dir, options);
  const index: number = wal.append('typed');
  const durable: Promise<number> = wal.write(new Uint8Array([1, 2, 3]));
  await durable;
  const report: RecoveryReport = wal.recovery;
  const clean: boolean = report.clean;
  const entries: Entry[] = wal.readRange(index, index + 2);
  // @ts-expect-error a record is bytes or a string, not a number
  wal.append(42);
  // @ts-expect-error unknown sync policies do not type-check
  const bad: WalOptions = { sync: 'sometimes' };
  void bad;
  try {
    wal.read(index);
  } catch (err) {
    if (err instanceof WalCorruptError && err.code === WalErrorCode.CORRUPT) console.log(err.file, err.offset, clean);
  }
  await wal.close();
  return entries.map((e) => e.data.toString('hex'));
}
TS
"${clean_env[@]}" node "$tsc" -p . || fail "tsc --noEmit rejected a correct use of walnut's types"
echo "types: ok"

step "the walnut bin"
[[ "$("${clean_env[@]}" ./node_modules/.bin/walnut --version)" == "$version" ]] || fail "walnut --version"
"${clean_env[@]}" ./node_modules/.bin/walnut inspect log-cjs >inspect.txt || fail "walnut inspect failed: $(cat inspect.txt)"
grep -q '1 .. 4 (4)' inspect.txt || fail "walnut inspect did not show records 1 .. 4: $(cat inspect.txt)"
"${clean_env[@]}" ./node_modules/.bin/walnut verify --json log-esm >verify.json || fail "walnut verify failed: $(cat verify.json)"
node -e 'const r = require(process.argv[1]); if (r.status !== "clean" || r.checked.records !== 100) process.exit(1)' "$work/app/verify.json" ||
  fail "walnut verify did not check 100 clean records: $(cat verify.json)"
echo "bin: ok"

step "done: packed, installed without Rust, used from CJS, ESM and TypeScript"
