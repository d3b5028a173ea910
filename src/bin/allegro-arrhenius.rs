//! allegro-arrhenius: activation energy and prefactor from diffusion results at several temperatures.
use std::path::PathBuf;

use allegro::arrhenius::{fit, Point};
use allegro::cli;
use anyhow::Context;
use clap::Parser;
use serde_json::Value;

/// Fits D = A exp(-Ea / (k_B T)) to allegro-diffusion JSON results at two or more temperatures,
/// weighting each point by its uncertainty (weighted least squares of ln D against 1/T).
/// Prints Ea (eV) and A (cm^2/s) with uncertainties.
///
/// Each input is `FILE.json` (temperature from its temperature_K, i.e. allegro-diffusion was
/// given --temperature) or `FILE.json:T` with T in K.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Which coefficient: D (tracer) or D_sigma (charge)
    #[arg(long, default_value = "D")]
    quantity: String,
    /// Direction set: xyz, x, y, z, ab or c
    #[arg(long, default_value = "xyz")]
    direction: String,
    /// Write the fit as JSON to this file
    #[arg(long)]
    json: Option<PathBuf>,
    /// allegro-diffusion JSON files, optionally as FILE:T
    #[arg(required = true)]
    inputs: Vec<String>,
}

fn point(input: &str, quantity: &str, direction: &str) -> anyhow::Result<Point> {
    let (path, t_arg) = match input.rsplit_once(':') {
        Some((p, t)) if t.parse::<f64>().is_ok() => (p, Some(t.parse::<f64>().unwrap())),
        _ => (input, None),
    };
    let text = std::fs::read_to_string(path).with_context(|| path.to_owned())?;
    let json: Value = serde_json::from_str(&text).with_context(|| format!("{path}: not JSON"))?;
    let temperature = t_arg
        .or_else(|| json["temperature_K"].as_f64())
        .ok_or_else(|| anyhow::anyhow!("{path}: no temperature_K in the file: give it as {path}:T"))?;
    let dirs = json["directions"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("{path}: not an allegro-diffusion result (no 'directions')"))?;
    let entry = dirs
        .iter()
        .find(|d| d["direction"] == direction)
        .ok_or_else(|| anyhow::anyhow!("{path}: no direction '{direction}'"))?;
    let est = &entry[quantity];
    let (value, std) = (est["value"].as_f64(), est["std"].as_f64());
    match (value, std) {
        (Some(value), Some(std)) => Ok(Point { temperature_K: temperature, value, std }),
        _ => anyhow::bail!("{path}: no {quantity} value/std for direction '{direction}'"),
    }
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        anyhow::ensure!(args.quantity == "D" || args.quantity == "D_sigma", "--quantity must be D or D_sigma");
        let mut points = args
            .inputs
            .iter()
            .map(|i| point(i, &args.quantity, &args.direction))
            .collect::<anyhow::Result<Vec<_>>>()?;
        points.sort_by(|a, b| a.temperature_K.total_cmp(&b.temperature_K));
        let f = fit(&points)?;
        println!("{:>8}  {:<26}", "T (K)", format!("{} {} (cm^2/s)", args.quantity, args.direction));
        for p in &f.points {
            println!("{:>8.1}  {:.4e} ± {:.2e}", p.temperature_K, p.value, p.std);
        }
        println!();
        println!("Ea = {:.4} ± {:.4} eV", f.Ea_eV.value, f.Ea_eV.std);
        println!("A  = {:.4e} ± {:.2e} cm^2/s", f.A.value, f.A.std);
        if f.reduced_chi2.is_finite() {
            println!("reduced chi^2 = {:.2}", f.reduced_chi2);
        }
        if let Some(path) = &args.json {
            cli::write_atomic(path, &serde_json::to_vec_pretty(&f)?)?;
        }
        Ok(())
    });
}
