//! allegro-eval: errors of a deployed model against labelled structures (extended XYZ).
use std::path::PathBuf;

use allegro::{BackendChoice, LoadOptions, Model};
use allegro_tools::cli;
use allegro_tools::eval::{Errors, Keys, Metric};
use allegro_tools::extxyz::read_extxyz;
use allegro_tools::plot::{sub_prefix, Figure, Series};
use clap::Parser;

/// Evaluates a deployed Allegro/nequip model (.nequip.pth or .nequip.pt2) on every frame of
/// extended XYZ files with reference energies, forces and stresses (ASE convention: stress in
/// eV/A^3, positive = tensile), and prints RMSE and MAE: energy per atom (meV/atom), force
/// components (meV/A, also per element), stress components (kbar, all 9). Parity plots and JSON
/// on request. Periodic images are explicit, as in LAMMPS, so any cell size works.
#[derive(Parser)]
#[command(
    version,
    long_about,
    allow_negative_numbers = true,
    after_long_help = "Examples:\n  allegro-eval --model models/nawsbs.nequip.pth --plot parity models/data/test.xyz.gz\n"
)]
struct Args {
    /// Deployed model
    #[arg(long)]
    model: PathBuf,
    /// Threads of the model evaluation
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Engine: auto (native when it supports the model), native, or torch (libtorch; needs a
    /// build with the `torch` feature, and for .nequip.pt2 files)
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Per-frame key of the reference energy (eV)
    #[arg(long, default_value = "energy")]
    energy_key: String,
    /// Per-atom column of the reference forces (eV/A)
    #[arg(long, default_value = "forces")]
    forces_key: String,
    /// Per-frame key of the reference stress (eV/A^3, 9 or 6 values)
    #[arg(long, default_value = "stress")]
    stress_key: String,
    /// Write metrics as JSON
    #[arg(long)]
    json: Option<PathBuf>,
    /// Parity plots: PREFIX_energy, PREFIX_forces, PREFIX_stress (.png and .svg)
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Extended XYZ files (plain or .gz)
    #[arg(required = true)]
    data: Vec<PathBuf>,
}

fn parity(
    prefix: &std::path::Path,
    what: &str,
    unit: &str,
    points: Vec<(f64, f64)>,
    m: &Metric,
) -> anyhow::Result<()> {
    let (lo, hi) = points.iter().fold((f64::MAX, f64::MIN), |(l, h), p| {
        (l.min(p.0).min(p.1), h.max(p.0).max(p.1))
    });
    Figure {
        title: format!("{what}: RMSE {:.3} {unit}, MAE {:.3} {unit}", m.rmse, m.mae),
        x_label: format!("reference {what}"),
        y_label: format!("model {what}"),
        series: vec![
            Series {
                label: "y = x".into(),
                points: vec![(lo, lo), (hi, hi)],
                line: true,
                color: 5,
                ..Series::default()
            },
            Series {
                label: format!("{} values", points.len()),
                points,
                markers: true,
                color: 0,
                ..Series::default()
            },
        ],
        ..Figure::default()
    }
    .save(&sub_prefix(prefix, what))
    .map_err(Into::into)
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        let parity_files = args
            .plot
            .iter()
            .flat_map(|p| cli::plot_files(&sub_prefix(p, "energy")));
        cli::check_outputs(args.json.iter().cloned().chain(parity_files))?;
        anyhow::ensure!(args.threads >= 1, "--threads must be at least 1");
        allegro::model::set_threads(args.threads);
        let options = LoadOptions {
            backend: args.backend,
            threads: args.threads,
            ..LoadOptions::default()
        };
        let mut model = Model::load_with(&args.model, options)?;
        let keys = Keys {
            energy: args.energy_key.clone(),
            forces: args.forces_key.clone(),
            stress: args.stress_key.clone(),
        };
        let mut errors = Errors::default();
        for path in &args.data {
            let file = read_extxyz(path)?;
            if let Some(note) = &file.truncated {
                eprintln!("warning: {note}");
            }
            for (k, frame) in file.frames.iter().enumerate() {
                errors
                    .add(&mut model, frame, &keys)
                    .map_err(|e| anyhow::anyhow!("{}: frame {}: {e}", path.display(), k + 1))?;
            }
        }
        anyhow::ensure!(errors.frames > 0, "no frames in the data files");
        let report = errors.report(args.model.display().to_string());
        cli::check_finite(&report)?;
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        println!(
            "{} frames, {} atoms; model {}",
            report.frames, report.atoms, report.model
        );
        println!(
            "{:<28} {:>12} {:>12} {:>9}",
            "quantity", "RMSE", "MAE", "values"
        );
        let row = |name: &str, m: &Metric| {
            println!("{name:<28} {:>12.4} {:>12.4} {:>9}", m.rmse, m.mae, m.count)
        };
        row("energy (meV/atom)", &report.energy_per_atom_meV);
        row("force components (meV/A)", &report.forces_meV_per_A);
        for (el, m) in &report.forces_per_element_meV_per_A {
            row(&format!("  forces on {el} (meV/A)"), m);
        }
        if let Some(m) = &report.stress_kbar {
            row("stress components (kbar)", m);
        }
        if let Some(prefix) = &args.plot {
            parity(
                prefix,
                "energy",
                "meV/atom",
                errors.energy_points,
                &report.energy_per_atom_meV,
            )?;
            let forces = errors.force_points;
            parity(prefix, "forces", "meV/Å", forces, &report.forces_meV_per_A)?;
            if let Some(m) = &report.stress_kbar {
                parity(prefix, "stress", "kbar", errors.stress_points, m)?;
            }
        }
        if let Some(path) = &args.json {
            cli::write_json(path, &report)?;
        }
        Ok(())
    });
}
