#!/usr/bin/env bash
# Runs the engine's fuzz targets for a bounded time (default 30 s each; FUZZ_SECONDS changes it).
# cargo fuzz needs a nightly toolchain: without one, says so and skips.
set -euo pipefail
cd "$(dirname "$0")/../engine/fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
seconds="${FUZZ_SECONDS:-30}"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: SKIPPED — no nightly toolchain is installed (cargo fuzz needs one); the property tests still ran"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: SKIPPED — cargo-fuzz is not installed (scripts/install-tools.sh installs it)"
  exit 0
fi
for target in $(cargo +nightly fuzz list); do
  echo "fuzz: $target for ${seconds} s"
  mkdir -p "corpus/$target"
  cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- -max_total_time="$seconds" -max_len=4096 2>&1 | tail -n 3
done
