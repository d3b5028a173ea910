//! The study file: every setting of the protocol, with units in the names. A preset gives all
//! of them; the study file overrides any field (tables merge, lists replace).
use std::path::{Path, PathBuf};

use super::error::{io, Result, StudyError};

/// Returns a `StudyError::Config` with a formatted message.
macro_rules! config {
    ($($msg:tt)+) => {
        return Err(StudyError::Config(format!($($msg)+)))
    };
}
use serde::{Deserialize, Serialize};

use crate::structure::{Phase, Variant};

/// One composition: x per formula unit of a variant (pristine takes x = 0).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Composition {
    /// x per formula unit: W and/or Na-vacancy content, as the variant defines it.
    pub x: f64,
    /// Which of the four composition variants.
    pub variant: Variant,
}

impl Composition {
    /// Name in run ids and reports: `pristine`, or the variant and x to three decimals
    /// (e.g. `w-vac-x0.050`).
    pub fn label(&self) -> String {
        match self.variant {
            Variant::Pristine => "pristine".into(),
            v => format!("{}-x{:.3}", v.name(), self.x),
        }
    }
}

fn comp(x: f64, variant: Variant) -> Composition {
    Composition { x, variant }
}

/// One composition of the temperature scan, optionally with its own coarse grid: T_C falls
/// with x, so a grid that brackets every composition's T_C with few runs differs between them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanComposition {
    /// x per formula unit, as in [`Composition`].
    pub x: f64,
    /// Which of the four composition variants.
    pub variant: Variant,
    /// This composition's coarse grid, K; absent: `scan.coarse_temperatures_k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperatures_k: Option<Vec<f64>>,
}

impl ScanComposition {
    /// The composition alone, without its grid.
    pub fn composition(&self) -> Composition {
        comp(self.x, self.variant)
    }
}

/// Compositions scanned on the common grid.
fn on_common_grid(list: Vec<Composition>) -> Vec<ScanComposition> {
    list.into_iter().map(Into::into).collect()
}

/// A composition scanned on its own grid.
fn on_grid(c: Composition, temperatures_k: &[f64]) -> ScanComposition {
    ScanComposition {
        temperatures_k: Some(temperatures_k.to_vec()),
        ..c.into()
    }
}

impl From<Composition> for ScanComposition {
    fn from(c: Composition) -> Self {
        ScanComposition {
            x: c.x,
            variant: c.variant,
            temperatures_k: None,
        }
    }
}

/// The deployed model the runs use and the types of its LAMMPS atoms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Deployed model (.nequip.pth); relative paths are relative to the study file.
    pub path: PathBuf,
    /// Model type name of LAMMPS types 1, 2, 3, 4 (the builder writes Na, Sb, W, S).
    pub type_map: Vec<String>,
}

/// How LAMMPS runs are started: executable, MPI launcher, ranks, threads and cores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Launcher {
    /// LAMMPS executable; empty: the `lmp` of this project's .venv, else `lmp` on PATH.
    pub lmp: String,
    /// MPI launcher used when ranks > 1 (locally) and in Slurm scripts.
    pub mpirun: String,
    /// MPI ranks per LAMMPS run.
    pub ranks: usize,
    /// Threads of the model per rank (`pair_style allegro threads N`).
    pub threads: usize,
    /// Cores to use for local runs; 0: all of this machine's.
    pub cores: usize,
}

/// NPT temperature scans for T_C: coarse grid, then a fine grid between the highest
/// tetragonal and the lowest cubic point, run from both end points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    /// The compositions scanned, each optionally on its own coarse grid.
    pub compositions: Vec<ScanComposition>,
    /// Conventional cells per direction.
    pub reps: usize,
    /// Coarse grid of the compositions without their own.
    pub coarse_temperatures_k: Vec<f64>,
    /// Spacing of the fine grid between the highest tetragonal and the lowest cubic coarse
    /// point, K.
    pub fine_step_k: f64,
    /// Length of each coarse run, ps.
    pub coarse_ps: f64,
    /// Length of each fine (refinement) run, ps.
    pub fine_ps: f64,
    /// Phase of the built cell the coarse runs start from.
    pub start: Phase,
    /// Trajectory frames of the scan runs, for the dihedral signature (a second phase rule
    /// beside the lattice splitting), fs; 0: none.
    pub dump_every_fs: f64,
}

