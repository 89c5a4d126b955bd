//! Prepares what the page embeds, in `OUT_DIR`:
//! - the minified ECharts script that the `charming` crate ships among its sources, so
//!   that the page opens from disk with no network and no copy of the script lives in
//!   this repository;
//! - the lab's WebAssembly module: the `vanishing-lab` package compiled for
//!   `wasm32-unknown-unknown` by a nested cargo (profile `lab`, its own target folder
//!   beside this build's), base64-encoded for the page. A toolchain without that target
//!   gets it from rustup first, and the build says so: a fresh machine with only
//!   rustup's toolchain builds the report with no step of its own.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let root = Path::new(&manifest_dir)
        .parent()
        .and_then(Path::parent)
        .expect("the report crate lives in <workspace>/crates/report")
        .to_owned();
    // The script is keyed to charming's locked version: a changed lock finds it again.
    println!(
        "cargo::rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    let charming_dir = find_charming(&cargo, &root, &target);
    let asset_dir = charming_dir.join("src").join("asset");
    let script = fs::read_dir(&asset_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", asset_dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("echarts-") && n.ends_with(".min.js"))
        })
        .unwrap_or_else(|| panic!("no echarts-*.min.js in {}", asset_dir.display()));
    let version = script
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("echarts-"))
        .and_then(|n| n.strip_suffix(".min.js"))
        .unwrap_or("unknown")
        .to_owned();
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(&script, out.join("echarts.min.js")).expect("copy the ECharts script");
    fs::write(out.join("echarts_version.txt"), version).expect("write the ECharts version");
    println!("cargo::rerun-if-changed={}", script.display());
    build_lab(Path::new(&manifest_dir), &cargo, &out);
}

/// The target the lab is compiled for.
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Compiles the lab's module and writes it base64-encoded to `out/lab.wasm.b64`.
fn build_lab(manifest_dir: &Path, cargo: &str, out: &Path) {
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("the report crate lives in <workspace>/crates/report");
    // The module is built from these crates; a change in any of them rebuilds it.
    for dir in ["lab", "config", "train", "core", "data", "analysis"] {
        let crate_dir = root.join("crates").join(dir);
        println!(
            "cargo::rerun-if-changed={}",
            crate_dir.join("src").display()
        );
        println!(
            "cargo::rerun-if-changed={}",
            crate_dir.join("Cargo.toml").display()
        );
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo::rerun-if-changed={}", root.join(file).display());
    }
    ensure_wasm_target();
    let target_dir = lab_target_dir(out);
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--package",
        "vanishing-lab",
        "--lib",
        "--profile",
        "lab",
    ])
    .args(["--target", WASM_TARGET])
    .arg("--target-dir")
    .arg(&target_dir)
    .current_dir(root);
    // What configures this build (flags for the host, clippy's wrapper, a target
    // folder) must not configure the module's: flags such as `-C target-cpu=native`
    // mean nothing to wasm32, and a wrapper would make every switch between `cargo
    // build` and `cargo clippy` rebuild the module.
    for var in ["RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET"] {
        cmd.env_remove(var);
    }
    // Set empty rather than removed: an empty value also overrides flags and wrappers
    // that a user's cargo configuration sets (`build.rustflags`, `build.rustc-wrapper`).
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env(var, "");
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo} to build the lab's module: {e}"));
    if !output.status.success() {
        panic!(
            "building the lab's WebAssembly module (cargo build -p vanishing-lab --target \
             {WASM_TARGET} --profile lab) failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let module = target_dir
        .join(WASM_TARGET)
        .join("lab")
        .join("vanishing_lab.wasm");
    let bytes = fs::read(&module)
        .unwrap_or_else(|e| panic!("cannot read the lab's module {}: {e}", module.display()));
    fs::write(out.join("lab.wasm.b64"), STANDARD.encode(&bytes)).expect("write the lab's module");
}

/// The folder the module is built in: `lab` beside this build's profile folders, so
/// that it survives between builds as they do (and `cargo clean` removes it).
fn lab_target_dir(out: &Path) -> PathBuf {
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<package>-<hash>/out.
    out.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(|| out.join("lab-target"), |target| target.join("lab"))
}

/// Adds the WebAssembly target to the toolchain when it lacks it: a
/// `rust-toolchain.toml` listing the target does not install it by itself.
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot.as_ref().is_some_and(|s| {
        s.join("lib")
            .join("rustlib")
            .join(WASM_TARGET)
            .join("lib")
            .is_dir()
    });
    if installed {
        return;
    }
    println!(
        "cargo::warning=the toolchain lacks the {WASM_TARGET} target, which the report's lab \
         is compiled for: running `rustup target add {WASM_TARGET}`"
    );
    let added = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status();
    match added {
        Ok(status) if status.success() => {}
        Ok(status) => panic!(
            "`rustup target add {WASM_TARGET}` failed ({status}); the report's lab needs that \
             target: install it for this toolchain and build again"
        ),
        Err(e) => panic!(
            "the toolchain lacks the {WASM_TARGET} target and rustup could not be run ({e}); \
             the report's lab needs that target: install it for this toolchain (with rustup: \
             `rustup target add {WASM_TARGET}`) and build again"
        ),
    }
}
/// The folder of the `charming` package this build uses: the version `Cargo.lock` pins,
/// found where cargo unpacked it (its registry sources under `CARGO_HOME`), else through
/// `cargo metadata --offline --locked`. Never the network: on a fresh machine the first
/// build has downloaded what it compiles and nothing more (not the test-only packages
/// that a full `cargo metadata` would fetch), and charming is among what it compiles.
fn find_charming(cargo: &str, root: &Path, target: &str) -> PathBuf {
    let lock = root.join("Cargo.lock");
    let version = locked_version(&lock, "charming").unwrap_or_else(|| {
        panic!(
            "{}: no locked version of the charming package, whose ECharts script the \
             report embeds",
            lock.display()
        )
    });
    let folder = format!("charming-{version}");
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let unpacked = home.and_then(|home| {
        fs::read_dir(home.join("registry").join("src"))
            .ok()?
            .filter_map(Result::ok)
            .map(|registry| registry.path().join(&folder))
            .find(|dir| dir.join("Cargo.toml").is_file())
    });
    unpacked.unwrap_or_else(|| metadata_charming(cargo, root, target, &version))
}

/// The version of `package` that `lock` pins (the only one: the workspace has one).
fn locked_version(lock: &Path, package: &str) -> Option<String> {
    let text = fs::read_to_string(lock).ok()?;
    let name = format!("name = \"{package}\"");
    let mut lines = text.lines().skip_while(|line| *line != name).skip(1);
    let version = lines
        .next()?
        .strip_prefix("version = \"")?
        .strip_suffix('"')?;
    Some(version.to_owned())
}

/// Charming's folder from `cargo metadata` without the network, for sources cargo did
/// not unpack under its home (a vendored or replaced registry).
fn metadata_charming(cargo: &str, root: &Path, target: &str, version: &str) -> PathBuf {
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(["--filter-platform", target])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .unwrap_or_else(|| {
            panic!(
                "charming {version}, whose ECharts script the report embeds, is neither \
                 among cargo's unpacked registry sources nor found by `cargo metadata \
                 --offline --locked`"
            )
        });
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "charming" && p["version"] == version)
        .and_then(|p| p["manifest_path"].as_str())
        .expect("the charming package is in the dependency graph");
    Path::new(manifest)
        .parent()
        .expect("a manifest path has a folder")
        .to_owned()
}
