//! The study's report from whatever runs have finished: report.md with the paper's figures
//! (PNG and SVG), study.json with every number, and, next to each number, the runs it rests on.
//! Where the data cannot support a conclusion, the report says so instead of giving a number.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::error::{io, Result};
use serde::Serialize;

use super::config::{Composition, Study};
use super::execute::{is_done, Done, DONE};
use super::phase::{self, RunRules};
use super::plan::{self, Run, Stage, Start};
use crate::arrhenius::{self, ArrheniusFit, Point};
use crate::diffusion::{self, Analysis, Selection};
use crate::dihedral;
use crate::lattice::{self, LatticeResult};
use crate::plot::{Figure, Series};
use crate::structure::Variant;

mod figures;
mod markdown;

use figures::{along, dihedral_histogram, figures};
use markdown::{basis, markdown};

/// What one number rests on.
#[derive(Clone, Debug, Serialize)]
pub struct Basis {
    /// Runs the number rests on.
    pub runs: usize,
    /// Atoms in each run's cell.
    pub atoms: usize,
    /// Simulated time of the runs used (production part for NVT + NVE runs), ps.
    pub ps_each: f64,
}

/// Lattice parameters, phases and T_C of one scanned composition.
#[derive(Clone, Debug, Serialize)]
pub struct LatticeSection {
    /// The scanned composition.
    pub composition: Composition,
    /// Runs with the phase both rules give (`study::phase`), and T_C from those phases.
    pub result: Option<LatticeResult>,
    /// Per run (same order): the lattice rule's and the dihedral signature's own verdicts.
    pub rules: Vec<RunRules>,
    /// The runs the section rests on.
    pub basis: Basis,
    /// Why T_C is not determined, or that no scan run has finished.
    pub note: Option<String>,
    /// Where T_C is not determined: the runs that would determine it.
    pub next_runs: Option<NextRuns>,
}

/// Runs that would determine an undetermined T_C, and what each costs on this machine.
#[derive(Clone, Debug, Serialize)]
#[allow(non_snake_case)]
pub struct NextRuns {
    /// Temperatures of the proposed runs, K.
    pub temperatures_K: Vec<f64>,
    /// Length of each proposed run, ps.
    pub ps: f64,
    /// Atoms in each proposed run's cell (the scan's size).
    pub atoms: usize,
    /// Wall time of one such run here (one run per core, the study's threads), from the speed
    /// probe; None when the probe could not run.
    pub minutes_each: Option<f64>,
    /// Why these runs: which end of the bracket is open, or that no run decides, or that the
    /// runs contradict each other.
    pub why: String,
}

/// Tracer diffusion of one finished diffusion run.
#[derive(Clone, Debug, Serialize)]
#[allow(non_snake_case)]
pub struct DiffusionPoint {
    /// Id of the run.
    pub id: String,
    /// Temperature of the run, K.
    pub temperature_K: f64,
    /// Factor on the averaged lattice parameters (1.0: the averaged cell).
    pub lattice_scale: f64,
    /// The diffusion analysis of its Na trajectory (D and D_sigma in cm^2/s).
    pub analysis: Analysis,
    /// The run and the length analysed.
    pub basis: Basis,
}

/// Tracer diffusion of one diffusion set: its analysed runs and the Arrhenius fits.
#[derive(Clone, Debug, Serialize)]
pub struct DiffusionSection {
    /// Composition of the set.
    pub composition: Composition,
    /// The analysed runs, by temperature.
    pub points: Vec<DiffusionPoint>,
    /// Arrhenius fits of D at each lattice scale (1.0 is the averaged cell).
    pub arrhenius: Vec<(f64, Option<ArrheniusFit>)>,
    /// Arrhenius fit of D along c (averaged cell).
    pub arrhenius_c: Option<ArrheniusFit>,
    /// Arrhenius fit of D in the ab plane (averaged cell).
    pub arrhenius_ab: Option<ArrheniusFit>,
    /// What limits the set's numbers: too few significant D values, cut trajectories, runs
    /// that could not be analysed.
    pub notes: Vec<String>,
}

/// D, D_sigma and the Haven ratio at one temperature, all its finished Haven runs pooled.
#[derive(Clone, Debug, Serialize)]
#[allow(non_snake_case)]
pub struct HavenPoint {
    /// Temperature of the runs, K.
    pub temperature_K: f64,
    /// The pooled diffusion analysis of their Na trajectories (D and D_sigma in cm^2/s).
    pub analysis: Analysis,
    /// The runs pooled and the longest length analysed.
    pub basis: Basis,
}

