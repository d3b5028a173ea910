//! Times model calls on a LAMMPS data file (orthogonal box, `atomic` style, types 1.. = the
//! model's types in order): `cargo run --release --example model_speed -- MODEL DATA [backend] [threads] [calls]`.
use allegro::graph::PeriodicGraph;
use allegro::{LoadOptions, Model};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (model_path, data) = (&args[1], std::fs::read_to_string(&args[2]).unwrap());
    let backend = args.get(3).map_or("auto", |s| s.as_str()).parse().unwrap();
    let threads = args.get(4).map_or(1, |s| s.parse().unwrap());
    let calls: usize = args.get(5).map_or(5, |s| s.parse().unwrap());
    let mut cell = [[0.0; 3]; 3];
    let (mut positions, mut types) = (Vec::new(), Vec::new());
    let mut in_atoms = false;
    for line in data.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 4 && f[2].ends_with("lo") {
            let k = ["xlo", "ylo", "zlo"]
                .iter()
                .position(|&s| s == f[2])
                .unwrap();
            cell[k][k] = f[1].parse::<f64>().unwrap() - f[0].parse::<f64>().unwrap();
        } else if line.starts_with("Atoms") {
            in_atoms = true;
        } else if in_atoms && f.len() >= 5 {
            types.push(f[1].parse::<i32>().unwrap() - 1);
            positions.push([
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            ]);
        } else if in_atoms && !positions.is_empty() && f.is_empty() {
            break;
        }
    }
    let mut model = Model::load_with(
        model_path,
        LoadOptions {
            backend,
            threads,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let graph = PeriodicGraph::build(cell, &positions, &types, model.metadata().r_max).unwrap();
    let system = graph.system();
    let out = model.compute(&system).unwrap();
    // The fastest call: the least disturbed by other work on a shared machine.
    let mut dt = f64::INFINITY;
    for _ in 0..calls {
        let t0 = std::time::Instant::now();
        model.compute(&system).unwrap();
        dt = dt.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "{} atoms, backend {}, {threads} thread(s): fastest call {:.4} s, {:.0} atom-steps/s, E = {:.6} eV",
        positions.len(),
        model.backend(),
        dt,
        positions.len() as f64 / dt,
        out.energy()
    );
}
