# Recipes only call cargo and the project's own binary; the logic lives in Rust.
# `just --list` shows them.

# Lists the recipes.
default:
    @just --list

# Runs every experiment, writes reports/index.html and prints its path.
reproduce:
    cargo run --release -p vanishing -- reproduce

# Glorot & Bengio's own setting at their experiments' scale that fits two cores (Fig. 2
# dynamics, Table 1 on Shapeset-3x2 and digits); see experiments/paper/README.md.
# Runs experiments/paper/ into data/ (under an hour on 2 cores), then rewrites the report.
paper:
    cargo run --release -p vanishing -- run experiments/paper/
    cargo run --release -p vanishing -- report

# Writes reports/index.html from the tables in data/.
report:
    cargo run --release -p vanishing -- report

# Runs every experiment in experiments/ into data/.
run:
    cargo run --release -p vanishing -- run experiments/

# Runs every test: the README's test command.
test:
    cargo test --workspace --release

# Formats the code.
fmt:
    cargo fmt --all

# Fuzzes the experiment-file parser with fresh random cases for `seconds` (the suite runs
# a fixed 3,000); a failure prints the smallest failing text. See README.md.
fuzz seconds="600":
    VANISHING_FUZZ_SECONDS={{seconds}} cargo test --release -p vanishing-config --test fuzz_config -- --nocapture

# The checks CI runs before the tests: formatting, lints, docs.
check:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps

# Builds and opens nothing: the API docs land in target/doc.
doc:
    cargo doc --workspace --no-deps

# Everything CI runs, in its order.
ci:
    bash .ci/run

# The fixture crates/core/tests/data/keras-norm-vectors.json records its versions.
# Writes the core's test values of normalized and residual networks from Keras itself.
keras-norm-vectors:
    python3 -m venv .venv-keras
    .venv-keras/bin/pip install --quiet --disable-pip-version-check -r keras/requirements.txt
    .venv-keras/bin/python keras/norm_vectors.py crates/core/tests/data/keras-norm-vectors.json

# The fixture crates/core/tests/data/keras-softmax-vectors.json records its versions.
# Writes the core's test values of a softmax output under categorical cross-entropy from Keras itself.
keras-softmax-vectors:
    python3 -m venv .venv-keras
    .venv-keras/bin/pip install --quiet --disable-pip-version-check -r keras/requirements.txt
    .venv-keras/bin/python keras/softmax_vectors.py crates/core/tests/data/keras-softmax-vectors.json

# TensorFlow CPU goes into a git-ignored virtual environment; Keras' runs are imported
# into data/keras/ and the report is rewritten. See docs/fidelity.md.
# Trains the tutorial's configurations in vanishing and Keras and compares them.
compare-keras seeds="20" init_seeds="500" jobs="2":
    python3 -m venv .venv-keras
    .venv-keras/bin/pip install --quiet --disable-pip-version-check -r keras/requirements.txt
    cargo build --release -p vanishing
    rm -rf target/keras data/keras
    mkdir -p target/keras
    target/release/vanishing run -q --seeds {{seeds}} experiments/fidelity/deep.toml experiments/fidelity/shallow.toml experiments/fidelity/deeper-sigmoid.toml
    target/release/vanishing run -q --seeds {{init_seeds}} experiments/fidelity/init.toml
    target/release/vanishing keras plan --seeds {{seeds}} experiments/fidelity/deep.toml experiments/fidelity/shallow.toml experiments/fidelity/deeper-sigmoid.toml > target/keras/plan-training.json
    target/release/vanishing keras plan --seeds {{init_seeds}} experiments/fidelity/init.toml > target/keras/plan-init.json
    .venv-keras/bin/python keras/harness.py --jobs {{jobs}} target/keras/runs target/keras/plan-training.json target/keras/plan-init.json
    target/release/vanishing keras import target/keras/runs --out data/keras
    target/release/vanishing report
    target/release/vanishing keras compare | tee target/keras/agreement.md

# See docs/performance.md for what is measured and how.
# Runs the benchmarks (divan) and a timed `vanishing reproduce`; saves the table in target/bench/results.txt.
bench:
    mkdir -p target/bench
    cargo bench -p vanishing-core --bench kernels --bench wide --bench norm --bench wide_paper -p vanishing-train --bench training -p vanishing-data --bench shapeset 2>&1 | tee target/bench/results.txt
    cargo build --release -p vanishing
    # A scratch copy of the experiments, so that the repository's data and report stay as they are.
    scratch=$(mktemp -d) && cp -r experiments "$scratch/" && cd "$scratch" && /usr/bin/time -f "vanishing reproduce (after the build): %e s wall, peak RSS %M KB" "{{justfile_directory()}}/target/release/vanishing" reproduce -q 2>&1 | tee -a "{{justfile_directory()}}/target/bench/results.txt"; rm -rf "$scratch"