impl Scan {
    /// The compositions' own grids, named for messages.
    fn own_grids(&self) -> impl Iterator<Item = (&'static str, &Vec<f64>)> {
        self.compositions.iter().filter_map(|c| {
            c.temperatures_k
                .as_ref()
                .map(|t| ("scan.compositions.temperatures_k", t))
        })
    }

    /// The coarse grid of composition `c`.
    pub fn temperatures_of<'a>(&'a self, c: &'a ScanComposition) -> &'a [f64] {
        c.temperatures_k
            .as_deref()
            .unwrap_or(&self.coarse_temperatures_k)
    }
}

/// Runs whose trajectories show the local structure (SbS4 dihedrals).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DihedralRun {
    /// Composition of the run's cell.
    pub composition: Composition,
    /// Temperature of the NPT run, K.
    pub temperature_k: f64,
    /// Phase of the built cell the run starts from.
    pub start: Phase,
}

/// NPT runs with frequent frames for the SbS4 dihedrals (local structure).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dihedral {
    /// The runs, at most one per composition and temperature.
    pub runs: Vec<DihedralRun>,
    /// Conventional cells per direction of the supercell.
    pub reps: usize,
    /// Length of each NPT run, ps.
    pub ps: f64,
    /// Interval between dumped trajectory frames, fs.
    pub dump_every_fs: f64,
}

/// Tracer diffusion of one composition: NPT for the averaged cell, NVT at that cell (times
/// each scale), then NVE with dumps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffusionSet {
    /// Composition of the set's cells.
    pub composition: Composition,
    /// Temperatures of the set, K: one NPT cell run and one NVT + NVE run per lattice scale
    /// each.
    pub temperatures_k: Vec<f64>,
    /// Lattice-parameter scales of the sensitivity band (1.0 is the averaged cell).
    pub lattice_scales: Vec<f64>,
}

/// Tracer diffusion runs: the sets of compositions and temperatures, cell size and run
/// lengths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diffusion {
    /// The sets, each a composition with its temperatures and lattice scales.
    pub sets: Vec<DiffusionSet>,
    /// Conventional cells per direction of the supercell.
    pub reps: usize,
    /// Length of the NPT run that gives the averaged cell, ps.
    pub npt_ps: f64,
    /// NVT equilibration at the averaged cell (not analysed), ps.
    pub nvt_ps: f64,
    /// NVE production, dumped and analysed, ps.
    pub nve_ps: f64,
    /// Interval between dumped trajectory frames, fs.
    pub dump_every_fs: f64,
}

/// D_sigma and the Haven ratio: several independent NVT + NVE runs per temperature, pooled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Haven {
    /// Composition of the Haven runs.
    pub composition: Composition,
    /// Temperatures, K: one NPT cell run and `runs` NVT + NVE runs each.
    pub temperatures_k: Vec<f64>,
    /// Conventional cells per direction of the supercell.
    pub reps: usize,
    /// Independent NVT + NVE runs per temperature, pooled for D_sigma.
    pub runs: usize,
    /// NVT equilibration of each run at the averaged cell (not analysed), ps.
    pub nvt_ps: f64,
    /// NVE production of each run, dumped and analysed, ps.
    pub nve_ps: f64,
    /// Interval between dumped trajectory frames, fs.
    pub dump_every_fs: f64,
}

/// A whole study: every setting of the protocol, from a preset and the study file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// demo, workstation or paper: where the unset fields come from.
    pub preset: String,
    /// Folder of the runs and the report; relative paths are relative to the study file.
    pub output: PathBuf,
    /// The deployed model and its type map.
    pub model: Model,
    /// How LAMMPS is started.
    pub launcher: Launcher,
    /// MD time step of every run, fs.
    pub timestep_fs: f64,
    /// Thermo output interval, fs.
    pub thermo_every_fs: f64,
    /// Drag factor of the NPT runs' Nose-Hoover thermostat and barostat (LAMMPS `fix npt ...
    /// drag`): 0 is the paper's plain Nose-Hoover; about 1 damps the ringing of the cell that a
    /// start away from equilibrium excites, which in short runs of small cells otherwise
    /// swamps the tetragonal splitting (time averages are unaffected, fluctuations are damped).
    pub barostat_drag: f64,
    /// Base of every run's velocity seed.
    pub seed: u64,
    /// NPT temperature scans for T_C.
    pub scan: Scan,
    /// Runs for the SbS4 dihedrals.
    pub dihedral: Dihedral,
    /// Tracer diffusion runs.
    pub diffusion: Diffusion,
    /// Runs for D_sigma and the Haven ratio.
    pub haven: Haven,
}

