//! Finds the minified ECharts script that the `charming` crate ships among its sources
//! and copies it into `OUT_DIR`, so that the report can embed it: the page then opens
//! from disk with no network, and no copy of the script lives in this repository.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let charming_dir = find_charming(&cargo, &manifest_dir, &target);
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
}

/// The folder of the `charming` package this build uses, from `cargo metadata` (offline
/// first: every package being built is already on disk).
fn find_charming(cargo: &str, manifest_dir: &str, target: &str) -> PathBuf {
    let run = |offline: bool| {
        let mut cmd = Command::new(cargo);
        cmd.args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            target,
        ])
        .current_dir(manifest_dir);
        if offline {
            cmd.arg("--offline");
        }
        cmd.output().ok().filter(|o| o.status.success())
    };
    let output = run(true).or_else(|| run(false)).expect(
        "`cargo metadata` failed; it is needed to find the charming crate's ECharts script",
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let manifest = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "charming")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("the charming package is in the dependency graph");
    Path::new(manifest)
        .parent()
        .expect("a manifest path has a folder")
        .to_owned()
}
