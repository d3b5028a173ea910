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
    let failed: Vec<String> = runs
        .iter()
        .filter(|r| out.join(&r.id).join(super::execute::FAILED).exists())
        .map(|r| r.id.clone())
        .collect();
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

fn lattice_figure(s: &LatticeSection) -> Option<Figure> {
    let r = s.result.as_ref()?;
    Some(lattice::figure(r, Some(&s.composition.label())))
}

fn figures(r: &StudyReport, study: &Study, out: &Path) -> Result<()> {
    for s in &r.lattice {
        if let Some(f) = lattice_figure(s) {
            f.save(&out.join(format!("lattice_{}", s.composition.label())))?;
        }
    }
    tc_figure(r, out)?;
    variants_figure(r, study, out)?;
    for d in &r.diffusion {
        arrhenius_figure(d, out)?;
        anisotropy_figure(d, out)?;
    }
    haven_figure(r, out)
}

/// T_C against x (W with vacancies; pristine at x = 0).
fn tc_figure(r: &StudyReport, out: &Path) -> Result<()> {
    let tc: Vec<(f64, f64, f64)> = r
        .lattice
        .iter()
        .filter(|s| matches!(s.composition.variant, Variant::Pristine | Variant::WVac))
        .filter_map(|s| {
            let t = s.result.as_ref()?.T_C.as_ref()?;
            Some((s.composition.x, t.value, t.halfwidth))
        })
        .collect();
    if !tc.is_empty() {
        Figure {
            title: "T_C against W content (one Na vacancy per W)".into(),
            x_label: "x in Na(3-x)W(x)Sb(1-x)S4".into(),
            y_label: "T_C (K)".into(),
            series: vec![Series {
                label: "T_C +- half the tetragonal-to-cubic gap".into(),
                points: tc.iter().map(|p| (p.0, p.1)).collect(),
                y_err: Some(tc.iter().map(|p| p.2).collect()),
                markers: true,
                line: true,
                ..Series::default()
            }],
            ..Figure::default()
        }
        .save(&out.join("tc_vs_x"))?;
    }
    Ok(())
}

/// The four variants: c/a against T.
fn variants_figure(r: &StudyReport, study: &Study, out: &Path) -> Result<()> {
    let variant_series: Vec<Series> = r
        .lattice
        .iter()
        .filter(|s| {
            s.composition.variant != Variant::WVac
                || study
                    .scan
                    .compositions
                    .iter()
                    .any(|c| c.variant == Variant::Vac && c.x == s.composition.x)
        })
        .filter_map(|s| {
            let res = s.result.as_ref()?;
            Some(Series {
                label: s.composition.label(),
                points: res
                    .runs
                    .iter()
                    .map(|x| (x.temperature_K.value, x.c_over_a))
                    .collect(),
                markers: true,
                line: true,
                color: match s.composition.variant {
                    Variant::Pristine => 0,
                    Variant::WVac => 1,
                    Variant::Vac => 2,
                    Variant::W => 3,
                },
                ..Series::default()
            })
        })
        .collect();
    if variant_series.len() > 1 {
        Figure {
            title: "composition variants: c/a against T".into(),
            x_label: "T (K)".into(),
            y_label: "c/a".into(),
            series: variant_series,
            ..Figure::default()
        }
        .save(&out.join("variants"))?;
    }
    Ok(())
}

