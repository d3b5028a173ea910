//! allegro-study: the paper's protocol (T_C scans, variants, dihedrals, diffusion, Haven ratio)
//! as one program.
use std::path::PathBuf;

use allegro_tools::cli;
use allegro_tools::study::{self, plan::WallTime, Study};
use anyhow::Context;
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
    long_about,
    after_long_help = "Examples:\n  allegro-study plan --preset paper --json > paper-plan.json\n  allegro-study run --study my-study.toml\n  allegro-study slurm cluster-jobs --preset paper --partition compute\n"
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
        #[command(flatten)]
        select: Select,
        /// Print the plan as JSON (every run: stage, composition, atoms, temperature, ensemble,
        /// steps, time step, start, dependencies)
        #[arg(long)]
        json: bool,
        /// Skip the speed probe (no wall-time estimate)
        #[arg(long)]
        no_probe: bool,
    },
    /// Run the plan on this machine: runs side by side within the cores (ranks x threads each),
    /// progress on stderr; rerunning skips finished runs and restarts unfinished ones
    Run {
        #[command(flatten)]
        select: Select,
    },
    /// Write the plan as Slurm batch scripts in DIR: a job array per stage (each task one LAMMPS
    /// run via `exec`) and submit.sh, which submits them with the dependencies between stages
    Slurm {
        /// Folder for the scripts
        dir: PathBuf,
        #[command(flatten)]
        select: Select,
        /// Wall-time limit of each task (Slurm format)
        #[arg(long, default_value = "24:00:00")]
        time: String,
        /// Slurm partition
        #[arg(long)]
        partition: Option<String>,
        /// Slurm account
        #[arg(long)]
        account: Option<String>,
        /// Write into DIR even if it already holds a submit.sh (replacing the scripts)
        #[arg(long)]
        force: bool,
    },
    /// Analyse whatever runs have finished and write report.md (with PNG and SVG figures) and
    /// study.json into the study's output folder
    Report {
        #[command(flatten)]
        select: Select,
    },
    /// Run one run of the plan (what each Slurm task does); its dependencies must have finished
    Exec {
        #[command(flatten)]
        select: Select,
        /// Run id, as `plan` lists it (e.g. scan/pristine/T300)
        id: String,
    },
}

/// Which study: a study file, a preset, or a study file with another preset.
#[derive(clap::Args)]
struct Select {
    /// Study file (TOML)
    #[arg(long)]
    study: Option<PathBuf>,
    /// Preset to start from (overrides the study file's `preset`): demo, workstation, paper
    #[arg(long)]
    preset: Option<String>,
}

impl Select {
    fn load(&self) -> anyhow::Result<Study> {
        Ok(Study::load(self.study.as_deref(), self.preset.as_deref())?)
    }
}

#[derive(Serialize)]
struct PlanReport<'a> {
    preset: &'a str,
    output: String,
    model: String,
    timestep_fs: f64,
    totals: Vec<study::plan::StageTotal>,
    atom_steps: f64,
    estimate: Option<WallTime>,
    runs: &'a [study::Run],
}

fn run(s: &Study) -> anyhow::Result<()> {
    let runs = study::plan(s);
    let per_run = s.launcher.ranks * s.launcher.threads;
    let cores = study::plan::cores(s);
    anyhow::ensure!(
        per_run <= cores,
        "one run needs {} cores (launcher.ranks x launcher.threads) but {cores} are available",
        per_run
    );
    let parallel = cores / per_run;
    std::fs::create_dir_all(&s.output)
        .with_context(|| format!("cannot create {}", s.output.display()))?;
    // One `run` per folder: a second would restart the first one's LAMMPS runs.
    let _lock = study::execute::Lock::take(&s.output)?;
    // The copy in the folder must load from anywhere: its paths absolute.
    let mut written = s.clone();
    written.output = std::path::absolute(&s.output)?;
    written.model.path = std::path::absolute(&s.model.path)?;
    cli::write_atomic(
        &s.output.join("study.toml"),
        toml::to_string(&written)?.as_bytes(),
    )?;
    eprintln!(
        "{} runs in {} ({} side by side, {} core(s) each)",
        runs.len(),
        s.output.display(),
        parallel,
        per_run
    );
    let summary = study::execute::run_all(s, &s.output, &runs, parallel)?;
    eprintln!(
        "{} runs finished now, {} were finished before",
        summary.done, summary.skipped_finished
    );
    for (id, why) in &summary.held {
        eprintln!("not run: {id}: {why}");
    }
    if !summary.failed.is_empty() {
        let ids: Vec<&str> = summary.failed.iter().map(|f| f.0.as_str()).collect();
        anyhow::bail!(
            "{} run(s) failed ({}); their folders hold failed.txt and the log",
            ids.len(),
            ids.join(", ")
        );
    }
    Ok(())
}

