//! A whole dump through the dihedral analysis: tetrahedra and pairs on the first frame, the
//! dihedrals of every pair in every frame, window averages, statistics per pair type, and the
//! time series of chosen pairs with their long-lived excursions.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::signature::{signature, Signature};
use super::{excursions, moving_average, Excursion, GeometryError, Tetrahedra, BODY_DIAGONALS};
use crate::diffusion::Selection;
use crate::plot::{Figure, Series as PlotSeries};
use crate::stats::mean_std;
use crate::trajectory::{Frame, FrameSource, ReadError};

/// Why a dump cannot be analysed.
#[derive(Debug, thiserror::Error)]
pub enum DihedralError {
    /// The dump could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The dump holds no complete frame.
    #[error("{path}: no complete frame")]
    NoFrame {
        /// The dump.
        path: PathBuf,
    },
    /// The first frame holds no usable tetrahedra.
    #[error("{path}: {source}")]
    Geometry {
        /// The dump.
        path: PathBuf,
        /// What is wrong with the tetrahedra.
        source: GeometryError,
    },
    /// A frame's atom ids differ from the first frame's.
    #[error("{path}: atoms at timestep {timestep} differ from the first frame")]
    AtomsChanged {
        /// The dump.
        path: PathBuf,
        /// Timestep of that frame.
        timestep: i64,
    },
    /// A frame's timestep is not after the previous frame's.
    #[error(
        "{path}: timestep {timestep} follows {previous}: frames must be in increasing time order \
         (a restarted run appended to the same dump? split it)"
    )]
    OutOfOrder {
        /// The dump.
        path: PathBuf,
        /// Timestep of that frame.
        timestep: i64,
        /// Timestep of the frame before it.
        previous: i64,
    },
    /// The frames are not evenly spaced in time.
    #[error(
        "{path}: timestep {timestep} is {gap} ps after the previous frame, the others {step} ps: \
         frames must be evenly spaced"
    )]
    Uneven {
        /// The dump.
        path: PathBuf,
        /// Timestep of the frame after the gap.
        timestep: i64,
        /// Time since the previous frame, ps.
        gap: f64,
        /// Spacing of the first two frames, ps.
        step: f64,
    },
    /// A requested pair index is beyond the pairs found.
    #[error("pair {pair} does not exist ({pairs} pairs)")]
    NoSuchPair {
        /// The requested index.
        pair: usize,
        /// Pairs found.
        pairs: usize,
    },
    /// The named field of [`Settings`] is out of range: not positive and finite (or negative,
    /// where 0 is allowed).
    #[error("{0} must be positive")]
    NotPositive(&'static str),
}

/// What to analyse and how.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Species of the tetrahedron centres (e.g. Sb and W).
    pub centres: Vec<Selection>,
    /// Species of the ligands (e.g. S).
    pub ligand: Selection,
    /// Element names of LAMMPS types, for dumps without an element column.
    pub type_names: Vec<(i32, String)>,
    /// MD time step, ps.
    pub timestep_ps: f64,
    /// Moving-average window, ps.
    pub window_ps: f64,
    /// All four <111> directions, or `[111]` only.
    pub all_directions: bool,
    /// Pairs whose time series are kept.
    pub pairs: Vec<usize>,
    /// Histogram bin width, degrees.
    pub bin_deg: f64,
    /// Excursion: window average beyond this from the long-time mean, degrees...
    pub excursion_threshold_deg: f64,
    /// Dihedral signature that separates the phases, degrees (`signature::THRESHOLD_DEG`).
    pub signature_threshold_deg: f64,
    /// Time at the start left out of the signature and the pair means (equilibration), ps.
    pub skip_ps: f64,
    /// ...for at least this long, ps.
    pub excursion_min_ps: f64,
}