/// log10 D against 1000 / T per lattice scale, the band between the extreme scales' fits, and
/// the fit at the averaged cell.
fn arrhenius_figure(d: &DiffusionSection, out: &Path) -> Result<()> {
    let label = d.composition.label();
    let mut series = Vec::new();
    for (k, (scale, _)) in d.arrhenius.iter().enumerate() {
        let pts: Vec<&DiffusionPoint> = d
            .points
            .iter()
            .filter(|p| p.lattice_scale == *scale && p.analysis.d.significant)
            .collect();
        if pts.is_empty() {
            continue;
        }
        series.push(Series {
            label: if *scale == 1.0 {
                "D (averaged cell)".into()
            } else {
                format!("D, lattice x {scale}")
            },
            points: pts
                .iter()
                .map(|p| (1000.0 / p.temperature_K, p.analysis.d.value.log10()))
                .collect(),
            y_err: Some(
                pts.iter()
                    .map(|p| p.analysis.d.std / p.analysis.d.value / std::f64::consts::LN_10)
                    .collect(),
            ),
            markers: true,
            color: k,
            ..Series::default()
        });
    }
    // the +-1.5 % band: the fits at the extreme scales
    let fits: Vec<&ArrheniusFit> = d.arrhenius.iter().filter_map(|(_, f)| f.as_ref()).collect();
    if fits.len() > 1 {
        let xs: Vec<f64> = d.points.iter().map(|p| 1000.0 / p.temperature_K).collect();
        let (lo, hi) = xs
            .iter()
            .fold((f64::MAX, f64::MIN), |a, &x| (a.0.min(x), a.1.max(x)));
        let line = |f: &ArrheniusFit, x: f64| f.line(x).0 / std::f64::consts::LN_10;
        let band = (0..=20)
            .map(|k| {
                let x = lo + (hi - lo) * k as f64 / 20.0;
                let v: Vec<f64> = fits.iter().map(|f| line(f, x)).collect();
                (
                    x,
                    v.iter().cloned().fold(f64::MAX, f64::min),
                    v.iter().cloned().fold(f64::MIN, f64::max),
                )
            })
            .collect();
        series.push(Series {
            label: "lattice-parameter band".into(),
            band: Some(band),
            color: 5,
            ..Series::default()
        });
    }
    if let Some((_, Some(f))) = d.arrhenius.iter().find(|(s, _)| *s == 1.0) {
        let xs: Vec<f64> = f.points.iter().map(|p| 1000.0 / p.temperature_K).collect();
        series.push(Series {
            label: format!("fit: E_a = {:.3} +- {:.3} eV", f.Ea_eV.value, f.Ea_eV.std),
            points: xs
                .iter()
                .map(|&x| (x, f.line(x).0 / std::f64::consts::LN_10))
                .collect(),
            line: true,
            color: 1,
            ..Series::default()
        });
    }
    if !series.is_empty() {
        Figure {
            title: format!("{label}: tracer diffusion"),
            x_label: "1000 / T (1/K)".into(),
            y_label: "log10 D (cm^2/s)".into(),
            series,
            ..Figure::default()
        }
        .save(&out.join(format!("arrhenius_{label}")))?;
    }
    Ok(())
}

/// D along c and in the ab plane against T.
fn anisotropy_figure(d: &DiffusionSection, out: &Path) -> Result<()> {
    let label = d.composition.label();
    let dir_series: Vec<Series> = ["c", "ab"]
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let pts: Vec<(f64, f64, f64)> = along(&d.points, name)
                .map(|(p, x)| (p.temperature_K, x.d.value, x.d.std))
                .collect();
            Series {
                label: format!("D along {name}"),
                points: pts.iter().map(|p| (p.0, p.1)).collect(),
                y_err: Some(pts.iter().map(|p| p.2).collect()),
                markers: true,
                color: k,
                ..Series::default()
            }
        })
        .collect();
    if dir_series.iter().any(|s| !s.points.is_empty()) {
        Figure {
            title: format!("{label}: D along c and in the ab plane"),
            x_label: "T (K)".into(),
            y_label: "D (cm^2/s)".into(),
            series: dir_series,
            ..Figure::default()
        }
        .save(&out.join(format!("anisotropy_{label}")))?;
    }
    Ok(())
}

