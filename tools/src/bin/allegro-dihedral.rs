//! allegro-dihedral: dihedral angles between consecutive MX4 tetrahedra along <111>.
use std::collections::BTreeMap;
use std::path::PathBuf;

use allegro_tools::cli;
use allegro_tools::diffusion::Selection;
use allegro_tools::dihedral::{excursions, moving_average, Excursion, Tetrahedra, BODY_DIAGONALS};
use allegro_tools::plot::{Figure, Series as PlotSeries};
use allegro_tools::trajectory::{open_dump, Frame};
use anyhow::Context;
use clap::Parser;
use serde::Serialize;

/// Dihedral angles S_A - A - B - S_B between consecutive tetrahedra (e.g. SbS4, WS4) along
/// [111]: 0 when aligned (ideal cubic), one larger and two smaller in the tetragonal phase.
/// Prints per pair type (SbS4-SbS4, SbS4-WS4, WS4-WS4) the mean and spread (degrees) of all
/// dihedrals and of their window averages; writes time series of chosen pairs, window averages
/// and histograms to JSON/CSV. Tetrahedra and pairs are found on the first frame.
#[derive(Parser)]
#[command(
    version,
    about,
    long_about,
    allow_negative_numbers = true,
    after_long_help = "Examples:\n  allegro-dihedral --types 1=Na,2=Sb,3=W,4=S --timestep 0.002 --plot dih --json dih.json run.dump\n"
)]
struct Args {
    /// Centre species, comma-separated types or element names (e.g. Sb,W or 2,3)
    #[arg(long, default_value = "Sb,W")]
    centres: String,
    /// Ligand species (type or element name)
    #[arg(long, default_value = "S")]
    ligand: String,
    /// Element names of the LAMMPS types, e.g. 1=Na,2=Sb,3=W,4=S
    #[arg(long)]
    types: Option<String>,
    /// MD time step in ps (dump TIMESTEP x this = time)
    #[arg(long)]
    timestep: f64,
    /// Window of the moving average, ps
    #[arg(long, default_value_t = 2.0)]
    window: f64,
    /// Use all four <111> directions instead of [111] only
    #[arg(long)]
    all_directions: bool,
    /// Pairs (indices in the pair list) whose time series go to the JSON/CSV output
    #[arg(long, default_value = "0,1,2")]
    pairs: String,
    /// Histogram bin width, degrees
    #[arg(long, default_value_t = 2.0)]
    bin: f64,
    /// A window average farther than this from the pair's long-time mean starts an excursion,
    /// degrees
    #[arg(long, default_value_t = 10.0)]
    excursion_threshold: f64,
    /// Shortest excursion reported (and shaded in the plot), ps [default: twice --window]
    #[arg(long)]
    excursion_min: Option<f64>,
    /// Write results as JSON
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw the first chosen pair's dihedrals and their window averages to PREFIX.png/.svg
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Write the chosen pairs' time series as CSV (time_ps, pair, d1, d2, d3, avg1, avg2, avg3)
    #[arg(long)]
    csv: Option<PathBuf>,
    /// LAMMPS dump (text, gzip or binary); one trajectory
    dump: PathBuf,
}

#[derive(Serialize)]
struct TypeStats {
    pairs: usize,
    samples: usize,
    mean_deg: f64,
    std_deg: f64,
    mean_abs_deg: f64,
    window_average_std_deg: f64,
    histogram_edges_deg: Vec<f64>,
    histogram_counts: Vec<u64>,
}

#[derive(Serialize)]
struct Series {
    pair: usize,
    atom_ids: [i64; 2],
    pair_type: String,
    direction: [f64; 3],
    time_ps: Vec<f64>,
    dihedrals_deg: Vec<[f64; 3]>,
    window_average_deg: Vec<[f64; 3]>,
    /// Long-lived deviations of the window averages from the pair's long-time means.
    excursions: Vec<Excursion>,
}

#[derive(Serialize)]
struct Output {
    frames: usize,
    window_ps: f64,
    pair_types: BTreeMap<String, TypeStats>,
    series: Vec<Series>,
    /// truncated input, a window longer than the run
    warnings: Vec<String>,
}