/// Names of the presets, as `--preset` and the study file's `preset` take them.
pub const PRESETS: [&str; 3] = ["demo", "workstation", "paper"];

/// The model shipped with the project.
pub fn shipped_model() -> PathBuf {
    let here = PathBuf::from("models/nawsbs.nequip.pth");
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/nawsbs.nequip.pth")
}

fn temperatures(from: f64, to: f64, step: f64) -> Vec<f64> {
    let n = ((to - from) / step).round() as usize;
    (0..=n).map(|k| from + k as f64 * step).collect()
}

impl Study {
    /// The preset's settings. `paper` follows the paper's Methods: 12x12x12 scans on a 50 K grid
    /// from 200 to 600 K for 200 ps, fine 12.5 K grid for 400 ps from both end points; 8x8x8
    /// diffusion with 0.5 ns NVT + 0.5 ns NVE and a +-1.5 % lattice band; 4x4x4 Haven runs,
    /// 4 per temperature, 0.5 ns NVT + 12 ns NVE each (48 ns per temperature).
    pub fn preset(name: &str) -> Result<Study> {
        let pristine = comp(0.0, Variant::Pristine);
        let base = Study {
            preset: name.to_string(),
            output: PathBuf::from(format!("study-{name}")),
            model: Model {
                path: shipped_model(),
                type_map: ["Na", "Sb", "W", "S"].map(String::from).to_vec(),
            },
            launcher: Launcher {
                lmp: String::new(),
                mpirun: "mpirun".into(),
                ranks: 1,
                threads: 1,
                cores: 0,
            },
            timestep_fs: 2.0,
            thermo_every_fs: 50.0,
            barostat_drag: 0.0,
            seed: 1,
            scan: Scan {
                compositions: on_common_grid(vec![
                    pristine,
                    comp(0.025, Variant::WVac),
                    comp(0.05, Variant::WVac),
                    comp(0.075, Variant::WVac),
                    comp(0.1, Variant::WVac),
                    comp(0.05, Variant::Vac),
                    comp(0.05, Variant::W),
                ]),
                reps: 12,
                coarse_temperatures_k: temperatures(200.0, 600.0, 50.0),
                fine_step_k: 12.5,
                coarse_ps: 200.0,
                fine_ps: 400.0,
                start: Phase::Tetragonal,
                dump_every_fs: 1000.0,
            },
            dihedral: Dihedral {
                runs: vec![
                    DihedralRun {
                        composition: pristine,
                        temperature_k: 400.0,
                        start: Phase::Tetragonal,
                    },
                    DihedralRun {
                        composition: comp(0.05, Variant::WVac),
                        temperature_k: 400.0,
                        start: Phase::Cubic,
                    },
                ],
                reps: 6,
                ps: 20.0,
                dump_every_fs: 40.0,
            },
            diffusion: Diffusion {
                sets: vec![
                    DiffusionSet {
                        composition: comp(0.1, Variant::WVac),
                        temperatures_k: temperatures(300.0, 600.0, 50.0),
                        lattice_scales: vec![0.985, 1.0, 1.015],
                    },
                    DiffusionSet {
                        composition: comp(0.05, Variant::WVac),
                        temperatures_k: temperatures(250.0, 550.0, 50.0),
                        lattice_scales: vec![1.0],
                    },
                ],
                reps: 8,
                npt_ps: 100.0,
                nvt_ps: 500.0,
                nve_ps: 500.0,
                dump_every_fs: 500.0,
            },
            haven: Haven {
                composition: comp(0.1, Variant::WVac),
                temperatures_k: temperatures(350.0, 600.0, 50.0),
                reps: 4,
                runs: 4,
                nvt_ps: 500.0,
                nve_ps: 12_000.0,
                dump_every_fs: 2000.0,
            },
        };
        Ok(match name {
            "paper" => base,
            "workstation" => Study {
                scan: Scan {
                    compositions: on_common_grid(vec![
                        pristine,
                        comp(0.05, Variant::WVac),
                        comp(0.1, Variant::WVac),
                        comp(0.05, Variant::Vac),
                        comp(0.05, Variant::W),
                    ]),
                    reps: 5,
                    coarse_temperatures_k: temperatures(250.0, 600.0, 50.0),
                    fine_step_k: 12.5,
                    coarse_ps: 60.0,
                    fine_ps: 100.0,
                    start: Phase::Tetragonal,
                    dump_every_fs: 200.0,
                },
                dihedral: Dihedral {
                    reps: 4,
                    ps: 20.0,
                    ..base.dihedral.clone()
                },
                diffusion: Diffusion {
                    sets: vec![
                        DiffusionSet {
                            composition: comp(0.1, Variant::WVac),
                            temperatures_k: temperatures(400.0, 600.0, 50.0),
                            lattice_scales: vec![0.985, 1.0, 1.015],
                        },
                        DiffusionSet {
                            composition: comp(0.05, Variant::WVac),
                            temperatures_k: temperatures(350.0, 550.0, 50.0),
                            lattice_scales: vec![1.0],
                        },
                    ],
                    reps: 4,
                    npt_ps: 40.0,
                    nvt_ps: 40.0,
                    nve_ps: 200.0,
                    dump_every_fs: 200.0,
                },
                haven: Haven {
                    temperatures_k: temperatures(450.0, 600.0, 50.0),
                    reps: 3,
                    runs: 3,
                    nvt_ps: 20.0,
                    nve_ps: 400.0,
                    dump_every_fs: 500.0,
                    ..base.haven.clone()
                },
                ..base
            },
            // Sized for about 9 minutes of runs on 2 cores (15 at most with the installs), as
            // measured: each composition on two temperatures either side of its T_C in 432-atom
            // cells, 20 ps each at a 4 fs step (energy conserved as at 2 fs, tests/python/
            // test_nve.py; twice the simulated time for the cost). 12 ps at 2 fs decided none of
            // 6 runs; 20 ps at 4 fs decided 6 of 7. In these cells the whole cell's distortion
            // flips between the three axes on ps time scales from about 300 K (pristine), so
            // runs in between decide nothing and T_C comes out at the flipping temperature,
            // below the large-cell value. The dihedral sections read the scan runs.
            // Diffusion in a W-doped cell hot enough for tens of hops per run. Drag keeps the
            // small cells' barostat from ringing.
            "demo" => Study {
                timestep_fs: 4.0,
                thermo_every_fs: 20.0,
                barostat_drag: 1.0,
                scan: Scan {
                    compositions: vec![
                        on_grid(pristine, &[200.0, 500.0]),
                        on_grid(comp(0.1, Variant::WVac), &[150.0, 400.0]),
                        on_grid(comp(0.1, Variant::Vac), &[150.0, 400.0]),
                    ],
                    reps: 3,
                    coarse_temperatures_k: vec![200.0, 400.0],
                    fine_step_k: 500.0,
                    coarse_ps: 20.0,
                    fine_ps: 4.0,
                    start: Phase::Tetragonal,
                    dump_every_fs: 40.0,
                },
                dihedral: Dihedral {
                    runs: vec![
                        DihedralRun {
                            composition: pristine,
                            temperature_k: 200.0,
                            start: Phase::Tetragonal,
                        },
                        DihedralRun {
                            composition: comp(0.1, Variant::WVac),
                            temperature_k: 400.0,
                            start: Phase::Tetragonal,
                        },
                    ],
                    reps: 3,
                    ps: 20.0,
                    dump_every_fs: 40.0,
                },
                diffusion: Diffusion {
                    sets: vec![DiffusionSet {
                        composition: comp(0.125, Variant::WVac),
                        temperatures_k: vec![550.0, 625.0, 700.0],
                        lattice_scales: vec![1.0],
                    }],
                    reps: 2,
                    npt_ps: 2.0,
                    nvt_ps: 3.0,
                    nve_ps: 16.0,
                    dump_every_fs: 100.0,
                },
                haven: Haven {
                    composition: comp(0.125, Variant::WVac),
                    temperatures_k: vec![700.0],
                    reps: 2,
                    runs: 2,
                    nvt_ps: 3.0,
                    nve_ps: 16.0,
                    dump_every_fs: 100.0,
                },
                ..base
            },
            other => config!(
                "unknown preset '{other}': choose one of {}",
                PRESETS.join(", ")
            ),
        })
    }