/// The Haven ratio against T.
fn haven_figure(r: &StudyReport, out: &Path) -> Result<()> {
    let hr: Vec<&HavenPoint> = r
        .haven
        .iter()
        .filter(|h| h.analysis.haven_ratio.significant)
        .collect();
    if !hr.is_empty() {
        Figure {
            title: "Haven ratio (runs of each temperature pooled)".into(),
            x_label: "T (K)".into(),
            y_label: "H_R = D / D_sigma".into(),
            series: vec![Series {
                label: "H_R".into(),
                points: hr
                    .iter()
                    .map(|h| (h.temperature_K, h.analysis.haven_ratio.value))
                    .collect(),
                y_err: Some(hr.iter().map(|h| h.analysis.haven_ratio.std).collect()),
                markers: true,
                ..Series::default()
            }],
            ..Figure::default()
        }
        .save(&out.join("haven"))?;
    }
    Ok(())
}

/// The points at the averaged cell (lattice scale 1) with their results along direction `name`.
fn along<'a>(
    points: &'a [DiffusionPoint],
    name: &'a str,
) -> impl Iterator<Item = (&'a DiffusionPoint, &'a diffusion::Directional)> {
    points
        .iter()
        .filter(|p| p.lattice_scale == 1.0)
        .filter_map(move |p| {
            p.analysis
                .directions
                .iter()
                .find(|d| d.direction == name)
                .map(|d| (p, d))
        })
}

fn coefficient(c: &diffusion::Coefficient) -> String {
    if c.significant {
        format!("{:.3e} +- {:.1e}", c.value, c.std)
    } else {
        match c.upper_bound_95 {
            Some(u) => format!("< {u:.2e} (95 %, not significant)"),
            None => "not significant".to_string(),
        }
    }
}

