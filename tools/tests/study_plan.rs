//! The study plans against the paper's Methods: sizes, grids, durations, ensembles, starts and
//! the order of dependent runs; study files overriding presets.
use std::collections::HashSet;
use std::process::Command;

use allegro_tools::structure::{Phase, Variant};
use allegro_tools::study::plan::{Ensemble, Start};
use allegro_tools::study::{plan, Stage, Study};

fn runs_of(stage: Stage, runs: &[allegro_tools::study::Run]) -> Vec<&allegro_tools::study::Run> {
    runs.iter().filter(|r| r.stage == stage).collect()
}

#[test]
fn paper_preset_is_the_papers_protocol() {
    let study = Study::preset("paper").unwrap();
    let runs = plan(&study);
    assert!(runs.iter().all(|r| r.timestep_fs == 2.0));
    // T_C scans: 12x12x12 conventional cells, 200-600 K every 50 K, 200 ps NPT.
    let scan = runs_of(Stage::Scan, &runs);
    assert_eq!(scan.len(), 7 * 9);
    for r in &scan {
        assert_eq!((r.reps, r.ensemble, r.steps), (12, Ensemble::Npt, 100_000));
        assert_eq!(
            r.start,
            Start::Built {
                phase: Phase::Tetragonal
            }
        );
    }
    let temps: Vec<f64> = scan
        .iter()
        .take(9)
        .map(|r| r.temperature_K.unwrap())
        .collect();
    assert_eq!(
        temps,
        [200.0, 250.0, 300.0, 350.0, 400.0, 450.0, 500.0, 550.0, 600.0]
    );
    let pristine = scan
        .iter()
        .find(|r| r.composition.variant == Variant::Pristine)
        .unwrap();
    assert_eq!(pristine.atoms, 16 * 12 * 12 * 12);
    // one Na vacancy per W: x = 0.1 on 3,456 formula units
    let x10 = scan.iter().find(|r| r.composition.x == 0.1).unwrap();
    assert_eq!(x10.atoms, 27_648 - 346);
    // the four variants at x = 0.05 (pristine is x = 0)
    let variants: HashSet<&str> = scan
        .iter()
        .filter(|r| r.composition.x == 0.05 || r.composition.variant == Variant::Pristine)
        .map(|r| r.composition.variant.name())
        .collect();
    assert_eq!(variants, HashSet::from(["pristine", "w-vac", "vac", "w"]));
    // refinement: 12.5 K grid inside one 50 K interval (3 points), from both end points, 400 ps
    let refine = runs_of(Stage::Refine, &runs);
    assert_eq!(refine.len(), 7 * 3 * 2);
    for r in &refine {
        assert!(r.provisional && r.steps == 200_000 && r.ensemble == Ensemble::Npt);
        assert_eq!(r.after.len(), 9, "waits for its composition's coarse scan");
    }
    // diffusion: 8x8x8, 0.5 ns NVT + 0.5 ns NVE at the NPT-averaged cell, +-1.5 % band for x = 0.1
    let diffusion = runs_of(Stage::Diffusion, &runs);
    for r in &diffusion {
        assert_eq!(
            (r.reps, r.ensemble, r.steps, r.equilibration_steps),
            (8, Ensemble::NvtNve, 500_000, 250_000)
        );
        assert!(
            matches!(&r.start, Start::AveragedCell { run, .. } if r.after == vec![run.clone()])
        );
    }
    let scales: HashSet<String> = diffusion
        .iter()
        .filter(|r| r.composition.x == 0.1)
        .map(|r| match &r.start {
            Start::AveragedCell { scale, .. } => format!("{scale}"),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        scales,
        HashSet::from(["0.985".to_string(), "1".to_string(), "1.015".to_string()])
    );
    // Haven ratio: 4x4x4, 4 runs per temperature, 0.5 ns NVT each, 48 ns of NVE in total
    let haven = runs_of(Stage::Haven, &runs);
    for t in &study.haven.temperatures_k {
        let at: Vec<_> = haven
            .iter()
            .filter(|r| r.temperature_K == Some(*t))
            .collect();
        assert_eq!(at.len(), 4);
        let nve_ns: f64 = at
            .iter()
            .map(|r| (r.steps - r.equilibration_steps) as f64 * 2e-6)
            .sum();
        assert!((nve_ns - 48.0).abs() < 1e-9, "{nve_ns} ns of NVE at {t} K");
        assert!(at
            .iter()
            .all(|r| r.reps == 4 && r.equilibration_steps == 250_000));
    }
}

#[test]
fn every_plan_is_ordered_and_unique() {
    for name in ["demo", "workstation", "paper"] {
        let runs = plan(&Study::preset(name).unwrap());
        let mut seen = HashSet::new();
        let mut seeds = HashSet::new();
        for r in &runs {
            for a in &r.after {
                assert!(
                    seen.contains(a.as_str()),
                    "{name}: {} waits for {a}, which comes later",
                    r.id
                );
            }
            assert!(seen.insert(r.id.as_str()), "{name}: {} twice", r.id);
            assert!(seeds.insert(r.seed), "{name}: seed of {} repeats", r.id);
            assert!(r.atoms > 0 && r.steps > 0 && r.thermo_every > 0);
        }
    }
}

#[test]
fn a_study_file_overrides_its_preset() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        "preset = \"paper\"\noutput = \"out\"\n[model]\npath = \"m.nequip.pth\"\n[scan]\nreps = 6\ncoarse_temperatures_k = [300.0, 400.0]\n",
    )
    .unwrap();
    let s = Study::load(Some(&file), None).unwrap();
    assert_eq!(s.scan.reps, 6);
    assert_eq!(
        s.scan.coarse_ps, 200.0,
        "fields the file does not set keep the preset's"
    );
    assert_eq!(s.model.path, dir.path().join("m.nequip.pth"));
    assert_eq!(s.output, dir.path().join("out"));
    let runs = plan(&s);
    assert_eq!(runs_of(Stage::Scan, &runs).len(), 7 * 2);
    // 100 K coarse step / 12.5 K: 7 interior points, from both ends
    assert_eq!(runs_of(Stage::Refine, &runs).len(), 7 * 7 * 2);

    std::fs::write(&file, "[scan]\nrepz = 6\n").unwrap();
    let e = Study::load(Some(&file), None).unwrap_err().to_string();
    assert!(e.contains("repz"), "{e}");
    std::fs::write(&file, "[scan]\nfine_ps = -1.0\n").unwrap();
    let e = Study::load(Some(&file), None).unwrap_err().to_string();
    assert!(e.contains("scan.fine_ps must be positive"), "{e}");
    std::fs::write(&file, "barostat_drag = -0.5\n").unwrap();
    let e = Study::load(Some(&file), None).unwrap_err().to_string();
    assert!(
        e.contains("barostat_drag must be 0 (none) or positive"),
        "{e}"
    );
    std::fs::write(&file, "preset = \"huge\"\n").unwrap();
    let e = Study::load(Some(&file), None).unwrap_err().to_string();
    assert!(e.contains("unknown preset 'huge'"), "{e}");
}

