//! allegro-phonon: harmonic phonons and the soft mode from a deployed model, in-process.
use std::path::PathBuf;

use allegro::{BackendChoice, LoadOptions, Model};
use allegro_tools::cli;
use allegro_tools::phonon::{self, crystal::Crystal, input, model::Allegro, path, relax, Analysis};
use allegro_tools::plot::{sub_prefix, Figure, Series};
use allegro_tools::structure::{CUBIC_A, TETRAGONAL_A, TETRAGONAL_C};
use anyhow::{ensure, Context};
use clap::Parser;

/// Phonon frequencies, dispersion, density of states and the soft-mode energy surface of a
/// crystal, with a deployed Allegro model evaluated in-process (no LAMMPS, no Python).
///
/// Every atom of the primitive cell (found from the structure's pure translations: 8 atoms for
/// cubic Na3SbS4) is displaced by +-u along x, y and z inside the supercell; the force
/// constants (acoustic sum rule enforced, its violation reported) give the dynamical matrix at
/// any q, with constants shared over equally short periodic images as phonopy does. Units:
/// A, eV, amu; frequencies in THz, imaginary ones printed negative; q in reciprocal
/// coordinates of the input cell (for body-centred cubic H = 0 0 1, N = 0.5 0.5 0,
/// P = 0.5 0.5 0.5). For a body-centred cubic cell the lowest mode at H is frozen in and its
/// energy E(Q) scanned (Q: mass-weighted amplitude, A amu^1/2); for cubic Na3SbS4 the
/// distortion at the minimum is compared with the tetragonal phase.
#[derive(Parser)]
#[command(
    version,
    long_about,
    allow_negative_numbers = true,
    after_long_help = "Examples:\n  allegro-phonon --model models/nawsbs.nequip.pth --structure cubic --json cubic.json --plot cubic\n  allegro-phonon --model M --structure CELL.xyz --supercell 2 2 2 --displacement 0.02 --relax 0.001 --json OUT.json\n  allegro-phonon --model M --structure tetragonal --path 'GAMMA 0 0 0, Z 0 0 0.5' --soft-mode none\n"
)]
struct Args {
    /// Deployed model (.nequip.pth; .nequip.pt2 with the torch build)
    #[arg(long)]
    model: PathBuf,
    /// Structure: an extended XYZ file (first frame), a LAMMPS data file (atom_style atomic),
    /// or `cubic` / `tetragonal` for the builder's 16-atom Na3SbS4 cells
    #[arg(long)]
    structure: String,
    /// Lattice parameter a of the built cells, A [default: 7.15 cubic, 7.1423 tetragonal]
    #[arg(long)]
    a: Option<f64>,
    /// Lattice parameter c of the built tetragonal cell, A [default: 7.2837]
    #[arg(long)]
    c: Option<f64>,
    /// Element of each atom type of a LAMMPS data file, in type order (e.g. Na,Sb,W,S), when
    /// its Masses lines do not name them
    #[arg(long, value_delimiter = ',')]
    types: Option<Vec<String>>,
    /// Mass of an element, amu (EL=M, repeatable); default: standard atomic weights (the data
    /// file's masses for LAMMPS data)
    #[arg(long, value_name = "EL=M")]
    mass: Vec<String>,
    /// Supercell of the input cell in which the atoms are displaced
    #[arg(long, num_args = 3, default_values_t = [2, 2, 2], value_names = ["N1", "N2", "N3"])]
    supercell: Vec<usize>,
    /// Finite displacement, A (the paper's 0.02)
    #[arg(long, default_value_t = 0.02)]
    displacement: f64,
    /// Relax the positions first (fixed cell) until every force is below FMAX, eV/A
    #[arg(long, value_name = "FMAX")]
    relax: Option<f64>,
    /// Most relaxation steps (FIRE)
    #[arg(long, default_value_t = 2000)]
    relax_steps: usize,
    /// Write the (relaxed) input cell as extended XYZ
    #[arg(long, value_name = "FILE.xyz")]
    write_structure: Option<PathBuf>,
    /// Band path 'LABEL QX QY QZ, LABEL QX QY QZ, ...' (reciprocal coordinates of the input
    /// cell); default: GAMMA-H-N-GAMMA-P-H for body-centred cubic, GAMMA-X-M-GAMMA-Z-R-A-Z for
    /// simple tetragonal, GAMMA-X-M-GAMMA-R-X simple cubic, GAMMA-X-W-K-GAMMA-L face-centred
    #[arg(long)]
    path: Option<String>,
    /// q points per 1/A along the path (at least 10 per segment)
    #[arg(long, default_value_t = 200.0)]
    density: f64,
    /// Density of states on an N x N x N mesh of the primitive cell
    #[arg(long, default_value_t = 12)]
    dos_mesh: usize,
    /// Gaussian smearing of the density of states, THz
    #[arg(long, default_value_t = 0.1)]
    dos_sigma: f64,
    /// Path point whose lowest mode is frozen in for E(Q), or `none` [default: H for
    /// body-centred cubic cells, none otherwise]
    #[arg(long)]
    soft_mode: Option<String>,
    /// Largest atomic displacement of the E(Q) scan, A
    #[arg(long, default_value_t = 0.8)]
    soft_max_displacement: f64,
    /// Points of the E(Q) scan
    #[arg(long, default_value_t = 41)]
    soft_points: usize,
    /// Coordination tetrahedra CENTRE:LIGAND whose rotation describes the distortion
    /// [default: Sb:S when both elements are present]
    #[arg(long)]
    tetrahedra: Option<String>,
    /// Threads of the model evaluation
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Engine: auto (native when it supports the model), native, or torch
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// Write every number as JSON
    #[arg(long)]
    json: Option<PathBuf>,
    /// Figures PREFIX_band, PREFIX_dos and PREFIX_soft_mode (.png and .svg)
    #[arg(long)]
    plot: Option<PathBuf>,
}

