//! Every LAMMPS run of a study, in order, with what each starts from and waits for. Runs of
//! the refinement stage depend on the coarse scan's outcome: they are listed as provisional,
//! for the usual case of one coarse interval between the last tetragonal and the first cubic
//! point.
use serde::Serialize;

use super::config::{Composition, DihedralRun, Study};
use crate::structure::Phase;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// NPT on the coarse grid (T_C).
    Scan,
    /// NPT on the fine grid between the end points, from both.
    Refine,
    /// NPT with dumps for the dihedrals.
    Dihedral,
    /// NPT for the averaged cell of the diffusion runs.
    Cell,
    /// NVT at the averaged cell, then NVE with dumps: tracer diffusion.
    Diffusion,
    /// NVT then NVE, several runs per temperature: D_sigma and the Haven ratio.
    Haven,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Scan => "scan",
            Stage::Refine => "refine",
            Stage::Dihedral => "dihedral",
            Stage::Cell => "cell",
            Stage::Diffusion => "diffusion",
            Stage::Haven => "haven",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ensemble {
    Npt,
    /// NVT then NVE in one LAMMPS run (equilibration, then the dumped production).
    NvtNve,
}

/// What a run starts from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Start {
    /// A cell made by the builder.
    Built { phase: Phase },
    /// Positions and velocities at the end of another run.
    EndOf { run: String },
    /// The built cubic cell with the lattice parameter averaged over another run's NPT
    /// production, times `scale`.
    AveragedCell { run: String, scale: f64 },
    /// Decided when the coarse scan has finished (refinement).
    ScanEndPoint { end: Phase },
}

#[allow(non_snake_case)]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    /// Folder of the run, relative to the study's output.
    pub id: String,
    pub stage: Stage,
    pub composition: Composition,
    pub reps: usize,
    pub atoms: usize,
    /// None for refinement runs, whose temperatures the scan decides.
    pub temperature_K: Option<f64>,
    pub ensemble: Ensemble,
    /// Steps of the NPT run, or of NVT + NVE.
    pub steps: u64,
    /// NVT steps (equilibration) of an NVT + NVE run; its dumps cover the NVE part only.
    pub equilibration_steps: u64,
    pub timestep_fs: f64,
    pub start: Start,
    /// Runs that must finish first.
    pub after: Vec<String>,
    pub seed: u64,
    pub thermo_every: u64,
    pub dump_every: Option<u64>,
    pub provisional: bool,
}

impl Run {
    pub fn atom_steps(&self) -> f64 {
        self.atoms as f64 * self.steps as f64
    }
}

fn steps(ps: f64, dt_fs: f64) -> u64 {
    (ps * 1000.0 / dt_fs).round().max(1.0) as u64
}

fn seed_of(base: u64, id: &str) -> u64 {
    // FNV-1a of the run's name: the same run always gets the same velocities
    let mut h: u64 = 0xcbf29ce484222325 ^ base;
    for b in id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    1 + h % 900_000_000
}

pub(super) fn t_label(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("T{t:.0}")
    } else {
        format!("T{t:.1}")
    }
}

/// The scan run that already is dihedral run `r` (same composition, temperature, start and
/// cell, at least as long, frames at least as often), whose trajectory the report reads instead
/// of running it again.
pub fn scan_run_for(study: &Study, r: &DihedralRun) -> Option<String> {
    let (s, d) = (&study.scan, &study.dihedral);
    let covers = s.dump_every_fs > 0.0
        && s.dump_every_fs <= d.dump_every_fs
        && s.reps == d.reps
        && s.coarse_ps >= d.ps
        && s.start == r.start;
    let label = t_label(r.temperature_k);
    s.compositions
        .iter()
        .filter(|c| covers && c.composition() == r.composition)
        .find(|c| s.temperatures_of(c).iter().any(|&t| t_label(t) == label))
        .map(|_| format!("scan/{}/{label}", r.composition.label()))
}

/// The run whose trajectory dihedral run `r` reads: the scan run that covers it, else its own.
pub fn dihedral_run_id(study: &Study, r: &DihedralRun) -> String {
    scan_run_for(study, r).unwrap_or_else(|| {
        format!(
            "dihedral/{}/{}",
            r.composition.label(),
            t_label(r.temperature_k)
        )
    })
}

