//! allegro-lattice on constructed LAMMPS logs with a known transition: tetragonal runs up to
//! 500 K (long axis along z or x), a run that switches at 512.5 K, cubic runs from 525 K.
mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use allegro_tools::lattice::{analyse, Phase, RunSeries, Settings};
use allegro_tools::trajectory::log::read_log;
use common::Rng;

const A: f64 = 7.15;

/// Lengths of a 4x4x4 cell per row: `shape(row)` gives (c/a, unique axis); an equilibration
/// transient from a cubic start decays over the first 15 % of rows.
fn write_log(
    path: &Path,
    temperature: f64,
    rows: usize,
    seed: u64,
    shape: impl Fn(usize) -> (f64, usize),
) {
    let mut rng = Rng::new(seed);
    let mut out = String::from("LAMMPS (22 Jul 2025)\nunits metal\n");
    for (block, range) in [(0, 0..rows / 2), (1, rows / 2..rows)] {
        writeln!(
            out,
            "Per MPI rank memory allocation (min/avg/max) = 3.1 | 3.1 | 3.1 Mbytes"
        )
        .unwrap();
        writeln!(
            out,
            "   Step          Temp          Press           Lx             Ly             Lz"
        )
        .unwrap();
        for r in range {
            if r == rows / 4 {
                writeln!(
                    out,
                    "WARNING: a message LAMMPS prints between thermo lines (src/x.cpp:1)"
                )
                .unwrap();
            }
            let (ratio, axis) = shape(r);
            let relax = (-(r as f64) / (0.03 * rows as f64)).exp();
            let ratio = 1.0 + (ratio - 1.0) * (1.0 - relax);
            let mut l = [4.0 * A; 3];
            l[axis] *= ratio;
            let l = l.map(|x| x * (1.0 + 0.001 * rng.normal()));
            let t = temperature + 5.0 * rng.normal();
            writeln!(
                out,
                "{:>8} {:>14.6} {:>14.4} {:>14.8} {:>14.8} {:>14.8}",
                100 * r,
                t,
                10.0 * rng.normal(),
                l[0],
                l[1],
                l[2]
            )
            .unwrap();
        }
        writeln!(
            out,
            "Loop time of {} on 1 procs for {} steps with 1024 atoms\n",
            1.0 + block as f64,
            rows / 2
        )
        .unwrap();
    }
    std::fs::write(path, out).unwrap();
}

fn series(path: &Path) -> RunSeries {
    let log = read_log(path).unwrap();
    assert_eq!(log.blocks.len(), 2);
    let mut s = RunSeries {
        name: path.display().to_string(),
        temperature: vec![],
        lengths: vec![],
        per_cell: false,
        angles: Vec::new(),
    };
    for b in &log.blocks {
        let (t, x, y, z) = (
            b.column("Temp").unwrap(),
            b.column("Lx").unwrap(),
            b.column("Ly").unwrap(),
            b.column("Lz").unwrap(),
        );
        for r in &b.rows {
            s.temperature.push(r[t]);
            s.lengths.push([r[x], r[y], r[z]]);
        }
    }
    s
}

fn runs(dir: &Path) -> Vec<(String, f64)> {
    let n = 400;
    let mut out = Vec::new();
    for (k, &t) in [400.0, 450.0, 500.0].iter().enumerate() {
        let p = dir.join(format!("tet{t}.log"));
        write_log(&p, t, n, k as u64, |_| (1.018, if k == 1 { 0 } else { 2 }));
        out.push((p.display().to_string(), t));
    }
    let p = dir.join("switch512.log");
    write_log(&p, 512.5, n, 10, |r| {
        if (r / 60) % 2 == 0 {
            (1.016, 2)
        } else {
            (1.0, 2)
        }
    });
    out.push((p.display().to_string(), 512.5));
    for (k, &t) in [525.0, 550.0, 600.0].iter().enumerate() {
        let p = dir.join(format!("cub{t}.log"));
        write_log(&p, t, n, 20 + k as u64, |_| (1.0, 2));
        out.push((p.display().to_string(), t));
    }
    out
}

#[test]
fn known_transition_and_switching_run() {
    let dir = tempfile::tempdir().unwrap();
    let files = runs(dir.path());
    let s: Vec<RunSeries> = files.iter().map(|(p, _)| series(Path::new(p))).collect();
    let result = analyse(
        &s,
        &Settings {
            reps: [4.0; 3],
            ..Settings::default()
        },
    )
    .unwrap();
    let phases: Vec<Phase> = result.runs.iter().map(|r| r.phase).collect();
    use Phase::*;
    assert_eq!(
        phases,
        vec![Tetragonal, Tetragonal, Tetragonal, Mixed, Cubic, Cubic, Cubic]
    );
    let t_c = result.T_C.unwrap();
    assert!(
        (t_c.value - 512.5).abs() < 1.5 && (t_c.halfwidth - 12.5).abs() < 1.5,
        "{t_c:?}"
    );
    let r450 = &result.runs[1];
    assert_eq!(r450.unique_axis, 0);
    assert!(
        (r450.c_over_a - 1.018).abs() < 0.002 && (r450.a_A.value - A).abs() < 0.01,
        "{r450:?}"
    );
    // tetragonal runs relax from a cubic start: the detected cut skips the transient
    assert!(result.runs[..3]
        .iter()
        .all(|r| r.equilibration_rows > 0 && r.equilibration_rows < 200));
}

