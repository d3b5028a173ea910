//! Every LAMMPS run of a study, in order, with what each starts from and waits for. Runs of
//! the refinement stage depend on the coarse scan's outcome: they are listed as provisional,
//! for the usual case of one coarse interval between the last tetragonal and the first cubic
//! point.
use serde::Serialize;

use super::config::{Composition, DihedralRun, Study};
use crate::structure::Phase;

/// The stage a run belongs to, in plan order.
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
    /// Lowercase name, the first part of the run ids of the stage (e.g. `scan`).
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

/// The LAMMPS input a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ensemble {
    /// NPT with a fully flexible cell (`lammps-inputs/npt.in`).
    Npt,
    /// NVT then NVE in one LAMMPS run (equilibration, then the dumped production).
    NvtNve,
}

/// What a run starts from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Start {
    /// A cell made by the builder.
    Built {
        /// Phase of the built cell.
        phase: Phase,
    },
    /// Positions and velocities at the end of another run.
    EndOf {
        /// Id of the run whose end state it takes.
        run: String,
    },
    /// The built cubic cell with the lattice parameter averaged over another run's NPT
    /// production, times `scale`.
    AveragedCell {
        /// Id of the NPT run whose end state and averaged cell it takes.
        run: String,
        /// Factor on the averaged lattice parameters (1.0: the averaged cell itself).
        scale: f64,
    },
    /// Decided when the coarse scan has finished (refinement).
    ScanEndPoint {
        /// Which end point of the coarse bracket it starts from: the highest tetragonal or
        /// the lowest cubic run.
        end: Phase,
    },
}

/// One LAMMPS run of the plan: its cell, temperature, length, start and the runs it waits
/// for.
#[allow(non_snake_case)]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    /// Folder of the run, relative to the study's output.
    pub id: String,
    /// Stage the run belongs to.
    pub stage: Stage,
    /// Composition of its cell.
    pub composition: Composition,
    /// Conventional cells per direction of its supercell.
    pub reps: usize,
    /// Atoms in its cell.
    pub atoms: usize,
    /// None for refinement runs, whose temperatures the scan decides.
    pub temperature_K: Option<f64>,
    /// Its LAMMPS input: NPT, or NVT then NVE.
    pub ensemble: Ensemble,
    /// Steps of the NPT run, or of NVT + NVE.
    pub steps: u64,
    /// NVT steps (equilibration) of an NVT + NVE run; its dumps cover the NVE part only.
    pub equilibration_steps: u64,
    /// MD time step, fs.
    pub timestep_fs: f64,
    /// What the run starts from.
    pub start: Start,
    /// Runs that must finish first.
    pub after: Vec<String>,
    /// Velocity seed, fixed by the study's seed and the run id.
    pub seed: u64,
    /// Thermo output interval, MD steps.
    pub thermo_every: u64,
    /// Trajectory dump interval, MD steps; None: no trajectory (cell runs, and scan
    /// runs when `scan.dump_every_fs` is 0).
    pub dump_every: Option<u64>,
    /// Whether the run may not be needed: a refinement point that the coarse scan decides.
    pub provisional: bool,
}

impl Run {
    /// Atoms x MD steps: the run's cost.
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
    let mut runs = scan_runs(study);
    runs.extend(dihedral_runs(study));
    runs.extend(cell_runs(study));
    runs.extend(diffusion_runs(study));
    runs.extend(haven_runs(study));
    for r in &mut runs {
        r.seed = seed_of(study.seed, &r.id);
    }
    runs
}

/// A run with the study's time step and thermo interval, built tetragonal, NPT, no steps yet.
fn template(study: &Study, id: String, stage: Stage, composition: Composition, reps: usize) -> Run {
    let dt = study.timestep_fs;
    Run {
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
        thermo_every: steps(study.thermo_every_fs / 1000.0, dt),
        dump_every: None,
        provisional: false,
    }
}

