//! allegro-build: Na(3-x)W(x)Sb(1-x)S4 supercells as LAMMPS data files and extended XYZ.
use std::path::PathBuf;

use allegro_tools::cli;
use allegro_tools::rng::Rng;
use allegro_tools::structure::{self, write_extxyz, write_lammps_data, Element, Phase, Variant};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Placement {
    /// special quasirandom structure on the Sb/W sublattice (seeded annealing)
    Sqs,
    /// seeded random choice
    Random,
}

/// Builds Na3SbS4-based supercells: cubic I-43m or tetragonal P-421c conventional cells
/// (16 atoms, Z = 2) repeated N1 x N2 x N3 times; W on Sb sites by SQS or seeded random choice;
/// Na vacancies chosen at random. Writes a LAMMPS data file (atom_style atomic, types 1 Na,
/// 2 Sb, 3 W, 4 S: use `pair_coeff * * MODEL Na Sb W S`) and optionally extended XYZ.
/// The same arguments and seed give the same bytes. Lengths in A.
#[derive(Parser)]
#[command(
    version,
    long_about,
    allow_negative_numbers = true,
    after_long_help = "Examples:\n  allegro-build --phase tetragonal --reps 12 12 12 --data pristine.data\n  allegro-build --variant w-vac --x 0.1 --reps 8 8 8 --seed 2 --data x010.data --xyz x010.xyz\n"
)]
struct Args {
    /// Crystal phase: cubic I-43m or tetragonal P-421c (16-atom conventional cells)
    #[arg(long, value_enum, default_value = "cubic")]
    phase: Phase,
    /// Conventional cells along x y z (12 12 12 gives 27,648 atoms)
    #[arg(long, num_args = 3, default_values_t = [4, 4, 4])]
    reps: Vec<usize>,
    /// Composition variant of the paper: what --x sets
    #[arg(long, value_enum, default_value = "pristine")]
    variant: Variant,
    /// x of the formula (per formula unit; there are 2 per conventional cell)
    #[arg(long, default_value_t = 0.0)]
    x: f64,
    /// Number of W atoms (overrides x for W)
    #[arg(long)]
    w: Option<usize>,
    /// Number of Na vacancies (overrides x for vacancies)
    #[arg(long)]
    vacancies: Option<usize>,
    /// How W is placed on the Sb sites
    #[arg(long, value_enum, default_value = "sqs")]
    placement: Placement,
    /// Annealing swaps of the SQS search
    #[arg(long, default_value_t = 20000)]
    sqs_steps: usize,
    /// Seed of every random choice (W sites, vacancies): same seed, same bytes
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Lattice parameter a [default: 7.15 cubic, 7.1423 tetragonal]
    #[arg(long)]
    a: Option<f64>,
    /// Lattice parameter c of the tetragonal cell [default: 7.2837]
    #[arg(long)]
    c: Option<f64>,
    /// LAMMPS data file to write
    #[arg(long)]
    data: PathBuf,
    /// Extended XYZ file to write
    #[arg(long)]
    xyz: Option<PathBuf>,
    /// Report (composition, SQS correlations) as JSON
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        cli::check_outputs(
            std::iter::once(args.data.clone())
                .chain(args.xyz.iter().cloned())
                .chain(args.json.iter().cloned()),
        )?;
        // notes on options that are accepted but ignored or surprising: stderr and the JSON
        let mut notes = check_cell(&args)?;
        let reps = [args.reps[0], args.reps[1], args.reps[2]];
        let mut s = match args.phase {
            Phase::Cubic => structure::cubic(args.a.unwrap_or(structure::CUBIC_A)),
            Phase::Tetragonal => structure::tetragonal(
                args.a.unwrap_or(structure::TETRAGONAL_A),
                args.c.unwrap_or(structure::TETRAGONAL_C),
            ),
        }
        .supercell(reps);
        let formula_units = s.count(Element::Sb);
        let (n_w, n_vac) = defect_counts(&args, &s, &mut notes)?;
        let mut rng = Rng::new(args.seed);
        let steps = if args.placement == Placement::Sqs {
            args.sqs_steps.max(1)
        } else {
            0
        };
        for n in &notes {
            eprintln!("note: {n}");
        }
        let bar = cli::steps_bar(if n_w > 0 { steps as u64 } else { 0 }, "SQS");
        let report = s.place_tungsten(n_w, steps, &mut rng, &bar);
        s.remove_sodium(n_vac, &mut rng);
        s.sort_by_type();
        let fu = formula_units as f64;
        let formula = format!(
            "Na{:.4}W{:.4}Sb{:.4}S4",
            s.count(Element::Na) as f64 / fu,
            n_w as f64 / fu,
            s.count(Element::Sb) as f64 / fu
        );
        let title = format!(
            "{formula} {} {}x{}x{} seed {} ({}), allegro-build {}; types 1 Na 2 Sb 3 W 4 S",
            args.phase.name(),
            reps[0],
            reps[1],
            reps[2],
            args.seed,
            match args.placement {
                Placement::Sqs => "SQS",
                Placement::Random => "random",
            },
            allegro_tools::VERSION
        );
        cli::write_atomic(&args.data, write_lammps_data(&s, &title).as_bytes())?;
        if let Some(xyz) = &args.xyz {
            cli::write_atomic(xyz, write_extxyz(&s, &title).as_bytes())?;
        }
        print_summary(&args, &s, &formula, formula_units, report.as_ref());
        if let Some(path) = &args.json {
            let v = serde_json::json!({
                "formula": formula, "atoms": s.elements.len(), "W": n_w, "vacancies": n_vac,
                "formula_units": formula_units, "seed": args.seed, "sqs": report,
                "warnings": notes,
            });
            cli::write_atomic(path, &serde_json::to_vec_pretty(&v)?)?;
        }
        Ok(())
    });
}

