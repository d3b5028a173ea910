//! The library against nequip's own Python evaluation of the same compiled models
//! (references written by tests/python/make_references.py; `scripts/test.sh` makes them and
//! points ALLEGRO_REFERENCES at the file), and forces against finite differences of the energy,
//! for every backend of the build: the native engine always, libtorch with the `torch` feature.

use allegro::{Backend, BackendChoice, Cell, CellOutput, Isa, LoadOptions, Model, ModelDtype};
use serde_json::Value;

struct Case {
    model: String,
    structure: String,
    cell: [[f64; 3]; 3],
    positions: Vec<[f64; 3]>,
    symbols: Vec<String>,
    energy: f64,
    atom_energy: Vec<f64>,
    forces: Vec<[f64; 3]>,
    virial: [f64; 9],
}

fn vec3(v: &Value) -> [f64; 3] {
    std::array::from_fn(|k| v[k].as_f64().unwrap())
}

fn cases() -> Vec<Case> {
    let path = std::env::var("ALLEGRO_REFERENCES").expect(
        "ALLEGRO_REFERENCES is not set: run scripts/test.sh, which writes the nequip references",
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: Value = serde_json::from_str(&text).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            model: c["model"].as_str().unwrap().into(),
            structure: c["structure"].as_str().unwrap().into(),
            cell: std::array::from_fn(|k| vec3(&c["cell"][k])),
            positions: c["positions"]
                .as_array()
                .unwrap()
                .iter()
                .map(vec3)
                .collect(),
            symbols: c["symbols"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().into())
                .collect(),
            energy: c["energy"].as_f64().unwrap(),
            atom_energy: c["atom_energy"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect(),
            forces: c["forces"].as_array().unwrap().iter().map(vec3).collect(),
            virial: std::array::from_fn(|k| c["virial"][k / 3][k % 3].as_f64().unwrap()),
        })
        .collect()
}

fn evaluate(
    model: &mut Model,
    cell: [[f64; 3]; 3],
    positions: &[[f64; 3]],
    symbols: &[String],
) -> CellOutput {
    let types: Vec<i32> = symbols
        .iter()
        .map(|s| model.metadata().type_index(s).unwrap() as i32)
        .collect();
    model
        .compute_periodic(&Cell::periodic(cell, positions, &types))
        .unwrap()
}

fn max_abs(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |m, v| m.max(v.abs()))
}

/// A backend, and for the native engine the instruction set of its kernels.
#[derive(Clone, Copy, PartialEq)]
struct Engine {
    backend: BackendChoice,
    isa: Option<Isa>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.isa {
            Some(isa) => write!(f, "{:?}-{}", self.backend, isa.name()),
            None => write!(f, "{:?}", self.backend),
        }
    }
}

/// The engines that can evaluate `model` in this build: the native engine on every
/// instruction set this CPU has, libtorch with the `torch` feature.
fn backends(model: &str) -> Vec<Engine> {
    let mut out = Vec::new();
    if model.ends_with(".pth") {
        for isa in [Isa::Avx512, Isa::Avx2, Isa::Baseline] {
            if isa.available() {
                out.push(Engine {
                    backend: BackendChoice::Native,
                    isa: Some(isa),
                });
            }
        }
    }
    if cfg!(feature = "torch") {
        out.push(Engine {
            backend: BackendChoice::Torch,
            isa: None,
        });
    }
    out
}

fn load(path: &str, backend: Engine) -> Model {
    let model = Model::load_with(
        path,
        LoadOptions {
            backend: backend.backend,
            threads: 1,
            isa: backend.isa,
        },
    )
    .unwrap_or_else(|e| panic!("{path} with {backend:?}: {e}"));
    let expected = match backend.backend {
        BackendChoice::Native => Backend::Native,
        _ if path.ends_with(".pt2") => Backend::Aoti,
        _ => Backend::TorchScript,
    };
    assert_eq!(model.backend(), expected);
    model
}