    /// The preset named in the study file (or `preset`), with every field the file sets
    /// replacing the preset's. Relative paths in the file are relative to its folder.
    pub fn load(path: Option<&Path>, preset: Option<&str>) -> Result<Study> {
        let Some(path) = path else {
            return Study::preset(preset.unwrap_or("demo"));
        };
        let text = std::fs::read_to_string(path).map_err(io("read", path))?;
        let bad_file = |e: toml::de::Error| StudyError::File {
            path: path.to_path_buf(),
            what: e.to_string().trim().to_string(),
        };
        let file: toml::Table = toml::from_str(&text).map_err(bad_file)?;
        let name = match (preset, file.get("preset")) {
            (Some(p), _) => p.to_string(),
            (None, Some(toml::Value::String(p))) => p.clone(),
            (None, Some(_)) => {
                return Err(StudyError::File {
                    path: path.to_path_buf(),
                    what: "'preset' must be a string".into(),
                })
            }
            (None, None) => "demo".to_string(),
        };
        let mut merged = toml::Table::try_from(Study::preset(&name)?)?;
        merge(&mut merged, file);
        merged.insert("preset".into(), toml::Value::String(name));
        let mut study: Study = merged.try_into().map_err(bad_file)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let set = |p: &Path, given: bool| {
            if given && p.is_relative() {
                dir.join(p)
            } else {
                p.to_path_buf()
            }
        };
        let model_given = text_has(&text, "model", "path");
        study.model.path = set(&study.model.path, model_given);
        study.output = set(&study.output, text_has(&text, "", "output"));
        study.validate()?;
        Ok(study)
    }

