//! The declared MSRV is true: it equals the highest `rust-version` any (normal) dependency
//! declares, i.e. the lowest the dependency graph allows. (`cargo` itself refuses a toolchain
//! older than the package's `rust-version`.)
#![cfg(all(feature = "serde", feature = "csv"))]

use serde_json::Value;
use std::collections::HashSet;

fn version(v: &str) -> (u64, u64) {
    let mut it = v.split('.').map(|x| x.parse::<u64>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[test]
fn rust_version_is_the_dependency_graphs_minimum() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = m["packages"].as_array().unwrap();
    let by_id = |id: &str| packages.iter().find(|p| p["id"] == id).unwrap();
    let root = m["resolve"]["root"].as_str().unwrap();
    let nodes = m["resolve"]["nodes"].as_array().unwrap();
    let node = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap();
    // Normal (non-dev, non-build) dependencies, transitively.
    let (mut seen, mut stack) = (HashSet::new(), vec![root.to_string()]);
    while let Some(id) = stack.pop() {
        for d in node(&id)["deps"].as_array().unwrap() {
            let normal = d["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let pkg = d["pkg"].as_str().unwrap().to_string();
            if normal && seen.insert(pkg.clone()) {
                stack.push(pkg);
            }
        }
    }
    let (needed, by) = seen
        .iter()
        .filter_map(|id| {
            let p = by_id(id);
            p["rust_version"]
                .as_str()
                .map(|v| (version(v), p["name"].as_str().unwrap().to_string()))
        })
        .max()
        .unwrap();
    let ours = version(by_id(root)["rust_version"].as_str().unwrap());
    assert_eq!(
        ours, needed,
        "rust-version {ours:?} but {by} needs {needed:?}"
    );
}