impl Settings {
    /// The defaults of `allegro-dihedral`: SbS4 and WS4 along `[111]`, 2 ps windows.
    pub fn new(timestep_ps: f64, type_names: Vec<(i32, String)>) -> Settings {
        Settings {
            centres: vec![Selection::parse("Sb"), Selection::parse("W")],
            ligand: Selection::parse("S"),
            type_names,
            timestep_ps,
            window_ps: 2.0,
            all_directions: false,
            pairs: vec![0, 1, 2],
            bin_deg: 2.0,
            excursion_threshold_deg: 10.0,
            excursion_min_ps: 4.0,
            signature_threshold_deg: super::signature::THRESHOLD_DEG,
            skip_ps: 0.0,
        }
    }
}

/// Statistics of one pair type (e.g. SbS4-WS4), all its pairs' dihedrals and frames pooled.
#[derive(Clone, Debug, Serialize)]
pub struct TypeStats {
    /// Pairs of this type.
    pub pairs: usize,
    /// Dihedrals pooled: three per pair and frame.
    pub samples: usize,
    /// Mean dihedral, degrees.
    pub mean_deg: f64,
    /// Standard deviation of the dihedrals, degrees.
    pub std_deg: f64,
    /// Mean |dihedral|, degrees.
    pub mean_abs_deg: f64,
    /// Standard deviation of the window averages, degrees.
    pub window_average_std_deg: f64,
    /// Bin edges of the histogram from -180 degrees, one bin width apart, degrees.
    pub histogram_edges_deg: Vec<f64>,
    /// Dihedrals per bin.
    pub histogram_counts: Vec<u64>,
}

/// The time series of one chosen pair.
#[derive(Clone, Debug, Serialize)]
pub struct PairSeries {
    /// Index of the pair in the pair list.
    pub pair: usize,
    /// Atom ids of its two centres, A and B.
    pub atom_ids: [i64; 2],
    /// Its pair type, e.g. SbS4-WS4.
    pub pair_type: String,
    /// The direction it lies along (Cartesian, not necessarily unit).
    pub direction: [f64; 3],
    /// Time of each frame from the first, ps.
    pub time_ps: Vec<f64>,
    /// Its three dihedrals in each frame, degrees.
    pub dihedrals_deg: Vec<[f64; 3]>,
    /// Moving averages of the three over the window, degrees.
    pub window_average_deg: Vec<[f64; 3]>,
    /// Long-lived deviations of the window averages from the pair's long-time means.
    pub excursions: Vec<Excursion>,
}

/// One pair's long-time behaviour (the paper's Fig. 4): the signed mean of each of its three
/// dihedrals and how far its window averages wander from it.
#[derive(Clone, Debug, Serialize)]
pub struct PairMean {
    /// Index of the pair in the pair list.
    pub pair: usize,
    /// Its pair type, e.g. SbS4-WS4.
    pub pair_type: String,
    /// Signed long-time mean of each of its three dihedrals over the production frames, degrees.
    pub mean_deg: [f64; 3],
    /// Standard deviation of the window averages about the mean.
    pub window_spread_deg: [f64; 3],
}

/// Everything the dihedral analysis of one dump gives.
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    /// Frames read.
    pub frames: usize,
    /// Pairs found along the chosen direction(s).
    pub pairs: usize,
    /// Directions searched for pairs: 1 (`[111]`) or all four <111>.
    pub directions: usize,
    /// Moving-average window, ps.
    pub window_ps: f64,
    /// Statistics per pair type.
    pub pair_types: BTreeMap<String, TypeStats>,
    /// Time series of the chosen pairs (`Settings::pairs`).
    pub series: Vec<PairSeries>,
    /// Every pair's signed long-time means (after `skip_frames`).
    pub pair_means: Vec<PairMean>,
    /// The phase from the pairs' long-time means (see `signature`).
    pub signature: Signature,
    /// Truncated input, a window longer than the run.
    pub warnings: Vec<String>,
}