    /// Checks every setting: positive durations, temperatures in (0, 5000) K, x in `[0, 1]`,
    /// sizes, upper bounds and distinct run names; the first bad field is a `StudyError::Config`.
    pub fn validate(&self) -> Result<()> {
        let positive = |v: f64, what: &str| -> Result<()> {
            if !(v.is_finite() && v > 0.0) {
                config!("{what} must be positive, not {v}");
            }
            Ok(())
        };
        positive(self.timestep_fs, "timestep_fs")?;
        positive(self.thermo_every_fs, "thermo_every_fs")?;
        if !(self.barostat_drag.is_finite() && self.barostat_drag >= 0.0) {
            config!(
                "barostat_drag must be 0 (none) or positive, not {}",
                self.barostat_drag
            );
        }
        for (v, w) in [
            (self.scan.coarse_ps, "scan.coarse_ps"),
            (self.scan.fine_ps, "scan.fine_ps"),
            (self.scan.fine_step_k, "scan.fine_step_k"),
            (self.dihedral.ps, "dihedral.ps"),
            (self.dihedral.dump_every_fs, "dihedral.dump_every_fs"),
            (self.diffusion.npt_ps, "diffusion.npt_ps"),
            (self.diffusion.nvt_ps, "diffusion.nvt_ps"),
            (self.diffusion.nve_ps, "diffusion.nve_ps"),
            (self.diffusion.dump_every_fs, "diffusion.dump_every_fs"),
            (self.haven.nvt_ps, "haven.nvt_ps"),
            (self.haven.nve_ps, "haven.nve_ps"),
            (self.haven.dump_every_fs, "haven.dump_every_fs"),
        ] {
            positive(v, w)?;
        }
        let all_t = self
            .scan
            .coarse_temperatures_k
            .iter()
            .chain(self.scan.own_grids().flat_map(|(_, t)| t))
            .chain(self.dihedral.runs.iter().map(|r| &r.temperature_k))
            .chain(self.diffusion.sets.iter().flat_map(|s| &s.temperatures_k))
            .chain(&self.haven.temperatures_k);
        for t in all_t {
            if !(t.is_finite() && *t > 0.0 && *t < 5000.0) {
                config!("temperature {t} K is not in (0, 5000)");
            }
        }
        let comps: Vec<Composition> = self
            .scan
            .compositions
            .iter()
            .map(ScanComposition::composition)
            .chain(self.dihedral.runs.iter().map(|r| r.composition))
            .chain(self.diffusion.sets.iter().map(|s| s.composition))
            .chain(std::iter::once(self.haven.composition))
            .collect();
        for c in &comps {
            if !(0.0..=1.0).contains(&c.x) {
                config!("x = {} is not in [0, 1]", c.x);
            }
            if c.variant == Variant::Pristine && c.x != 0.0 {
                config!("a pristine composition has x = 0, not {}", c.x);
            }
        }
        for (r, w) in [
            (self.scan.reps, "scan.reps"),
            (self.dihedral.reps, "dihedral.reps"),
            (self.diffusion.reps, "diffusion.reps"),
            (self.haven.reps, "haven.reps"),
        ] {
            if !(1..=64).contains(&r) {
                config!("{w} must be 1 to 64, not {r}");
            }
        }
        if self.launcher.ranks == 0 || self.launcher.threads == 0 {
            config!("launcher.ranks and launcher.threads must be at least 1");
        }
        if self.model.type_map.len() != 4 {
            config!("model.type_map names the model types of LAMMPS types 1-4 (Na, Sb, W, S): 4 names, not {}", self.model.type_map.len());
        }
        for s in &self.diffusion.sets {
            for f in &s.lattice_scales {
                if !(0.8..=1.2).contains(f) {
                    config!("lattice scale {f} is outside 0.8-1.2");
                }
            }
        }
        self.validate_bounds()?;
        self.validate_ids()
    }

