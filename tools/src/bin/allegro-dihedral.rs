//! allegro-dihedral: dihedral angles between consecutive MX4 tetrahedra along <111>.
// The doc comments below are clap's --help text, where [111] is a direction, not a link.
#![allow(rustdoc::broken_intra_doc_links)]
use std::path::PathBuf;

use allegro_tools::cli;
use allegro_tools::diffusion::Selection;
use allegro_tools::dihedral::{analyse, DihedralError, Settings};
use allegro_tools::trajectory::open_dump;
use anyhow::Context;
use clap::Parser;

/// Dihedral angles S_A - A - B - S_B between consecutive tetrahedra (e.g. SbS4, WS4) along
/// [111]: 0 when aligned (ideal cubic), one larger and two smaller in the tetragonal phase.
/// Prints per pair type (SbS4-SbS4, SbS4-WS4, WS4-WS4) the mean and spread (degrees) of all
/// dihedrals and of their window averages; writes time series of chosen pairs, window averages
/// and histograms to JSON/CSV. Tetrahedra and pairs are found on the first frame.
#[derive(Parser)]
#[command(
    version,
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
    /// Dihedral signature (rms of the pairs' long-time means) above which a run is tetragonal,
    /// degrees
    #[arg(long, default_value_t = allegro_tools::dihedral::signature::THRESHOLD_DEG)]
    signature_threshold: f64,
    /// Leave the first PS picoseconds out of the signature and the pair means (equilibration)
    #[arg(long, default_value_t = 0.0)]
    skip: f64,
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

/// The library names its settings; the messages here name the options that set them.
fn with_flags(e: DihedralError) -> anyhow::Error {
    match e {
        DihedralError::NotPositive(field) => {
            let flag = match field {
                "timestep_ps" => "--timestep",
                "window_ps" => "--window",
                "bin_deg" => "--bin",
                "excursion_threshold_deg" => "--excursion-threshold",
                "signature_threshold_deg" => "--signature-threshold",
                "excursion_min_ps" => "--excursion-min",
                "skip_ps" => "--skip",
                other => other,
            };
            anyhow::anyhow!("{flag} must be positive")
        }
        e @ DihedralError::NoSuchPair { .. } => anyhow::anyhow!("--pairs: {e}"),
        e => e.into(),
    }
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        cli::check_files_and_plot(&[&args.json, &args.csv], &args.plot)?;
        let names = match &args.types {
            Some(t) => cli::parse_type_names(t)?,
            None => Vec::new(),
        };
        let pairs = args
            .pairs
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .context("--pairs: expected indices like 0,1,2")?;
        let settings = Settings {
            centres: args.centres.split(',').map(Selection::parse).collect(),
            ligand: Selection::parse(&args.ligand),
            type_names: names,
            timestep_ps: args.timestep,
            window_ps: args.window,
            all_directions: args.all_directions,
            pairs,
            bin_deg: args.bin,
            excursion_threshold_deg: args.excursion_threshold,
            excursion_min_ps: args.excursion_min.unwrap_or(2.0 * args.window),
            signature_threshold_deg: args.signature_threshold,
            skip_ps: args.skip,
        };
        let size = std::fs::metadata(&args.dump).map(|m| m.len()).unwrap_or(0);
        let bar = cli::progress_bar(size, &args.dump.display().to_string());
        let mut source = open_dump(&args.dump)?;
        let result = analyse(source.as_mut(), &args.dump, &settings, &|b| {
            bar.set_position(b)
        })
        .map_err(with_flags)?;
        bar.finish_and_clear();
        cli::check_finite(&result)?;
        for w in &result.warnings {
            eprintln!("warning: {w}");
        }
        println!(
            "{} frames, {} pairs along {} direction(s), window {} ps",
            result.frames, result.pairs, result.directions, result.window_ps
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
        for (name, t) in &result.pair_types {
            println!(
                "{name:<14} {:>6} {:>9} {:>10.2} {:>10.2} {:>11.2} {:>16.2}",
                t.pairs, t.samples, t.mean_deg, t.std_deg, t.mean_abs_deg, t.window_average_std_deg
            );
        }
        let sig = &result.signature;
        println!(
            "phase from the dihedral signature: {} ({})",
            sig.phase.name(),
            sig.phase_reason
        );
        if let Some(path) = &args.csv {
            cli::write_atomic(path, result.csv().as_bytes())?;
        }
        if let (Some(prefix), Some(fig)) = (&args.plot, result.figure(args.excursion_threshold)) {
            fig.save(prefix)?;
        }
        if let Some(path) = &args.json {
            cli::write_json(path, &result)?;
        }
        Ok(())
    });
}