fn figures(r: &Analysis, prefix: &std::path::Path) -> anyhow::Result<()> {
    let b = &r.band;
    let branches = b.frequencies_thz.first().map_or(0, |f| f.len());
    let mut series: Vec<Series> = (0..branches)
        .map(|k| Series {
            points: b
                .distance
                .iter()
                .zip(&b.frequencies_thz)
                .map(|(d, f)| (*d, f[k]))
                .collect(),
            line: true,
            color: 0,
            ..Series::default()
        })
        .collect();
    let end = b.distance.last().copied().unwrap_or(1.0);
    series.push(Series {
        points: vec![(0.0, 0.0), (end, 0.0)],
        line: true,
        color: 5,
        ..Series::default()
    });
    Figure {
        title: format!(
            "phonons: {} atoms per primitive cell, {}x{}x{} supercell",
            r.atoms_primitive_cell, r.supercell[0], r.supercell[1], r.supercell[2]
        ),
        x_label: "wave vector".into(),
        y_label: "frequency (THz; imaginary < 0)".into(),
        series,
        x_ticks: b.ticks.clone(),
        ..Figure::default()
    }
    .save(&sub_prefix(prefix, "band"))?;
    Figure {
        title: format!(
            "density of states ({0}^3 mesh, sigma {1} THz)",
            r.dos.mesh, r.dos.sigma_thz
        ),
        x_label: "frequency (THz; imaginary < 0)".into(),
        y_label: "states per THz per primitive cell".into(),
        series: vec![Series {
            points: r
                .dos
                .frequency_thz
                .iter()
                .zip(&r.dos.states_per_thz)
                .map(|(f, s)| (*f, *s))
                .collect(),
            line: true,
            color: 0,
            ..Series::default()
        }],
        ..Figure::default()
    }
    .save(&sub_prefix(prefix, "dos"))?;
    if let Some(s) = &r.soft_mode {
        let pts = |v: &[f64]| {
            s.amplitude
                .iter()
                .zip(v)
                .map(|(a, e)| (*a, *e))
                .collect::<Vec<_>>()
        };
        let lo = s.energy_mev.iter().cloned().fold(f64::MAX, f64::min);
        let hi = s.energy_mev.iter().cloned().fold(f64::MIN, f64::max);
        let harmonic: Vec<(f64, f64)> = pts(&s.harmonic_mev)
            .into_iter()
            .filter(|p| p.1 >= lo - 0.5 * (hi - lo) && p.1 <= hi + 0.5 * (hi - lo))
            .collect();
        Figure {
            title: format!(
                "mode frozen in at {} ({:.2} THz): minimum {:.2} meV per cell at Q = {:.3}",
                s.label, s.frequency_thz, s.minimum_energy_mev, s.minimum_amplitude
            ),
            x_label: "mode amplitude Q (A amu^1/2)".into(),
            y_label: "E(Q) - E(0) per input cell (meV)".into(),
            series: vec![
                Series {
                    label: "model".into(),
                    points: pts(&s.energy_mev),
                    line: true,
                    markers: true,
                    color: 0,
                    ..Series::default()
                },
                Series {
                    label: "harmonic, omega^2 Q^2 / 2".into(),
                    points: harmonic,
                    line: true,
                    color: 1,
                    ..Series::default()
                },
            ],
            ..Figure::default()
        }
        .save(&sub_prefix(prefix, "soft_mode"))?;
    }
    Ok(())
}

