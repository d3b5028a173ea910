//! The report on a synthetic finished study with known answers: four composition variants whose
//! lattice logs turn cubic at known temperatures, and diffusion dumps whose D follows an
//! Arrhenius law with a known E_a at three lattice scales. Every figure of the paper's set is
//! drawn (lattice parameters per composition, T_C against x, the variants, Arrhenius with the
//! +-1.5 % band), T_C brackets the truth and E_a comes back within its error.
mod common;

use allegro_tools::structure::Variant;
use allegro_tools::study::config::{Composition, DiffusionSet};
use allegro_tools::study::plan::Start;
use allegro_tools::study::{plan, report, Stage, Study};
use common::{random_walks, write_dump, Box3, Rng, WalkSpec};

const KB: f64 = 8.617_333_262e-5;
const EA: f64 = 0.15;

fn comp(x: f64, variant: Variant) -> Composition {
    Composition { x, variant }
}

/// T_C of each variant in the synthetic data.
fn truth(c: &Composition) -> f64 {
    match c.variant {
        Variant::Pristine => 480.0,
        Variant::WVac => 330.0,
        Variant::Vac => 380.0,
        Variant::W => 470.0,
    }
}

/// The finished runs of a synthetic study: scan logs tetragonal below `t_c` of their
/// composition, diffusion dumps of 60 random walkers with (D in A^2/ps, frames 1 ps apart) from
/// `walk` (given the run and its temperature).
fn write_runs(
    out: &std::path::Path,
    runs: &[allegro_tools::study::Run],
    seed: u64,
    t_c: impl Fn(&Composition) -> f64,
    walk: impl Fn(&allegro_tools::study::Run, f64) -> (f64, usize),
) {
    let mut rng = Rng::new(seed);
    for r in runs {
        let dir = out.join(&r.id);
        std::fs::create_dir_all(&dir).unwrap();
        let t = r.temperature_K.unwrap();
        match r.stage {
            Stage::Scan => {
                let a = 7.2 * (1.0 + 2e-5 * t);
                let tetragonal = t < t_c(&r.composition);
                common::write_lattice_log(&dir, t, a, tetragonal, &mut || rng.normal());
                common::mark_done(&dir, r.atoms, r.steps, t);
            }
            Stage::Diffusion => {
                let (d, frames) = walk(r, t);
                let spec = WalkSpec {
                    atoms: 60,
                    frames,
                    dt: 1.0,
                    d_own: [d; 3],
                    d_shared: 0.0,
                    boxes: Box::new(|_| Box3::cubic(10.0)),
                };
                let frames = random_walks(&spec, &mut rng);
                write_dump(&dir.join("traj.bin"), &frames, &[1; 60], "x", &mut rng);
                common::mark_done(&dir, 60, r.steps, t);
            }
            _ => {}
        }
    }
}

#[test]
fn every_figure_from_a_synthetic_study_with_known_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let mut s = Study::preset("demo").unwrap();
    s.output = out.to_path_buf();
    s.timestep_fs = 100.0; // dump frames 10 steps apart: 1 ps
    s.scan.compositions = vec![
        comp(0.0, Variant::Pristine).into(),
        comp(0.05, Variant::WVac).into(),
        comp(0.05, Variant::Vac).into(),
        comp(0.05, Variant::W).into(),
    ];
    s.scan.coarse_temperatures_k = (0..7).map(|k| 300.0 + 50.0 * k as f64).collect();
    s.scan.fine_step_k = 50.0;
    s.dihedral.runs.clear();
    s.haven.temperatures_k.clear();
    let doped = comp(0.05, Variant::WVac);
    s.diffusion.sets = vec![DiffusionSet {
        composition: doped,
        temperatures_k: vec![400.0, 500.0, 600.0],
        lattice_scales: vec![0.985, 1.0, 1.015],
    }];
    let runs = plan(&s);
    assert!(!runs.iter().any(|r| r.stage == Stage::Refine));
    write_runs(out, &runs, 9, truth, |r, t| {
        // a larger cell diffuses faster: the band's prefactor grows with the scale
        let Start::AveragedCell { scale, .. } = r.start else {
            panic!("{}", r.id)
        };
        ((1.0 + 20.0 * (scale - 1.0)) * (-EA / (KB * t)).exp(), 400)
    });
    let rep = report::write(&s, out, &runs).unwrap();
    for sec in &rep.lattice {
        let t_c = sec.result.as_ref().unwrap().T_C.as_ref().expect("T_C");
        let want = truth(&sec.composition);
        assert!(
            (t_c.value - want).abs() <= t_c.halfwidth + 1.0,
            "{}: {} +- {} vs {want}",
            sec.composition.label(),
            t_c.value,
            t_c.halfwidth
        );
    }
    let fits = &rep.diffusion[0].arrhenius;
    assert_eq!(fits.len(), 3);
    for (scale, fit) in fits {
        let ea = &fit.as_ref().expect("E_a").Ea_eV;
        assert!(
            (ea.value - EA).abs() < 3.0 * ea.std,
            "scale {scale}: {ea:?}"
        );
    }
    for name in [
        "lattice_pristine",
        "lattice_w-vac-x0.050",
        "lattice_vac-x0.050",
        "lattice_w-x0.050",
        "tc_vs_x",
        "variants",
        "arrhenius_w-vac-x0.050",
        "anisotropy_w-vac-x0.050",
    ] {
        for ext in ["png", "svg"] {
            assert!(out.join(format!("{name}.{ext}")).exists(), "{name}.{ext}");
        }
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| T_C w-vac-x0.050 | 325 +- 25 K |"), "{md}");
    assert!(!md.contains("no figure"), "{md}");
}

/// A damaged lattice log leaves its run out of T_C with a note (it used to abort the whole
/// report), and a cut trajectory is reported with the length analysed, not the planned one.
#[test]
fn a_damaged_log_and_a_cut_trajectory_are_notes_not_aborts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let mut s = Study::preset("demo").unwrap();
    s.output = out.to_path_buf();
    s.timestep_fs = 100.0; // dump frames 10 steps apart: 1 ps
    s.scan.compositions = vec![comp(0.0, Variant::Pristine).into()];
    s.scan.coarse_temperatures_k = (0..7).map(|k| 300.0 + 50.0 * k as f64).collect();
    s.scan.fine_step_k = 50.0;
    s.dihedral.runs.clear();
    s.haven.temperatures_k.clear();
    s.diffusion.sets = vec![DiffusionSet {
        composition: comp(0.05, Variant::WVac),
        temperatures_k: vec![500.0],
        lattice_scales: vec![1.0],
    }];
    let runs = plan(&s);
    // 9 frames 1 ps apart: 8 ps of the planned 16
    write_runs(out, &runs, 3, |_| 480.0, |_, _| (0.05, 9));
    let damaged = out.join("scan/pristine/T600/log.lammps");
    std::fs::write(&damaged, b"\x00\x01 not a log\xff").unwrap();
    let rep = report::write(&s, out, &runs).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("scan/pristine/T600: its log could not be read"),
        "{md}"
    );
    assert_eq!(rep.lattice[0].basis.runs, 6, "the damaged run is left out");
    let point = &rep.diffusion[0].points[0];
    assert!(
        (point.basis.ps_each - 8.0).abs() < 1e-9,
        "{}",
        point.basis.ps_each
    );
    assert!(
        rep.diffusion[0]
            .notes
            .iter()
            .any(|n| n.contains("8.0 ps of the planned 16.0 ps analysed")),
        "{:?}",
        rep.diffusion[0].notes
    );
}