fn name_of(frame: &Frame, i: usize, names: &[(i32, String)]) -> String {
    frame
        .element(i)
        .map(str::to_owned)
        .or_else(|| {
            names
                .iter()
                .find(|(t, _)| *t == frame.types[i])
                .map(|(_, n)| n.clone())
        })
        .unwrap_or_else(|| format!("type{}", frame.types[i]))
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        cli::check_files_and_plot(&[&args.json, &args.csv], &args.plot)?;
        anyhow::ensure!(args.timestep > 0.0, "--timestep must be positive (ps)");
        anyhow::ensure!(
            args.window > 0.0 && args.bin > 0.0 && args.excursion_threshold > 0.0,
            "--window, --bin and --excursion-threshold must be positive"
        );
        let names = match &args.types {
            Some(t) => cli::parse_type_names(t)?,
            None => Vec::new(),
        };
        let centres: Vec<Selection> = args.centres.split(',').map(Selection::parse).collect();
        let ligand = Selection::parse(&args.ligand);
        let size = std::fs::metadata(&args.dump).map(|m| m.len()).unwrap_or(0);
        let bar = cli::progress_bar(size, &args.dump.display().to_string());
        let mut source = open_dump(&args.dump)?;
        let first = source
            .next_frame()?
            .ok_or_else(|| anyhow::anyhow!("{}: no complete frame", args.dump.display()))?;
        let matches = |s: &Selection, i: usize| match s {
            Selection::Type(t) => first.types[i] == *t,
            Selection::Element(e) => name_of(&first, i, &names) == *e,
        };
        let directions = if args.all_directions {
            BODY_DIAGONALS.to_vec()
        } else {
            vec![BODY_DIAGONALS[0]]
        };
        let tets = Tetrahedra::find(
            &first,
            &|i| centres.iter().any(|c| matches(c, i)),
            &|i| matches(&ligand, i),
            directions,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.dump.display()))?;
        let all_pairs: Vec<(usize, usize, usize)> = tets
            .pairs
            .iter()
            .enumerate()
            .flat_map(|(k, p)| p.iter().map(move |&(a, b)| (k, a, b)))
            .collect();
        let centre_name = |c: usize| {
            format!(
                "{}{}4",
                name_of(&first, tets.centres[c], &names),
                args.ligand
            )
        };
        let pair_type = |a: usize, b: usize| {
            let mut n = [centre_name(a), centre_name(b)];
            n.sort();
            format!("{}-{}", n[0], n[1])
        };
        let chosen: Vec<usize> = args
            .pairs
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.trim()
                    .parse::<usize>()
                    .context("--pairs: expected indices like 0,1,2")
            })
            .collect::<anyhow::Result<_>>()?;
        if let Some(&bad) = chosen.iter().find(|&&p| p >= all_pairs.len()) {
            anyhow::bail!(
                "--pairs: pair {bad} does not exist ({} pairs)",
                all_pairs.len()
            );
        }
        // values[pair] = per-frame dihedrals
        let mut values: Vec<Vec<[f64; 3]>> = vec![Vec::new(); all_pairs.len()];
        let mut times = Vec::new();
        let t0 = first.timestep;
        let mut frame = Some(first.clone());
        let mut previous: Option<i64> = None;
        while let Some(f) = frame {
            anyhow::ensure!(
                f.ids == first.ids,
                "{}: atoms at timestep {} differ from the first frame",
                args.dump.display(),
                f.timestep
            );
            // the time axis and the window averages need frames in time order, evenly spaced
            if let Some(p) = previous {
                anyhow::ensure!(
                    f.timestep > p,
                    "{}: timestep {} follows {p}: frames must be in increasing time order \
                     (a restarted run appended to the same dump? split it)",
                    args.dump.display(),
                    f.timestep
                );
                let step = times.get(1).map(|&t1: &f64| t1 - times[0]);
                let this = (f.timestep as i128 - p as i128) as f64 * args.timestep;
                if let Some(step) = step {
                    anyhow::ensure!(
                        (this - step).abs() <= 1e-9 * step.abs(),
                        "{}: timestep {} is {this} ps after the previous frame, the others {step} \
                         ps: frames must be evenly spaced",
                        args.dump.display(),
                        f.timestep
                    );
                }
            }
            previous = Some(f.timestep);
            for (p, &(_, a, b)) in all_pairs.iter().enumerate() {
                values[p].push(tets.dihedrals(&f, a, b));
            }
            times.push((f.timestep as i128 - t0 as i128) as f64 * args.timestep);
            bar.set_position(source.bytes_read());
            frame = source.next_frame()?;
        }
        bar.finish_and_clear();
        let mut warnings = Vec::new();
        if let Some(t) = source.truncated() {
            warnings.push(t.to_owned());
        }
        let run_ps = times.last().copied().unwrap_or(0.0);
        if args.window > run_ps {
            warnings.push(format!(
                "the {} ps window is longer than the run ({run_ps} ps): the window averages are \
                 averages over the whole run",
                args.window
            ));
        }
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        let dt = if times.len() > 1 {
            times[1] - times[0]
        } else {
            args.timestep
        };
        let w = ((args.window / dt).round() as usize).max(1);
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
        let nbins = (360.0 / args.bin).ceil() as usize;
        let mut stats: BTreeMap<String, (usize, Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for (p, &(_, a, b)) in all_pairs.iter().enumerate() {
            let e = stats.entry(pair_type(a, b)).or_default();
            e.0 += 1;
            e.1.extend(values[p].iter().flatten());
            e.2.extend(averaged[p].iter().flatten());
        }
        let mean_std = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (
                m,
                (v.iter().map(|x| (x - m).powi(2)).sum::<f64>()
                    / v.len().max(2).saturating_sub(1) as f64)
                    .sqrt(),
            )
        };
        let mut pair_types = BTreeMap::new();
        println!(
            "{} frames, {} pairs along {} direction(s), window {} ps",
            times.len(),
            all_pairs.len(),
            tets.directions.len(),
            args.window
        );
        println!(
            "{:<14} {:>6} {:>9} {:>10} {:>10} {:>11} {:>16}",
            "pair type",
            "pairs",
            "samples",
            "mean (deg)",
            "std (deg)",
            "mean |deg|",
            "window std (deg)"
        );
        for (name, (pairs, all, avg)) in &stats {
            let (m, s) = mean_std(all);
            let (_, ws) = mean_std(avg);
            let mut counts = vec![0u64; nbins];
            for x in all {
                let k = (((x + 180.0) / args.bin) as usize).min(nbins - 1);
                counts[k] += 1;
            }
            let mean_abs = all.iter().map(|x| x.abs()).sum::<f64>() / all.len() as f64;
            println!(
                "{name:<14} {pairs:>6} {:>9} {m:>10.2} {s:>10.2} {mean_abs:>11.2} {ws:>16.2}",
                all.len()
            );
            pair_types.insert(
                name.clone(),
                TypeStats {
                    pairs: *pairs,
                    samples: all.len(),
                    mean_deg: m,
                    std_deg: s,
                    mean_abs_deg: mean_abs,
                    window_average_std_deg: ws,
                    histogram_edges_deg: (0..=nbins)
                        .map(|k| -180.0 + k as f64 * args.bin)
                        .collect(),
                    histogram_counts: counts,
                },
            );
        }
        let series: Vec<Series> = chosen
            .iter()
            .map(|&p| {
                let (k, a, b) = all_pairs[p];
                let min = args.excursion_min.unwrap_or(2.0 * args.window);
                let found = (0..3)
                    .flat_map(|j| {
                        let raw: Vec<f64> = values[p].iter().map(|d| d[j]).collect();
                        let avg: Vec<f64> = averaged[p].iter().map(|d| d[j]).collect();
                        let mean = raw.iter().sum::<f64>() / raw.len().max(1) as f64;
                        excursions(j, &times, &avg, mean, args.excursion_threshold, min)
                    })
                    .collect();
                Series {
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
        if let Some(path) = &args.csv {
            let mut text =
                String::from("time_ps,pair,d1_deg,d2_deg,d3_deg,avg1_deg,avg2_deg,avg3_deg\n");
            for s in &series {
                for (i, t) in s.time_ps.iter().enumerate() {
                    let (d, a) = (s.dihedrals_deg[i], s.window_average_deg[i]);
                    text += &format!(
                        "{t},{},{},{},{},{},{},{}\n",
                        s.pair, d[0], d[1], d[2], a[0], a[1], a[2]
                    );
                }
            }
            cli::write_atomic(path, text.as_bytes())?;
        }
        if let (Some(prefix), Some(s)) = (&args.plot, series.first()) {
            let mut fig = Figure {
                title: format!(
                    "{} pair {} (atoms {} and {}), {} ps window",
                    s.pair_type, s.pair, s.atom_ids[0], s.atom_ids[1], args.window
                ),
                x_label: "time (ps)".into(),
                y_label: "dihedral (degrees)".into(),
                x_bands: s
                    .excursions
                    .iter()
                    .map(|e| {
                        (
                            e.start_ps,
                            e.end_ps,
                            format!("excursion (> {} deg)", args.excursion_threshold),
                        )
                    })
                    .collect(),
                ..Figure::default()
            };
            for k in 0..3 {
                fig.series.push(PlotSeries {
                    points: s
                        .time_ps
                        .iter()
                        .zip(&s.dihedrals_deg)
                        .map(|(t, d)| (*t, d[k]))
                        .collect(),
                    line: true,
                    color: 5,
                    ..PlotSeries::default()
                });
                fig.series.push(PlotSeries {
                    label: format!("dihedral {} ({} ps average)", k + 1, args.window),
                    points: s
                        .time_ps
                        .iter()
                        .zip(&s.window_average_deg)
                        .map(|(t, d)| (*t, d[k]))
                        .collect(),
                    line: true,
                    color: k,
                    ..PlotSeries::default()
                });
            }
            fig.save(prefix)?;
        }
        if let Some(path) = &args.json {
            let out = Output {
                frames: times.len(),
                window_ps: args.window,
                pair_types,
                series,
                warnings,
            };
            cli::write_atomic(path, &serde_json::to_vec_pretty(&out)?)?;
        }
        Ok(())
    });
}
