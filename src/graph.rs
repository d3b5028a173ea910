//! Ghost atoms and neighbour lists for a periodic cell: what LAMMPS builds for the plugin,
//! done here for standalone evaluation (tests, `allegro-eval`). Atoms may see their own images,
//! so cells smaller than twice the cutoff work.
use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::model::{NeighbourList, System};
use crate::vec3::{cross, dot};

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
        // A pair within the cutoff has fractional separation |df_k| <= cutoff |recip_k| in each
        // direction (plane spacing 1 / |recip_k|), so per pair only the image shifts s with
        // |f_j + s - f_i| within that bound need a distance check.
        let reach: [f64; 3] = std::array::from_fn(|k| cutoff * dot(recip[k], recip[k]).sqrt());
        let frac: Vec<[f64; 3]> = positions
            .iter()
            .map(|x| std::array::from_fn(|k| dot(*x, recip[k])))
            .collect();
        let n = positions.len();
        let cut2 = cutoff * cutoff;
        let mut all_pos = positions.to_vec();
        let mut all_types = types.to_vec();
        let mut owner: Vec<usize> = (0..n).collect();
        let mut ghosts: HashMap<(usize, [i64; 3]), usize> = HashMap::new();
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for (i, xi) in positions.iter().enumerate() {
            for j in 0..n {
                let df: [f64; 3] = std::array::from_fn(|k| frac[j][k] - frac[i][k]);
                let lo: [i64; 3] = std::array::from_fn(|k| (-reach[k] - df[k]).ceil() as i64);
                let hi: [i64; 3] = std::array::from_fn(|k| (reach[k] - df[k]).floor() as i64);
                for s0 in lo[0]..=hi[0] {
                    for s1 in lo[1]..=hi[1] {
                        for s2 in lo[2]..=hi[2] {
                            let home = s0 == 0 && s1 == 0 && s2 == 0;
                            if home && i == j {
                                continue;
                            }
                            let p: [f64; 3] = std::array::from_fn(|d| {
                                positions[j][d]
                                    + s0 as f64 * cell[0][d]
                                    + s1 as f64 * cell[1][d]
                                    + s2 as f64 * cell[2][d]
                            });
                            let d = [p[0] - xi[0], p[1] - xi[1], p[2] - xi[2]];
                            if dot(d, d) >= cut2 {
                                continue;
                            }
                            let idx = if home {
                                j
                            } else {
                                *ghosts.entry((j, [s0, s1, s2])).or_insert_with(|| {
                                    all_pos.push(p);
                                    all_types.push(types[j]);
                                    owner.push(j);
                                    all_pos.len() - 1
                                })
                            };
                            pairs.push((i, idx));
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
    use crate::vec3::sub;

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

    /// Every atom's neighbour distances in a sheared cell, thinner than the cutoff in one
    /// direction and with atoms far outside it, equal a brute-force search over many images.
    #[test]
    fn matches_brute_force_in_a_sheared_cell() {
        let cell = [[3.1, 0.0, 0.0], [1.7, 4.2, 0.0], [-0.9, 0.8, 6.5]];
        let positions = [
            [0.1, 0.2, 0.3],
            [2.9, 3.7, -1.2],
            [13.0, -4.0, 2.2],
            [1.5, 1.5, 6.0],
        ];
        let cutoff = 4.6;
        let g = PeriodicGraph::build(cell, &positions, &[0; 4], cutoff).unwrap();
        for (i, xi) in positions.iter().enumerate() {
            let mut got: Vec<f64> = (g.offsets[i]..g.offsets[i + 1])
                .map(|e| {
                    let p = g.positions[g.indices[e as usize] as usize];
                    dot(sub(p, *xi), sub(p, *xi)).sqrt()
                })
                .collect();
            let mut want = Vec::new();
            for xj in &positions {
                for s in (-8..=8)
                    .flat_map(|a| (-8..=8).flat_map(move |b| (-8..=8).map(move |c| [a, b, c])))
                {
                    let p: [f64; 3] = std::array::from_fn(|d| {
                        xj[d] + (0..3).map(|k| s[k] as f64 * cell[k][d]).sum::<f64>()
                    });
                    let r = dot(sub(p, *xi), sub(p, *xi)).sqrt();
                    if r > 1e-9 && r < cutoff {
                        want.push(r);
                    }
                }
            }
            got.sort_by(f64::total_cmp);
            want.sort_by(f64::total_cmp);
            assert_eq!(got.len(), want.len(), "atom {i}");
            assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-9));
        }
    }
}
