//! allegro-eval: errors of a deployed model against labelled structures (extended XYZ).
use std::collections::BTreeMap;
use std::path::PathBuf;

use allegro::graph::PeriodicGraph;
use allegro::{BackendChoice, LoadOptions, Model};
use allegro_tools::cli;
use allegro_tools::extxyz::read_extxyz;
use allegro_tools::plot::{sub_prefix, Figure, Series};
use clap::Parser;
use serde::Serialize;

use allegro_tools::units::EV_A3_TO_KBAR;

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

#[derive(Default, Serialize, Clone, Copy)]
struct Metric {
    rmse: f64,
    mae: f64,
    count: usize,
}

#[derive(Default)]
struct Acc {
    sq: f64,
    abs: f64,
    n: usize,
}

impl Acc {
    fn add(&mut self, err: f64) {
        self.sq += err * err;
        self.abs += err.abs();
        self.n += 1;
    }
    fn metric(&self, scale: f64) -> Metric {
        let n = self.n.max(1) as f64;
        Metric {
            rmse: (self.sq / n).sqrt() * scale,
            mae: self.abs / n * scale,
            count: self.n,
        }
    }
}

/// Field names carry their units (JSON keys).
#[allow(non_snake_case)]
#[derive(Serialize)]
struct Report {
    model: String,
    frames: usize,
    atoms: usize,
    energy_per_atom_meV: Metric,
    forces_meV_per_A: Metric,
    forces_per_element_meV_per_A: BTreeMap<String, Metric>,
    stress_kbar: Option<Metric>,
    warnings: Vec<String>,
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
        let (mut e, mut f, mut s) = (Acc::default(), Acc::default(), Acc::default());
        let mut per_element: BTreeMap<String, Acc> = BTreeMap::new();
        let (mut pe, mut pf, mut ps) = (Vec::new(), Vec::new(), Vec::new());
        let (mut frames, mut atoms) = (0, 0);
        for path in &args.data {
            let file = read_extxyz(path)?;
            if let Some(note) = &file.truncated {
                eprintln!("warning: {note}");
            }
            for (k, frame) in file.frames.into_iter().enumerate() {
                let at =
                    |what: &str| anyhow::anyhow!("{}: frame {}: {what}", path.display(), k + 1);
                let types = frame
                    .symbols
                    .iter()
                    .map(|sym| {
                        model
                            .metadata()
                            .type_index(sym)
                            .map(|t| t as i32)
                            .ok_or_else(|| at(&format!("element {sym} is not a type of the model")))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let graph = PeriodicGraph::build(
                    frame.cell,
                    &frame.positions,
                    &types,
                    model.metadata().r_max,
                )
                .map_err(|err| at(&err.to_string()))?;
                let out = model.compute(&graph.system())?;
                let n = frame.positions.len();
                let e_ref = frame
                    .float(&args.energy_key)
                    .ok_or_else(|| at(&format!("no '{}' value", args.energy_key)))?;
                // A NaN reference would make every metric NaN without a word.
                anyhow::ensure!(
                    e_ref.is_finite(),
                    at(&format!("reference '{}' is {e_ref}", args.energy_key))
                );
                let e_err = (out.energy() - e_ref) / n as f64;
                e.add(e_err);
                pe.push((e_ref / n as f64, out.energy() / n as f64));
                let forces = graph.fold_forces(&out.forces);
                let f_ref = frame.vectors(&args.forces_key).ok_or_else(|| {
                    at(&format!(
                        "no per-atom '{}' column of 3 numbers",
                        args.forces_key
                    ))
                })?;
                for i in 0..n {
                    for d in 0..3 {
                        let err = forces[i][d] - f_ref[i][d];
                        f.add(err);
                        per_element
                            .entry(frame.symbols[i].clone())
                            .or_default()
                            .add(err);
                        pf.push((f_ref[i][d], forces[i][d]));
                    }
                }
                if let Some(s_ref) = frame.tensor(&args.stress_key) {
                    anyhow::ensure!(
                        s_ref.iter().flatten().all(|x| x.is_finite()),
                        at(&format!("reference '{}' is not finite", args.stress_key))
                    );
                    let volume = allegro_tools::trajectory::Cell {
                        h: frame.cell,
                        origin: [0.0; 3],
                    }
                    .volume();
                    for (k, reference) in s_ref.iter().flatten().enumerate() {
                        // ASE stress = -virial / V
                        let pred = -out.virial[k] / volume;
                        s.add(pred - reference);
                        ps.push((reference * EV_A3_TO_KBAR, pred * EV_A3_TO_KBAR));
                    }
                }
                frames += 1;
                atoms += n;
            }
        }
        anyhow::ensure!(frames > 0, "no frames in the data files");
        let report = Report {
            model: args.model.display().to_string(),
            frames,
            atoms,
            energy_per_atom_meV: e.metric(1000.0),
            forces_meV_per_A: f.metric(1000.0),
            forces_per_element_meV_per_A: per_element
                .iter()
                .map(|(k, a)| (k.clone(), a.metric(1000.0)))
                .collect(),
            stress_kbar: (s.n > 0).then(|| s.metric(EV_A3_TO_KBAR)),
            warnings: if s.n == 0 {
                vec!["no frame has a reference stress: stresses were not compared".into()]
            } else {
                Vec::new()
            },
        };
        cli::check_finite(&report)?;
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        println!("{frames} frames, {atoms} atoms; model {}", report.model);
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
                pe.iter().map(|p| (p.0, p.1)).collect(),
                &report.energy_per_atom_meV,
            )?;
            parity(prefix, "forces", "meV/Å", pf, &report.forces_meV_per_A)?;
            if let Some(m) = &report.stress_kbar {
                parity(prefix, "stress", "kbar", ps, m)?;
            }
        }
        if let Some(path) = &args.json {
            cli::write_json(path, &report)?;
        }
        Ok(())
    });
}
