//! Ghost atoms and neighbour lists for a periodic cell: what LAMMPS builds for the plugin,
//! done here for standalone evaluation (tests, `allegro-eval`). Atoms may see their own images,
//! so cells smaller than twice the cutoff work.
use crate::error::{Error, Result};
use crate::model::{NeighbourList, System};

/// Local atoms followed by the ghost images within `cutoff` of some local atom.
#[derive(Clone, Debug)]
pub struct PeriodicGraph {
    pub positions: Vec<[f64; 3]>,
    pub types: Vec<i32>,
    /// For every atom (local and ghost), the local atom it is an image of.
    pub owner: Vec<usize>,
    pub n_local: usize,
    pub offsets: Vec<i64>,
    pub indices: Vec<i32>,
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl PeriodicGraph {
    /// `cell` rows are the lattice vectors (A), periodic in all three directions.
    pub fn build(
        cell: [[f64; 3]; 3],
        positions: &[[f64; 3]],
        types: &[i32],
        cutoff: f64,
    ) -> Result<PeriodicGraph> {
        if positions.len() != types.len() {
            return Err(Error::Input(format!(
                "{} positions but {} types",
                positions.len(),
                types.len()
            )));
        }
        let volume = dot(cell[0], cross(cell[1], cell[2]));
        if volume.abs() <= 1e-6 || !volume.is_finite() {
            return Err(Error::Input(format!(
                "cell volume {volume} A^3 is not positive"
            )));
        }
        if !(cutoff > 0.0 && cutoff.is_finite()) {
            return Err(Error::Input(format!("cutoff {cutoff} is not positive")));
        }
        // Reciprocal rows: frac_k = dot(x, recip[k]).
        let recip = [
            cross(cell[1], cell[2]).map(|v| v / volume),
            cross(cell[2], cell[0]).map(|v| v / volume),
            cross(cell[0], cell[1]).map(|v| v / volume),
        ];
        // Shift range per direction: pairs of atoms whose fractional separation plus the shift
        // could be within the cutoff (plane spacing d_k = 1 / |recip_k|).
        let mut range = [0i64; 3];
        for k in 0..3 {
            let fracs = positions.iter().map(|x| dot(*x, recip[k]));
            let (lo, hi) = fracs.fold((f64::MAX, f64::MIN), |(l, h), f| (l.min(f), h.max(f)));
            let spread = if positions.is_empty() { 0.0 } else { hi - lo };
            range[k] = (spread + cutoff * dot(recip[k], recip[k]).sqrt()).ceil() as i64;
        }
        let n = positions.len();
        let cut2 = cutoff * cutoff;
        let mut all_pos = positions.to_vec();
        let mut all_types = types.to_vec();
        let mut owner: Vec<usize> = (0..n).collect();
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for s0 in -range[0]..=range[0] {
            for s1 in -range[1]..=range[1] {
                for s2 in -range[2]..=range[2] {
                    let shift: [f64; 3] = std::array::from_fn(|d| {
                        s0 as f64 * cell[0][d] + s1 as f64 * cell[1][d] + s2 as f64 * cell[2][d]
                    });
                    let home = s0 == 0 && s1 == 0 && s2 == 0;
                    for j in 0..n {
                        let p = std::array::from_fn(|d| positions[j][d] + shift[d]);
                        let mut index = None;
                        for (i, xi) in positions.iter().enumerate() {
                            if home && i == j {
                                continue;
                            }
                            let d = [p[0] - xi[0], p[1] - xi[1], p[2] - xi[2]];
                            if dot(d, d) < cut2 {
                                let idx = *index.get_or_insert_with(|| {
                                    if home {
                                        j
                                    } else {
                                        all_pos.push(p);
                                        all_types.push(types[j]);
                                        owner.push(j);
                                        all_pos.len() - 1
                                    }
                                });
                                pairs.push((i, idx));
                            }
                        }
                    }
                }
            }
        }
        pairs.sort_unstable();
        let mut offsets = vec![0i64; n + 1];
        for &(i, _) in &pairs {
            offsets[i + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let indices = pairs.iter().map(|&(_, j)| j as i32).collect();
        Ok(PeriodicGraph {
            positions: all_pos,
            types: all_types,
            owner,
            n_local: n,
            offsets,
            indices,
        })
    }

    pub fn system(&self) -> System<'_> {
        System {
            positions: &self.positions,
            types: &self.types,
            n_local: self.n_local,
            neighbours: NeighbourList {
                offsets: &self.offsets,
                indices: &self.indices,
            },
        }
    }

    /// Adds the forces on ghosts to the local atoms they are images of.
    pub fn fold_forces(&self, forces: &[[f64; 3]]) -> Vec<[f64; 3]> {
        let mut folded = vec![[0.0; 3]; self.n_local];
        for (f, &o) in forces.iter().zip(&self.owner) {
            for d in 0..3 {
                folded[o][d] += f[d];
            }
        }
        folded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simple cubic lattice, one atom, cutoff just above the spacing: 6 neighbours, all images.
    #[test]
    fn simple_cubic_self_images() {
        let g = PeriodicGraph::build(
            [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]],
            &[[0.3, 0.1, 1.9]],
            &[0],
            2.1,
        )
        .unwrap();
        assert_eq!(g.offsets, vec![0, 6]);
        assert_eq!(g.positions.len(), 7);
        assert!(g.owner.iter().all(|&o| o == 0));
    }

    /// Neighbour count of fcc at sqrt(2)/2 a is 12 even in a sheared (triclinic) primitive cell.
    #[test]
    fn fcc_primitive_triclinic() {
        let a = 4.0;
        let cell = [
            [0.0, a / 2.0, a / 2.0],
            [a / 2.0, 0.0, a / 2.0],
            [a / 2.0, a / 2.0, 0.0],
        ];
        let g =
            PeriodicGraph::build(cell, &[[5.0, -3.0, 7.0]], &[0], a / 2f64.sqrt() + 0.01).unwrap();
        assert_eq!(g.offsets, vec![0, 12]);
        // second shell (a) adds 6
        let g = PeriodicGraph::build(cell, &[[0.0; 3]], &[0], a + 0.01).unwrap();
        assert_eq!(g.offsets, vec![0, 18]);
    }
}