/// Dihedrals between consecutive SbS4 and WS4 tetrahedra of one dihedral run (or of the scan
/// run that covers it).
#[derive(Clone, Debug, Serialize)]
#[allow(non_snake_case)]
pub struct DihedralSection {
    /// Id of the run whose trajectory was read.
    pub run: String,
    /// Temperature of the run, K.
    pub temperature_K: f64,
    /// The run and the length analysed (after the scan's equilibration cut, if any).
    pub basis: Basis,
    /// Per pair type (e.g. SbS4-SbS4): mean, spread and mean |dihedral| over all pairs.
    pub pair_types: BTreeMap<String, dihedral::TypeStats>,
    /// Pairs whose time series were searched for excursions, and the excursions found.
    pub pairs_followed: usize,
    /// Excursions found in those pairs' time series.
    pub excursions: usize,
    /// File name (without extension) of the first followed pair's time-series figure in the
    /// output folder, if drawn.
    pub figure: Option<PathBuf>,
    /// Every pair's signed long-time means and the spread of its window averages (Fig. 4).
    pub pair_means: Vec<dihedral::PairMean>,
    /// The pattern of the pair means: each pair's sorted |long-time means|, averaged over the
    /// pairs.
    pub pattern: Option<dihedral::Pattern>,
    /// The phase from the pairs' long-time means.
    pub signature: Option<dihedral::Signature>,
    /// Why the run could not be analysed.
    pub note: Option<String>,
}

/// Everything the report shows, as written to study.json.
#[derive(Clone, Debug, Serialize)]
pub struct StudyReport {
    /// The study's preset.
    pub preset: String,
    /// Runs in the plan.
    pub runs_planned: usize,
    /// Runs finished so far.
    pub runs_finished: usize,
    /// One section per scanned composition.
    pub lattice: Vec<LatticeSection>,
    /// One section per finished dihedral run.
    pub dihedral: Vec<DihedralSection>,
    /// One section per diffusion set.
    pub diffusion: Vec<DiffusionSection>,
    /// One point per temperature with finished Haven runs.
    pub haven: Vec<HavenPoint>,
    /// Runs left out, cut trajectories, failed runs and other caveats.
    pub notes: Vec<String>,
}