#[test]
fn disagreeing_starts_warn_and_cli_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = runs(dir.path());
    // a second 525 K run, started tetragonal, that stays tetragonal
    let p = dir.path().join("tet525.log");
    write_log(&p, 525.0, 400, 99, |_| (1.017, 1));
    files.push((p.display().to_string(), 525.0));
    let json = dir.path().join("lattice.json");
    let out = common::run_ok(
        Command::new(env!("CARGO_BIN_EXE_allegro-lattice"))
            .args(["--reps", "4", "4", "4", "--json"])
            .arg(&json)
            .args(files.iter().map(|f| f.0.clone())),
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stderr.contains("runs at 52") && stderr.contains("disagree"),
        "{stderr}"
    );
    // 525 K is disputed, so the lowest clear cubic point is 550 K
    assert!(stdout.contains("T_C = 52"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(
        (v["T_C"]["value"].as_f64().unwrap() - 525.0).abs() < 1.5,
        "{v}"
    );
    assert!(
        (v["T_C"]["halfwidth"].as_f64().unwrap() - 25.0).abs() < 1.5,
        "{v}"
    );
}

#[test]
fn truncated_log_and_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    write_log(&p, 300.0, 40, 1, |_| (1.0, 2));
    let text = std::fs::read_to_string(&p).unwrap();
    // cut inside the second block, mid-line
    let cut = text.rfind("Loop time").unwrap() - 30;
    std::fs::write(&p, &text[..cut]).unwrap();
    let log = read_log(&p).unwrap();
    assert!(log.truncated.as_deref().unwrap().contains("no 'Loop time'"));
    assert_eq!(log.blocks[1].rows.len(), 19);
    // a malformed line inside a finished block is an error naming the line
    let bad = text.replacen("Loop time of 1", "12 3.0 oops\nLoop time of 1", 1);
    std::fs::write(&p, bad).unwrap();
    let e = read_log(&p).unwrap_err().to_string();
    assert!(
        e.contains("a.log: line") && e.contains("expected 6 thermo columns"),
        "{e}"
    );
}

#[test]
fn a_dump_without_its_temperature_says_how_to_give_it() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("npt.dump");
    let spec = common::WalkSpec {
        atoms: 4,
        frames: 12,
        dt: 1.0,
        d_own: [0.01; 3],
        d_shared: 0.0,
        boxes: Box::new(|_| common::Box3::cubic(8.0)),
    };
    let mut rng = Rng::new(2);
    let frames = common::random_walks(&spec, &mut rng);
    common::write_dump(&dump, &frames, &[1, 1, 2, 2], "x", &mut rng);
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-lattice"))
        .args(["--reps", "1", "1", "1"])
        .arg(&dump)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "is a LAMMPS dump, not a log: give it as {}:T with T in K",
            dump.display()
        )) && stderr.lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn a_log_with_a_temperature_says_to_drop_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.lammps");
    write_log(&log, 400.0, 40, 1, |_| (1.0, 2));
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-lattice"))
        .arg(format!("{}:400", log.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("is a LAMMPS log, not a dump: give it without ':400'")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// The project's own inputs print lengths per conventional cell as `v_a v_b v_c`: read without
/// --length-columns, and --reps does not divide them again.
#[test]
fn per_cell_columns_of_the_project_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log.lammps");
    let mut rng = Rng::new(5);
    let mut out = String::from("LAMMPS (22 Jul 2025)\nPer MPI rank memory allocation (min/avg/max) = 3.1 | 3.1 | 3.1 Mbytes\n   Step          Time           Temp          v_a            v_b            v_c\n");
    for r in 0..400 {
        let l = [A, A, 1.02 * A].map(|x| x * (1.0 + 0.001 * rng.normal()));
        writeln!(
            out,
            "{} {} {} {} {} {}",
            25 * r,
            0.05 * r as f64,
            300.0 + rng.normal(),
            l[0],
            l[1],
            l[2]
        )
        .unwrap();
    }
    out.push_str("Loop time of 1 on 1 procs for 10000 steps with 1024 atoms\n");
    std::fs::write(&p, out).unwrap();
    for reps in [["1", "1", "1"], ["4", "4", "4"]] {
        let json = dir.path().join("lat.json");
        common::run_ok(
            Command::new(env!("CARGO_BIN_EXE_allegro-lattice"))
                .arg("--reps")
                .args(reps)
                .arg("--json")
                .arg(&json)
                .arg(&p),
        );
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let run = &v["runs"][0];
        assert_eq!(run["phase"], "tetragonal", "{run}");
        assert!(
            (run["a_A"]["value"].as_f64().unwrap() - A).abs() < 0.01,
            "{run}"
        );
        assert!(
            (run["c_over_a"].as_f64().unwrap() - 1.02).abs() < 0.002,
            "{run}"
        );
    }
}