    /// Upper bounds on every duration and count: a typo must not plan runs that never end or
    /// more of them than memory holds.
    fn validate_bounds(&self) -> Result<()> {
        for (v, w) in [
            (self.scan.coarse_ps, "scan.coarse_ps"),
            (self.scan.fine_ps, "scan.fine_ps"),
            (self.dihedral.ps, "dihedral.ps"),
            (self.diffusion.npt_ps, "diffusion.npt_ps"),
            (self.diffusion.nvt_ps, "diffusion.nvt_ps"),
            (self.diffusion.nve_ps, "diffusion.nve_ps"),
            (self.haven.nvt_ps, "haven.nvt_ps"),
            (self.haven.nve_ps, "haven.nve_ps"),
        ] {
            if v > MAX_PS {
                config!("{w} = {v} ps is more than {MAX_PS} ps (1 us) per run");
            }
        }
        if self.timestep_fs > 10.0 {
            config!("timestep_fs = {} is more than 10 fs", self.timestep_fs);
        }
        for (v, w) in [
            (self.thermo_every_fs, "thermo_every_fs"),
            (self.dihedral.dump_every_fs, "dihedral.dump_every_fs"),
            (self.diffusion.dump_every_fs, "diffusion.dump_every_fs"),
            (self.haven.dump_every_fs, "haven.dump_every_fs"),
        ] {
            if v < self.timestep_fs {
                config!(
                    "{w} = {v} fs is shorter than the timestep ({} fs)",
                    self.timestep_fs
                );
            }
        }
        let scan_dump = self.scan.dump_every_fs;
        if !(scan_dump == 0.0 || (scan_dump.is_finite() && scan_dump >= self.timestep_fs)) {
            config!(
                "scan.dump_every_fs = {scan_dump} must be 0 (no trajectory) or at least the timestep ({} fs)",
                self.timestep_fs
            );
        }
        let grids = std::iter::once((
            "scan.coarse_temperatures_k",
            &self.scan.coarse_temperatures_k,
        ))
        .chain(self.scan.own_grids());
        for (w, coarse) in grids {
            let step = coarse
                .windows(2)
                .map(|w| w[1] - w[0])
                .fold(f64::MAX, f64::min);
            if coarse.len() > 1 && step / self.scan.fine_step_k > MAX_FINE_POINTS as f64 + 1.0 {
                config!(
                    "scan.fine_step_k = {} K puts {:.0} fine points in a {step} K interval of {w}: at most {MAX_FINE_POINTS}",
                    self.scan.fine_step_k,
                    step / self.scan.fine_step_k - 1.0
                );
            }
            if coarse.len() > 1000 {
                config!("{w} has {} entries: at most 1000", coarse.len());
            }
        }
        for (n, w, max) in [
            (self.haven.runs, "haven.runs", 1000),
            (self.launcher.ranks, "launcher.ranks", 100_000),
            (self.launcher.threads, "launcher.threads", 1024),
            (self.launcher.cores, "launcher.cores", 1_000_000),
        ] {
            if n > max {
                config!("{w} = {n} is more than {max}");
            }
        }
        if self.haven.runs == 0 {
            config!("haven.runs must be at least 1");
        }
        Ok(())
    }

