//! Harmonic phonons from finite displacements, with the force field called in-process:
//! primitive cell, force constants (acoustic sum rule enforced), dynamical matrix with
//! phonopy's sharing of constants over periodic images, band paths, density of states, and a
//! soft mode frozen in with its energy surface E(Q).
//!
//! Units: A, eV, amu; frequencies in THz (imaginary ones negative); q in reciprocal
//! coordinates of the unit cell the calculation was set up in.
#[macro_use]
mod error;
pub mod crystal;
pub mod dos;
pub mod dynamical;
pub mod force_constants;
pub mod input;
pub mod linalg;
pub mod model;
pub mod path;
pub mod relax;
pub mod soft_mode;

pub use error::{PhononError, Result};
use serde::Serialize;

pub use crystal::Crystal;
pub use dynamical::Dynamical;
pub use force_constants::{ForceConstants, ForceModel};

/// Settings of a phonon calculation.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Repetitions of the unit cell along a, b, c for the force constants.
    pub supercell: [usize; 3],
    /// A.
    pub displacement: f64,
    /// A path given by the user; None: the lattice's default path.
    pub path: Option<Vec<path::Point>>,
    /// q points per 1/A along the path.
    pub density: f64,
    /// q points per reciprocal axis of the primitive cell for the DOS.
    pub dos_mesh: usize,
    /// THz.
    pub dos_sigma: f64,
    /// Label of a path point whose lowest mode is frozen in; None: H for body-centred cubic
    /// lattices, no scan otherwise.
    pub soft_mode: Option<String>,
    /// Largest atomic displacement of the E(Q) scan, A.
    pub soft_max_displacement: f64,
    /// Number of amplitudes of the E(Q) scan.
    pub soft_points: usize,
    /// Coordination tetrahedra whose rotation describes a distortion: (centre, ligand).
    pub tetrahedra: Option<(String, String)>,
}

/// Frequencies at one labelled point of the path.
#[derive(Clone, Debug, Serialize)]
pub struct SpecialPoint {
    /// The point's label.
    pub label: String,
    /// Reciprocal coordinates of the unit cell.
    pub q: [f64; 3],
    /// Cartesian q, 1/A (no 2 pi).
    pub q_cartesian_per_a: [f64; 3],
    /// Frequencies, ascending, THz (imaginary negative).
    pub frequencies_thz: Vec<f64>,
}

/// Everything a phonon calculation found, as written to its JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    /// Atoms in the unit cell.
    pub atoms_unit_cell: usize,
    /// Unit cell vectors (rows), A.
    pub unit_cell_a: [[f64; 3]; 3],
    /// Element of each unit-cell atom.
    pub symbols: Vec<String>,
    /// Mass of each unit-cell atom, amu.
    pub masses_amu: Vec<f64>,
    /// Cartesian positions of the unit-cell atoms, A.
    pub positions_a: Vec<[f64; 3]>,
    /// Atoms in the primitive cell.
    pub atoms_primitive_cell: usize,
    /// Primitive cell vectors (rows), A.
    pub primitive_cell_a: [[f64; 3]; 3],
    /// The Bravais lattice recognised, if any ("body-centred cubic" ...).
    pub lattice: Option<String>,
    /// Repetitions of the unit cell in the supercell.
    pub supercell: [usize; 3],
    /// Atoms in the supercell.
    pub atoms_supercell: usize,
    /// Finite displacement, A.
    pub displacement_a: f64,
    /// Force evaluations made.
    pub force_evaluations: usize,
    /// Largest acoustic-sum-rule violation before it was enforced, eV/A^2.
    pub sum_rule_violation_ev_per_a2: f64,
    /// Largest force in the undisplaced supercell, eV/A.
    pub residual_max_force_ev_per_a: f64,
    /// The relaxation made first, if any (set by the caller).
    pub relaxation: Option<relax::Relaxation>,
    /// Frequencies at the distinct labelled points of the path.
    pub special_points: Vec<SpecialPoint>,
    /// The band structure along the path.
    pub band: path::Band,
    /// The density of states.
    pub dos: dos::Dos,
    /// The soft-mode scan, if one was made.
    pub soft_mode: Option<soft_mode::SoftMode>,
    /// The soft mode compared with the tetragonal phase (a scan of a 16-atom cubic Na3SbS4 cell).
    pub tetragonal: Option<soft_mode::TetragonalComparison>,
    /// What the reader should know (residual forces, noisy acoustic modes ...).
    pub warnings: Vec<String>,
}

/// Residual force above which the structure is not a minimum, eV/A.
pub const RESIDUAL_WARNING: f64 = 0.05;

