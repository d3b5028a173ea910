//! allegro-arrhenius: activation energy and prefactor from diffusion results at several temperatures.
use std::path::PathBuf;

use allegro_tools::arrhenius::{fit, ArrheniusFit, Point};
use allegro_tools::cli;
use allegro_tools::diffusion::Analysis;
use allegro_tools::plot::{Figure, Series};
use anyhow::Context;
use clap::Parser;

/// Fits D = A exp(-Ea / (k_B T)) to allegro-diffusion JSON results at two or more temperatures,
/// weighting each point by its uncertainty (weighted least squares of ln D against 1/T).
/// Prints Ea (eV) and A (cm^2/s) with uncertainties. With 3 or more points, a reduced chi^2
/// above 1 (points scattering beyond their own errors) widens the errors of Ea and A by
/// sqrt(chi^2), with a warning (JSON: `error_scale`, `warnings`).
///
/// Points whose coefficient allegro-diffusion marked as not significant (an upper bound only)
/// are refused. Each input is `FILE.json` (temperature from its temperature_K, i.e. allegro-diffusion was
/// given --temperature) or `FILE.json:T` with T in K.
#[derive(Parser)]
#[command(
    version,
    long_about,
    allow_negative_numbers = true,
    after_long_help = "Examples:\n  allegro-arrhenius --plot arrhenius d500.json d600.json d700.json\n  allegro-arrhenius --quantity D --direction c --json ea_c.json d500.json:500 d600.json:600\n"
)]
struct Args {
    /// Which coefficient: D (tracer) or D_sigma (charge)
    #[arg(long, value_enum, default_value = "D")]
    quantity: Quantity,
    /// Direction set: xyz, x, y, z, ab (the plane normal to the unique axis) or c (along it)
    #[arg(long, value_enum, default_value = "xyz")]
    direction: Direction,
    /// Write the fit as JSON to this file
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw the Arrhenius plot (points with error bars, fit and 1-sigma band) to PREFIX.png/.svg
    #[arg(long)]
    plot: Option<PathBuf>,
    /// allegro-diffusion JSON files, optionally as FILE:T
    #[arg(required = true)]
    inputs: Vec<String>,
}

/// The diffusion coefficient fitted.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Quantity {
    /// Tracer diffusion
    #[value(name = "D")]
    D,
    /// Charge (collective) diffusion
    #[value(name = "D_sigma")]
    DSigma,
}

impl Quantity {
    fn name(self) -> &'static str {
        match self {
            Quantity::D => "D",
            Quantity::DSigma => "D_sigma",
        }
    }
}

/// The directions allegro-diffusion reports.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Direction {
    Xyz,
    X,
    Y,
    Z,
    Ab,
    C,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Xyz => "xyz",
            Direction::X => "x",
            Direction::Y => "y",
            Direction::Z => "z",
            Direction::Ab => "ab",
            Direction::C => "c",
        }
    }
}

fn point(input: &str, q: Quantity, dir: Direction) -> anyhow::Result<Point> {
    let (quantity, direction) = (q.name(), dir.name());
    let (path, t_arg) = match input.rsplit_once(':') {
        Some((p, t)) if t.parse::<f64>().is_ok() => (p, Some(t.parse::<f64>().unwrap())),
        _ => (input, None),
    };
    let text = std::fs::read_to_string(path).with_context(|| path.to_owned())?;
    let _: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{path}: not JSON"))?;
    let file: Analysis = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{path}: not an allegro-diffusion result ({e})"))?;
    let temperature = t_arg.or(file.temperature_K).ok_or_else(|| {
        anyhow::anyhow!("{path}: no temperature_K in the file: give it as {path}:T")
    })?;
    let entry = file
        .directions
        .iter()
        .find(|d| d.direction == direction)
        .ok_or_else(|| anyhow::anyhow!("{path}: no direction '{direction}'"))?;
    let est = match q {
        Quantity::D => entry.d,
        Quantity::DSigma => entry.d_sigma,
    };
    if !est.significant {
        anyhow::bail!(
            "{path}: {quantity} ({direction}) is not significantly above zero (only {quantity} < {:.3e} cm^2/s at 95 %): leave this temperature out or run it longer",
            est.upper_bound_95.unwrap_or(f64::NAN)
        );
    }
    Ok(Point {
        temperature_K: temperature,
        value: est.value,
        std: est.std,
    })
}

fn figure(f: &ArrheniusFit, quantity: &str, direction: &str) -> Figure {
    let (tmin, tmax) = f.points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(p.temperature_K), b.max(p.temperature_K))
    });
    let xs: Vec<f64> = (0..=40)
        .map(|i| 1000.0 / tmax + (1000.0 / tmin - 1000.0 / tmax) * (i as f64 / 40.0))
        .collect();
    let at = |x: f64| {
        let (mean, sd) = f.line(x);
        (mean.exp(), (mean - sd).exp(), (mean + sd).exp())
    };
    Figure {
        title: format!(
            "{quantity} ({direction}): Ea = {:.3} ± {:.3} eV",
            f.Ea_eV.value, f.Ea_eV.std
        ),
        x_label: "1000 / T (1/K)".into(),
        y_label: format!("{quantity} (cm²/s)"),
        log_y: true,
        series: vec![
            Series {
                label: "simulation ± 1σ".into(),
                points: f
                    .points
                    .iter()
                    .map(|p| (1000.0 / p.temperature_K, p.value))
                    .collect(),
                y_err: Some(f.points.iter().map(|p| p.std).collect()),
                markers: true,
                color: 0,
                ..Series::default()
            },
            Series {
                label: "Arrhenius fit ± 1σ".into(),
                points: xs.iter().map(|&x| (x, at(x).0)).collect(),
                band: Some(xs.iter().map(|&x| (x, at(x).1, at(x).2)).collect()),
                line: true,
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
        let mut points = args
            .inputs
            .iter()
            .map(|i| point(i, args.quantity, args.direction))
            .collect::<anyhow::Result<Vec<_>>>()?;
        points.sort_by(|a, b| a.temperature_K.total_cmp(&b.temperature_K));
        let f = fit(&points)?;
        cli::check_finite(&f)?;
        println!(
            "{:>8}  {:<26}",
            "T (K)",
            format!(
                "{} {} (cm^2/s)",
                args.quantity.name(),
                args.direction.name()
            )
        );
        for p in &f.points {
            println!("{:>8.1}  {:.4e} ± {:.2e}", p.temperature_K, p.value, p.std);
        }
        println!();
        println!("Ea = {:.4} ± {:.4} eV", f.Ea_eV.value, f.Ea_eV.std);
        println!("A  = {:.4e} ± {:.2e} cm^2/s", f.A.value, f.A.std);
        if let Some(r) = f.reduced_chi2 {
            println!("reduced chi^2 = {r:.2}");
        }
        for w in &f.warnings {
            eprintln!("warning: {w}");
        }
        if let Some(path) = &args.json {
            cli::write_json(path, &f)?;
        }
        if let Some(prefix) = &args.plot {
            figure(&f, args.quantity.name(), args.direction.name()).save(prefix)?;
        }
        Ok(())
    });
}