fn check(settings: &Settings) -> Result<(), DihedralError> {
    for (value, name) in [
        (settings.timestep_ps, "timestep_ps"),
        (settings.window_ps, "window_ps"),
        (settings.bin_deg, "bin_deg"),
        (settings.excursion_threshold_deg, "excursion_threshold_deg"),
        (settings.signature_threshold_deg, "signature_threshold_deg"),
    ] {
        if !(value > 0.0 && value.is_finite()) {
            return Err(DihedralError::NotPositive(name));
        }
    }
    if settings.excursion_min_ps.is_nan() || settings.excursion_min_ps < 0.0 {
        return Err(DihedralError::NotPositive("excursion_min_ps"));
    }
    if !(settings.skip_ps >= 0.0 && settings.skip_ps.is_finite()) {
        return Err(DihedralError::NotPositive("skip_ps"));
    }
    Ok(())
}

/// Reads every frame of `source` (named `path` in errors); `progress` gets the bytes read.
pub fn analyse(
    source: &mut dyn FrameSource,
    path: &Path,
    settings: &Settings,
    progress: &dyn Fn(u64),
) -> Result<Analysis, DihedralError> {
    check(settings)?;
    let first = source.next_frame()?.ok_or_else(|| DihedralError::NoFrame {
        path: path.to_path_buf(),
    })?;
    let labels = Labels {
        first: &first,
        settings,
    };
    let directions = if settings.all_directions {
        BODY_DIAGONALS.to_vec()
    } else {
        vec![BODY_DIAGONALS[0]]
    };
    let tets = Tetrahedra::find(
        &first,
        &|i| settings.centres.iter().any(|c| labels.matches(c, i)),
        &|i| labels.matches(&settings.ligand, i),
        directions,
    )
    .map_err(|source| DihedralError::Geometry {
        path: path.to_path_buf(),
        source,
    })?;
    // (direction, centre a, centre b) of every pair
    let all_pairs: Vec<(usize, usize, usize)> = tets
        .pairs
        .iter()
        .enumerate()
        .flat_map(|(k, p)| p.iter().map(move |&(a, b)| (k, a, b)))
        .collect();
    if let Some(&pair) = settings.pairs.iter().find(|&&p| p >= all_pairs.len()) {
        return Err(DihedralError::NoSuchPair {
            pair,
            pairs: all_pairs.len(),
        });
    }
    let pair_type = |a: usize, b: usize| labels.pair_type(&tets, a, b);
    let (values, times) =
        read_dihedrals(source, &first, &tets, &all_pairs, path, settings, progress)?;
    let mut warnings = Vec::new();
    if let Some(t) = source.truncated() {
        warnings.push(t.to_owned());
    }
    let run_ps = times.last().copied().unwrap_or(0.0);
    if settings.window_ps > run_ps {
        warnings.push(format!(
            "the {} ps window is longer than the run ({run_ps} ps): the window averages are \
             averages over the whole run",
            settings.window_ps
        ));
    }
    let averaged = window_averages(&values, &times, settings);
    let types: Vec<String> = all_pairs.iter().map(|&(_, a, b)| pair_type(a, b)).collect();
    let pair_types = pair_type_stats(&types, &values, &averaged, settings.bin_deg);
    let series = settings
        .pairs
        .iter()
        .map(|&p| {
            let (k, a, b) = all_pairs[p];
            PairSeries {
                pair: p,
                atom_ids: [first.ids[tets.centres[a]], first.ids[tets.centres[b]]],
                pair_type: types[p].clone(),
                direction: tets.directions[k],
                time_ps: times.clone(),
                dihedrals_deg: values[p].clone(),
                window_average_deg: averaged[p].clone(),
                excursions: pair_excursions(&values[p], &averaged[p], &times, settings),
            }
        })
        .collect();
    let skip = times
        .iter()
        .position(|&t| t >= settings.skip_ps)
        .unwrap_or(0)
        .min(times.len().saturating_sub(1));
    let production: Vec<Vec<[f64; 3]>> = values.iter().map(|v| v[skip..].to_vec()).collect();
    let pair_means = (0..all_pairs.len())
        .map(|p| pair_mean(p, &types[p], &production[p], &averaged[p][skip..]))
        .collect();
    let signature = signature(&production, settings.signature_threshold_deg);
    Ok(Analysis {
        frames: times.len(),
        pairs: all_pairs.len(),
        directions: tets.directions.len(),
        window_ps: settings.window_ps,
        pair_types,
        series,
        pair_means,
        signature,
        warnings,
    })
}

