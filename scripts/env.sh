# Sourced by the scripts: one persistent target directory so builds, tests, CI and later
# sessions reuse what was compiled (a cold node build takes over half an hour on 2 cores).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cutopia/target}"