fn print(r: &Analysis) {
    println!(
        "{} atoms in the input cell, {} in the primitive cell ({}); {}x{}x{} supercell of {} atoms, \
         u = {} A, {} force evaluations",
        r.atoms_unit_cell,
        r.atoms_primitive_cell,
        r.lattice.as_deref().unwrap_or("lattice type not recognised"),
        r.supercell[0],
        r.supercell[1],
        r.supercell[2],
        r.atoms_supercell,
        r.displacement_a,
        r.force_evaluations
    );
    println!(
        "acoustic sum rule: largest violation {:.2e} eV/A^2 (enforced); largest residual force {:.4} eV/A",
        r.sum_rule_violation_ev_per_a2, r.residual_max_force_ev_per_a
    );
    println!("\nfrequencies (THz, imaginary negative) at the special points:");
    for p in &r.special_points {
        let f: Vec<String> = p
            .frequencies_thz
            .iter()
            .map(|f| format!("{f:.3}"))
            .collect();
        println!(
            "  {:<6} q = ({:>5.3} {:>5.3} {:>5.3}): {}",
            p.label,
            p.q[0],
            p.q[1],
            p.q[2],
            f.join(" ")
        );
    }
    if let Some(s) = &r.soft_mode {
        println!(
            "\nlowest mode at {} ({:.3} THz{}) frozen in: E(Q) minimum {:.3} meV per input cell at Q = {:.4} A amu^1/2 \
             (largest displacement {:.3} A)",
            s.label,
            s.frequency_thz,
            if s.frequency_thz < 0.0 { ", imaginary" } else { "" },
            s.minimum_energy_mev,
            s.minimum_amplitude,
            s.minimum_max_displacement_a
        );
        let d = &s.distortion_at_minimum;
        for (e, v) in &d.displacement_rms_a {
            println!(
                "  {e:<3} rms displacement x y z: {:.3} {:.3} {:.3} A",
                v[0], v[1], v[2]
            );
        }
        println!("  mean tetrahedron rotation {:.2} deg", d.mean_rotation_deg);
        if let Some(t) = &r.tetragonal {
            println!(
                "  tetragonal phase (c/a {:.4}, c along {}): overlap with the mode {:.3}; mean rotation {:.2} deg",
                t.c_over_a,
                ["x", "y", "z"][t.c_axis],
                t.overlap,
                t.distortion.mean_rotation_deg
            );
            for (e, v) in &t.distortion.displacement_rms_a {
                println!(
                    "    {e:<3} rms displacement x y z: {:.3} {:.3} {:.3} A",
                    v[0], v[1], v[2]
                );
            }
        }
    }
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        let plots = args.plot.iter().flat_map(|p| {
            ["band", "dos", "soft_mode"]
                .into_iter()
                .flat_map(|w| cli::plot_files(&sub_prefix(p, w)))
        });
        cli::check_outputs(
            args.json
                .iter()
                .cloned()
                .chain(args.write_structure.clone())
                .chain(plots),
        )?;
        check_numbers(&args)?;
        let masses = masses(&args)?;
        let source = source(&args)?;
        let path = args.path.as_deref().map(path::parse_path).transpose()?;
        let mut unit = input::load(&source, &masses)?;
        let tetrahedra = tetrahedra(&args, &unit)?;
        allegro::model::set_threads(args.threads);
        let model = Model::load_with(
            &args.model,
            LoadOptions {
                backend: args.backend,
                threads: args.threads,
                ..LoadOptions::default()
            },
        )?;
        let min_width = 2.0 * model.metadata().r_max;
        let mut model = Allegro { model };
        model.types(&unit)?;
        let relaxation = match args.relax {
            Some(fmax) => {
                let r = relax::relax(&mut unit, fmax, args.relax_steps, &mut model)?;
                eprintln!(
                    "relaxed in {} steps: largest force {:.4} -> {:.5} eV/A, energy {:+.5} eV",
                    r.steps, r.initial_max_force, r.final_max_force, r.energy_change_ev
                );
                Some(r)
            }
            None => None,
        };
        let options = phonon::Settings {
            supercell: [args.supercell[0], args.supercell[1], args.supercell[2]],
            displacement: args.displacement,
            path,
            density: args.density,
            dos_mesh: args.dos_mesh,
            dos_sigma: args.dos_sigma,
            soft_mode: args.soft_mode.clone(),
            soft_max_displacement: args.soft_max_displacement,
            soft_points: args.soft_points,
            tetrahedra,
        };
        let bar = cli::steps_bar(1, "force evaluations");
        let mut progress = |done: usize, total: usize| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        let mut report = phonon::analyse(&unit, &options, min_width, &mut model, &mut progress)?;
        bar.finish_and_clear();
        if let Some(r) = &relaxation {
            if !r.converged {
                report.warnings.push(format!(
                    "the relaxation stopped after {} steps with a largest force of {:.4} eV/A (above --relax)",
                    r.steps, r.final_max_force
                ));
            }
        }
        report.relaxation = relaxation;
        cli::check_finite(&report)?;
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        print(&report);
        if let Some(p) = &args.write_structure {
            let s = allegro_tools::phonon::input::to_extxyz(&unit);
            cli::write_atomic(p, s.as_bytes())?;
        }
        if let Some(p) = &args.plot {
            figures(&report, p)?;
        }
        if let Some(p) = &args.json {
            cli::write_json(p, &report)?;
        }
        Ok(())
    })
}