# See docs/performance.md ("Large sweeps"). Takes about 10 minutes on 2 cores.
# Planning a million runs, peak memory of a 20,000-run sweep, 1 against 2 jobs on 2,000 runs, resuming, and the report over 2,000 runs.
bench-sweep seeds="5000":
    mkdir -p target/bench
    cargo build --release -p vanishing
    scratch=$(mktemp -d) && bin="{{justfile_directory()}}/target/release/vanishing" && sweep="{{justfile_directory()}}/bench/tutorial-sweep.toml" && out="{{justfile_directory()}}/target/bench/sweep.txt" && cd "$scratch" && : > "$out" && \
    /usr/bin/time -f "planning 1,000,000 runs (status --seeds 250000): %e s wall, peak RSS %M KB" "$bin" status --seeds 250000 --out one "$sweep" 2>&1 | tail -n 1 | tee -a "$out" && \
    /usr/bin/time -f "2,000 runs, --jobs 1: %e s wall, peak RSS %M KB" "$bin" run -q --jobs 1 --seeds 500 --out one "$sweep" 2>&1 | tail -n 1 | tee -a "$out" && \
    /usr/bin/time -f "2,000 runs, --jobs 2: %e s wall, peak RSS %M KB" "$bin" run -q --jobs 2 --seeds 500 --out two "$sweep" 2>&1 | tail -n 1 | tee -a "$out" && \
    /usr/bin/time -f "2,000 runs again (all skipped): %e s wall, peak RSS %M KB" "$bin" run -q --jobs 2 --seeds 500 --out two "$sweep" 2>&1 | tail -n 1 | tee -a "$out" && \
    /usr/bin/time -f "report over 2,000 runs: %e s wall, peak RSS %M KB" "$bin" report --data two --out reports 2>&1 | tail -n 1 | tee -a "$out" && \
    echo "report page: $(stat -c %s reports/index.html) bytes" | tee -a "$out" && \
    rm -rf one two && \
    /usr/bin/time -f "$(({{seeds}} * 4)) runs, --jobs 2: %e s wall, peak RSS %M KB" "$bin" run -q --jobs 2 --seeds {{seeds}} --out big "$sweep" 2>&1 | tail -n 1 | tee -a "$out" && \
    echo "tables on disk: $(du -sm big | cut -f1) MB" | tee -a "$out"; cd / && rm -rf "$scratch"

# Uses the Keras harness' virtual environment (made here if missing).
# Times the tutorial's Keras `fit` beside vanishing on this machine and prints the ratio.
bench-keras:
    python3 -m venv .venv-keras
    .venv-keras/bin/pip install --quiet --disable-pip-version-check -r keras/requirements.txt
    cargo build --release -p vanishing
    .venv-keras/bin/python keras/bench_fit.py --vanishing target/release/vanishing

# See docs/performance.md ("One run beside a hand-tuned loop"). Takes about 2 minutes.
# Times `vanishing run` of the tutorial's sigmoid run over N seeds on one thread (side by side and alone), beside the hand-tuned loop built for baseline x86-64 and for AVX2 + FMA.
bench-run seeds="40":
    mkdir -p target/bench
    cargo build --release -p vanishing
    cargo build --release --manifest-path bench/hand-tuned/Cargo.toml
    RUSTFLAGS="-C target-cpu=x86-64-v3" cargo build --release --manifest-path bench/hand-tuned/Cargo.toml --target-dir bench/hand-tuned/target/v3
    scratch=$(mktemp -d) && bin="{{justfile_directory()}}/target/release/vanishing" && file="{{justfile_directory()}}/experiments/deep-sigmoid.toml" && out="{{justfile_directory()}}/target/bench/run.txt" && cd "$scratch" && : > "$out" && \
    for round in 1 2 3; do \
      for mode in together alone; do \
        flag=$([ "$mode" = alone ] && echo --alone || true); rm -rf tables; \
        /usr/bin/time -f "%e" -o wall.txt "$bin" run -q --jobs 1 --seeds {{seeds}} --out tables $flag "$file" > /dev/null; \
        awk -v m="$mode" -v n={{seeds}} '{ printf "vanishing run, %s: %.2f ms per run (process wall / %d)\n", m, $1 * 1000 / n, n }' wall.txt | tee -a "$out"; \
      done; \
      "{{justfile_directory()}}/bench/hand-tuned/target/release/hand-tuned" {{seeds}} | sed 's/^/baseline x86-64 /' | tee -a "$out"; \
      "{{justfile_directory()}}/bench/hand-tuned/target/v3/release/hand-tuned" {{seeds}} | sed 's/^/AVX2 + FMA /' | tee -a "$out"; \
    done; cd / && rm -rf "$scratch"

# See docs/performance.md ("The lab"). Needs Chromium (Debian's `chromium`).
# The page and its WebAssembly module are the same whatever profile builds the binary that writes it (the module has its own, `lab`), so the dev build serves.
# Times the lab in headless Chromium: the tutorial's run, a 20-layer normalized residual network, live charts, the first screen and the page's growth.
bench-lab:
    cargo bench -p vanishing --bench lab --profile dev

# JAX (CPU) goes into a git-ignored virtual environment; not run by CI. See docs/performance.md.
# Times the tutorial's training in JAX, the whole run in one jit (lax.scan), alone and 64 seeds vmapped.
bench-jax:
    python3 -m venv .venv-jax
    .venv-jax/bin/pip install --quiet --disable-pip-version-check -r bench/jax/requirements.txt
    mkdir -p target/bench
    .venv-jax/bin/python bench/jax/bench_scan.py | tee target/bench/jax.txt