/// All runs of a study, in an order that respects `after`.
pub fn plan(study: &Study) -> Vec<Run> {
    let dt = study.timestep_fs;
    let thermo = steps(study.thermo_every_fs / 1000.0, dt);
    let mut runs = Vec::new();
    let mut push = |mut r: Run| {
        r.seed = seed_of(study.seed, &r.id);
        runs.push(r);
    };
    let template = |id: String, stage, composition: Composition, reps: usize| Run {
        id,
        stage,
        composition,
        reps,
        atoms: composition.variant.atoms(composition.x, [reps; 3]),
        temperature_K: None,
        ensemble: Ensemble::Npt,
        steps: 0,
        equilibration_steps: 0,
        timestep_fs: dt,
        start: Start::Built {
            phase: Phase::Tetragonal,
        },
        after: Vec::new(),
        seed: 0,
        thermo_every: thermo,
        dump_every: None,
        provisional: false,
    };
    let s = &study.scan;
    let scan_dump = (s.dump_every_fs > 0.0).then(|| steps(s.dump_every_fs / 1000.0, dt));
    for sc in &s.compositions {
        let (c, grid) = (&sc.composition(), s.temperatures_of(sc));
        for &t in grid {
            push(Run {
                temperature_K: Some(t),
                steps: steps(s.coarse_ps, dt),
                start: Start::Built { phase: s.start },
                dump_every: scan_dump,
                ..template(
                    format!("scan/{}/{}", c.label(), t_label(t)),
                    Stage::Scan,
                    *c,
                    s.reps,
                )
            });
        }
        // The usual bracket: one coarse interval, its interior fine points from both ends.
        let coarse_step = grid
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(f64::MAX, f64::min);
        let interior = if coarse_step.is_finite() && coarse_step < f64::MAX {
            ((coarse_step / s.fine_step_k).round() as usize).saturating_sub(1)
        } else {
            0
        };
        let scan_ids: Vec<String> = grid
            .iter()
            .map(|&t| format!("scan/{}/{}", c.label(), t_label(t)))
            .collect();
        for k in 1..=interior {
            for end in [Phase::Tetragonal, Phase::Cubic] {
                push(Run {
                    steps: steps(s.fine_ps, dt),
                    start: Start::ScanEndPoint { end },
                    dump_every: scan_dump,
                    after: scan_ids.clone(),
                    provisional: true,
                    ..template(
                        format!("refine/{}/fine{k}-from-{}", c.label(), end.name()),
                        Stage::Refine,
                        *c,
                        s.reps,
                    )
                });
            }
        }
    }
    let d = &study.dihedral;
    for r in &d.runs {
        let id = dihedral_run_id(study, r);
        if !id.starts_with("dihedral/") {
            continue; // a scan run already is this run
        }
        push(Run {
            temperature_K: Some(r.temperature_k),
            steps: steps(d.ps, dt),
            start: Start::Built { phase: r.start },
            dump_every: Some(steps(d.dump_every_fs / 1000.0, dt)),
            ..template(id, Stage::Dihedral, r.composition, d.reps)
        });
    }
    let f = &study.diffusion;
    let cell_id = |c: &Composition, t: f64| format!("cell/{}/{}", c.label(), t_label(t));
    let mut cells: Vec<(Composition, f64)> = Vec::new();
    for set in &f.sets {
        for &t in &set.temperatures_k {
            cells.push((set.composition, t));
        }
    }
    for &t in &study.haven.temperatures_k {
        cells.push((study.haven.composition, t));
    }
    let mut seen: Vec<String> = Vec::new();
    for (c, t) in &cells {
        let id = cell_id(c, *t);
        if seen.contains(&id) {
            continue;
        }
        seen.push(id.clone());
        push(Run {
            temperature_K: Some(*t),
            steps: steps(f.npt_ps, dt),
            start: Start::Built {
                phase: Phase::Cubic,
            },
            ..template(id, Stage::Cell, *c, f.reps)
        });
    }
    for set in &f.sets {
        for &t in &set.temperatures_k {
            for &scale in &set.lattice_scales {
                let scale_label = if scale == 1.0 {
                    String::new()
                } else {
                    format!("-a{scale:.3}")
                };
                push(Run {
                    temperature_K: Some(t),
                    ensemble: Ensemble::NvtNve,
                    equilibration_steps: steps(f.nvt_ps, dt),
                    steps: steps(f.nvt_ps, dt) + steps(f.nve_ps, dt),
                    start: Start::AveragedCell {
                        run: cell_id(&set.composition, t),
                        scale,
                    },
                    after: vec![cell_id(&set.composition, t)],
                    dump_every: Some(steps(f.dump_every_fs / 1000.0, dt)),
                    ..template(
                        format!(
                            "diffusion/{}/{}{scale_label}",
                            set.composition.label(),
                            t_label(t)
                        ),
                        Stage::Diffusion,
                        set.composition,
                        f.reps,
                    )
                });
            }
        }
    }
    let h = &study.haven;
    for &t in &h.temperatures_k {
        for k in 1..=h.runs {
            push(Run {
                temperature_K: Some(t),
                ensemble: Ensemble::NvtNve,
                equilibration_steps: steps(h.nvt_ps, dt),
                steps: steps(h.nvt_ps, dt) + steps(h.nve_ps, dt),
                start: Start::AveragedCell {
                    run: cell_id(&h.composition, t),
                    scale: 1.0,
                },
                after: vec![cell_id(&h.composition, t)],
                dump_every: Some(steps(h.dump_every_fs / 1000.0, dt)),
                ..template(
                    format!("haven/{}/{}/run{k}", h.composition.label(), t_label(t)),
                    Stage::Haven,
                    h.composition,
                    h.reps,
                )
            });
        }
    }
    runs
}

/// Totals of one stage.
#[derive(Clone, Debug, Serialize)]
pub struct StageTotal {
    pub stage: Stage,
    pub runs: usize,
    pub provisional: usize,
    pub atom_steps: f64,
}

pub fn totals(runs: &[Run]) -> Vec<StageTotal> {
    let mut out: Vec<StageTotal> = Vec::new();
    for r in runs {
        match out.iter_mut().find(|t| t.stage == r.stage) {
            Some(t) => {
                t.runs += 1;
                t.provisional += r.provisional as usize;
                t.atom_steps += r.atom_steps();
            }
            None => out.push(StageTotal {
                stage: r.stage,
                runs: 1,
                provisional: r.provisional as usize,
                atom_steps: r.atom_steps(),
            }),
        }
    }
    out
}