/// Per pair, per frame, its three dihedrals (degrees).
type PerPair = Vec<Vec<[f64; 3]>>;

/// Names of atoms and pair types, from the first frame's element column or the settings.
struct Labels<'a> {
    first: &'a Frame,
    settings: &'a Settings,
}

impl Labels<'_> {
    fn name_of(&self, i: usize) -> String {
        let first = self.first;
        first
            .element(i)
            .map(str::to_owned)
            .or_else(|| {
                self.settings
                    .type_names
                    .iter()
                    .find(|(t, _)| *t == first.types[i])
                    .map(|(_, n)| n.clone())
            })
            .unwrap_or_else(|| format!("type{}", first.types[i]))
    }

    fn matches(&self, s: &Selection, i: usize) -> bool {
        match s {
            Selection::Type(t) => self.first.types[i] == *t,
            Selection::Element(e) => self.name_of(i) == *e,
        }
    }

    /// "SbS4-WS4" for the pair of centres `a`, `b` (names sorted).
    fn pair_type(&self, tets: &Tetrahedra, a: usize, b: usize) -> String {
        let ligand_name = match &self.settings.ligand {
            Selection::Type(t) => format!("type{t}"),
            Selection::Element(e) => e.clone(),
        };
        let mut n = [a, b].map(|c| format!("{}{}4", self.name_of(tets.centres[c]), ligand_name));
        n.sort();
        format!("{}-{}", n[0], n[1])
    }
}

/// Per pair, the three dihedrals of every frame (degrees), and the frames' times (ps from the
/// first); frames must keep their atoms and be in time order, evenly spaced.
fn read_dihedrals(
    source: &mut dyn FrameSource,
    first: &Frame,
    tets: &Tetrahedra,
    all_pairs: &[(usize, usize, usize)],
    path: &Path,
    settings: &Settings,
    progress: &dyn Fn(u64),
) -> Result<(PerPair, Vec<f64>), DihedralError> {
    let path_buf = || path.to_path_buf();
    let mut values: Vec<Vec<[f64; 3]>> = vec![Vec::new(); all_pairs.len()];
    let mut times: Vec<f64> = Vec::new();
    let t0 = first.timestep;
    let mut frame = Some(first.clone());
    let mut previous: Option<i64> = None;
    while let Some(f) = frame {
        if f.ids != first.ids {
            return Err(DihedralError::AtomsChanged {
                path: path_buf(),
                timestep: f.timestep,
            });
        }
        // the time axis and the window averages need frames in time order, evenly spaced
        if let Some(p) = previous {
            if f.timestep <= p {
                return Err(DihedralError::OutOfOrder {
                    path: path_buf(),
                    timestep: f.timestep,
                    previous: p,
                });
            }
            let gap = (f.timestep as i128 - p as i128) as f64 * settings.timestep_ps;
            if let Some(step) = times.get(1).map(|&t1| t1 - times[0]) {
                if (gap - step).abs() > 1e-9 * step.abs() {
                    return Err(DihedralError::Uneven {
                        path: path_buf(),
                        timestep: f.timestep,
                        gap,
                        step,
                    });
                }
            }
        }
        previous = Some(f.timestep);
        for (p, &(_, a, b)) in all_pairs.iter().enumerate() {
            values[p].push(tets.dihedrals(&f, a, b));
        }
        times.push((f.timestep as i128 - t0 as i128) as f64 * settings.timestep_ps);
        progress(source.bytes_read());
        frame = source.next_frame()?;
    }
    Ok((values, times))
}