fn basis(b: &Basis) -> String {
    let ps = if b.ps_each >= 10.0 {
        format!("{:.0}", b.ps_each)
    } else {
        format!("{:.2}", b.ps_each)
    };
    format!("{} run(s) x {} atoms x {ps} ps", b.runs, b.atoms)
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.3}", 100.0 * v)
    } else {
        "n/a".into()
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

/// The distribution of the pairs' long-time dihedral means of every dihedral run, one line
/// each (the paper's Fig. 4b): centred on 0 in the cubic phase, split into the tetragonal
/// pattern's values below T_C.
fn dihedral_histogram(sections: &[DihedralSection]) -> Figure {
    let series = sections
        .iter()
        .filter(|d| !d.pair_means.is_empty())
        .enumerate()
        .map(|(k, d)| Series {
            label: format!(
                "{} ({:.0} K, {})",
                short_name(&d.run),
                d.temperature_K,
                d.signature.as_ref().map_or("?", |s| s.phase.name())
            ),
            points: dihedral::mean_histogram(&d.pair_means, 1.0, 20.0),
            line: true,
            color: k,
            ..Series::default()
        })
        .collect();
    Figure {
        title: "long-time mean of each pair's dihedrals".into(),
        x_label: "long-time mean dihedral (deg)".into(),
        y_label: "fraction of means per deg".into(),
        series,
        ..Figure::default()
    }
}

/// Which rules the T_C bracket rests on: the highest tetragonal and the lowest cubic run.
fn tc_rests_on(s: &LatticeSection) -> String {
    let Some(res) = s.result.as_ref().filter(|x| x.T_C.is_some()) else {
        return "-".into();
    };
    let t_c = res.T_C.as_ref().unwrap().value;
    let side = |phase: lattice::Phase, below: bool| {
        res.runs
            .iter()
            .zip(&s.rules)
            .filter(|(x, _)| x.phase == phase && (x.temperature_K.value < t_c) == below)
            .map(|(x, rule)| format!("{} ({})", x.name, rule.rests_on.name()))
            .collect::<Vec<_>>()
    };
    let mut bracket = side(lattice::Phase::Tetragonal, true);
    bracket.extend(side(lattice::Phase::Cubic, false));
    bracket.join(", ")
}

fn markdown(r: &StudyReport, study: &Study, out: &Path) -> String {
    let mut m = String::new();
    intro_md(&mut m, r, study);
    tc_md(&mut m, r);
    splitting_trend_md(&mut m, r);
    lattice_runs_md(&mut m, r, out);
    variants_md(&mut m, r, out);
    dihedral_md(&mut m, r, out);
    diffusion_md(&mut m, r, out);
    haven_md(&mut m, r, out);
    if !r.notes.is_empty() {
        let _ = writeln!(m, "## Notes\n");
        for n in &r.notes {
            let _ = writeln!(m, "- {n}");
        }
    }
    m
}

/// A figure's markdown only when it was drawn.
fn fig(out: &Path, name: &str, alt: &str) -> String {
    if out.join(format!("{name}.png")).exists() {
        format!("![{alt}]({name}.png)")
    } else {
        format!("({alt}: no figure, too few finished runs)")
    }
}

/// Title, what the numbers rest on, and the summary table.
fn intro_md(m: &mut String, r: &StudyReport, study: &Study) {
    let _ = writeln!(m, "# Study report ({} preset)\n", r.preset);
    let _ = writeln!(
        m,
        "{} of {} planned runs have finished. Model: `{}`; time step {} fs. Each number below names the runs it rests on; numbers from short runs or small cells are less converged than the paper's.\n",
        r.runs_finished,
        r.runs_planned,
        study.model.path.display(),
        study.timestep_fs
    );
    let _ = writeln!(
        m,
        "## Summary\n\n| quantity | value | from |\n|---|---|---|"
    );
    for [q, v, b] in headline(r) {
        let _ = writeln!(m, "| {q} | {v} | {b} |");
    }
    let _ = writeln!(m);
}

/// Section 1: T_C per composition, and the runs that would determine an undetermined one.
fn tc_md(m: &mut String, r: &StudyReport) {
    let _ = writeln!(
        m,
        "## 1. Temperature scans and T_C (NPT, fully flexible cell)\n"
    );
    let _ = writeln!(m, "Coarse grid, then a fine grid between the last tetragonal and the first cubic point, run from both end points; a temperature counts when both starts agree. Two rules give each run's phase: the paper's lattice rule (the time-averaged axis splitting with a block-average error) and the dihedral signature (the rms of the SbS4 pairs' long-time dihedral means, {:.0} deg and above tetragonal: the tetrahedra keep their pattern below T_C, average it out above). A run's phase is the one both give, or the one that decides when the other cannot tell; a contradiction decides nothing.\n", dihedral::signature::THRESHOLD_DEG);
    let _ = writeln!(
        m,
        "| composition | T_C (K) | rests on | runs used |\n|---|---|---|---|"
    );
    for s in &r.lattice {
        let tc = match s.result.as_ref().and_then(|x| x.T_C.as_ref()) {
            Some(t) => format!("{:.1} +- {:.1}", t.value, t.halfwidth),
            None => format!("not determined: {}", s.note.clone().unwrap_or_default()),
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} |",
            s.composition.label(),
            tc,
            tc_rests_on(s),
            basis(&s.basis)
        );
    }
    for s in &r.lattice {
        if let Some(n) = &s.next_runs {
            let ts: Vec<String> = n
                .temperatures_K
                .iter()
                .map(|t| format!("{t:.0} K"))
                .collect();
            let cost = n
                .minutes_each
                .map_or("the speed probe could not run".to_string(), |m| {
                    format!(
                        "about {:.0} min each here, {:.0} min for all on one core",
                        m.ceil(),
                        (m * ts.len() as f64).ceil()
                    )
                });
            let _ = writeln!(
                m,
                "\nTo determine T_C of {}: {}; NPT at {} for {} ps in the same {}-atom cell ({cost}).",
                s.composition.label(),
                n.why,
                ts.join(", "),
                // 40 ps, 0.4 ps: no spurious decimals
                format!("{:.1}", n.ps).trim_end_matches(".0"),
                n.atoms
            );
        }
    }
}

