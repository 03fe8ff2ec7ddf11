#!/usr/bin/env bash
# Cross-target check of the Rust core and the binding: clippy (-D warnings)
# for Windows and macOS from whatever machine runs the lint, so code that only
# those targets compile (fs/os/windows.rs, cfg'd tests) cannot rot unseen.
# It type-checks and lints; nothing is linked or run (the Windows and macOS CI
# jobs do that). zstd is off (--no-default-features): zstd-sys compiles C,
# and this machine has no C toolchain for those targets.
#
# A target that rustup has not installed is skipped, with a message; install
# one with `rustup target add <target>`.
#
#   bash scripts/check-targets.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

targets=(x86_64-pc-windows-msvc x86_64-apple-darwin)
installed="$(rustup target list --installed 2>/dev/null || true)"
status=0
for target in "${targets[@]}"; do
  if ! grep -qx "$target" <<<"$installed"; then
    echo "check-targets: $target skipped: target not installed (rustup target add $target)"
    continue
  fi
  echo "check-targets: $target"
  if ! cargo clippy --quiet --target "$target" -p walnut-core -p walnut-node \
    --no-default-features --all-targets -- -D warnings; then
    echo "check-targets: $target FAILED" >&2
    status=1
  fi
done
exit $status
