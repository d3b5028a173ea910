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
use crate::trajectory::{FrameSource, ReadError};

#[derive(Debug, thiserror::Error)]
pub enum DihedralError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{path}: no complete frame")]
    NoFrame { path: PathBuf },
    #[error("{path}: {source}")]
    Geometry {
        path: PathBuf,
        source: GeometryError,
    },
    #[error("{path}: atoms at timestep {timestep} differ from the first frame")]
    AtomsChanged { path: PathBuf, timestep: i64 },
    #[error(
        "{path}: timestep {timestep} follows {previous}: frames must be in increasing time order \
         (a restarted run appended to the same dump? split it)"
    )]
    OutOfOrder {
        path: PathBuf,
        timestep: i64,
        previous: i64,
    },
    #[error(
        "{path}: timestep {timestep} is {gap} ps after the previous frame, the others {step} ps: \
         frames must be evenly spaced"
    )]
    Uneven {
        path: PathBuf,
        timestep: i64,
        gap: f64,
        step: f64,
    },
    #[error("--pairs: pair {pair} does not exist ({pairs} pairs)")]
    NoSuchPair { pair: usize, pairs: usize },
    #[error("{0} must be positive")]
    NotPositive(&'static str),
}

/// What to analyse and how.
#[derive(Clone, Debug)]
pub struct Settings {
    pub centres: Vec<Selection>,
    pub ligand: Selection,
    /// Element names of LAMMPS types, for dumps without an element column.
    pub type_names: Vec<(i32, String)>,
    /// MD time step, ps.
    pub timestep_ps: f64,
    /// Moving-average window, ps.
    pub window_ps: f64,
    /// All four <111> directions, or [111] only.
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
    /// The defaults of `allegro-dihedral`: SbS4 and WS4 along [111], 2 ps windows.
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

#[derive(Clone, Debug, Serialize)]
pub struct TypeStats {
    pub pairs: usize,
    pub samples: usize,
    pub mean_deg: f64,
    pub std_deg: f64,
    pub mean_abs_deg: f64,
    pub window_average_std_deg: f64,
    pub histogram_edges_deg: Vec<f64>,
    pub histogram_counts: Vec<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PairSeries {
    pub pair: usize,
    pub atom_ids: [i64; 2],
    pub pair_type: String,
    pub direction: [f64; 3],
    pub time_ps: Vec<f64>,
    pub dihedrals_deg: Vec<[f64; 3]>,
    pub window_average_deg: Vec<[f64; 3]>,
    /// Long-lived deviations of the window averages from the pair's long-time means.
    pub excursions: Vec<Excursion>,
}

/// One pair's long-time behaviour (the paper's Fig. 4): the signed mean of each of its three
/// dihedrals and how far its window averages wander from it.
#[derive(Clone, Debug, Serialize)]
pub struct PairMean {
    pub pair: usize,
    pub pair_type: String,
    pub mean_deg: [f64; 3],
    /// Standard deviation of the window averages about the mean.
    pub window_spread_deg: [f64; 3],
}

#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    pub frames: usize,
    /// Pairs found along the chosen direction(s).
    pub pairs: usize,
    pub directions: usize,
    pub window_ps: f64,
    pub pair_types: BTreeMap<String, TypeStats>,
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
        (settings.timestep_ps, "--timestep"),
        (settings.window_ps, "--window"),
        (settings.bin_deg, "--bin"),
        (settings.excursion_threshold_deg, "--excursion-threshold"),
        (settings.signature_threshold_deg, "--signature-threshold"),
    ] {
        if !(value > 0.0 && value.is_finite()) {
            return Err(DihedralError::NotPositive(name));
        }
    }
    if settings.excursion_min_ps.is_nan() || settings.excursion_min_ps < 0.0 {
        return Err(DihedralError::NotPositive("--excursion-min"));
    }
    if !(settings.skip_ps >= 0.0 && settings.skip_ps.is_finite()) {
        return Err(DihedralError::NotPositive("--skip"));
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
    let path_buf = || path.to_path_buf();
    let first = source
        .next_frame()?
        .ok_or_else(|| DihedralError::NoFrame { path: path_buf() })?;
    let name_of = |i: usize| {
        first
            .element(i)
            .map(str::to_owned)
            .or_else(|| {
                settings
                    .type_names
                    .iter()
                    .find(|(t, _)| *t == first.types[i])
                    .map(|(_, n)| n.clone())
            })
            .unwrap_or_else(|| format!("type{}", first.types[i]))
    };
    let matches = |s: &Selection, i: usize| match s {
        Selection::Type(t) => first.types[i] == *t,
        Selection::Element(e) => name_of(i) == *e,
    };
    let directions = if settings.all_directions {
        BODY_DIAGONALS.to_vec()
    } else {
        vec![BODY_DIAGONALS[0]]
    };
    let tets = Tetrahedra::find(
        &first,
        &|i| settings.centres.iter().any(|c| matches(c, i)),
        &|i| matches(&settings.ligand, i),
        directions,
    )
    .map_err(|source| DihedralError::Geometry {
        path: path_buf(),
        source,
    })?;
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
    let ligand_name = match &settings.ligand {
        Selection::Type(t) => format!("type{t}"),
        Selection::Element(e) => e.clone(),
    };
    let pair_type = |a: usize, b: usize| {
        let mut n = [a, b].map(|c| format!("{}{}4", name_of(tets.centres[c]), ligand_name));
        n.sort();
        format!("{}-{}", n[0], n[1])
    };
    // values[pair] = per-frame dihedrals
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
    let dt = if times.len() > 1 {
        times[1] - times[0]
    } else {
        settings.timestep_ps
    };
    let w = ((settings.window_ps / dt).round() as usize).max(1);
    let averaged: Vec<Vec<[f64; 3]>> = values
        .iter()
        .map(|v| {
            let cols: Vec<Vec<f64>> = (0..3)
                .map(|k| moving_average(&v.iter().map(|d| d[k]).collect::<Vec<_>>(), w))
                .collect();
            (0..v.len())
                .map(|i| [cols[0][i], cols[1][i], cols[2][i]])
                .collect()
        })
        .collect();
    let nbins = (360.0 / settings.bin_deg).ceil() as usize;
    let mut pooled: BTreeMap<String, (usize, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for (p, &(_, a, b)) in all_pairs.iter().enumerate() {
        let e = pooled.entry(pair_type(a, b)).or_default();
        e.0 += 1;
        e.1.extend(values[p].iter().flatten());
        e.2.extend(averaged[p].iter().flatten());
    }
    let pair_types = pooled
        .into_iter()
        .map(|(name, (pairs, all, avg))| {
            let (mean, std) = mean_std(&all);
            let mut counts = vec![0u64; nbins];
            for x in &all {
                counts[(((x + 180.0) / settings.bin_deg) as usize).min(nbins - 1)] += 1;
            }
            let stats = TypeStats {
                pairs,
                samples: all.len(),
                mean_deg: mean,
                std_deg: std,
                mean_abs_deg: all.iter().map(|x| x.abs()).sum::<f64>() / all.len() as f64,
                window_average_std_deg: mean_std(&avg).1,
                histogram_edges_deg: (0..=nbins)
                    .map(|k| -180.0 + k as f64 * settings.bin_deg)
                    .collect(),
                histogram_counts: counts,
            };
            (name, stats)
        })
        .collect();
    let series = settings
        .pairs
        .iter()
        .map(|&p| {
            let (k, a, b) = all_pairs[p];
            let found = (0..3)
                .flat_map(|j| {
                    let raw: Vec<f64> = values[p].iter().map(|d| d[j]).collect();
                    let avg: Vec<f64> = averaged[p].iter().map(|d| d[j]).collect();
                    let mean = raw.iter().sum::<f64>() / raw.len().max(1) as f64;
                    excursions(
                        j,
                        &times,
                        &avg,
                        mean,
                        settings.excursion_threshold_deg,
                        settings.excursion_min_ps,
                    )
                })
                .collect();
            PairSeries {
                pair: p,
                atom_ids: [first.ids[tets.centres[a]], first.ids[tets.centres[b]]],
                pair_type: pair_type(a, b),
                direction: tets.directions[k],
                time_ps: times.clone(),
                dihedrals_deg: values[p].clone(),
                window_average_deg: averaged[p].clone(),
                excursions: found,
            }
        })
        .collect();
    let skip = times
        .iter()
        .position(|&t| t >= settings.skip_ps)
        .unwrap_or(0)
        .min(times.len().saturating_sub(1));
    let production: Vec<Vec<[f64; 3]>> = values.iter().map(|v| v[skip..].to_vec()).collect();
    let pair_means = all_pairs
        .iter()
        .enumerate()
        .map(|(p, &(_, a, b))| {
            let column = |v: &[[f64; 3]], k: usize| v.iter().map(|d| d[k]).collect::<Vec<f64>>();
            let mean_deg = [0, 1, 2].map(|k| mean_std(&column(&production[p], k)).0);
            let window_spread_deg = [0, 1, 2].map(|k| {
                let avg = column(&averaged[p][skip..], k);
                let squares = avg.iter().map(|x| (x - mean_deg[k]).powi(2)).sum::<f64>();
                (squares / avg.len().max(1) as f64).sqrt()
            });
            PairMean {
                pair: p,
                pair_type: pair_type(a, b),
                mean_deg,
                window_spread_deg,
            }
        })
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