/// Each composition scans its own grid where it has one (T_C falls with x), the common grid
/// otherwise; a dihedral run that a scan run already is (same composition, temperature, start
/// and cell, at least as long, frames at least as often) is not run twice.
#[test]
fn compositions_scan_their_own_grids_and_scan_runs_serve_as_dihedral_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        r#"preset = "demo"
[scan]
coarse_temperatures_k = [200.0, 300.0]
fine_step_k = 125.0
coarse_ps = 6.0
dump_every_fs = 40.0
reps = 3
start = "tetragonal"
compositions = [
    { x = 0.0, variant = "pristine", temperatures_k = [400.0, 650.0] },
    { x = 0.1, variant = "vac" },
]
[dihedral]
reps = 3
ps = 6.0
dump_every_fs = 40.0
runs = [
    { composition = { x = 0.0, variant = "pristine" }, temperature_k = 400.0, start = "tetragonal" },
    { composition = { x = 0.1, variant = "vac" }, temperature_k = 300.0, start = "cubic" },
]
"#,
    )
    .unwrap();
    let s = Study::load(Some(&file), None).unwrap();
    let runs = plan(&s);
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    let scans: Vec<&str> = runs_of(Stage::Scan, &runs)
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        scans,
        [
            "scan/pristine/T400",
            "scan/pristine/T650",
            "scan/vac-x0.100/T200",
            "scan/vac-x0.100/T300"
        ]
    );
    // each grid refined on its own step: pristine 250 K / 125 K, one fine point from both ends,
    // waiting for its own two coarse runs; vacancies 100 K: none
    let refine = runs_of(Stage::Refine, &runs);
    assert_eq!(refine.len(), 2);
    assert!(refine
        .iter()
        .all(|r| r.composition.x == 0.0 && r.after.len() == 2));
    // the pristine 400 K dihedral run is the scan run; the vacancy one starts cubic: run apart
    let d = &s.dihedral.runs;
    assert_eq!(
        allegro_tools::study::plan::scan_run_for(&s, &d[0]).as_deref(),
        Some("scan/pristine/T400")
    );
    assert_eq!(allegro_tools::study::plan::scan_run_for(&s, &d[1]), None);
    assert_eq!(
        runs_of(Stage::Dihedral, &runs)
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["dihedral/vac-x0.100/T300"]
    );
    assert!(!ids.contains(&"dihedral/pristine/T400"));
    // a longer dihedral run than the scan's, or sparser scan frames: run apart
    let mut longer = s.clone();
    longer.dihedral.ps = 12.0;
    assert_eq!(
        allegro_tools::study::plan::scan_run_for(&longer, &d[0]),
        None
    );
    let mut sparse = s.clone();
    sparse.scan.dump_every_fs = 80.0;
    assert_eq!(
        allegro_tools::study::plan::scan_run_for(&sparse, &d[0]),
        None
    );

    std::fs::write(
        &file,
        "[scan]
compositions = [{ x = 0.0, variant = \"pristine\", temperatures_k = [400.01, 400.04] }]\n",
    )
    .unwrap();
    let e = Study::load(Some(&file), None).unwrap_err().to_string();
    assert!(
        e.contains("scan.compositions.temperatures_k: 400.01 K and 400.04 K are the same run"),
        "{e}"
    );
}

#[test]
fn plan_json_from_the_command_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-study"))
        .args(["plan", "--preset", "paper", "--json", "--no-probe"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = v["runs"].as_array().unwrap();
    let first = &runs[0];
    for key in [
        "id",
        "stage",
        "composition",
        "atoms",
        "temperature_K",
        "ensemble",
        "steps",
        "timestep_fs",
        "start",
    ] {
        assert!(!first[key].is_null(), "run field {key} missing: {first}");
    }
    assert_eq!(first["stage"], "scan");
    assert_eq!(first["start"]["kind"], "built");
    let total: f64 = runs
        .iter()
        .map(|r| r["atoms"].as_f64().unwrap() * r["steps"].as_f64().unwrap())
        .sum();
    assert!((v["atom_steps"].as_f64().unwrap() - total).abs() < 1e-6 * total);
    // with the probe: an estimate from the shipped model's speed here
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-study"))
        .args(["plan", "--preset", "demo", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["estimate"]["atom_steps_per_s_per_run"].as_f64().unwrap() > 100.0);
    assert!(v["estimate"]["hours"].as_f64().unwrap() > 0.0);
}

/// Values that would share a run folder are refused, never merged into one run; counts and
/// durations have upper bounds; each message names the field.
#[test]
fn colliding_ids_and_unbounded_counts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    let base = "preset = \"demo\"\noutput = \"out\"\n[model]\npath = \"m.nequip.pth\"\n";
    let refused = |extra: &str, expected: &str| {
        std::fs::write(&file, format!("{base}{extra}")).unwrap();
        let e = Study::load(Some(&file), None).unwrap_err().to_string();
        assert!(e.contains(expected), "{extra}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    };
    refused(
        "[scan]\ncoarse_temperatures_k = [300.01, 300.04, 400.0]\n",
        "300.01 K and 300.04 K are the same run (T300.0)",
    );
    refused(
        "[scan]\ncoarse_temperatures_k = [300.0, 400.0, 300.0]\n",
        "300 K and 300 K are the same run",
    );
    refused(
        "[[scan.compositions]]\nx = 0.1\nvariant = \"vac\"\n[[scan.compositions]]\nx = 0.1004\nvariant = \"vac\"\n",
        "x = 0.1 and x = 0.1004 of vac are the same run",
    );
    refused("[scan]\nfine_step_k = 1e-9\n", "fine points in a");
    refused(
        "[haven]\nruns = 100000000\n",
        "haven.runs = 100000000 is more than 1000",
    );
    refused(
        "[launcher]\nranks = 4000000000\nthreads = 4000000000\n",
        "is more than",
    );
    refused(
        "[diffusion]\nnve_ps = 1e12\n",
        "diffusion.nve_ps = 1000000000000 ps is more than",
    );
    refused(
        "[haven]\ndump_every_fs = 0.1\n",
        "haven.dump_every_fs = 0.1 fs is shorter than the timestep",
    );
    // the presets themselves pass
    for name in ["demo", "workstation", "paper"] {
        Study::preset(name).unwrap().validate().unwrap();
    }
}
