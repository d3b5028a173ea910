//! allegro-lattice: lattice parameters, phase (tetragonal/cubic/mixed) and T_C from NPT runs.
use std::path::PathBuf;

use allegro_tools::cli;
use allegro_tools::lattice::{self, analyse, Phase, RunSeries, Settings};
use allegro_tools::trajectory::log::read_log;
use allegro_tools::trajectory::open_dump;
use clap::Parser;

/// Lattice parameters per conventional cell and the phase of each NPT run, and the
/// tetragonal-cubic transition temperature T_C over a set of runs.
///
/// Inputs are LAMMPS log files (thermo columns Temp and Cella/Cellb/Cellc or Lx/Ly/Lz, or
/// v_a/v_b/v_c per conventional cell as the project's inputs write them; all thermo blocks
/// concatenated) or dumps given as DUMP:T (cell from the dump, T in K). Per run: mean
/// temperature (K) and a, b, c (A) after the equilibration cut, with c the unique axis (the one
/// whose average stands out most). The phase comes from the time-averaged splitting s = (c -
/// (a + b) / 2) / mean length with a standard error from 5 to 10 block averages, each two
/// correlation times long (so correlated rows are not counted as independent): tetragonal when
/// |s| is significantly above zero (95 %) and at least --threshold, cubic when |s| is
/// significantly below --threshold, undetermined when the
/// run cannot tell (too short or too small a cell: run longer), mixed when some blocks are on
/// their own significantly tetragonal and others cubic (the run switches). T_C is the midpoint
/// between the highest tetragonal and the lowest cubic temperature, with its half-width; runs
/// of one temperature that end in different phases are reported and left out.
/// Where the log also has the cell angles (thermo `cellalpha cellbeta cellgamma`, as the
/// project's npt.in writes), a cell whose time-averaged angle stays significantly (95 %) more
/// than --shear-threshold degrees from 90 is sheared (rhombohedral or monoclinic): neither
/// phase, so undetermined, whatever the lengths say.
/// JSON: each length and the temperature as `value`, `spread` (how much it fluctuates during
/// the run) and `standard_error` (of the time average, corrected for correlated rows).
#[derive(Parser)]
#[command(
    version,
    long_about,
    allow_negative_numbers = true,
    after_long_help = "Examples:\n  allegro-lattice --reps 12 12 12 --json lat.json --plot lat log.T400.lammps log.T450.lammps log.T500.lammps\n  allegro-lattice --reps 4 4 4 npt400.dump:400 npt500.dump:500\n"
)]
struct Args {
    /// Conventional cells of the supercell along x y z (e.g. 12 12 12)
    #[arg(long, num_args = 3, default_values_t = [1.0, 1.0, 1.0])]
    reps: Vec<f64>,
    /// Fraction of each run discarded as equilibration [default: detected]
    #[arg(long)]
    equilibration: Option<f64>,
    /// Relative axis splitting (c - (a + b) / 2) / mean that counts as tetragonal
    #[arg(long, default_value_t = 0.005)]
    threshold: f64,
    /// Deviation of a time-averaged cell angle from 90 degrees that counts as sheared (needs the
    /// CellAlpha/CellBeta/CellGamma thermo columns)
    #[arg(long, default_value_t = 0.3)]
    shear_threshold: f64,
    /// Moving-average window in thermo rows for the informative tetragonal-row fraction
    /// [default: rows / 50]
    #[arg(long)]
    window: Option<usize>,
    /// Thermo columns holding the three cell lengths of the whole box [default: Cella,Cellb,Cellc
    /// or Lx,Ly,Lz; v_a,v_b,v_c are read as lengths per conventional cell]
    #[arg(long)]
    length_columns: Option<String>,
    /// Thermo column holding the temperature
    #[arg(long, default_value = "Temp")]
    temp_column: String,
    /// Write all results as JSON to this file
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw a, b, c against T with the T_C band to PREFIX.png/.svg
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Log files, or dumps as DUMP:T
    #[arg(required = true)]
    inputs: Vec<String>,
}

/// Thermo columns of lengths per conventional cell (lammps-inputs write `v_a v_b v_c`).
const PER_CELL: [&str; 3] = ["v_a", "v_b", "v_c"];

