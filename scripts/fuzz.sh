#!/usr/bin/env bash
# Coverage-guided fuzzing of walnut's decoders with libFuzzer, on stable Rust.
#   scripts/fuzz.sh [target...]      (default: every target)
#   FUZZ_SECONDS=60                  time per target
# Prints executions and findings per target; exits non-zero on a crash.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${FUZZ_SECONDS:-60}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(frame segment_header trailer meta open_dir)
fi

export CARGO_TARGET_DIR="$PWD/target/fuzz"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target keeps the instrumentation away from build scripts.
cargo build --release --manifest-path fuzz/Cargo.toml --target "$triple" --bins

status=0
for t in "${targets[@]}"; do
  work="target/fuzz-corpus/$t"
  artifacts="target/fuzz-artifacts/$t/"
  mkdir -p "$work" "$artifacts" "fuzz/corpus/$t"
  log="target/fuzz-artifacts/$t.log"
  set +e
  "$CARGO_TARGET_DIR/$triple/release/$t" "$work" "fuzz/corpus/$t" \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts" >"$log" 2>&1
  rc=$?
  set -e
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1)"
  crashes="$(find "$artifacts" -type f | wc -l)"
  echo "fuzz $t: ${execs:-?} executions in ${seconds}s, ${cov:-cov: ?}, $crashes findings"
  if ((rc != 0 || crashes > 0)); then
    status=1
    echo "  see $log and $artifacts (copy crashers to fuzz/regressions/$t/)" >&2
  fi
done
exit $status
