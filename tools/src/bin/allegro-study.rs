//! allegro-study: the paper's protocol (T_C scans, variants, dihedrals, diffusion, Haven ratio)
//! as one program.
use std::path::PathBuf;

use allegro_tools::cli;
use allegro_tools::study::{self, plan::Start, Study};
use clap::{Parser, Subcommand};
use serde::Serialize;

/// Runs the study of Na(3-x)W(x)Sb(1-x)S4 that the paper (Methods) describes: NPT temperature
/// scans for T_C (coarse grid, then a fine grid between the last tetragonal and the first cubic
/// point, run from both end points), the four composition variants, dihedral runs, NVT + NVE
/// diffusion at the NPT-averaged cell with a +-1.5 % lattice band, and several long runs per
/// temperature for D_sigma and the Haven ratio.
///
/// A study file (TOML) names a preset (demo, workstation, paper) and overrides any of its
/// fields; every field carries its unit in its name (_k kelvin, _ps picoseconds, _fs
/// femtoseconds). Without a study file the preset is used as it is.
#[derive(Parser)]
#[command(
    version,
    about,
    long_about,
    after_long_help = "Examples:\n  allegro-study plan --preset paper --json > paper-plan.json\n  allegro-study plan --study my-study.toml\n"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every LAMMPS run of the study and its estimated cost (atom-steps; wall time from a
    /// short speed probe of the model on this machine)
    Plan {
        /// Study file (TOML)
        #[arg(long)]
        study: Option<PathBuf>,
        /// Preset to start from (overrides the study file's `preset`): demo, workstation, paper
        #[arg(long)]
        preset: Option<String>,
        /// Print the plan as JSON (every run: stage, composition, atoms, temperature, ensemble,
        /// steps, time step, start, dependencies)
        #[arg(long)]
        json: bool,
        /// Skip the speed probe (no wall-time estimate)
        #[arg(long)]
        no_probe: bool,
    },
}

#[derive(Serialize)]
struct Estimate {
    /// Atom-steps per second of one run (launcher.threads threads, one rank), measured here.
    atom_steps_per_s_per_run: f64,
    /// Runs side by side: cores / (ranks x threads).
    parallel_runs: usize,
    cores: usize,
    /// Total atom-steps over all parallel runs' speed: a lower bound (stages wait for each other).
    hours: f64,
}

#[derive(Serialize)]
struct PlanReport<'a> {
    preset: &'a str,
    output: String,
    model: String,
    timestep_fs: f64,
    totals: Vec<study::plan::StageTotal>,
    atom_steps: f64,
    estimate: Option<Estimate>,
    runs: &'a [study::Run],
}

fn start_text(s: &Start) -> String {
    match s {
        Start::Built { phase } => format!("built {} cell", phase.name()),
        Start::EndOf { run } => format!("end of {run}"),
        Start::AveragedCell { run, scale } if *scale == 1.0 => format!("averaged cell of {run}"),
        Start::AveragedCell { run, scale } => format!("averaged cell of {run} x {scale}"),
        Start::ScanEndPoint { end } => format!("{} end point of the scan", end.name()),
    }
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        match args.command {
            Command::Plan {
                study: file,
                preset,
                json,
                no_probe,
            } => {
                let s = Study::load(file.as_deref(), preset.as_deref())?;
                let runs = study::plan(&s);
                let totals = study::plan::totals(&runs);
                let atom_steps: f64 = totals.iter().map(|t| t.atom_steps).sum();
                let estimate = if no_probe {
                    None
                } else {
                    let rate = study::probe::speed(&s.model.path, s.launcher.threads)?;
                    let cores = if s.launcher.cores > 0 {
                        s.launcher.cores
                    } else {
                        std::thread::available_parallelism().map_or(1, |n| n.get())
                    };
                    let parallel = (cores / (s.launcher.ranks * s.launcher.threads)).max(1);
                    let per_run = rate * s.launcher.ranks as f64;
                    Some(Estimate {
                        atom_steps_per_s_per_run: per_run,
                        parallel_runs: parallel,
                        cores,
                        hours: atom_steps / (per_run * parallel as f64) / 3600.0,
                    })
                };
                let report = PlanReport {
                    preset: &s.preset,
                    output: s.output.display().to_string(),
                    model: s.model.path.display().to_string(),
                    timestep_fs: s.timestep_fs,
                    totals,
                    atom_steps,
                    estimate,
                    runs: &runs,
                };
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                    return Ok(());
                }
                println!(
                    "study '{}' -> {}; model {}; time step {} fs",
                    report.preset, report.output, report.model, report.timestep_fs
                );
                println!(
                    "\n{:<48} {:>6} {:>8} {:>8} {:>9}  start",
                    "run", "atoms", "T (K)", "ensemble", "steps"
                );
                for r in &runs {
                    let t = r
                        .temperature_K
                        .map_or("(scan)".to_string(), |t| format!("{t:.1}"));
                    let ens = match r.ensemble {
                        study::plan::Ensemble::Npt => "NPT",
                        study::plan::Ensemble::NvtNve => "NVT+NVE",
                    };
                    println!(
                        "{:<48} {:>6} {:>8} {:>8} {:>9}  {}{}",
                        r.id,
                        r.atoms,
                        t,
                        ens,
                        r.steps,
                        start_text(&r.start),
                        if r.provisional { " (provisional)" } else { "" }
                    );
                }
                println!(
                    "\n{:<10} {:>6} {:>12} {:>14}",
                    "stage", "runs", "provisional", "atom-steps"
                );
                for t in &report.totals {
                    println!(
                        "{:<10} {:>6} {:>12} {:>14.3e}",
                        t.stage.name(),
                        t.runs,
                        t.provisional,
                        t.atom_steps
                    );
                }
                println!(
                    "{:<10} {:>6} {:>12} {:>14.3e}",
                    "total",
                    runs.len(),
                    "",
                    atom_steps
                );
                if let Some(e) = &report.estimate {
                    println!(
                        "\nmodel speed here: {:.0} atom-steps/s per run ({} thread(s) x {} rank(s)); {} runs side by side on {} cores: at least {:.2} hours",
                        e.atom_steps_per_s_per_run,
                        s.launcher.threads,
                        s.launcher.ranks,
                        e.parallel_runs,
                        e.cores,
                        e.hours
                    );
                }
                Ok(())
            }
        }
    })
}