#[test]
fn library_matches_nequip_python() {
    let cases = cases();
    assert!(
        cases.len() >= 15,
        "expected >= 3 models x 5 structures, got {}",
        cases.len()
    );
    let mut models: Vec<(String, Engine, Model)> = Vec::new();
    let mut checked = 0;
    // Worst relative errors per (model, backend): energy, per-atom energy, force, virial.
    let mut worst: std::collections::BTreeMap<(String, String), [f64; 4]> = Default::default();
    for case in &cases {
        for backend in backends(&case.model) {
            if !models
                .iter()
                .any(|(p, b, _)| *p == case.model && *b == backend)
            {
                models.push((case.model.clone(), backend, load(&case.model, backend)));
            }
            let model = &mut models
                .iter_mut()
                .find(|(p, b, _)| *p == case.model && *b == backend)
                .unwrap()
                .2;
            checked += 1;
            let rtol = match model.metadata().dtype {
                ModelDtype::Float64 => 1e-10,
                ModelDtype::Float32 => 1e-5,
            };
            let got = evaluate(model, case.cell, &case.positions, &case.symbols);
            let what = format!("{} ({backend:?}) on {}", case.model, case.structure);
            let de = (got.energy - case.energy).abs();
            assert!(
                de <= rtol * case.energy.abs(),
                "{what}: energy {} vs nequip {} (diff {de:e})",
                got.energy,
                case.energy
            );
            let scale = max_abs(case.atom_energy.iter().copied());
            let dae = max_abs(
                got.atom_energy
                    .iter()
                    .zip(&case.atom_energy)
                    .map(|(a, b)| a - b),
            );
            assert!(
                dae <= rtol * scale,
                "{what}: per-atom energies differ by {dae:e}"
            );
            let scale = max_abs(case.forces.iter().flatten().copied());
            let df = max_abs(
                got.forces
                    .iter()
                    .flatten()
                    .zip(case.forces.iter().flatten())
                    .map(|(a, b)| a - b),
            );
            assert!(
                df <= rtol * scale,
                "{what}: forces differ by {df:e} (max |F| {scale:e})"
            );
            let scale = max_abs(case.virial.iter().copied());
            let dw = max_abs(got.virial.iter().zip(&case.virial).map(|(a, b)| a - b));
            assert!(
                dw <= rtol * scale,
                "{what}: virial differs by {dw:e} (max |W| {scale:e})"
            );
            let name = case.model.rsplit('/').next().unwrap_or("").to_owned();
            let w = worst.entry((name, format!("{backend:?}"))).or_default();
            let scale_ae = max_abs(case.atom_energy.iter().copied());
            let scale_f = max_abs(case.forces.iter().flatten().copied());
            let rel = [
                de / case.energy.abs(),
                dae / scale_ae,
                df / scale_f,
                dw / scale,
            ];
            for k in 0..4 {
                w[k] = w[k].max(rel[k]);
            }
        }
    }
    eprintln!("worst relative error vs nequip: energy, per-atom energy, forces, virial");
    for ((model, backend), w) in &worst {
        eprintln!(
            "  {model:34} {backend:16} {:.1e} {:.1e} {:.1e} {:.1e}",
            w[0], w[1], w[2], w[3]
        );
    }
    let expected: usize = cases.iter().map(|c| backends(&c.model).len()).sum();
    assert_eq!(
        checked, expected,
        "every case ran with every backend of this build"
    );
    assert!(
        checked >= cases.iter().filter(|c| c.model.ends_with(".pth")).count(),
        "every .pth case ran (with the native engine at least)"
    );
}

/// F = -dE/dx by central differences, float64 model, on the W-doped cell with vacancies.
#[test]
fn forces_are_minus_energy_gradient() {
    let case = cases()
        .into_iter()
        .find(|c| c.model.ends_with("float64.nequip.pth") && c.structure == "w_doped_vacancies")
        .expect("reference case float64 / w_doped_vacancies");
    for backend in backends(&case.model) {
        let mut model = load(&case.model, backend);
        let base = evaluate(&mut model, case.cell, &case.positions, &case.symbols);
        let h = 1e-4;
        let scale = max_abs(base.forces.iter().flatten().copied());
        for atom in [0, 7, 23, case.positions.len() - 1] {
            for d in 0..3 {
                let mut plus = case.positions.clone();
                plus[atom][d] += h;
                let mut minus = case.positions.clone();
                minus[atom][d] -= h;
                let ep = evaluate(&mut model, case.cell, &plus, &case.symbols).energy;
                let em = evaluate(&mut model, case.cell, &minus, &case.symbols).energy;
                let fd = -(ep - em) / (2.0 * h);
                let f = base.forces[atom][d];
                // central difference error ~ h^2 |E'''| ~ 1e-8 eV/A here
                assert!(
                    (fd - f).abs() <= 1e-6 * scale.max(1.0),
                    "{backend:?} atom {atom} dir {d}: F {f} vs -dE/dx {fd}"
                );
            }
        }
    }
}
