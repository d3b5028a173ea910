//! Outputs are checked before any work: a missing folder or a folder given as a file is one
//! error line naming the path as the user gave it, and nothing is written. A closed pipe ends
//! a tool quietly.
mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::small_dump;

fn fails_naming(cmd: &mut Command, path: &Path, what: &str) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot write {}: {what}", path.display())),
        "{stderr}"
    );
}

#[test]
fn missing_output_folder_fails_before_the_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("run.dump");
    small_dump(&input);
    let missing = dir.path().join("no/such/folder/out.json");
    let plot = dir.path().join("msd");
    fails_naming(
        Command::new(env!("CARGO_BIN_EXE_allegro-diffusion"))
            .args(["--timestep", "0.1", "--species", "1", "--plot"])
            .arg(&plot)
            .arg("--json")
            .arg(&missing)
            .arg(&input),
        &missing,
        "folder",
    );
    // the plot, which would have come first, is not written either
    assert!(!dir.path().join("msd.png").exists());
    let build_data = dir.path().join("nowhere/cell.data");
    fails_naming(
        Command::new(env!("CARGO_BIN_EXE_allegro-build"))
            .arg("--data")
            .arg(&build_data),
        &build_data,
        "folder",
    );
    let plot = dir.path().join("missing/lattice");
    fails_naming(
        Command::new(env!("CARGO_BIN_EXE_allegro-dihedral"))
            .args(["--types", "1=Na,2=S", "--timestep", "0.1", "--plot"])
            .arg(&plot)
            .arg(&input),
        &plot.with_file_name("lattice.png"),
        "folder",
    );
}

#[test]
fn a_folder_as_output_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("run.dump");
    small_dump(&input);
    let folder = dir.path().join("out.json");
    std::fs::create_dir(&folder).unwrap();
    fails_naming(
        Command::new(env!("CARGO_BIN_EXE_allegro-diffusion"))
            .args(["--timestep", "0.1", "--species", "1", "--json"])
            .arg(&folder)
            .arg(&input),
        &folder,
        "it is a folder",
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_allegro-build"))
        .args(["--reps", "3", "3", "3", "--data"])
        .arg(dir.path().join("cell.data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before the tool prints
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn every_help_has_examples_that_use_real_options() {
    for (tool, exe) in [
        ("allegro-arrhenius", env!("CARGO_BIN_EXE_allegro-arrhenius")),
        ("allegro-build", env!("CARGO_BIN_EXE_allegro-build")),
        ("allegro-diffusion", env!("CARGO_BIN_EXE_allegro-diffusion")),
        ("allegro-dihedral", env!("CARGO_BIN_EXE_allegro-dihedral")),
        ("allegro-eval", env!("CARGO_BIN_EXE_allegro-eval")),
        ("allegro-phonon", env!("CARGO_BIN_EXE_allegro-phonon")),
        ("allegro-lattice", env!("CARGO_BIN_EXE_allegro-lattice")),
        ("allegro-tc-plot", env!("CARGO_BIN_EXE_allegro-tc-plot")),
    ] {
        let out = Command::new(exe).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let (options, examples) = help.split_once("Examples:").unwrap_or_else(|| {
            panic!("{tool} --help has no examples:\n{help}");
        });
        // every option is described: its first text line is not a bare default or value list
        let help_lines: Vec<&str> = options.lines().map(str::trim).collect();
        for (k, l) in help_lines.iter().enumerate() {
            if l.starts_with("--") && !l.starts_with("--help") && !l.starts_with("--version") {
                let next = help_lines[k + 1..].iter().find(|x| !x.is_empty()).unwrap();
                assert!(
                    !next.starts_with('[') && !next.starts_with("Possible values"),
                    "{tool}: option {l} has no description"
                );
            }
        }
        let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!lines.is_empty(), "{tool}");
        for line in lines {
            assert!(line.trim().starts_with(tool), "{tool}: {line}");
            for opt in line.split_whitespace().filter(|w| w.starts_with("--")) {
                assert!(
                    options.contains(&format!("{opt} ")) || options.contains(&format!("{opt}\n")),
                    "{tool}: example option {opt} is not in --help"
                );
            }
        }
    }
}

/// `-h` opens with what the tool itself does, not the crate's one-line description.
#[test]
fn short_help_says_what_each_tool_does() {
    for exe in [
        env!("CARGO_BIN_EXE_allegro-arrhenius"),
        env!("CARGO_BIN_EXE_allegro-build"),
        env!("CARGO_BIN_EXE_allegro-diffusion"),
        env!("CARGO_BIN_EXE_allegro-dihedral"),
        env!("CARGO_BIN_EXE_allegro-eval"),
        env!("CARGO_BIN_EXE_allegro-phonon"),
        env!("CARGO_BIN_EXE_allegro-lattice"),
        env!("CARGO_BIN_EXE_allegro-study"),
        env!("CARGO_BIN_EXE_allegro-tc-plot"),
    ] {
        let out = Command::new(exe).arg("-h").output().unwrap();
        let first = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            out.status.success() && !first.contains(env!("CARGO_PKG_DESCRIPTION")),
            "{exe} -h opens with: {first}"
        );
    }
}

#[test]
fn tc_plot_notes_a_composition_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let lattice = |name: &str, t: f64| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                r#"{{"runs": [], "T_C": {{"value": {t}, "halfwidth": 12.5}}, "warnings": []}}"#
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    let (a, b, c) = (
        lattice("a.json", 500.0),
        lattice("b.json", 480.0),
        lattice("c.json", 450.0),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-tc-plot"))
        .arg("--plot")
        .arg(dir.path().join("tc"))
        .args([format!("0.0={a}"), format!("0.05={b}"), format!("0.05={c}")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("note: x = 0.05 appears twice (T_C 480 and 450 K)"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| l.contains("0.0500")).count(), 2);
}
