//! allegro-diffusion: tracer and charge diffusion, Haven ratio and conductivity from LAMMPS dumps.
use std::path::PathBuf;

use allegro_tools::cli;
use allegro_tools::diffusion::{analyse, load_run, Analysis, Coefficient, Selection, Settings};
use allegro_tools::plot::{Figure, Series};
use clap::Parser;

/// Tracer diffusion coefficient D, charge (collective) diffusion coefficient D_sigma, Haven
/// ratio H_R = D / D_sigma and ionic conductivity of one species, with uncertainties, from
/// LAMMPS dump files. Several dumps are independent runs of one state and are pooled.
///
/// Method: positions are unwrapped with the minimum-image step in each frame's own cell (right
/// under NPT), framework drift (all other species) is removed, the MSD is averaged over all
/// atoms and all time origins, and MSD(t) = 2 d D t + c is fitted by generalised least squares
/// with weights from the covariance shape of Gaussian increments. Units: time ps, lengths A, D
/// in cm^2/s, conductivity mS/cm. Dumps: text (plain or .gz) or binary, with x/xs/xu/xsu columns.
///
/// Uncertainties hold for rare hops on top of vibrations as well as for Gaussian walks: the
/// variance of the slope comes from the data (each atom's own contribution is one independent
/// sample; D_sigma's pair terms from the measured MSD tensor), never below the Gaussian value for
/// the measured MSD, with hop noise taken one std above the estimate. Ions that move together
/// widen it: for D, when their squared displacements rise and fall together across time blocks
/// (few vacancies carrying every hop; measured in each run), for D_sigma when D_sigma/D > 1;
/// with 3 or more runs, their scatter widens it too, so pass several runs of one state when
/// you can. The Haven ratio's error propagates those of D and D_sigma as if independent; they
/// are positively correlated (same trajectories), so it is conservative. A D that is negative or
/// within 1.645 std of zero is reported as an upper bound at 95 % ("D < ..."). Warnings (also in
/// the JSON's `warnings`) flag a fit window that is not diffusive and a D resting on < 20 hops.
#[derive(Parser)]
#[command(
    version,
    long_about,
    allow_negative_numbers = true,
    after_long_help = "Examples:\n  allegro-diffusion --timestep 0.002 --species Na --types 1=Na,2=Sb,3=W,4=S --temperature 600 --json d600.json --plot msd600 run1.dump run2.dump run3.dump\n  allegro-diffusion --timestep 0.002 --species 1 --start 20 --end-fraction 0.4 nve.bin\n"
)]
struct Args {
    /// MD time step in ps (dump TIMESTEP values x this = time), e.g. 0.002
    #[arg(long)]
    timestep: f64,
    /// Diffusing species: a LAMMPS type number, or an element name (needs an element column or --types)
    #[arg(long)]
    species: String,
    /// Start of the fitted (diffusive) range in ps [default: a tenth of the run]
    #[arg(long)]
    start: Option<f64>,
    /// End of the fitted range as a fraction of the run length
    #[arg(long, default_value_t = 0.5)]
    end_fraction: f64,
    /// Number of time lags in the fitted range
    #[arg(long, default_value_t = 40)]
    lags: usize,
    /// Element names of the LAMMPS types, e.g. 1=Na,2=Sb,3=W,4=S
    #[arg(long)]
    types: Option<String>,
    /// Temperature in K, for conductivities [default: no conductivity]
    #[arg(long)]
    temperature: Option<f64>,
    /// Charge of the diffusing ion in e
    #[arg(long, default_value_t = 1.0)]
    charge: f64,
    /// Unique (c) axis: a, b or c, the cell vector [default: the one whose length differs most]
    #[arg(long)]
    c_axis: Option<String>,
    /// Write all results (and the MSD curves) as JSON to this file
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw the MSD with the fitted line and its 1-sigma band to PREFIX.png and PREFIX.svg
    #[arg(long)]
    plot: Option<PathBuf>,
    /// LAMMPS dump files, one per independent run
    #[arg(required = true)]
    dumps: Vec<PathBuf>,
}

/// "value ± std", or the bound the data support when the value is not significant.
fn fmt(e: &Coefficient, digits: usize) -> String {
    if e.significant {
        return format!("{:.*e} ± {:.2e}", digits, e.value, e.std);
    }
    match (e.upper_bound_95, e.lower_bound_95) {
        (Some(u), _) => format!("< {u:.3e} (95 %)"),
        (_, Some(l)) => format!("> {l:.3e} (95 %)"),
        _ => "not determined".into(),
    }
}