/// Numeric options out of range.
fn check_numbers(args: &Args) -> anyhow::Result<()> {
    ensure!(args.threads >= 1, "--threads must be at least 1");
    ensure!(args.density > 0.0, "--density must be positive");
    ensure!(
        args.dos_mesh >= 1 && args.dos_mesh <= 64,
        "--dos-mesh must be 1 to 64"
    );
    ensure!(args.dos_sigma > 0.0, "--dos-sigma must be positive");
    ensure!(
        args.soft_max_displacement > 0.0 && args.soft_max_displacement <= 1.5,
        "--soft-max-displacement must be in (0, 1.5] A"
    );
    if let Some(f) = args.relax {
        ensure!(f > 0.0, "--relax needs a positive force threshold (eV/A)");
    }
    Ok(())
}

/// --mass EL=M, amu.
fn masses(args: &Args) -> anyhow::Result<Vec<(String, f64)>> {
    args.mass
        .iter()
        .map(|m| {
            let (e, v) = m
                .split_once('=')
                .with_context(|| format!("--mass {m}: expected EL=M"))?;
            let v: f64 = v
                .parse()
                .ok()
                .filter(|v: &f64| *v > 0.0)
                .with_context(|| format!("--mass {m}: M must be a positive number (amu)"))?;
            Ok((e.to_string(), v))
        })
        .collect::<anyhow::Result<Vec<_>>>()
}

/// The structure: a built cell or a file.
fn source(args: &Args) -> anyhow::Result<input::Source<'_>> {
    let source = match args.structure.as_str() {
        "cubic" => input::Source::Cubic(args.a.unwrap_or(CUBIC_A)),
        "tetragonal" => input::Source::Tetragonal(
            args.a.unwrap_or(TETRAGONAL_A),
            args.c.unwrap_or(TETRAGONAL_C),
        ),
        file => {
            ensure!(
                args.a.is_none() && args.c.is_none(),
                "--a and --c apply to the built cells (cubic, tetragonal), not to a file"
            );
            input::Source::File(std::path::Path::new(file), args.types.as_deref())
        }
    };
    if let input::Source::Cubic(a) | input::Source::Tetragonal(a, _) = source {
        ensure!(a > 0.0, "--a must be positive");
    }
    if let input::Source::Tetragonal(_, c) = source {
        ensure!(c > 0.0, "--c must be positive");
    }
    Ok(source)
}

/// Centre and ligand of the tetrahedra whose rotation the soft mode reports (Sb:S when present).
fn tetrahedra(args: &Args, unit: &Crystal) -> anyhow::Result<Option<(String, String)>> {
    Ok(match &args.tetrahedra {
        Some(t) => {
            let (c, l) = t
                .split_once(':')
                .with_context(|| format!("--tetrahedra {t}: expected CENTRE:LIGAND"))?;
            Some((c.to_string(), l.to_string()))
        }
        None => (unit.symbols.iter().any(|s| s == "Sb") && unit.symbols.iter().any(|s| s == "S"))
            .then(|| ("Sb".to_string(), "S".to_string())),
    })
}