fn exec(s: &Study, id: &str) -> anyhow::Result<()> {
    let runs = study::plan(s);
    let Some(run) = runs.iter().find(|r| r.id == id) else {
        anyhow::bail!("no run '{id}' in this study's plan (see allegro-study plan)");
    };
    if study::execute::is_done(&s.output, run) {
        eprintln!("{id} has finished already");
        return Ok(());
    }
    for a in &run.after {
        let dep = runs
            .iter()
            .find(|r| &r.id == a)
            .expect("plan dependencies exist");
        anyhow::ensure!(
            study::execute::is_done(&s.output, dep),
            "{id} waits for {a}, which has not finished"
        );
    }
    let refinement = (run.stage == study::Stage::Refine)
        .then(|| study::execute::refine(s, &s.output, &run.composition, &runs).remove(id))
        .flatten();
    if let Some(study::execute::Refinement::Skip(why)) = &refinement {
        eprintln!("{id} is not needed: {why}");
        return Ok(());
    }
    let p = study::execute::prepare(s, &s.output, run, refinement.as_ref())?;
    let t0 = std::time::Instant::now();
    let status = study::execute::spawn(&p)?.wait()?;
    study::execute::finish(&p, status.success(), t0.elapsed().as_secs_f64())
        .map_err(|tail| anyhow::anyhow!("{id} failed; its log ends:\n{tail}"))
}

fn report(s: &Study) -> anyhow::Result<()> {
    let runs = study::plan(s);
    let r = study::report::run(s, &runs)?;
    for [q, v, b] in study::report::headline(&r) {
        println!("{q:<28} {v:<40} {b}");
    }
    println!(
        "{} of {} runs analysed; report: {}",
        r.runs_finished,
        r.runs_planned,
        s.output.join("report.md").display()
    );
    Ok(())
}

fn slurm(dir: &std::path::Path, s: &Study, res: &study::slurm::Resources) -> anyhow::Result<()> {
    let runs = study::plan(s);
    let exe = std::env::current_exe()?;
    for f in study::slurm::write(dir, s, &runs, &exe, res)? {
        println!("wrote {f}");
    }
    println!("submit with: bash {}/submit.sh", dir.display());
    Ok(())
}

fn plan(s: &Study, json: bool, no_probe: bool) -> anyhow::Result<()> {
    let runs = study::plan(s);
    let totals = study::plan::totals(&runs);
    let atom_steps: f64 = totals.iter().map(|t| t.atom_steps).sum();
    let estimate = if no_probe {
        None
    } else {
        let rate = study::probe::speed(&s.model.path, s.launcher.threads)?;
        Some(WallTime::new(s, atom_steps, rate))
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
    } else {
        print_plan(s, &report);
    }
    Ok(())
}

fn print_plan(s: &Study, report: &PlanReport) {
    println!(
        "study '{}' -> {}; model {}; time step {} fs",
        report.preset, report.output, report.model, report.timestep_fs
    );
    println!(
        "\n{:<48} {:>6} {:>8} {:>8} {:>9}  start",
        "run", "atoms", "T (K)", "ensemble", "steps"
    );
    for r in report.runs {
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
            r.start,
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
        report.runs.len(),
        "",
        report.atom_steps
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
}

fn main() {
    cli::run(|| match Args::parse().command {
        Command::Run { select } => run(&select.load()?),
        Command::Exec { select, id } => exec(&select.load()?, &id),
        Command::Report { select } => report(&select.load()?),
        Command::Slurm {
            dir,
            select,
            time,
            partition,
            account,
            force,
        } => {
            anyhow::ensure!(
                force || !dir.join("submit.sh").exists(),
                "{} already holds a study's Slurm scripts (submit.sh): choose another folder, \
                 or --force to replace them",
                dir.display()
            );
            let res = study::slurm::Resources {
                partition,
                account,
                time,
            };
            slurm(&dir, &select.load()?, &res)
        }
        Command::Plan {
            select,
            json,
            no_probe,
        } => plan(&select.load()?, json, no_probe),
    })
}
