//! Every seed and every kept crash of every target, through the target's check (on a thread with the stack size of
//! the front ends' worker threads, 2 MiB, where a stack overflow would abort).

use std::path::{Path, PathBuf};

use crate::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

fn replay(target: &str) -> usize {
    let run = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a target")
        .1;
    let mut count = 0;
    for kind in ["seeds", "regressions"] {
        for file in inputs(&fuzz_dir().join(kind).join(target)) {
            let data = std::fs::read(&file).unwrap();
            let name = file.display().to_string();
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || run(&data))
                .unwrap()
                .join()
                .unwrap_or_else(|_| panic!("{name} fails the `{target}` checks"));
            count += 1;
        }
    }
    count
}

#[test]
fn every_target_has_seeds_and_a_cargo_fuzz_target() {
    for (target, _) in TARGETS {
        assert!(
            !inputs(&fuzz_dir().join("seeds").join(target)).is_empty(),
            "fuzz/seeds/{target}/ is empty"
        );
        let source = std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{target}.rs")))
            .unwrap_or_else(|e| panic!("fuzz/fuzz_targets/{target}.rs: {e}"));
        assert!(
            source.contains(&format!("odp_fuzz::{target}::run(")),
            "fuzz/fuzz_targets/{target}.rs"
        );
        let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "fuzz/Cargo.toml has no [[bin]] {target}"
        );
    }
}

#[test]
fn parse_and_check_seeds_and_regressions() {
    assert!(replay("parse_and_check") > 0);
}

#[test]
fn template_seeds_and_regressions() {
    assert!(replay("template") > 0);
}

#[test]
fn config_seeds_and_regressions() {
    assert!(replay("config") > 0);
}

#[test]
fn kernel_seeds_and_regressions() {
    assert!(replay("kernel") > 0);
}

#[test]
fn lsp_seeds_and_regressions() {
    assert!(replay("lsp") > 0);
}

#[test]
fn outbox_seeds_and_regressions() {
    assert!(replay("outbox") > 0);
}

#[test]
fn format_seeds_and_regressions() {
    assert!(replay("format") > 0);
}
