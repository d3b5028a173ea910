//! The refinement logic and the report's T_C on synthetic lattice logs with a known transition
//! (480 K): the coarse scan brackets it between 450 and 500 K, the fine grid (12.5 K) is run
//! from both end points, and T_C comes out as the midpoint of the last tetragonal and the first
//! cubic fine point; a temperature whose two starts disagree does not count.
mod common;

use std::path::Path;

use allegro_tools::rng::Rng;
use allegro_tools::study::execute::{refine, Refinement};
use allegro_tools::study::{config, plan, report, Stage, Study};

const T_C: f64 = 480.0;

fn write_run(out: &Path, id: &str, temperature: f64, tetragonal: bool, seed: u64) {
    let dir = out.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng::new(seed);
    common::write_lattice_log(&dir, temperature, 7.2, tetragonal, &mut || rng.normal());
    common::mark_done(&dir, 432, 15000, temperature);
}

fn study(out: &Path) -> Study {
    let mut s = Study::preset("demo").unwrap();
    s.output = out.to_path_buf();
    s.scan.compositions = vec![config::Composition {
        x: 0.0,
        variant: allegro_tools::structure::Variant::Pristine,
    }
    .into()];
    s.scan.coarse_temperatures_k = (0..7).map(|k| 300.0 + 50.0 * k as f64).collect();
    s.scan.fine_step_k = 12.5;
    s.dihedral.runs.clear();
    s.diffusion.sets.clear();
    s.haven.temperatures_k.clear();
    s
}

fn run_case(disagree_at: Option<f64>) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let s = study(dir.path());
    let runs = plan(&s);
    for (k, r) in runs.iter().filter(|r| r.stage == Stage::Scan).enumerate() {
        let t = r.temperature_K.unwrap();
        write_run(dir.path(), &r.id, t, t < T_C, k as u64);
    }
    let decisions = refine(&s, dir.path(), &s.scan.compositions[0].composition(), &runs);
    let mut fine = Vec::new();
    for r in runs.iter().filter(|r| r.stage == Stage::Refine) {
        let Some(Refinement::Run { temperature, from }) = decisions.get(&r.id) else {
            panic!("{}: {:?}", r.id, decisions.get(&r.id));
        };
        let want_from = if r.id.ends_with("from-tetragonal") {
            "scan/pristine/T450"
        } else {
            "scan/pristine/T500"
        };
        assert_eq!(from, want_from, "{}", r.id);
        fine.push(*temperature);
        // both starts agree with the truth, except where told to disagree
        let tetragonal = if Some(*temperature) == disagree_at {
            r.id.ends_with("from-tetragonal")
        } else {
            *temperature < T_C
        };
        write_run(
            dir.path(),
            &r.id,
            *temperature,
            tetragonal,
            100 + fine.len() as u64,
        );
    }
    fine.sort_by(f64::total_cmp);
    fine.dedup();
    assert_eq!(fine, [462.5, 475.0, 487.5]);
    let rep = report::write(&s, dir.path(), &runs).unwrap();
    let t_c = rep.lattice[0]
        .result
        .as_ref()
        .unwrap()
        .T_C
        .as_ref()
        .expect("T_C");
    assert!(
        dir.path().join("report.md").exists() && dir.path().join("lattice_pristine.png").exists()
    );
    (t_c.value, t_c.halfwidth)
}

#[test]
fn refinement_brackets_the_known_transition() {
    // temperatures are the runs' measured means (set point +- a thermostat's noise)
    let close = |a: f64, b: f64| (a - b).abs() < 0.2;
    let (t, half) = run_case(None);
    assert!(close(t, 481.25) && close(half, 6.25), "{t} +- {half}");
    assert!((t - T_C).abs() <= half);
    // at 475 K the two starts end in different phases: that point is left out
    let (t, half) = run_case(Some(475.0));
    assert!(close(t, 475.0) && close(half, 12.5), "{t} +- {half}");
}