/// The trend at each coarse temperature across compositions, decided or not.
fn splitting_trend_md(m: &mut String, r: &StudyReport) {
    let mut by_t: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, s) in r.lattice.iter().enumerate() {
        for x in s.result.iter().flat_map(|res| &res.runs) {
            let Some(t) = x
                .name
                .strip_prefix("scan/")
                .and_then(|n| n.rsplit('/').next())
            else {
                continue;
            };
            let row = by_t
                .entry(format!("{:>8}", t.trim_start_matches('T')))
                .or_insert_with(|| vec![String::new(); r.lattice.len()]);
            row[k] = format!(
                "{} +- {} % ({})",
                pct(x.splitting.value),
                pct(x.splitting.standard_error),
                x.phase.name()
            );
        }
    }
    if r.lattice.len() > 1 && !by_t.is_empty() {
        let names: Vec<String> = r.lattice.iter().map(|s| s.composition.label()).collect();
        let _ = writeln!(
            m,
            "\nAxis splitting s = (c - (a + b) / 2) / mean length of the coarse runs, side by side (0 in the cubic phase; the tetragonal cell starts near 2 %). Where the phase stays undetermined, the splitting still shows the trend with composition.\n\n| T (K) | {} |\n|---{}|",
            names.join(" | "),
            "|---".repeat(names.len())
        );
        for (t, row) in &by_t {
            let _ = writeln!(m, "| {} | {} |", t.trim(), row.join(" | "));
        }
    }
}

/// Every scan run of every composition: lattice, both rules, the phase and why.
fn lattice_runs_md(m: &mut String, r: &StudyReport, out: &Path) {
    for s in &r.lattice {
        if let Some(res) = &s.result {
            let label = s.composition.label();
            let _ = writeln!(
                m,
                "\n{}\n\n| T (K) | a (A) | b (A) | c (A) | splitting (%) | lattice rule | dihedral signature (deg, 95 %) | phase (rests on) | why | run |\n|---|---|---|---|---|---|---|---|---|---|",
                fig(out, &format!("lattice_{label}"), &format!("lattice {label}"))
            );
            for (x, rule) in res.runs.iter().zip(&s.rules) {
                let signature = match &rule.signature {
                    Some(sig) => match (sig.value_deg, sig.interval_deg) {
                        (Some(v), Some([lo, hi])) => {
                            format!("{v:.1} ({lo:.1} to {hi:.1}): {}", sig.phase.name())
                        }
                        _ => "run too short: undetermined".to_string(),
                    },
                    None => match &rule.trajectory_error {
                        Some(e) => format!("trajectory unreadable ({e})"),
                        None => "no trajectory".to_string(),
                    },
                };
                let _ = writeln!(
                    m,
                    "| {:.1} | {:.4} | {:.4} | {:.4} | {} +- {} | {} | {} | {} ({}) | {} | {} |",
                    x.temperature_K.value,
                    x.a_A.value,
                    x.b_A.value,
                    x.c_A.value,
                    pct(x.splitting.value),
                    pct(x.splitting.standard_error),
                    rule.lattice.name(),
                    signature,
                    x.phase.name(),
                    rule.rests_on.name(),
                    x.phase_reason,
                    x.name
                );
            }
        }
    }
}

/// Section 2: the composition variants and the vacancy effect.
fn variants_md(m: &mut String, r: &StudyReport, out: &Path) {
    let _ = writeln!(m, "\n{}\n", fig(out, "tc_vs_x", "T_C against x"));
    let _ = writeln!(m, "\n## 2. Composition variants\n\n{}\n\nW with vacancies, vacancies only, W only and pristine: the paper finds that the vacancies, not W, lower T_C. From this study's T_C (a difference counts where the brackets do not overlap):\n", fig(out, "variants", "c/a of the variants"));
    let effect = vacancy_effect(r);
    if effect.is_empty() {
        let _ = writeln!(m, "- no vacancy-only composition in this study\n");
    }
    for line in effect {
        let _ = writeln!(m, "- {line}");
    }
    let _ = writeln!(m);
}