fn done_of(out: &Path, r: &Run) -> Option<Done> {
    let text = std::fs::read_to_string(out.join(&r.id).join(DONE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// A dihedral section's run without its stage folder (dihedral/ or scan/).
fn short_name(run: &str) -> &str {
    run.split_once('/').map_or(run, |(_, rest)| rest)
}

fn production_ps(r: &Run) -> f64 {
    (r.steps - r.equilibration_steps) as f64 * r.timestep_fs / 1000.0
}

pub(crate) fn type_names() -> Vec<(i32, String)> {
    ["Na", "Sb", "W", "S"]
        .iter()
        .enumerate()
        .map(|(k, n)| (k as i32 + 1, n.to_string()))
        .collect()
}

fn diffusion_of(out: &Path, runs: &[&Run], temperature: f64) -> Result<Analysis> {
    let mut loaded = Vec::new();
    for r in runs {
        let path = out.join(&r.id).join("traj.bin");
        let (run, _) = diffusion::load_run(
            &path,
            &Selection::parse("Na"),
            &type_names(),
            r.timestep_fs / 1000.0,
            &mut |_| {},
        )?;
        loaded.push(run);
    }
    let settings = diffusion::Settings {
        temperature: Some(temperature),
        ..diffusion::Settings::default()
    };
    Ok(diffusion::analyse(&loaded, &settings)?)
}

/// The longest run's length as analysed, not as planned (a cut trajectory is shorter), with a
/// note for every run cut short.
fn analysed_ps(a: &Analysis, runs: &[&Run], notes: &mut Vec<String>) -> f64 {
    let mut longest: f64 = 0.0;
    for (r, &frames) in runs.iter().zip(&a.frames) {
        let analysed = frames.saturating_sub(1) as f64 * a.timestep_between_frames_ps;
        let planned = production_ps(r);
        if analysed < 0.99 * planned {
            notes.push(format!(
                "{}: {analysed:.1} ps of the planned {planned:.1} ps analysed (the trajectory is cut)",
                r.id
            ));
        }
        longest = longest.max(analysed);
    }
    longest
}

fn fit(points: Vec<Point>) -> Option<ArrheniusFit> {
    if points.len() < 2 {
        return None;
    }
    arrhenius::fit(&points).ok()
}

/// Analyses every finished run and writes report.md, study.json and the figures to `out`.
pub fn write(study: &Study, out: &Path, runs: &[Run]) -> Result<StudyReport> {
    let finished = Finished {
        study,
        out,
        runs: runs.iter().filter(|r| is_done(out, r)).collect(),
    };
    let mut notes = Vec::new();
    let mut lattice_sections = finished.lattice_sections(&mut notes);
    finished.price_next_runs(&mut lattice_sections);
    let dihedral = finished.dihedral_sections(&lattice_sections, &mut notes)?;
    if dihedral.iter().any(|d| !d.pair_means.is_empty()) {
        dihedral_histogram(&dihedral).save(&out.join("dihedral_means"))?;
    }
    let diffusion_sections = finished.diffusion_sections();
    let haven = finished.haven_points(&mut notes);
    let (mut failed, mut collapsed) = (Vec::new(), Vec::new());
    for r in runs {
        let note = out.join(&r.id).join(super::execute::FAILED);
        if note.exists() {
            let why = std::fs::read_to_string(&note).unwrap_or_default();
            if super::execute::collapsed(&why) {
                collapsed.push(r.id.clone());
            } else {
                failed.push(r.id.clone());
            }
        }
    }
    if !collapsed.is_empty() {
        notes.push(format!(
            "runs stopped because the model collapsed (their temperature ran away; the model is \
             not stable there, and nothing of these runs is analysed): {}",
            collapsed.join(", ")
        ));
    }
    if !failed.is_empty() {
        notes.push(format!(
            "failed runs (see failed.txt in their folders): {}",
            failed.join(", ")
        ));
    }
    let report = StudyReport {
        preset: study.preset.clone(),
        runs_planned: runs.len(),
        runs_finished: finished.runs.len(),
        lattice: lattice_sections,
        dihedral,
        diffusion: diffusion_sections,
        haven,
        notes,
    };
    figures(&report, study, out)?;
    crate::cli::write_atomic(
        &out.join("study.json"),
        &serde_json::to_vec_pretty(&report)?,
    )?;
    crate::cli::write_atomic(
        &out.join("report.md"),
        markdown(&report, study, out).as_bytes(),
    )?;
    Ok(report)
}

/// The finished runs of a study and where they are: what every section is analysed from.
struct Finished<'a> {
    study: &'a Study,
    out: &'a Path,
    runs: Vec<&'a Run>,
}

impl Finished<'_> {
    /// Lattice parameters and T_C per composition (coarse and refinement runs).
    fn lattice_sections(&self, notes: &mut Vec<String>) -> Vec<LatticeSection> {
        let (study, out, finished) = (self.study, self.out, &self.runs[..]);
        let mut lattice_sections = Vec::new();
        for c in study.scan.compositions.iter().map(|c| c.composition()) {
            let used: Vec<&&Run> = finished
                .iter()
                .filter(|r| matches!(r.stage, Stage::Scan | Stage::Refine) && r.composition == c)
                .collect();
            let mut analysed = Vec::new();
            for r in &used {
                // One damaged log leaves its run out, with a note; the report goes on.
                match phase::analyse_run(out, r) {
                    Ok(p) => analysed.push((*r, p)),
                    Err(e) => notes.push(format!(
                        "{}: its log could not be read ({e}): left out",
                        r.id
                    )),
                }
            }
            analysed.sort_by(|a, b| {
                let t = |p: &phase::RunPhase| p.lattice.temperature_K.value;
                t(&a.1).total_cmp(&t(&b.1))
            });
            let basis = Basis {
                runs: analysed.len(),
                atoms: analysed.first().map_or(0, |(r, _)| r.atoms),
                ps_each: analysed
                    .iter()
                    .map(|(r, _)| production_ps(r))
                    .fold(0.0, f64::max),
            };
            // The planned temperatures (a short run's mean can be far from it) with each run's phase.
            let planned: Vec<(f64, lattice::Phase)> = analysed
                .iter()
                .map(|(r, p)| {
                    let t = r.temperature_K.unwrap_or(p.lattice.temperature_K.value);
                    (t, p.lattice.phase)
                })
                .collect();
            let (runs, rules): (Vec<lattice::RunResult>, Vec<RunRules>) = analysed
                .into_iter()
                .map(|(_, p)| (p.lattice, p.rules))
                .unzip();
            let (result, note) = if runs.is_empty() {
                (None, Some("no finished scan run".to_string()))
            } else {
                let (t_c, warnings) = lattice::transition(&runs);
                let note = t_c.is_none().then(|| warnings.join("; "));
                (
                    Some(LatticeResult {
                        runs,
                        T_C: t_c,
                        warnings,
                    }),
                    note,
                )
            };
            let next_runs = result
                .as_ref()
                .filter(|r| r.T_C.is_none())
                .and_then(|_| next_runs(&planned, &basis));
            lattice_sections.push(LatticeSection {
                composition: c,
                result,
                rules,
                basis,
                note,
                next_runs,
            });
        }
        lattice_sections
    }

    /// The cost here of the runs proposed where T_C is undetermined, from one speed probe of the
    /// model (a second or two).
    fn price_next_runs(&self, lattice_sections: &mut [LatticeSection]) {
        let study = self.study;
        if lattice_sections.iter().any(|s| s.next_runs.is_some()) {
            let rate = super::probe::speed(&study.model.path, study.launcher.threads).ok();
            for n in lattice_sections
                .iter_mut()
                .filter_map(|s| s.next_runs.as_mut())
            {
                let steps = n.ps * 1000.0 / study.timestep_fs;
                n.minutes_each = rate.map(|r| n.atoms as f64 * steps / r / 60.0);
            }
        }
    }

    /// Dihedrals of consecutive tetrahedra along the four <111> directions (equivalent by
    /// symmetry in both phases; four times the pairs of `[111]` alone), 2 ps window averages. A
    /// dihedral run that a scan run covers is that scan run, read after its equilibration.
    fn dihedral_sections(
        &self,
        lattice_sections: &[LatticeSection],
        notes: &mut Vec<String>,
    ) -> Result<Vec<DihedralSection>> {
        let (study, out, finished) = (self.study, self.out, &self.runs[..]);
        let mut dihedral = Vec::new();
        for d in &study.dihedral.runs {
            let id = plan::dihedral_run_id(study, d);
            let Some(r) = finished.iter().find(|r| r.id == id) else {
                continue;
            };
            // the scan's own cut (a dihedral run has no lattice analysis: no cut)
            let skip_ps = lattice_sections
                .iter()
                .flat_map(|s: &LatticeSection| s.result.iter().flat_map(|res| &res.runs))
                .find(|x| x.name == id)
                .map_or(0.0, |x| {
                    x.equilibration_rows as f64 * r.thermo_every as f64 * r.timestep_fs / 1000.0
                });
            let name = format!("dihedral_{}", r.id.replace('/', "_"));
            let traj = out.join(&r.id).join("traj.bin");
            let settings = dihedral::Settings {
                all_directions: true,
                skip_ps,
                ..dihedral::Settings::new(r.timestep_fs / 1000.0, type_names())
            };
            let result = crate::trajectory::open_dump(&traj)
                .map_err(dihedral::DihedralError::from)
                .and_then(|mut src| dihedral::analyse(src.as_mut(), &traj, &settings, &|_| {}));
            let mut section = DihedralSection {
                run: r.id.clone(),
                temperature_K: r.temperature_K.unwrap_or(f64::NAN),
                basis: Basis {
                    runs: 1,
                    atoms: r.atoms,
                    ps_each: production_ps(r) - skip_ps,
                },
                excursions: 0,
                pairs_followed: 0,
                pair_types: Default::default(),
                figure: None,
                pair_means: Vec::new(),
                pattern: None,
                signature: None,
                note: None,
            };
            match result {
                Ok(a) => {
                    if let Some(f) = a.figure(settings.excursion_threshold_deg) {
                        f.save(&out.join(&name))?;
                        section.figure = Some(PathBuf::from(&name));
                    }
                    // The length analysed, not the planned one (a cut trajectory is shorter).
                    if let Some(t) = a.series.first().map(|s| &s.time_ps) {
                        let analysed = t.last().unwrap_or(&0.0) - t.first().unwrap_or(&0.0);
                        if analysed < 0.99 * section.basis.ps_each {
                            notes.push(format!(
                            "{}: {analysed:.1} ps of the planned {:.1} ps analysed (the trajectory is cut)",
                            r.id, section.basis.ps_each
                        ));
                        }
                        section.basis.ps_each = analysed;
                    }
                    section.excursions = a.series.iter().map(|s| s.excursions.len()).sum();
                    section.pairs_followed = a.series.len();
                    section.pattern = a.pattern();
                    section.signature = Some(a.signature.clone());
                    section.pair_means = a.pair_means;
                    section.pair_types = a.pair_types;
                }
                Err(e) => section.note = Some(format!("could not be analysed: {e}")),
            }
            dihedral.push(section);
        }
        Ok(dihedral)
    }

    /// Tracer diffusion per set, temperature and lattice scale, with Arrhenius fits.
    fn diffusion_sections(&self) -> Vec<DiffusionSection> {
        let (study, out, finished) = (self.study, self.out, &self.runs[..]);
        let mut diffusion_sections = Vec::new();
        for set in &study.diffusion.sets {
            let mut points = Vec::new();
            let mut set_notes = Vec::new();
            for r in finished
                .iter()
                .filter(|r| r.stage == Stage::Diffusion && r.composition == set.composition)
            {
                let scale = match &r.start {
                    Start::AveragedCell { scale, .. } => *scale,
                    _ => 1.0,
                };
                let t = done_of(out, r).map_or(r.temperature_K.unwrap_or(0.0), |d| d.temperature_k);
                match diffusion_of(out, &[r], t) {
                    Ok(a) => {
                        let analysed = analysed_ps(&a, &[r], &mut set_notes);
                        points.push(DiffusionPoint {
                            id: r.id.clone(),
                            temperature_K: t,
                            lattice_scale: scale,
                            analysis: a,
                            basis: Basis {
                                runs: 1,
                                atoms: r.atoms,
                                ps_each: analysed,
                            },
                        })
                    }
                    Err(e) => set_notes.push(format!("{}: {e}", r.id)),
                }
            }
            points.sort_by(|a, b| a.temperature_K.total_cmp(&b.temperature_K));
            let mut arr = Vec::new();
            for &scale in &set.lattice_scales {
                let pts: Vec<Point> = points
                    .iter()
                    .filter(|p| p.lattice_scale == scale && p.analysis.d.significant)
                    .map(|p| Point {
                        temperature_K: p.temperature_K,
                        value: p.analysis.d.value,
                        std: p.analysis.d.std,
                    })
                    .collect();
                if pts.len() < 2 {
                    set_notes.push(format!(
                        "E_a at lattice scale {scale}: {} significant D value(s), 2 needed",
                        pts.len()
                    ));
                }
                arr.push((scale, fit(pts)));
            }
            let directional = |name: &str| -> Option<ArrheniusFit> {
                fit(along(&points, name)
                    .filter(|(_, d)| d.d.significant)
                    .map(|(p, d)| Point {
                        temperature_K: p.temperature_K,
                        value: d.d.value,
                        std: d.d.std,
                    })
                    .collect())
            };
            diffusion_sections.push(DiffusionSection {
                composition: set.composition,
                arrhenius_c: directional("c"),
                arrhenius_ab: directional("ab"),
                points,
                arrhenius: arr,
                notes: set_notes,
            });
        }
        diffusion_sections
    }

    /// Haven ratio: all finished runs of a temperature pooled.
    fn haven_points(&self, notes: &mut Vec<String>) -> Vec<HavenPoint> {
        let (study, out, finished) = (self.study, self.out, &self.runs[..]);
        let mut haven = Vec::new();
        for &t in &study.haven.temperatures_k {
            let at: Vec<&Run> = finished
                .iter()
                .filter(|r| r.stage == Stage::Haven && r.temperature_K == Some(t))
                .copied()
                .collect();
            if at.is_empty() {
                continue;
            }
            match diffusion_of(out, &at, t) {
                Ok(a) => haven.push(HavenPoint {
                    temperature_K: t,
                    basis: Basis {
                        runs: at.len(),
                        atoms: at[0].atoms,
                        ps_each: analysed_ps(&a, &at, notes),
                    },
                    analysis: a,
                }),
                Err(e) => notes.push(format!("Haven ratio at {t} K: {e}")),
            }
        }
        haven
    }
}

/// The runs that would determine T_C where the finished ones do not. Above the last clearly
/// tetragonal run: the undecided runs there again, four times longer (the errors of both rules
/// fall as one over the square root of the length; measured, a hotter run of the same length
/// decides less, its correlation times being no shorter), or, when there is none, a run 100 K
/// hotter; below the first clearly cubic one, the same downwards; where no run decides or runs
/// contradict, the same temperatures four times longer.
fn next_runs(runs: &[(f64, lattice::Phase)], basis: &Basis) -> Option<NextRuns> {
    let of = |p: lattice::Phase| runs.iter().filter(move |r| r.1 == p).map(|r| r.0);
    let tet = of(lattice::Phase::Tetragonal).fold(f64::NAN, f64::max);
    let cub = of(lattice::Phase::Cubic).fold(f64::NAN, f64::min);
    let all: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let (lo, hi) = (
        all.iter().copied().fold(f64::INFINITY, f64::min),
        all.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    if all.is_empty() {
        return None;
    }
    let round = |v: f64| (v / 25.0).round() * 25.0;
    // distinct rounded temperatures, ascending
    let distinct = |ts: &mut dyn Iterator<Item = f64>| -> Vec<f64> {
        let mut ts: Vec<f64> = ts.map(round).collect();
        ts.sort_by(f64::total_cmp);
        ts.dedup();
        ts
    };
    // One open end of the bracket: the undecided runs beyond the decided edge, four times
    // longer; when there are none, a run 100 K beyond the last one, same length.
    let open_end = |keep: &dyn Fn(f64) -> bool, beyond: f64, what: String, one: &str| {
        let undecided = distinct(
            &mut runs
                .iter()
                .filter(|r| !matches!(r.1, lattice::Phase::Tetragonal | lattice::Phase::Cubic))
                .map(|r| r.0)
                .filter(|&t| keep(t)),
        );
        if undecided.is_empty() {
            return (vec![round(beyond)], basis.ps_each, format!("{what}: {one}"));
        }
        let list: Vec<String> = undecided.iter().map(|t| format!("{t:.0} K")).collect();
        let why = format!(
            "{what} and the run(s) at {} could not tell: those, four times longer",
            list.join(", ")
        );
        (undecided, 4.0 * basis.ps_each, why)
    };
    let (temperatures, ps, why) = match (tet.is_nan(), cub.is_nan()) {
        (false, true) => open_end(
            &|t| t > tet,
            hi + 100.0,
            format!("no run above {tet:.0} K is clearly cubic"),
            "a hotter one",
        ),
        (true, false) => open_end(
            &|t| t < cub,
            (lo - 100.0).max(50.0),
            format!("no run below {cub:.0} K is clearly tetragonal"),
            "a colder one",
        ),
        (true, true) => (
            distinct(&mut all.iter().copied()),
            4.0 * basis.ps_each,
            "no run decides: the same temperatures, four times longer".to_string(),
        ),
        (false, false) => (
            vec![round(cub.min(tet)), round(cub.max(tet))],
            4.0 * basis.ps_each,
            format!(
                "the runs contradict each other (tetragonal up to {tet:.0} K, cubic from {cub:.0} K, or two starts disagree): those temperatures, four times longer"
            ),
        ),
    };
    Some(NextRuns {
        temperatures_K: temperatures,
        ps,
        atoms: basis.atoms,
        minutes_each: None,
        why,
    })
}

/// T_C of one composition as an interval (value +- half the bracket), if determined.
fn tc_of(r: &StudyReport, c: Composition) -> Option<&lattice::TransitionTemperature> {
    r.lattice
        .iter()
        .find(|s| s.composition == c)
        .and_then(|s| s.result.as_ref())
        .and_then(|x| x.T_C.as_ref())
}

/// Whether two T_C brackets are apart (brackets that only touch count as apart: each end is a
/// decided run).
fn apart(a: &lattice::TransitionTemperature, b: &lattice::TransitionTemperature) -> bool {
    (a.value - b.value).abs() >= a.halfwidth + b.halfwidth - 1e-9
}

/// The difference of two T_C and "lower"/"higher"/"the same within the brackets".
fn compare_tc(a: &lattice::TransitionTemperature, b: &lattice::TransitionTemperature) -> String {
    let d = a.value - b.value;
    let how = match (apart(a, b), d < 0.0) {
        (false, _) => "the same within the brackets",
        (true, true) => "lower",
        (true, false) => "higher",
    };
    format!(
        "{how} ({:+.0} K, brackets +-{:.0} and +-{:.0} K)",
        d, a.halfwidth, b.halfwidth
    )
}

/// The paper's composition finding from this study's numbers: for each x with both W with
/// vacancies and vacancies alone, each against pristine and against each other (and W alone
/// where present). One sentence per comparison; "not determined" where a T_C is missing.
pub fn vacancy_effect(r: &StudyReport) -> Vec<String> {
    let pristine = Composition {
        x: 0.0,
        variant: Variant::Pristine,
    };
    let p = tc_of(r, pristine);
    let mut lines = Vec::new();
    let with = |v: Variant, x: f64| Composition { x, variant: v };
    let xs: Vec<f64> = r
        .lattice
        .iter()
        .filter(|s| s.composition.variant == Variant::Vac)
        .map(|s| s.composition.x)
        .collect();
    for x in xs {
        let (vac, wvac, w) = (
            with(Variant::Vac, x),
            with(Variant::WVac, x),
            with(Variant::W, x),
        );
        let mut against_pristine = |c: Composition| {
            if !r.lattice.iter().any(|s| s.composition == c) {
                return;
            }
            lines.push(match (tc_of(r, c), p) {
                (Some(a), Some(b)) => {
                    format!("{} against pristine: {}", c.label(), compare_tc(a, b))
                }
                _ => format!(
                    "{} against pristine: not determined (a T_C is missing)",
                    c.label()
                ),
            });
        };
        against_pristine(wvac);
        against_pristine(vac);
        against_pristine(w);
        if r.lattice.iter().any(|s| s.composition == wvac) {
            lines.push(match (tc_of(r, vac), tc_of(r, wvac), p) {
                (Some(a), Some(b), Some(pr)) => {
                    let same = !apart(a, b);
                    let lowered = apart(pr, a) && a.value < pr.value;
                    let verdict = match (lowered, same) {
                        (true, true) => "the vacancies alone lower T_C as much as W with vacancies do, as the paper finds",
                        (true, false) => "the vacancies alone lower T_C, but not as much as W with vacancies",
                        (false, _) => "the vacancies alone do not lower T_C measurably here",
                    };
                    format!("vacancies alone against W with vacancies at x = {x}: {}; {verdict}", compare_tc(a, b))
                }
                _ => format!("vacancies alone against W with vacancies at x = {x}: not determined (a T_C is missing)"),
            });
        }
    }
    lines
}

/// The study's main numbers, one row each: (quantity, value with error or why there is
/// none, the runs it rests on).
pub fn headline(r: &StudyReport) -> Vec<[String; 3]> {
    let mut rows = Vec::new();
    for s in &r.lattice {
        let value = match s.result.as_ref().and_then(|x| x.T_C.as_ref()) {
            Some(t) => format!("{:.0} +- {:.0} K", t.value, t.halfwidth),
            None => "not determined (see section 1)".into(),
        };
        rows.push([
            format!("T_C {}", s.composition.label()),
            value,
            basis(&s.basis),
        ]);
    }
    for d in &r.dihedral {
        let Some(p) = &d.pattern else { continue };
        let phase = d
            .signature
            .as_ref()
            .map_or("undetermined", |s| s.phase.name());
        rows.push([
            format!(
                "dihedral pattern {} ({:.0} K)",
                short_name(&d.run),
                d.temperature_K
            ),
            format!(
                "{:.1} / {:.1} / {:.1} deg ({phase})",
                p.sorted_abs_mean_deg[0], p.sorted_abs_mean_deg[1], p.sorted_abs_mean_deg[2]
            ),
            basis(&d.basis),
        ]);
    }
    for d in &r.diffusion {
        let runs = d
            .points
            .first()
            .map(|p| basis(&p.basis))
            .unwrap_or_default();
        for (scale, f) in &d.arrhenius {
            let value = match f {
                Some(f) => format!("{:.3} +- {:.3} eV", f.Ea_eV.value, f.Ea_eV.std),
                None => "not enough significant D values".into(),
            };
            let what = if *scale == 1.0 {
                format!("E_a {}", d.composition.label())
            } else {
                format!("E_a {} (lattice x {scale})", d.composition.label())
            };
            rows.push([what, value, format!("{runs} per temperature")]);
        }
    }
    for h in &r.haven {
        let value = if h.analysis.haven_ratio.significant {
            format!(
                "{:.2} +- {:.2}",
                h.analysis.haven_ratio.value, h.analysis.haven_ratio.std
            )
        } else {
            "not determined (D_sigma not significant)".into()
        };
        rows.push([
            format!("H_R at {:.0} K", h.temperature_K),
            value,
            basis(&h.basis),
        ]);
    }
    rows
}

/// `report` for a study's output folder.
pub fn run(study: &Study, runs: &[Run]) -> Result<StudyReport> {
    std::fs::create_dir_all(&study.output).map_err(io("create", &study.output))?;
    write(study, &study.output, runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::Phase::{Cubic, Mixed, Tetragonal, Undetermined};
    use crate::lattice::{RunSeries, Settings};

    /// A run at `t` K whose unique axis is `r` times the other two, with a small wobble (0.05 %)
    /// that the time average resolves: r = 1.02 reads tetragonal, r = 1 cubic.
    fn run(t: f64, r: f64) -> RunSeries {
        let lengths = (0..2000)
            .map(|k| {
                let w = 1.0 + 5e-4 * (k as f64 * 0.7).sin();
                [7.2 * w, 7.2 / w, 7.2 * r * w]
            })
            .collect();
        RunSeries {
            name: format!("scan/x/T{t:.0}"),
            temperature: vec![t; 2000],
            lengths,
            per_cell: true,
            angles: Vec::new(),
        }
    }

    fn result(runs: &[(f64, f64)]) -> LatticeResult {
        let series: Vec<RunSeries> = runs.iter().map(|&(t, r)| run(t, r)).collect();
        let settings = Settings {
            equilibration: Some(0.0),
            ..Settings::default()
        };
        lattice::analyse(&series, &settings).unwrap()
    }

    /// The runs' phases by the lattice rule, at their temperatures.
    fn phases(runs: &[(f64, f64)]) -> Vec<(f64, lattice::Phase)> {
        let r = result(runs);
        r.runs
            .iter()
            .map(|x| (x.temperature_K.value, x.phase))
            .collect()
    }

    const BASIS: Basis = Basis {
        runs: 2,
        atoms: 432,
        ps_each: 10.0,
    };

    #[test]
    fn next_runs_go_where_the_bracket_is_open() {
        // Both ends decided: T_C is determined and nothing more is needed.
        let both = result(&[(200.0, 1.02), (600.0, 1.0)]);
        assert_eq!(both.T_C.as_ref().unwrap().value, 400.0);
        // Only tetragonal runs: a hotter run, 100 K beyond the hottest, same length.
        let n = next_runs(&phases(&[(200.0, 1.02), (400.0, 1.02)]), &BASIS).unwrap();
        assert_eq!(
            (n.temperatures_K.clone(), n.ps, n.atoms),
            (vec![500.0], 10.0, 432)
        );
        // Only cubic runs: a colder one.
        let n = next_runs(&phases(&[(300.0, 1.0), (500.0, 1.0)]), &BASIS).unwrap();
        assert_eq!((n.temperatures_K.clone(), n.ps), (vec![200.0], 10.0));
        // Undecided runs beyond the last tetragonal / before the first cubic one: those again,
        // four times longer, not a hotter / colder run of the same length.
        let n = next_runs(
            &[(200.0, Tetragonal), (400.0, Undetermined), (600.0, Mixed)],
            &BASIS,
        )
        .unwrap();
        assert_eq!((n.temperatures_K.clone(), n.ps), (vec![400.0, 600.0], 40.0));
        let n = next_runs(&[(200.0, Undetermined), (400.0, Cubic)], &BASIS).unwrap();
        assert_eq!((n.temperatures_K.clone(), n.ps), (vec![200.0], 40.0));
        // Cubic below tetragonal: no single transition; both temperatures, 4x longer.
        let n = next_runs(&phases(&[(300.0, 1.0), (500.0, 1.02)]), &BASIS).unwrap();
        assert_eq!((n.temperatures_K.clone(), n.ps), (vec![300.0, 500.0], 40.0));
    }

    fn section(x: f64, variant: Variant, tc: Option<(f64, f64)>) -> LatticeSection {
        LatticeSection {
            composition: Composition { x, variant },
            result: Some(LatticeResult {
                runs: Vec::new(),
                T_C: tc
                    .map(|(value, halfwidth)| lattice::TransitionTemperature { value, halfwidth }),
                warnings: Vec::new(),
            }),
            rules: Vec::new(),
            basis: BASIS,
            note: None,
            next_runs: None,
        }
    }

    fn report(lattice: Vec<LatticeSection>) -> StudyReport {
        StudyReport {
            preset: "demo".into(),
            runs_planned: 0,
            runs_finished: 0,
            lattice,
            dihedral: Vec::new(),
            diffusion: Vec::new(),
            haven: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn vacancy_effect_compares_brackets() {
        // The paper's finding: vacancies alone lower T_C as much as W with vacancies.
        let r = report(vec![
            section(0.0, Variant::Pristine, Some((450.0, 50.0))),
            section(0.1, Variant::WVac, Some((250.0, 50.0))),
            section(0.1, Variant::Vac, Some((275.0, 25.0))),
        ]);
        let lines = vacancy_effect(&r);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("w-vac-x0.100 against pristine: lower (-200 K"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("vac-x0.100 against pristine: lower (-175 K"),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("the same within the brackets"),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("as much as W with vacancies do"),
            "{lines:?}"
        );
        // Vacancies that do not move T_C, and a missing T_C, are said so.
        let r = report(vec![
            section(0.0, Variant::Pristine, Some((450.0, 50.0))),
            section(0.1, Variant::WVac, Some((250.0, 50.0))),
            section(0.1, Variant::Vac, Some((425.0, 25.0))),
        ]);
        let lines = vacancy_effect(&r);
        assert!(
            lines[1].contains("the same within the brackets"),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("do not lower T_C measurably"),
            "{lines:?}"
        );
        let r = report(vec![
            section(0.0, Variant::Pristine, None),
            section(0.1, Variant::Vac, Some((425.0, 25.0))),
        ]);
        assert_eq!(
            vacancy_effect(&r),
            vec!["vac-x0.100 against pristine: not determined (a T_C is missing)".to_string()]
        );
    }
}