    /// Every run has its own folder, named from its temperature (to 0.1 K) and composition (x
    /// to 0.001): values that would share a name are refused, never merged into one run.
    fn validate_ids(&self) -> Result<()> {
        let temperatures = [
            (
                "scan.coarse_temperatures_k",
                &self.scan.coarse_temperatures_k,
            ),
            ("haven.temperatures_k", &self.haven.temperatures_k),
        ]
        .into_iter()
        .chain(self.scan.own_grids())
        .chain(
            self.diffusion
                .sets
                .iter()
                .map(|s| ("diffusion.sets.temperatures_k", &s.temperatures_k)),
        );
        for (w, list) in temperatures {
            for (k, a) in list.iter().enumerate() {
                if let Some(b) = list[..k]
                    .iter()
                    .find(|b| super::plan::t_label(**b) == super::plan::t_label(*a))
                {
                    config!(
                        "{w}: {b} K and {a} K are the same run ({}): give each temperature once, at least 0.1 K apart",
                        super::plan::t_label(*a)
                    );
                }
            }
        }
        let comps: [(&str, Vec<Composition>); 2] = [
            (
                "scan.compositions",
                self.scan
                    .compositions
                    .iter()
                    .map(ScanComposition::composition)
                    .collect(),
            ),
            (
                "diffusion.sets",
                self.diffusion.sets.iter().map(|s| s.composition).collect(),
            ),
        ];
        for (w, list) in comps {
            for (k, a) in list.iter().enumerate() {
                if let Some(b) = list[..k].iter().find(|b| b.label() == a.label()) {
                    config!(
                        "{w}: x = {} and x = {} of {} are the same run ({}): give each composition once, x at least 0.001 apart",
                        b.x,
                        a.x,
                        a.variant.name(),
                        a.label()
                    );
                }
            }
        }
        let dihedral: Vec<String> = self
            .dihedral
            .runs
            .iter()
            .map(|r| {
                format!(
                    "{}/{}",
                    r.composition.label(),
                    super::plan::t_label(r.temperature_k)
                )
            })
            .collect();
        for (k, a) in dihedral.iter().enumerate() {
            if dihedral[..k].contains(a) {
                config!("dihedral.runs: two runs are the same run ({a}): one run per composition and temperature");
            }
        }
        for set in &self.diffusion.sets {
            let labels: Vec<String> = set
                .lattice_scales
                .iter()
                .map(|f| format!("{f:.3}"))
                .collect();
            for (k, a) in labels.iter().enumerate() {
                if labels[..k].contains(a) {
                    config!("diffusion.sets.lattice_scales: two scales are the same run (a = {a}): give each once, at least 0.001 apart");
                }
            }
        }
        Ok(())
    }
}

/// Longest run accepted (ps).
const MAX_PS: f64 = 1e6;
/// Most fine points per coarse interval.
const MAX_FINE_POINTS: usize = 64;

/// Whether the file sets `key` (in `[table]` when table is not empty): a plain text check,
/// enough to know which relative paths came from the file.
fn text_has(text: &str, table: &str, key: &str) -> bool {
    let Ok(t) = toml::from_str::<toml::Table>(text) else {
        return false;
    };
    if table.is_empty() {
        t.contains_key(key)
    } else {
        t.get(table)
            .and_then(|v| v.as_table())
            .is_some_and(|t| t.contains_key(key))
    }
}

/// Deep merge: tables merge key by key, everything else is replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