fn from_log(path: &str, args: &Args) -> anyhow::Result<RunSeries> {
    // a dump given without its temperature: say what to write instead of failing to parse it
    if let Ok(Some(_)) = allegro_tools::trajectory::open_dump(path).and_then(|mut s| s.next_frame())
    {
        anyhow::bail!("{path} is a LAMMPS dump, not a log: give it as {path}:T with T in K");
    }
    let log = read_log(path)?;
    if let Some(t) = &log.truncated {
        eprintln!("warning: {t}");
    }
    let sets: Vec<Vec<String>> = match &args.length_columns {
        Some(c) => vec![c.split(',').map(str::to_owned).collect()],
        None => vec![
            vec!["Cella".into(), "Cellb".into(), "Cellc".into()],
            vec!["Lx".into(), "Ly".into(), "Lz".into()],
            PER_CELL.iter().map(|c| c.to_string()).collect(),
        ],
    };
    let mut series = RunSeries {
        name: path.to_owned(),
        temperature: Vec::new(),
        lengths: Vec::new(),
        per_cell: false,
        angles: Vec::new(),
    };
    let mut used = Vec::new();
    for block in &log.blocks {
        let Some(t) = block.column(&args.temp_column) else {
            continue;
        };
        let Some(cols) = sets.iter().find_map(|s| {
            let c: Option<Vec<usize>> = s.iter().map(|n| block.column(n)).collect();
            c.filter(|c| c.len() == 3)
        }) else {
            continue;
        };
        series.per_cell = PER_CELL.iter().all(|c| block.column(c).is_some())
            && cols
                .iter()
                .zip(PER_CELL)
                .all(|(&k, c)| block.column(c) == Some(k));
        for row in &block.rows {
            series.temperature.push(row[t]);
            series
                .lengths
                .push([row[cols[0]], row[cols[1]], row[cols[2]]]);
        }
        used.push(block);
    }
    series.angles = lattice::log_angles(&used);
    anyhow::ensure!(
        !series.lengths.is_empty(),
        "{path}: no thermo block with a '{}' column and cell lengths ({}): add them to thermo_style custom or give --length-columns",
        args.temp_column,
        sets.iter().map(|s| s.join(" ")).collect::<Vec<_>>().join(" or ")
    );
    Ok(series)
}

fn from_dump(path: &str, temperature: f64) -> anyhow::Result<RunSeries> {
    // a log given with a temperature: say what to write instead of failing to parse it as a dump
    if read_log(path).is_ok_and(|log| !log.blocks.is_empty()) {
        anyhow::bail!(
            "{path} is a LAMMPS log, not a dump: give it without ':{temperature}' (the log has its own temperatures)"
        );
    }
    let mut source = open_dump(path)?;
    let mut series = RunSeries {
        name: path.to_owned(),
        temperature: Vec::new(),
        lengths: Vec::new(),
        per_cell: false,
        angles: Vec::new(),
    };
    while let Some(frame) = source.next_frame()? {
        series.temperature.push(temperature);
        series.lengths.push(frame.cell.lengths());
    }
    if let Some(t) = source.truncated() {
        eprintln!("warning: {t}");
    }
    Ok(series)
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        cli::check_files_and_plot(&[&args.json], &args.plot)?;
        anyhow::ensure!(
            args.reps.iter().all(|r| *r >= 1.0),
            "--reps must be positive integers"
        );
        if let Some(e) = args.equilibration {
            anyhow::ensure!(
                (0.0..0.9).contains(&e),
                "--equilibration must be a fraction in [0, 0.9)"
            );
        }
        let mut series = Vec::new();
        for input in &args.inputs {
            let s = match input.rsplit_once(':') {
                Some((path, t)) if t.parse::<f64>().is_ok() => from_dump(path, t.parse()?)?,
                _ => from_log(input, &args)?,
            };
            series.push(s);
        }
        let settings = Settings {
            reps: [args.reps[0], args.reps[1], args.reps[2]],
            equilibration: args.equilibration,
            threshold: args.threshold,
            window: args.window,
            shear_threshold_deg: args.shear_threshold,
        };
        let result = analyse(&series, &settings)?;
        cli::check_finite(&result)?;
        println!(
            "{:>8} {:>7}  {:>9} {:>9} {:>9} {:>7}  {:>15}  {:<12} {:<12} {:>6}  run",
            "T (K)",
            "spread",
            "a (A)",
            "b (A)",
            "c (A)",
            "c/a",
            "splitting (%)",
            "phase",
            "started",
            "tet %"
        );
        for r in &result.runs {
            println!(
                "{:>8.1} {:>7.1}  {:>9.4} {:>9.4} {:>9.4} {:>7.4}  {:>7.3} +- {:<5.3}  {:<12} {:<12} {:>6.1}  {}",
                r.temperature_K.value,
                r.temperature_K.spread,
                r.a_A.value,
                r.b_A.value,
                r.c_A.value,
                r.c_over_a,
                100.0 * r.splitting.value,
                100.0 * r.splitting.standard_error,
                r.phase.name(),
                r.start_phase.name(),
                100.0 * r.tetragonal_fraction,
                r.name
            );
            if matches!(r.phase, Phase::Mixed | Phase::Undetermined) {
                println!("{:>10}{}: {}", "", r.phase.name(), r.phase_reason);
            }
        }
        match &result.T_C {
            Some(t) => println!("\nT_C = {:.1} ± {:.1} K", t.value, t.halfwidth),
            None => println!("\nT_C: not determined"),
        }
        for w in &result.warnings {
            eprintln!("warning: {w}");
        }
        if let Some(path) = &args.json {
            cli::write_json(path, &result)?;
        }
        if let Some(prefix) = &args.plot {
            lattice::figure(&result, None).save(prefix)?;
        }
        Ok(())
    });
}