/// The whole calculation on `unit` (relaxed already if wanted).
pub fn analyse(
    unit: &Crystal,
    options: &Settings,
    min_width: f64,
    model: &mut dyn ForceModel,
    progress: force_constants::Progress<'_>,
) -> Result<Analysis> {
    let fc = ForceConstants::compute(
        unit,
        options.supercell,
        options.displacement,
        min_width,
        model,
        progress,
    )?;
    let dynamical = Dynamical::new(&fc);
    let lattice = path::lattice_of(unit, &fc.primitive);
    let points = match (&options.path, lattice) {
        (Some(p), _) => p.clone(),
        (None, Some(l)) => l.path(),
        (None, None) => fail!(Settings;
            "no default path for this cell (not an orthogonal cubic or tetragonal cell with P, I or F \
             centring): give --path 'LABEL QX QY QZ, ...'"
        ),
    };
    let mut warnings = Vec::new();
    if fc.residual_force > RESIDUAL_WARNING {
        warnings.push(format!(
            "the largest force in the undisplaced supercell is {:.3} eV/A (> {RESIDUAL_WARNING}): the \
             structure is not at a minimum, so the frequencies are those of a strained point \
             (use --relax)",
            fc.residual_force
        ));
    }
    let special_points = special_points(&dynamical, &points);
    warnings.extend(acoustic_warning(&special_points));
    let band = path::band(&dynamical, &points, options.density);
    let dos = dos::dos(
        &dynamical,
        &fc.primitive.cell,
        &unit.cell,
        options.dos_mesh,
        options.dos_sigma,
    );
    let (soft, tetragonal, soft_warning) =
        soft_mode_scan(unit, options, lattice, &points, &fc, &dynamical, model)?;
    warnings.extend(soft_warning);
    Ok(Analysis {
        atoms_unit_cell: unit.len(),
        unit_cell_a: unit.cell,
        symbols: unit.symbols.clone(),
        masses_amu: unit.masses.clone(),
        positions_a: unit.positions.clone(),
        atoms_primitive_cell: fc.primitive.atoms.len(),
        primitive_cell_a: fc.primitive.cell,
        lattice: lattice.map(|l| l.name().to_string()),
        supercell: options.supercell,
        atoms_supercell: fc.supercell.len(),
        displacement_a: options.displacement,
        force_evaluations: fc.evaluations,
        sum_rule_violation_ev_per_a2: fc.sum_rule_violation,
        residual_max_force_ev_per_a: fc.residual_force,
        relaxation: None,
        special_points,
        band,
        dos,
        soft_mode: soft,
        tetragonal,
        warnings,
    })
}

/// The frequencies at each distinct labelled point of the path.
fn special_points(dynamical: &Dynamical, points: &[path::Point]) -> Vec<SpecialPoint> {
    let mut special_points: Vec<SpecialPoint> = Vec::new();
    for p in points {
        if special_points
            .iter()
            .any(|s| s.label == p.label && s.q == p.q)
        {
            continue;
        }
        special_points.push(SpecialPoint {
            label: p.label.clone(),
            q: p.q,
            q_cartesian_per_a: dynamical.cartesian_q(p.q),
            frequencies_thz: dynamical.modes(p.q).frequencies,
        });
    }
    special_points
}

/// A warning when the three lowest modes at GAMMA (if on the path) exceed 0.05 THz.
fn acoustic_warning(special_points: &[SpecialPoint]) -> Option<String> {
    let g = special_points
        .iter()
        .find(|s| s.q.iter().all(|v| *v == 0.0))?;
    let acoustic = g
        .frequencies_thz
        .iter()
        .map(|f| f.abs())
        .take(3)
        .fold(0.0, f64::max);
    let mut sorted: Vec<f64> = g.frequencies_thz.iter().map(|f| f.abs()).collect();
    sorted.sort_by(f64::total_cmp);
    (sorted[2] > 0.05).then(|| {
        format!(
            "acoustic modes at GAMMA reach {acoustic:.3} THz after the sum rule: the force constants are noisy"
        )
    })
}

/// The soft-mode scan asked for (or H by default for body-centred cubic lattices) and the
/// comparison of its pattern with the tetragonal cell; a warning when E(Q) is lowest at the
/// end of the scan.
fn soft_mode_scan(
    unit: &Crystal,
    options: &Settings,
    lattice: Option<path::Lattice>,
    points: &[path::Point],
    fc: &ForceConstants,
    dynamical: &Dynamical,
    model: &mut dyn ForceModel,
) -> Result<(
    Option<soft_mode::SoftMode>,
    Option<soft_mode::TetragonalComparison>,
    Option<String>,
)> {
    let soft_label = match (&options.soft_mode, lattice) {
        (Some(l), _) if l.eq_ignore_ascii_case("none") => None,
        (Some(l), _) => Some(l.clone()),
        (None, Some(path::Lattice::CubicI)) => points
            .iter()
            .any(|p| p.label == "H")
            .then(|| "H".to_string()),
        _ => None,
    };
    let (mut soft, mut tetragonal, mut warning) = (None, None, None);
    if let Some(label) = soft_label {
        let Some(p) = points.iter().find(|p| p.label == label) else {
            fail!(Settings; "--soft-mode {label}: no path point has that label");
        };
        let tet = options
            .tetrahedra
            .as_ref()
            .map(|(a, b)| (a.as_str(), b.as_str()));
        let scan = soft_mode::Scan {
            label: &label,
            q: p.q,
            max_displacement: options.soft_max_displacement,
            points: options.soft_points,
            tetrahedra: tet,
        };
        let s = soft_mode::scan(fc, dynamical, &scan, model)?;
        tetragonal = soft_mode::compare_tetragonal(unit, &s.pattern);
        let end = s.amplitude.last().copied().unwrap_or(0.0);
        if s.minimum_amplitude.abs() >= 0.999 * end {
            warning = Some(format!(
                "E(Q) is lowest at the end of the scan (Q = {:.3}): the minimum lies further out; \
                 raise --soft-max-displacement",
                s.minimum_amplitude
            ));
        }
        soft = Some(s);
    }
    Ok((soft, tetragonal, warning))
}
