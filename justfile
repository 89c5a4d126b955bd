# Recipes only call cargo and the project's own binary; the logic lives in Rust.
# `just --list` shows them.

# Lists the recipes.
default:
    @just --list

# Runs every experiment, writes reports/index.html and prints its path.
reproduce:
    cargo run --release -p vanishing -- reproduce

# Writes reports/index.html from the tables in data/.
report:
    cargo run --release -p vanishing -- report

# Runs every experiment in experiments/ into data/.
run:
    cargo run --release -p vanishing -- run experiments/

# Runs every test: the README's test command.
test:
    cargo test --workspace

# Formats the code.
fmt:
    cargo fmt --all

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