/// Section 3: SbS4 dihedrals per run.
fn dihedral_md(m: &mut String, r: &StudyReport, out: &Path) {
    let _ = writeln!(m, "## 3. Local structure: SbS4 dihedrals along <111>\n");
    if r.dihedral.is_empty() {
        let _ = writeln!(m, "No dihedral run has finished.\n");
    }
    for d in &r.dihedral {
        if let Some(note) = &d.note {
            let _ = writeln!(m, "{}: {note}\n", d.run);
            continue;
        }
        let _ = writeln!(
            m,
            "{} ({:.0} K; {}): all dihedrals between consecutive tetrahedra along the four <111> directions (equivalent by symmetry; the paper's Fig. 4a shows [111]). Aligned tetrahedra (ideal cubic) give 0; the tetragonal phase gives one large and two small angles.\n\n| pair type | pairs | mean \\|dihedral\\| (deg) | spread (deg) | spread of 2 ps averages (deg) |\n|---|---|---|---|---|",
            d.run,
            d.temperature_K,
            basis(&d.basis)
        );
        for (name, t) in &d.pair_types {
            let _ = writeln!(
                m,
                "| {name} | {} | {:.1} | {:.1} | {:.1} |",
                t.pairs, t.mean_abs_deg, t.std_deg, t.window_average_std_deg
            );
        }
        if let (Some(p), Some(sig)) = (&d.pattern, &d.signature) {
            let _ = writeln!(
                m,
                "\nLong-time means per pair, sorted by size and averaged over the pairs: {:.1}, {:.1} and {:.1} deg (the window averages spread {:.1} deg about them). Phase from the dihedral signature: {} ({}).",
                p.sorted_abs_mean_deg[0],
                p.sorted_abs_mean_deg[1],
                p.sorted_abs_mean_deg[2],
                p.window_spread_deg,
                sig.phase.name(),
                sig.phase_reason
            );
        }
        let _ = writeln!(
            m,
            "\n{} long-lived excursion(s) (2 ps average more than 10 deg from the long-time mean for at least 4 ps) in the {} pair(s) followed.\n",
            d.excursions, d.pairs_followed
        );
        if d.basis.ps_each < 8.0 {
            let _ = writeln!(
                m,
                "This run ({:.1} ps) is too short to show long-lived excursions: they last 4 ps and more, so a run needs 8 ps at least to hold one and some more to tell it from the mean (the workstation preset runs 20 ps).\n",
                d.basis.ps_each
            );
        }
        if let Some(f) = &d.figure {
            let _ = writeln!(
                m,
                "![dihedrals]({}.png) (raw and 2 ps window averages of the first pair)\n",
                f.display()
            );
        }
    }
    if !r.dihedral.is_empty() {
        let _ = writeln!(
            m,
            "{} (every pair's three long-time means: around 0 in the cubic phase, at the tetragonal pattern's values below T_C)\n",
            fig(out, "dihedral_means", "distribution of the pairs' long-time dihedral means")
        );
    }
}

