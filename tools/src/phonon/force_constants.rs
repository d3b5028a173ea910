//! Finite-displacement force constants: every atom of the primitive cell moved by +-u along x,
//! y and z inside the supercell (central differences cancel residual forces and the cubic
//! term); the other atoms' constants follow from the translations. The acoustic sum rule is
//! enforced on the self term and its violation reported.
use super::error::Result;

use super::crystal::{Crystal, Primitive};
use super::linalg::{widths, Mat3};

/// Energy (eV) and forces (eV/A) of a periodic structure: the one thing phonons need from a
/// force field.
pub trait ForceModel {
    /// Energy (eV) and the force on every atom (eV/A) of `crystal`.
    fn evaluate(&mut self, crystal: &Crystal) -> Result<(f64, Vec<[f64; 3]>)>;
}

/// Harmonic force constants from finite displacements, with what they were computed from.
#[derive(Clone, Debug)]
pub struct ForceConstants {
    /// The unit cell the calculation was set up in and its primitive cell.
    pub unit: Crystal,
    /// The primitive cell of `unit`.
    pub primitive: Primitive,
    /// The supercell (of the unit cell) the forces were evaluated in.
    pub supercell: Crystal,
    /// Repetitions of the unit cell along a, b, c.
    pub supercell_size: [usize; 3],
    /// `phi[a][j]`: d^2E / du_a du_j (eV/A^2) for primitive atom a (its copy in the first
    /// image of the supercell) and every supercell atom j.
    pub phi: Vec<Vec<Mat3>>,
    /// Largest `|sum_j phi[a][j]|` element before the sum rule was enforced, eV/A^2.
    pub sum_rule_violation: f64,
    /// Largest force on an atom of the undisplaced supercell, eV/A.
    pub residual_force: f64,
    /// Displacement of each moved atom, A.
    pub displacement: f64,
    /// Force evaluations made: the undisplaced supercell and 6 per primitive atom.
    pub evaluations: usize,
}

/// Progress of the force evaluations: called with (done, total).
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

impl ForceConstants {
    /// Builds the force constants of `unit` in an n1 x n2 x n3 supercell with displacement
    /// `u` (A). `min_width` is the smallest supercell width (A) accepted (twice the model's
    /// cutoff: a displaced atom must not see its own image).
    pub fn compute(
        unit: &Crystal,
        size: [usize; 3],
        u: f64,
        min_width: f64,
        model: &mut dyn ForceModel,
        progress: Progress<'_>,
    ) -> Result<ForceConstants> {
        check!(Settings;
            u > 0.0 && u <= 0.2,
            "displacement {u} A is outside (0, 0.2] A"
        );
        check!(Settings;
            size.iter().all(|&n| (1..=20).contains(&n)),
            "supercell {} {} {}: each factor must be 1 to 20",
            size[0],
            size[1],
            size[2]
        );
        unit.validate()?;
        let primitive = unit.primitive()?;
        let supercell = unit.supercell(size);
        let w = widths(&supercell.cell);
        let thin = w.iter().cloned().fold(f64::MAX, f64::min);
        check!(Settings;
            thin >= min_width - 1e-9,
            "the {}x{}x{} supercell is {:.2} A wide, less than twice the model's cutoff ({:.2} A): \
             a displaced atom would see its own image; use a larger --supercell",
            size[0],
            size[1],
            size[2],
            thin,
            min_width
        );
        let n = supercell.len();
        let total = 1 + 6 * primitive.atoms.len();
        let (_, f0) = model.evaluate(&supercell)?;
        progress(1, total);
        let residual_force = f0
            .iter()
            .map(|f| (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt())
            .fold(0.0, f64::max);
        let mut phi = vec![vec![[[0.0; 3]; 3]; n]; primitive.atoms.len()];
        let mut done = 1;
        for (a, &atom) in primitive.atoms.iter().enumerate() {
            for alpha in 0..3 {
                let mut forces = Vec::with_capacity(2);
                for sign in [1.0, -1.0] {
                    let mut displaced = supercell.clone();
                    displaced.positions[atom][alpha] += sign * u;
                    let (_, f) = model.evaluate(&displaced)?;
                    check!(Settings;
                        f.len() == n,
                        "the model returned {} forces for {n} atoms",
                        f.len()
                    );
                    forces.push(f);
                    done += 1;
                    progress(done, total);
                }
                for j in 0..n {
                    for beta in 0..3 {
                        phi[a][j][alpha][beta] =
                            -(forces[0][j][beta] - forces[1][j][beta]) / (2.0 * u);
                    }
                }
            }
        }
        let mut sum_rule_violation: f64 = 0.0;
        for (a, &atom) in primitive.atoms.iter().enumerate() {
            let mut sum = [[0.0; 3]; 3];
            for block in &phi[a] {
                for x in 0..3 {
                    for y in 0..3 {
                        sum[x][y] += block[x][y];
                    }
                }
            }
            for x in 0..3 {
                for y in 0..3 {
                    sum_rule_violation = sum_rule_violation.max(sum[x][y].abs());
                    phi[a][atom][x][y] -= sum[x][y];
                }
            }
        }
        Ok(ForceConstants {
            unit: unit.clone(),
            primitive,
            supercell,
            supercell_size: size,
            phi,
            sum_rule_violation,
            residual_force,
            displacement: u,
            evaluations: total,
        })
    }
}
