# Recipes only call cargo (and, once it exists, the project's own binary); the logic
# lives in Rust. `just --list` shows them.

# Lists the recipes.
default:
    @just --list

# Runs every experiment and writes reports/index.html.
reproduce:
    @echo "The pipeline (vanishing run / vanishing report) is not built yet: 'just reproduce' arrives with it." >&2
    @exit 1

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