/// Moving averages over the window, per pair and angle.
fn window_averages(
    values: &[Vec<[f64; 3]>],
    times: &[f64],
    settings: &Settings,
) -> Vec<Vec<[f64; 3]>> {
    let dt = if times.len() > 1 {
        times[1] - times[0]
    } else {
        settings.timestep_ps
    };
    let w = ((settings.window_ps / dt).round() as usize).max(1);
    values
        .iter()
        .map(|v| {
            let cols: Vec<Vec<f64>> = (0..3)
                .map(|k| moving_average(&v.iter().map(|d| d[k]).collect::<Vec<_>>(), w))
                .collect();
            (0..v.len())
                .map(|i| [cols[0][i], cols[1][i], cols[2][i]])
                .collect()
        })
        .collect()
}

/// Statistics and histogram of every pair type (`types[pair]`), all frames pooled.
fn pair_type_stats(
    types: &[String],
    values: &[Vec<[f64; 3]>],
    averaged: &[Vec<[f64; 3]>],
    bin_deg: f64,
) -> BTreeMap<String, TypeStats> {
    let nbins = (360.0 / bin_deg).ceil() as usize;
    let mut pooled: BTreeMap<String, (usize, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for (p, name) in types.iter().enumerate() {
        let e = pooled.entry(name.clone()).or_default();
        e.0 += 1;
        e.1.extend(values[p].iter().flatten());
        e.2.extend(averaged[p].iter().flatten());
    }
    pooled
        .into_iter()
        .map(|(name, (pairs, all, avg))| {
            let (mean, std) = mean_std(&all);
            let mut counts = vec![0u64; nbins];
            for x in &all {
                counts[(((x + 180.0) / bin_deg) as usize).min(nbins - 1)] += 1;
            }
            let stats = TypeStats {
                pairs,
                samples: all.len(),
                mean_deg: mean,
                std_deg: std,
                mean_abs_deg: all.iter().map(|x| x.abs()).sum::<f64>() / all.len() as f64,
                window_average_std_deg: mean_std(&avg).1,
                histogram_edges_deg: (0..=nbins).map(|k| -180.0 + k as f64 * bin_deg).collect(),
                histogram_counts: counts,
            };
            (name, stats)
        })
        .collect()
}

/// The long-lived excursions of one pair's three dihedrals from their run means.
fn pair_excursions(
    values: &[[f64; 3]],
    averaged: &[[f64; 3]],
    times: &[f64],
    settings: &Settings,
) -> Vec<Excursion> {
    (0..3)
        .flat_map(|j| {
            let raw: Vec<f64> = values.iter().map(|d| d[j]).collect();
            let avg: Vec<f64> = averaged.iter().map(|d| d[j]).collect();
            let mean = raw.iter().sum::<f64>() / raw.len().max(1) as f64;
            excursions(
                j,
                times,
                &avg,
                mean,
                settings.excursion_threshold_deg,
                settings.excursion_min_ps,
            )
        })
        .collect()
}

/// One pair's signed long-time means over the production frames, and the spread of its window
/// averages about them.
fn pair_mean(
    p: usize,
    pair_type: &str,
    production: &[[f64; 3]],
    averaged: &[[f64; 3]],
) -> PairMean {
    let column = |v: &[[f64; 3]], k: usize| v.iter().map(|d| d[k]).collect::<Vec<f64>>();
    let mean_deg = [0, 1, 2].map(|k| mean_std(&column(production, k)).0);
    let window_spread_deg = [0, 1, 2].map(|k| {
        let avg = column(averaged, k);
        let squares = avg.iter().map(|x| (x - mean_deg[k]).powi(2)).sum::<f64>();
        (squares / avg.len().max(1) as f64).sqrt()
    });
    PairMean {
        pair: p,
        pair_type: pair_type.to_owned(),
        mean_deg,
        window_spread_deg,
    }
}

/// The pattern of a run's pair means: per pair its three long-time means sorted by size, then
/// averaged over the pairs (the tetragonal phase: one large, two small; cubic: all near 0).
#[derive(Clone, Debug, Serialize)]
pub struct Pattern {
    /// Mean over pairs of the largest, middle and smallest |long-time mean|, degrees.
    pub sorted_abs_mean_deg: [f64; 3],
    /// Mean over pairs and angles of the spread of the window averages, degrees.
    pub window_spread_deg: f64,
}

/// Histogram of every pair's three long-time means (the paper's Fig. 4b): (bin centre,
/// fraction of means per degree), bins of `bin_deg` over -range..range.
pub fn mean_histogram(pair_means: &[PairMean], bin_deg: f64, range_deg: f64) -> Vec<(f64, f64)> {
    let bins = (2.0 * range_deg / bin_deg).ceil() as usize;
    let mut counts = vec![0usize; bins];
    let mut total = 0usize;
    for x in pair_means.iter().flat_map(|p| p.mean_deg) {
        total += 1;
        let k = ((x + range_deg) / bin_deg).floor();
        if k >= 0.0 && (k as usize) < bins {
            counts[k as usize] += 1;
        }
    }
    counts
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let centre = -range_deg + (k as f64 + 0.5) * bin_deg;
            (centre, c as f64 / (total.max(1) as f64 * bin_deg))
        })
        .collect()
}