/// Section 4: tracer diffusion and Arrhenius fits per set.
fn diffusion_md(m: &mut String, r: &StudyReport, out: &Path) {
    let _ = writeln!(
        m,
        "## 4. Tracer diffusion (NVT at the NPT-averaged cell, then NVE)\n"
    );
    for d in &r.diffusion {
        let label = d.composition.label();
        let _ = writeln!(m, "### {label}\n\n| T (K) | lattice scale | D (cm^2/s) | D_c | D_ab | runs used |\n|---|---|---|---|---|---|");
        for p in &d.points {
            let dir = |n: &str| {
                p.analysis
                    .directions
                    .iter()
                    .find(|x| x.direction == n)
                    .map_or("-".to_string(), |x| coefficient(&x.d))
            };
            let _ = writeln!(
                m,
                "| {:.1} | {} | {} | {} | {} | {} |",
                p.temperature_K,
                p.lattice_scale,
                coefficient(&p.analysis.d),
                dir("c"),
                dir("ab"),
                basis(&p.basis)
            );
        }
        for (scale, f) in &d.arrhenius {
            match f {
                Some(f) => {
                    let _ = writeln!(
                        m,
                        "\nE_a (lattice x {scale}) = {:.3} +- {:.3} eV from {} temperatures",
                        f.Ea_eV.value,
                        f.Ea_eV.std,
                        f.points.len()
                    );
                }
                None => {
                    let _ = writeln!(
                        m,
                        "\nE_a (lattice x {scale}): not enough significant D values for a fit"
                    );
                }
            }
        }
        for (name, f) in [("c", &d.arrhenius_c), ("ab", &d.arrhenius_ab)] {
            if let Some(f) = f {
                let _ = writeln!(
                    m,
                    "\nE_a along {name} = {:.3} +- {:.3} eV",
                    f.Ea_eV.value, f.Ea_eV.std
                );
            }
        }
        let _ = writeln!(
            m,
            "\n{} {}\n",
            fig(
                out,
                &format!("arrhenius_{label}"),
                &format!("Arrhenius {label}")
            ),
            fig(
                out,
                &format!("anisotropy_{label}"),
                &format!("anisotropy {label}")
            )
        );
        for n in &d.notes {
            let _ = writeln!(m, "- {n}");
        }
    }
}

/// Section 5: charge diffusion and the Haven ratio.
fn haven_md(m: &mut String, r: &StudyReport, out: &Path) {
    let _ = writeln!(
        m,
        "\n## 5. Charge diffusion and Haven ratio (runs of a temperature pooled)\n"
    );
    if r.haven.is_empty() {
        let _ = writeln!(m, "No Haven run has finished.\n");
    } else {
        let _ = writeln!(
            m,
            "| T (K) | D (cm^2/s) | D_sigma (cm^2/s) | H_R | runs used |\n|---|---|---|---|---|"
        );
        for h in &r.haven {
            let _ = writeln!(
                m,
                "| {:.1} | {} | {} | {} | {} |",
                h.temperature_K,
                coefficient(&h.analysis.d),
                coefficient(&h.analysis.d_sigma),
                if h.analysis.haven_ratio.significant {
                    format!(
                        "{:.2} +- {:.2}",
                        h.analysis.haven_ratio.value, h.analysis.haven_ratio.std
                    )
                } else {
                    "not determined (D_sigma not significant)".into()
                },
                basis(&h.basis)
            );
        }
        let _ = writeln!(m, "\n{}\n", fig(out, "haven", "Haven ratio"));
    }
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
    use crate::lattice::{Series, Settings};

    /// A run at `t` K whose unique axis is `r` times the other two, with a small wobble (0.05 %)
    /// that the time average resolves: r = 1.02 reads tetragonal, r = 1 cubic.
    fn run(t: f64, r: f64) -> Series {
        let lengths = (0..2000)
            .map(|k| {
                let w = 1.0 + 5e-4 * (k as f64 * 0.7).sin();
                [7.2 * w, 7.2 / w, 7.2 * r * w]
            })
            .collect();
        Series {
            name: format!("scan/x/T{t:.0}"),
            temperature: vec![t; 2000],
            lengths,
            per_cell: true,
            angles: Vec::new(),
        }
    }

    fn result(runs: &[(f64, f64)]) -> LatticeResult {
        let series: Vec<Series> = runs.iter().map(|&(t, r)| run(t, r)).collect();
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