fn print_table(a: &Analysis, species: &Selection) {
    println!(
        "{} run(s), {} {species} atoms, frames {}, {} ps between frames, mean volume {:.1} A^3",
        a.runs,
        a.atoms,
        a.frames
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        a.timestep_between_frames_ps,
        a.volume_A3
    );
    println!(
        "fit: {:.3} - {:.3} ps ({} lags); c axis = cell vector {} ({:+.2} % vs the other two)",
        a.fit_range_ps[0],
        a.fit_range_ps[1],
        a.fit_lags_ps.len(),
        ["a", "b", "c"][a.c_axis],
        100.0 * a.c_axis_anisotropy
    );
    println!();
    println!(
        "{:<9} {:>4}  {:<22} {:<22} {:<22} {:>8} {:>6}",
        "direction", "dims", "D (cm^2/s)", "D_sigma (cm^2/s)", "Haven ratio", "kurtosis", "hops"
    );
    for d in &a.directions {
        let hops = match (d.hops_estimable, d.effective_hops) {
            (false, _) => "n/a".to_string(),
            (true, None) => "many".to_string(),
            (true, Some(h)) => format!("{h:.0}"),
        };
        println!(
            "{:<9} {:>4}  {:<22} {:<22} {:<22} {:>8.2} {:>6}",
            d.direction,
            d.dimensions,
            fmt(&d.d, 4),
            fmt(&d.d_sigma, 4),
            fmt(&d.haven_ratio, 3),
            d.excess_kurtosis,
            hops
        );
    }
    println!(
        "(kurtosis: excess kurtosis of the displacements at the end of the fit; hops: the number of ion hops D rests on, 'many' for Gaussian steps)"
    );
    println!();
    match (&a.conductivity_mS_cm, &a.conductivity_nernst_einstein_mS_cm) {
        (Some(s), Some(ne)) => {
            println!(
                "conductivity (collective)      {} mS/cm at {} K",
                fmt(s, 4),
                a.temperature_K.unwrap()
            );
            println!("conductivity (Nernst-Einstein) {} mS/cm", fmt(ne, 4));
        }
        _ => println!("conductivity: give --temperature K"),
    }
}

fn msd_figure(a: &Analysis, species: &str) -> Figure {
    let c = &a.curves;
    let (t0, t1) = (a.fit_range_ps[0], a.fit_range_ps[1]);
    let line = |t: f64| c.fit_slope_A2_per_ps * t + c.fit_intercept_A2;
    let sd = |t: f64| {
        (t * t * c.fit_cov[0][0] + 2.0 * t * c.fit_cov[0][1] + c.fit_cov[1][1])
            .max(0.0)
            .sqrt()
    };
    let ts: Vec<f64> = (0..=50).map(|i| t0 + (t1 - t0) * i as f64 / 50.0).collect();
    Figure {
        title: format!(
            "{species}: MSD, D = {:.3e} ± {:.1e} cm²/s",
            a.d.value, a.d.std
        ),
        x_label: "time lag (ps)".into(),
        y_label: "MSD (Å²)".into(),
        x_bands: vec![(t0, t1, "fitted range".into())],
        series: vec![
            Series {
                label: "tracer MSD".into(),
                points: c
                    .lag_ps
                    .iter()
                    .copied()
                    .zip(c.msd_A2.iter().copied())
                    .collect(),
                line: true,
                color: 0,
                ..Series::default()
            },
            Series {
                label: "collective MSD / N".into(),
                points: c
                    .lag_ps
                    .iter()
                    .copied()
                    .zip(c.collective_msd_per_atom_A2.iter().copied())
                    .collect(),
                line: true,
                color: 3,
                ..Series::default()
            },
            Series {
                label: "GLS fit ± 1σ".into(),
                points: ts.iter().map(|&t| (t, line(t))).collect(),
                line: true,
                band: Some(
                    ts.iter()
                        .map(|&t| (t, line(t) - sd(t), line(t) + sd(t)))
                        .collect(),
                ),
                color: 1,
                ..Series::default()
            },
        ],
        ..Figure::default()
    }
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        cli::check_files_and_plot(&[&args.json], &args.plot)?;
        anyhow::ensure!(
            args.timestep > 0.0 && args.timestep.is_finite(),
            "--timestep must be a positive number of ps"
        );
        anyhow::ensure!(
            args.end_fraction > 0.0 && args.end_fraction <= 1.0,
            "--end-fraction must be in (0, 1]"
        );
        anyhow::ensure!(args.lags >= 2, "--lags must be at least 2");
        if let Some(t) = args.temperature {
            anyhow::ensure!(
                t > 0.0 && t.is_finite(),
                "--temperature must be positive (K)"
            );
        }
        let type_names = match &args.types {
            Some(t) => cli::parse_type_names(t)?,
            None => Vec::new(),
        };
        let c_axis = match args.c_axis.as_deref() {
            None => None,
            Some("a") => Some(0),
            Some("b") => Some(1),
            Some("c") => Some(2),
            Some(other) => anyhow::bail!("--c-axis must be a, b or c, not '{other}'"),
        };
        let species = Selection::parse(&args.species);
        let mut runs = Vec::new();
        for path in &args.dumps {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            let bar = cli::progress_bar(size, &path.display().to_string());
            let (run, warnings) = load_run(path, &species, &type_names, args.timestep, &mut |b| {
                bar.set_position(b)
            })?;
            bar.finish_and_clear();
            for w in warnings {
                eprintln!("warning: {w}");
            }
            runs.push(run);
        }
        let settings = Settings {
            start: args.start,
            end_fraction: args.end_fraction,
            n_lags: args.lags,
            c_axis,
            charge: args.charge,
            temperature: args.temperature,
        };
        let analysis = analyse(&runs, &settings)?;
        cli::check_finite(&analysis)?;
        print_table(&analysis, &species);
        for w in &analysis.warnings {
            eprintln!("warning: {w}");
        }
        if let Some(path) = &args.json {
            cli::write_json(path, &analysis)?;
        }
        if let Some(prefix) = &args.plot {
            msd_figure(&analysis, &args.species).save(prefix)?;
        }
        Ok(())
    });
}