/// The coarse scan of every composition, and the fine points of the usual bracket.
fn scan_runs(study: &Study) -> Vec<Run> {
    let dt = study.timestep_fs;
    let mut runs = Vec::new();
    let s = &study.scan;
    let scan_dump = (s.dump_every_fs > 0.0).then(|| steps(s.dump_every_fs / 1000.0, dt));
    for sc in &s.compositions {
        let (c, grid) = (&sc.composition(), s.temperatures_of(sc));
        for &t in grid {
            runs.push(Run {
                temperature_K: Some(t),
                steps: steps(s.coarse_ps, dt),
                start: Start::Built { phase: s.start },
                dump_every: scan_dump,
                ..template(
                    study,
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
                runs.push(Run {
                    steps: steps(s.fine_ps, dt),
                    start: Start::ScanEndPoint { end },
                    dump_every: scan_dump,
                    after: scan_ids.clone(),
                    provisional: true,
                    ..template(
                        study,
                        format!("refine/{}/fine{k}-from-{}", c.label(), end.name()),
                        Stage::Refine,
                        *c,
                        s.reps,
                    )
                });
            }
        }
    }
    runs
}

/// The dihedral runs that no scan run already is.
fn dihedral_runs(study: &Study) -> Vec<Run> {
    let dt = study.timestep_fs;
    let mut runs = Vec::new();
    let d = &study.dihedral;
    for r in &d.runs {
        let id = dihedral_run_id(study, r);
        if !id.starts_with("dihedral/") {
            continue; // a scan run already is this run
        }
        runs.push(Run {
            temperature_K: Some(r.temperature_k),
            steps: steps(d.ps, dt),
            start: Start::Built { phase: r.start },
            dump_every: Some(steps(d.dump_every_fs / 1000.0, dt)),
            ..template(study, id, Stage::Dihedral, r.composition, d.reps)
        });
    }
    runs
}

/// The id of the NPT run whose averaged cell the NVT runs of `c` at `t` start from.
fn cell_id(c: &Composition, t: f64) -> String {
    format!("cell/{}/{}", c.label(), t_label(t))
}

/// One NPT run per composition and temperature of the diffusion and Haven runs: their cell.
fn cell_runs(study: &Study) -> Vec<Run> {
    let dt = study.timestep_fs;
    let mut runs = Vec::new();
    let f = &study.diffusion;
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
        runs.push(Run {
            temperature_K: Some(*t),
            steps: steps(f.npt_ps, dt),
            start: Start::Built {
                phase: Phase::Cubic,
            },
            ..template(study, id, Stage::Cell, *c, f.reps)
        });
    }
    runs
}

/// NVT then NVE at each temperature and lattice scale of each diffusion set.
fn diffusion_runs(study: &Study) -> Vec<Run> {
    let dt = study.timestep_fs;
    let f = &study.diffusion;
    let mut runs = Vec::new();
    for set in &f.sets {
        for &t in &set.temperatures_k {
            for &scale in &set.lattice_scales {
                let scale_label = if scale == 1.0 {
                    String::new()
                } else {
                    format!("-a{scale:.3}")
                };
                runs.push(Run {
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
                        study,
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
    runs
}

/// The Haven runs: several NVT then NVE runs per temperature.
fn haven_runs(study: &Study) -> Vec<Run> {
    let dt = study.timestep_fs;
    let mut runs = Vec::new();
    let h = &study.haven;
    for &t in &h.temperatures_k {
        for k in 1..=h.runs {
            runs.push(Run {
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
                    study,
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
    /// The stage.
    pub stage: Stage,
    /// Its runs.
    pub runs: usize,
    /// Of them, runs that may not be needed (refinement points the scan decides).
    pub provisional: usize,
    /// Atoms x MD steps of all its runs.
    pub atom_steps: f64,
}

/// Runs and atom-steps per stage, in plan order.
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

impl std::fmt::Display for Start {
    /// What a run starts from, as the plan lists it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Start::Built { phase } => write!(f, "built {} cell", phase.name()),
            Start::EndOf { run } => write!(f, "end of {run}"),
            Start::AveragedCell { run, scale } if *scale == 1.0 => {
                write!(f, "averaged cell of {run}")
            }
            Start::AveragedCell { run, scale } => write!(f, "averaged cell of {run} x {scale}"),
            Start::ScanEndPoint { end } => write!(f, "{} end point of the scan", end.name()),
        }
    }
}

/// The cores a study may use: `launcher.cores`, or all of this machine's.
pub fn cores(study: &Study) -> usize {
    if study.launcher.cores > 0 {
        study.launcher.cores
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// The plan's wall time on this machine, from the measured speed of one run.
#[derive(Clone, Debug, Serialize)]
pub struct WallTime {
    /// Atom-steps per second of one run (launcher.threads threads, one rank), measured here.
    pub atom_steps_per_s_per_run: f64,
    /// Runs side by side: cores / (ranks x threads).
    pub parallel_runs: usize,
    /// Cores used.
    pub cores: usize,
    /// Total atom-steps over all parallel runs' speed: a lower bound (stages wait for each other).
    pub hours: f64,
}

impl WallTime {
    /// The estimate for `atom_steps` of work at `rate` atom-steps/s per rank (a speed probe).
    pub fn new(study: &Study, atom_steps: f64, rate: f64) -> WallTime {
        let cores = cores(study);
        let parallel = (cores / (study.launcher.ranks * study.launcher.threads)).max(1);
        let per_run = rate * study.launcher.ranks as f64;
        WallTime {
            atom_steps_per_s_per_run: per_run,
            parallel_runs: parallel,
            cores,
            hours: atom_steps / (per_run * parallel as f64) / 3600.0,
        }
    }
}