/// Checks the supercell, x and lattice options; returns notes on surprising ones.
fn check_cell(args: &Args) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        args.reps.iter().all(|&r| (1..=64).contains(&r)),
        "--reps must be between 1 and 64"
    );
    anyhow::ensure!((0.0..=1.0).contains(&args.x), "--x must be in [0, 1]");
    let mut notes: Vec<String> = Vec::new();
    for (name, v) in [("--a", args.a), ("--c", args.c)] {
        if let Some(v) = v {
            anyhow::ensure!(
                v.is_finite() && v > 0.0,
                "{name} must be a positive length in A, not {v}"
            );
            if !(5.0..=10.0).contains(&v) {
                notes.push(format!("{name} {v} A is far from Na3SbS4's ~7.2 A"));
            }
        }
    }
    if args.phase == Phase::Cubic && args.c.is_some() {
        notes.push("--c is ignored for the cubic phase (a = b = c = --a)".into());
    }
    Ok(notes)
}

/// The numbers of W and Na vacancies for the supercell `s` (from --x, or --w / --vacancies).
fn defect_counts(
    args: &Args,
    s: &structure::Structure,
    notes: &mut Vec<String>,
) -> anyhow::Result<(usize, usize)> {
    let formula_units = s.count(Element::Sb);
    let (x_w, x_vac) = args.variant.counts(args.x, formula_units);
    let n_w = args.w.unwrap_or(x_w);
    let n_vac = args.vacancies.unwrap_or(x_vac);
    anyhow::ensure!(
        n_w <= formula_units,
        "{n_w} W but only {formula_units} Sb sites"
    );
    anyhow::ensure!(
        n_vac <= s.count(Element::Na),
        "{n_vac} vacancies but only {} Na",
        s.count(Element::Na)
    );
    if args.variant == Variant::Pristine && (n_w > 0 || n_vac > 0) {
        anyhow::bail!("--variant pristine takes no W or vacancies; choose w-vac, vac or w");
    }
    if args.variant == Variant::Pristine && args.x > 0.0 {
        notes.push(format!("--x {} is ignored for --variant pristine", args.x));
    }
    if args.variant == Variant::WVac && args.w.is_some() != args.vacancies.is_some() {
        notes.push(format!(
            "w-vac with only one of --w / --vacancies: {n_w} W and {n_vac} vacancies \
             (the other follows --x)"
        ));
    }
    Ok((n_w, n_vac))
}

/// The composition, the rounding of x, and the SQS correlations, on stdout.
fn print_summary(
    args: &Args,
    s: &structure::Structure,
    formula: &str,
    formula_units: usize,
    report: Option<&structure::SqsReport>,
) {
    let fu = formula_units as f64;
    println!(
        "{formula}: {} atoms ({} Na, {} Sb, {} W, {} S), {} formula units",
        s.elements.len(),
        s.count(Element::Na),
        s.count(Element::Sb),
        s.count(Element::W),
        s.count(Element::S),
        formula_units
    );
    let from_x = (args.x * fu).round() as usize;
    let (wants_w, wants_vac) = args.variant.defects();
    if from_x as f64 != args.x * fu && args.w.is_none() && (wants_w || wants_vac) {
        println!(
            "note: x = {} on {formula_units} formula units rounds to {from_x} (x = {:.5})",
            args.x,
            from_x as f64 / fu
        );
    }
    if let Some(r) = report {
        // rounded for reading: to 1 / `scale` (1000: 0.001 A; 1e5: five decimals)
        let rounded = |v: &[f64], scale: f64| -> Vec<f64> {
            v.iter().map(|x| (x * scale).round() / scale).collect()
        };
        println!(
            "W-W pair fraction per shell ({:?} A), random-alloy target {:.5}:",
            rounded(&r.shell_distance_A, 1000.0),
            r.target
        );
        println!(
            "  seeded random start {:?} (error {:.3e})",
            rounded(&r.random_fraction, 1e5),
            r.random_error
        );
        println!(
            "  SQS                 {:?} (error {:.3e})",
            rounded(&r.sqs_fraction, 1e5),
            r.sqs_error
        );
    }
}
