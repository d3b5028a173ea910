//! Ghost atoms and neighbour lists for a periodic cell: what LAMMPS builds for the plugin,
//! done here for standalone evaluation (tests, `allegro-eval`). Atoms may see their own images,
//! so cells smaller than twice the cutoff work.
use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::model::{NeighbourList, System};
use crate::vec3::{cross, dot};

/// Shortest lattice vector accepted (A): real crystals have none below ~2 A.
pub const MIN_LATTICE_VECTOR: f64 = 1.0;

/// Most neighbour pairs a cell may make (~10 GB of graph and activations beyond).
const MAX_PAIRS: f64 = 5e7;

/// Local atoms followed by the ghost images within `cutoff` of some local atom.
#[derive(Clone, Debug)]
pub struct PeriodicGraph {
    /// Positions of the local atoms, then of the ghosts (A).
    pub positions: Vec<[f64; 3]>,
    /// Model type index of every atom, local and ghost.
    pub types: Vec<i32>,
    /// For every atom (local and ghost), the local atom it is an image of.
    pub owner: Vec<usize>,
    /// Number of local atoms (the first `n_local` entries).
    pub n_local: usize,
    /// Neighbour list offsets, one per local atom plus one (see [`NeighbourList`]).
    pub offsets: Vec<i64>,
    /// Neighbour indices into `positions`.
    pub indices: Vec<i32>,
}