impl Analysis {
    /// The pairs' long-time means as a pattern (None without pairs).
    pub fn pattern(&self) -> Option<Pattern> {
        if self.pair_means.is_empty() {
            return None;
        }
        let n = self.pair_means.len() as f64;
        let mut sorted = [0.0; 3];
        let mut spread = 0.0;
        for p in &self.pair_means {
            let mut m = p.mean_deg.map(f64::abs);
            m.sort_by(|a, b| b.total_cmp(a));
            for k in 0..3 {
                sorted[k] += m[k] / n;
            }
            spread += p.window_spread_deg.iter().sum::<f64>() / (3.0 * n);
        }
        Some(Pattern {
            sorted_abs_mean_deg: sorted,
            window_spread_deg: spread,
        })
    }

    /// The chosen pairs' time series as CSV.
    pub fn csv(&self) -> String {
        let mut text =
            String::from("time_ps,pair,d1_deg,d2_deg,d3_deg,avg1_deg,avg2_deg,avg3_deg\n");
        for s in &self.series {
            for (i, t) in s.time_ps.iter().enumerate() {
                let (d, a) = (s.dihedrals_deg[i], s.window_average_deg[i]);
                text += &format!(
                    "{t},{},{},{},{},{},{},{}\n",
                    s.pair, d[0], d[1], d[2], a[0], a[1], a[2]
                );
            }
        }
        text
    }

    /// The first chosen pair: raw dihedrals, window averages, excursions shaded.
    pub fn figure(&self, excursion_threshold_deg: f64) -> Option<Figure> {
        let s = self.series.first()?;
        let mut fig = Figure {
            title: format!(
                "{} pair {} (atoms {} and {}), {} ps window",
                s.pair_type, s.pair, s.atom_ids[0], s.atom_ids[1], self.window_ps
            ),
            x_label: "time (ps)".into(),
            y_label: "dihedral (degrees)".into(),
            x_bands: s
                .excursions
                .iter()
                .map(|e| {
                    let label = format!("excursion (> {excursion_threshold_deg} deg)");
                    (e.start_ps, e.end_ps, label)
                })
                .collect(),
            ..Figure::default()
        };
        for k in 0..3 {
            let points = |v: &[[f64; 3]]| {
                s.time_ps
                    .iter()
                    .zip(v)
                    .map(|(t, d)| (*t, d[k]))
                    .collect::<Vec<_>>()
            };
            fig.series.push(PlotSeries {
                points: points(&s.dihedrals_deg),
                line: true,
                color: k,
                faint: true,
                ..PlotSeries::default()
            });
            fig.series.push(PlotSeries {
                label: format!("dihedral {} ({} ps average)", k + 1, self.window_ps),
                points: points(&s.window_average_deg),
                line: true,
                color: k,
                ..PlotSeries::default()
            });
        }
        Some(fig)
    }
}
