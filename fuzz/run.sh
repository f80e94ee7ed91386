#!/usr/bin/env bash
# Builds the fuzz targets with coverage instrumentation (libFuzzer, no
# sanitizer: the code under test forbids `unsafe`) and runs each for the
# given number of seconds (default 10), keeping the corpus it grows in
# fuzz/corpus/<target>. Exits non-zero on the first crash, panic, leak or
# hang (a single input running longer than 10 s).
#
#   fuzz/run.sh 600            # ten minutes per target
#   fuzz/run.sh 8 sdk_json     # one target
#
# The same flags `cargo fuzz build --sanitizer none` passes; plain cargo on
# the stable toolchain is enough, so nothing needs installing.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-10}"
shift || true
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# An explicit target keeps the instrumentation out of build scripts and
# proc-macros (RUSTFLAGS then apply to the target only).
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --locked --bins --quiet --target "$host"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^palisade-fuzz$')
fi
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    echo "== $t: ${seconds}s"
    "./target/$host/release/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" "corpus/$t" "${seeds[@]}" 2>&1 \
        | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY)|panicked|deadly|crash-|timeout-" || true
    # libFuzzer's exit status is lost in the pipe: a crash leaves an artifact.
    if compgen -G "artifacts/$t/*" > /dev/null; then
        echo "fuzz target $t failed; inputs in fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