impl PeriodicGraph {
    /// `cell` rows are the lattice vectors (A), periodic in all three directions.
    ///
    /// ```
    /// use allegro::graph::PeriodicGraph;
    /// // One atom in a simple cubic cell, cutoff just above the spacing: its 6 images.
    /// let cell = [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]];
    /// let g = PeriodicGraph::build(cell, &[[0.3, 0.1, 1.9]], &[0], 2.1).unwrap();
    /// assert_eq!(g.n_local, 1);
    /// assert_eq!(g.offsets, [0, 6]);
    /// // Forces on the images fold back onto the atom they are images of.
    /// let forces = vec![[1.0, 0.0, 0.0]; g.positions.len()];
    /// assert_eq!(g.fold(&forces), [[g.positions.len() as f64, 0.0, 0.0]]);
    /// ```
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
        // Atoms and cutoff first: `build_with_pbc` derives its open vectors from them.
        if let Some(i) = positions
            .iter()
            .position(|p| p.iter().any(|x| !x.is_finite()))
        {
            return Err(Error::Input(format!("atom {i} has a non-finite position")));
        }
        if !(cutoff > 0.0 && cutoff.is_finite()) {
            return Err(Error::Input(format!("cutoff {cutoff} is not positive")));
        }
        for (k, v) in cell.iter().enumerate() {
            let len = dot(*v, *v).sqrt();
            if len < MIN_LATTICE_VECTOR {
                return Err(Error::Input(format!(
                    "lattice vector {} is {len:.3} A long: no crystal is that short (atoms would \
                     sit {len:.3} A from their own images; below {MIN_LATTICE_VECTOR} A is refused)",
                    k + 1
                )));
            }
        }
        let volume = dot(cell[0], cross(cell[1], cell[2]));
        if volume.abs() <= 1e-6 || !volume.is_finite() {
            return Err(Error::Input(format!(
                "cell volume {volume} A^3 is not positive"
            )));
        }
        // Reciprocal rows: frac_k = dot(x, recip[k]).
        let recip = [
            cross(cell[1], cell[2]).map(|v| v / volume),
            cross(cell[2], cell[0]).map(|v| v / volume),
            cross(cell[0], cell[1]).map(|v| v / volume),
        ];
        // A pair within the cutoff has fractional separation |df_k| <= cutoff |recip_k| in each
        // direction (plane spacing 1 / |recip_k|).
        let reach: [f64; 3] = std::array::from_fn(|k| cutoff * dot(recip[k], recip[k]).sqrt());
        let n = positions.len();
        // Expected pairs from the density: refuse what could not fit in memory anyway.
        let expected = n as f64 * (n as f64 / volume.abs()) * 4.0 / 3.0
            * std::f64::consts::PI
            * cutoff.powi(3);
        if expected > MAX_PAIRS {
            return Err(Error::Input(format!(
                "{n} atoms in {:.1} A^3 with a {cutoff} A cutoff make ~{expected:.1e} neighbour \
                 pairs, more than {MAX_PAIRS:.0e}: is the cell in Angstrom?",
                volume.abs()
            )));
        }
        // Cell lists in fractional coordinates: bins at least `reach` wide, each atom in the bin
        // of its wrapped position, and per atom only the bins within `reach` (with the image
        // shift of every bin outside 0..bins). O(N) for a fixed density.
        let mut bins: [i64; 3] =
            std::array::from_fn(|k| ((1.0 / reach[k]).floor() as i64).clamp(1, 1 << 20));
        // No more bins than about two per atom (a few atoms in a huge box): coarser bins only
        // mean more candidates per bin, never a missed pair.
        while bins.iter().product::<i64>() > 2 * n as i64 + 8 {
            let k = (0..3).max_by_key(|&k| bins[k]).unwrap();
            bins[k] = (bins[k] / 2).max(1);
        }
        let frac: Vec<[f64; 3]> = positions
            .iter()
            .map(|x| std::array::from_fn(|k| dot(*x, recip[k])))
            .collect();
        let wrap: Vec<[i64; 3]> = frac.iter().map(|f| f.map(|x| x.floor() as i64)).collect();
        let bin_of = |f: &[f64; 3], w: &[i64; 3]| -> [i64; 3] {
            std::array::from_fn(|k| {
                (((f[k] - w[k] as f64) * bins[k] as f64) as i64).clamp(0, bins[k] - 1)
            })
        };
        let n_bins = (bins[0] * bins[1] * bins[2]) as usize;
        let flat = |b: [i64; 3]| ((b[0] * bins[1] + b[1]) * bins[2] + b[2]) as usize;
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_bins];
        for j in 0..n {
            members[flat(bin_of(&frac[j], &wrap[j]))].push(j);
        }
        let cut2 = cutoff * cutoff;
        // (centre, neighbour, image shift of the neighbour relative to its given position)
        let mut found: Vec<(usize, usize, [i64; 3])> = Vec::new();
        for (i, xi) in positions.iter().enumerate() {
            let fi: [f64; 3] = std::array::from_fn(|k| frac[i][k] - wrap[i][k] as f64);
            let lo: [i64; 3] =
                std::array::from_fn(|k| ((fi[k] - reach[k]) * bins[k] as f64).floor() as i64);
            let hi: [i64; 3] =
                std::array::from_fn(|k| ((fi[k] + reach[k]) * bins[k] as f64).floor() as i64);
            for b0 in lo[0]..=hi[0] {
                for b1 in lo[1]..=hi[1] {
                    for b2 in lo[2]..=hi[2] {
                        let b = [b0, b1, b2];
                        let home: [i64; 3] = std::array::from_fn(|k| b[k].rem_euclid(bins[k]));
                        let image: [i64; 3] = std::array::from_fn(|k| b[k].div_euclid(bins[k]));
                        for &j in &members[flat(home)] {
                            let shift: [i64; 3] =
                                std::array::from_fn(|k| image[k] - wrap[j][k] + wrap[i][k]);
                            if shift == [0, 0, 0] && i == j {
                                continue;
                            }
                            let p: [f64; 3] = std::array::from_fn(|d| {
                                positions[j][d]
                                    + shift[0] as f64 * cell[0][d]
                                    + shift[1] as f64 * cell[1][d]
                                    + shift[2] as f64 * cell[2][d]
                            });
                            let d = [p[0] - xi[0], p[1] - xi[1], p[2] - xi[2]];
                            if dot(d, d) < cut2 {
                                found.push((i, j, shift));
                            }
                        }
                    }
                }
            }
        }
        // Ghosts numbered in (centre, neighbour, shift) order: the graph does not depend on how
        // the pairs were found.
        found.sort_unstable();
        let mut all_pos = positions.to_vec();
        let mut all_types = types.to_vec();
        let mut owner: Vec<usize> = (0..n).collect();
        let mut ghosts: HashMap<(usize, [i64; 3]), usize> = HashMap::new();
        let mut pairs: Vec<(usize, usize)> = Vec::with_capacity(found.len());
        for (i, j, shift) in found {
            let idx = if shift == [0, 0, 0] {
                j
            } else {
                *ghosts.entry((j, shift)).or_insert_with(|| {
                    all_pos.push(std::array::from_fn(|d| {
                        positions[j][d]
                            + shift[0] as f64 * cell[0][d]
                            + shift[1] as f64 * cell[1][d]
                            + shift[2] as f64 * cell[2][d]
                    }));
                    all_types.push(types[j]);
                    owner.push(j);
                    all_pos.len() - 1
                })
            };
            pairs.push((i, idx));
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

    /// Like [`PeriodicGraph::build`], with open (non-periodic) directions where `pbc[k]` is
    /// false: no images along them, and their lattice vectors are ignored (they may be zero, as
    /// in ASE's cell of a molecule). A slab is `[true, true, false]`, a cluster `[false; 3]`.
    pub fn build_with_pbc(
        cell: [[f64; 3]; 3],
        pbc: [bool; 3],
        positions: &[[f64; 3]],
        types: &[i32],
        cutoff: f64,
    ) -> Result<PeriodicGraph> {
        if pbc == [true; 3] {
            return PeriodicGraph::build(cell, positions, types, cutoff);
        }
        // Each open direction gets a vector normal to all the others, longer than the atoms'
        // extent along it plus the cutoff: every image along it is then out of reach, so the
        // periodic search finds exactly the open-boundary pairs. `build` checks the atoms, the
        // cutoff and the periodic vectors as given.
        let unit = |v: [f64; 3]| {
            let n = dot(v, v).sqrt();
            v.map(|x| x / n)
        };
        let periodic: Vec<usize> = (0..3).filter(|&k| pbc[k]).collect();
        let open_dirs: Vec<[f64; 3]> = match periodic[..] {
            [a, b] => vec![unit(cross(cell[a], cell[b]))],
            [a] => {
                let u = unit(cell[a]);
                // the Cartesian axis least aligned with the periodic vector
                let e = (0..3)
                    .min_by(|&i, &j| u[i].abs().total_cmp(&u[j].abs()))
                    .map(|i| std::array::from_fn(|d| if d == i { 1.0 } else { 0.0 }))
                    .unwrap();
                let v = unit(cross(u, e));
                vec![v, cross(u, v)]
            }
            _ => vec![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        };
        let mut full = cell;
        let mut open = open_dirs.into_iter();
        for k in (0..3).filter(|&k| !pbc[k]) {
            let dir = open.next().unwrap();
            let along = positions.iter().map(|&p| dot(p, dir));
            let lo = along.clone().fold(f64::INFINITY, f64::min);
            let hi = along.fold(f64::NEG_INFINITY, f64::max);
            let extent = if positions.is_empty() { 0.0 } else { hi - lo };
            let length = extent + cutoff + 2.0 * MIN_LATTICE_VECTOR;
            full[k] = dir.map(|x| x * length);
        }
        PeriodicGraph::build(full, positions, types, cutoff)
    }

    /// The graph as an evaluation request for [`crate::Model::compute`].
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

    /// Adds any per-atom quantity of the ghosts (forces, per-atom virials) to the local atoms
    /// they are images of, as LAMMPS' reverse communication does.
    pub fn fold<const K: usize>(&self, per_atom: &[[f64; K]]) -> Vec<[f64; K]> {
        let mut folded = vec![[0.0; K]; self.n_local];
        for (v, &o) in per_atom.iter().zip(&self.owner) {
            for d in 0..K {
                folded[o][d] += v[d];
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

    /// The O(N^2) search the cell lists replaced: every pair of atoms, every image shift within
    /// reach, ghosts numbered in discovery order.
    fn brute_force(
        cell: [[f64; 3]; 3],
        positions: &[[f64; 3]],
        cutoff: f64,
    ) -> (Vec<[f64; 3]>, Vec<i64>, Vec<i32>) {
        let volume = dot(cell[0], cross(cell[1], cell[2]));
        let recip = [
            cross(cell[1], cell[2]).map(|v| v / volume),
            cross(cell[2], cell[0]).map(|v| v / volume),
            cross(cell[0], cell[1]).map(|v| v / volume),
        ];
        let reach: [f64; 3] = std::array::from_fn(|k| cutoff * dot(recip[k], recip[k]).sqrt());
        let frac: Vec<[f64; 3]> = positions
            .iter()
            .map(|x| std::array::from_fn(|k| dot(*x, recip[k])))
            .collect();
        let n = positions.len();
        let mut all_pos = positions.to_vec();
        let mut ghosts: HashMap<(usize, [i64; 3]), usize> = HashMap::new();
        let mut pairs = Vec::new();
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
                            if dot(sub(p, *xi), sub(p, *xi)) >= cutoff * cutoff {
                                continue;
                            }
                            let idx = if home {
                                j
                            } else {
                                *ghosts.entry((j, [s0, s1, s2])).or_insert_with(|| {
                                    all_pos.push(p);
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
        (
            all_pos,
            offsets,
            pairs.iter().map(|&(_, j)| j as i32).collect(),
        )
    }

    /// The cell lists give the brute-force graph bit for bit (same ghosts, same order): a
    /// 300-atom sheared cell with atoms far outside it, and cells thinner than the cutoff.
    #[test]
    fn cell_lists_give_the_brute_force_graph() {
        let mut seed = 5u64;
        let mut rand = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let cases = [
            (
                [[17.0, 0.0, 0.0], [3.0, 15.5, 0.0], [-2.0, 1.5, 16.0]],
                300,
                5.5,
            ),
            ([[3.1, 0.0, 0.0], [1.7, 4.2, 0.0], [-0.9, 0.8, 6.5]], 5, 4.6),
            ([[2.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 9.5]], 12, 6.0),
            // sparse: more bins than atoms allow, so they are coarsened
            (
                [[40.0, 0.0, 0.0], [0.0, 41.0, 0.0], [0.0, 0.0, 39.0]],
                100,
                5.5,
            ),
        ];
        for (cell, n, cutoff) in cases {
            let positions: Vec<[f64; 3]> = (0..n)
                .map(|_| {
                    let f = [3.0 * rand() - 1.0, 3.0 * rand() - 1.0, 3.0 * rand() - 1.0];
                    std::array::from_fn(|d| (0..3).map(|k| f[k] * cell[k][d]).sum())
                })
                .collect();
            let g = PeriodicGraph::build(cell, &positions, &vec![0; n], cutoff).unwrap();
            let (pos, offsets, indices) = brute_force(cell, &positions, cutoff);
            assert!(g.indices.len() > n / 2, "{} pairs", g.indices.len());
            assert_eq!(g.offsets, offsets);
            assert_eq!(g.indices, indices);
            assert_eq!(g.positions, pos);
        }
    }

    /// A lattice vector below 1 A (the atoms would sit on their own images), and a cell so
    /// dense that its pairs could not fit in memory, are clear errors before any work.
    #[test]
    fn tiny_and_overfull_cells_are_refused() {
        let tiny = [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5]];
        let e = PeriodicGraph::build(tiny, &[[0.0; 3]], &[0], 5.5).unwrap_err();
        assert!(
            e.to_string().contains("lattice vector 1 is 0.500 A long"),
            "{e}"
        );
        let cell = [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]];
        let crowd = vec![[1.0; 3]; 20_000];
        let e = PeriodicGraph::build(cell, &crowd, &vec![0; 20_000], 5.5).unwrap_err();
        assert!(e.to_string().contains("neighbour pairs"), "{e}");
        let e = PeriodicGraph::build(cell, &[[f64::NAN; 3]], &[0], 5.5).unwrap_err();
        assert!(e.to_string().contains("non-finite position"), "{e}");
    }

    /// Sorted neighbour distances of every atom in `g`, and the same by a brute-force search
    /// over many images along the periodic directions of `pbc`.
    fn distances_and_brute_force(
        g: &PeriodicGraph,
        cell: [[f64; 3]; 3],
        pbc: [bool; 3],
        positions: &[[f64; 3]],
        cutoff: f64,
    ) -> Vec<(Vec<f64>, Vec<f64>)> {
        let range = |k: usize| if pbc[k] { -8..=8 } else { 0..=0 };
        positions
            .iter()
            .enumerate()
            .map(|(i, xi)| {
                let mut got: Vec<f64> = (g.offsets[i]..g.offsets[i + 1])
                    .map(|e| {
                        let p = g.positions[g.indices[e as usize] as usize];
                        dot(sub(p, *xi), sub(p, *xi)).sqrt()
                    })
                    .collect();
                let mut want = Vec::new();
                for xj in positions {
                    for s in range(0)
                        .flat_map(|a| range(1).flat_map(move |b| range(2).map(move |c| [a, b, c])))
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
                (got, want)
            })
            .collect()
    }

    fn assert_same_distances(pairs: &[(Vec<f64>, Vec<f64>)], what: &str) {
        for (i, (got, want)) in pairs.iter().enumerate() {
            assert_eq!(got.len(), want.len(), "{what}: atom {i}");
            assert!(
                got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9),
                "{what}: atom {i}"
            );
        }
    }

    /// A sheared cell thinner than `SHEARED_CUTOFF` in one direction, and atoms far outside it.
    const SHEARED: [[f64; 3]; 3] = [[3.1, 0.0, 0.0], [1.7, 4.2, 0.0], [-0.9, 0.8, 6.5]];
    const SHEARED_CUTOFF: f64 = 4.6;
    const SCATTERED: [[f64; 3]; 5] = [
        [0.1, 0.2, 0.3],
        [2.9, 3.7, -1.2],
        [13.0, -4.0, 2.2],
        [1.5, 1.5, 6.0],
        [4.0, 2.0, 9.0],
    ];

    /// Every atom's neighbour distances in a sheared cell, thinner than the cutoff in one
    /// direction and with atoms far outside it, equal a brute-force search over many images.
    #[test]
    fn matches_brute_force_in_a_sheared_cell() {
        let (cell, positions, cutoff) = (SHEARED, &SCATTERED[..4], SHEARED_CUTOFF);
        let g = PeriodicGraph::build(cell, positions, &[0; 4], cutoff).unwrap();
        let pairs = distances_and_brute_force(&g, cell, [true; 3], positions, cutoff);
        assert_same_distances(&pairs, "periodic");
    }

    /// Open directions: a slab, a wire and a cluster of a sheared cell give the brute-force
    /// pairs with images only along the periodic vectors, whatever the open vectors hold
    /// (zero, or shorter than the atoms' extent).
    #[test]
    fn open_directions_have_no_images() {
        let (cell, positions, cutoff) = (SHEARED, SCATTERED, SHEARED_CUTOFF);
        for pbc in [
            [true, true, false],
            [false, true, true],
            [true, false, false],
            [false, false, true],
            [false; 3],
        ] {
            let mut given = cell;
            for k in (0..3).filter(|&k| !pbc[k]) {
                given[k] = if k == 2 { [0.0; 3] } else { [0.5, 0.0, 0.0] };
            }
            let g = PeriodicGraph::build_with_pbc(given, pbc, &positions, &[0; 5], cutoff).unwrap();
            assert_eq!(g.n_local, 5);
            let pairs = distances_and_brute_force(&g, cell, pbc, &positions, cutoff);
            assert!(pairs.iter().any(|(got, _)| !got.is_empty()));
            assert_same_distances(&pairs, &format!("{pbc:?}"));
        }
        let e = PeriodicGraph::build_with_pbc(
            [[0.0; 3], [0.0, 5.0, 0.0], [0.0; 3]],
            [true, true, false],
            &positions,
            &[0; 5],
            cutoff,
        )
        .unwrap_err();
        assert!(e.to_string().contains("lattice vector 1"), "{e}");
    }
}
