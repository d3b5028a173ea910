//! Special quasirandom structures on one sublattice: place n_w solute atoms so that the
//! solute-solute pair fractions of the first few neighbour shells match the random alloy of the
//! same composition, n_w (n_w - 1) / (n (n - 1)), by seeded simulated annealing of swaps.
use crate::rng::Rng;

/// Neighbour shells used by the objective.
pub const SHELLS: usize = 3;

/// How well the placement matches the random alloy, before and after annealing.
#[allow(non_snake_case)]
#[derive(Clone, Debug, serde::Serialize)]
pub struct SqsReport {
    /// Shell distances, A.
    pub shell_distance_A: Vec<f64>,
    /// Random-alloy solute-solute pair fraction (target).
    pub target: f64,
    /// Solute-solute pair fraction per shell: of the start (seeded random) and the result.
    pub random_fraction: Vec<f64>,
    /// Solute-solute pair fraction per shell of the annealed result.
    pub sqs_fraction: Vec<f64>,
    /// Sum over shells of squared deviations from the target, for the start.
    pub random_error: f64,
    /// The same for the annealed result.
    pub sqs_error: f64,
}

struct Shells {
    distances: Vec<f64>,
    /// neighbours[s][site]
    neighbours: Vec<Vec<Vec<usize>>>,
    bonds: Vec<f64>,
}

fn min_image(cell: &[[f64; 3]; 3], d: [f64; 3]) -> f64 {
    // orthogonal cells (what allegro-build makes)
    let mut r2 = 0.0;
    for k in 0..3 {
        let l = cell[k][k];
        let v = d[k] - l * (d[k] / l).round();
        r2 += v * v;
    }
    r2.sqrt()
}

fn shells(cell: &[[f64; 3]; 3], sites: &[[f64; 3]]) -> Shells {
    let n = sites.len();
    let dist =
        |i: usize, j: usize| min_image(cell, std::array::from_fn(|d| sites[j][d] - sites[i][d]));
    // every site of the sublattice sees the same shells: take them from site 0
    let mut all: Vec<f64> = (1..n).map(|j| dist(0, j)).collect();
    all.sort_by(f64::total_cmp);
    let mut distances: Vec<f64> = Vec::new();
    for d in all {
        if distances.last().is_none_or(|&l| d - l > 1e-3) {
            distances.push(d);
        }
        if distances.len() == SHELLS {
            break;
        }
    }
    let mut neighbours = vec![vec![Vec::new(); n]; distances.len()];
    let mut add = |i: usize, j: usize| {
        let d = dist(i, j);
        if let Some(s) = distances.iter().position(|&x| (x - d).abs() < 1e-3) {
            neighbours[s][i].push(j);
            neighbours[s][j].push(i);
        }
    };
    // Bins at least one outer-shell distance wide: a site's neighbours lie in the 27 bins around
    // its own, so the search is linear in the number of sites (all pairs took 50 min at 64^3).
    let reach = distances.last().copied().unwrap_or(0.0) + 1e-3;
    let bins: [usize; 3] = std::array::from_fn(|k| (cell[k][k] / reach).floor().max(1.0) as usize);
    if bins.iter().any(|&b| b < 3) {
        for i in 0..n {
            for j in i + 1..n {
                add(i, j);
            }
        }
    } else {
        let bin_of = |p: &[f64; 3]| -> [usize; 3] {
            std::array::from_fn(|k| {
                let f = (p[k] / cell[k][k]).rem_euclid(1.0);
                ((f * bins[k] as f64) as usize).min(bins[k] - 1)
            })
        };
        let flat = |b: [usize; 3]| (b[0] * bins[1] + b[1]) * bins[2] + b[2];
        let mut members = vec![Vec::new(); bins.iter().product()];
        for (i, p) in sites.iter().enumerate() {
            members[flat(bin_of(p))].push(i);
        }
        for i in 0..n {
            let b = bin_of(&sites[i]);
            for off in 0..27 {
                let nb: [usize; 3] = std::array::from_fn(|k| {
                    let o = [off / 9, (off / 3) % 3, off % 3][k];
                    (b[k] + bins[k] + o - 1) % bins[k]
                });
                for &j in &members[flat(nb)] {
                    if j > i {
                        add(i, j);
                    }
                }
            }
        }
    }
    let bonds = neighbours
        .iter()
        .map(|nb| nb.iter().map(|v| v.len()).sum::<usize>() as f64 / 2.0)
        .collect();
    Shells {
        distances,
        neighbours,
        bonds,
    }
}

fn fractions(sh: &Shells, solute: &[bool]) -> Vec<f64> {
    sh.neighbours
        .iter()
        .zip(&sh.bonds)
        .map(|(nb, &b)| {
            let ww: usize = (0..solute.len())
                .filter(|&i| solute[i])
                .map(|i| nb[i].iter().filter(|&&j| solute[j] && j > i).count())
                .sum();
            ww as f64 / b.max(1.0)
        })
        .collect()
}

/// Deviation of solute pair fractions from the random alloy, summed over shells.
pub fn pair_correlation_error(cell: &[[f64; 3]; 3], sites: &[[f64; 3]], solute: &[bool]) -> f64 {
    let sh = shells(cell, sites);
    let n = sites.len() as f64;
    let k = solute.iter().filter(|&&s| s).count() as f64;
    let target = k * (k - 1.0) / (n * (n - 1.0));
    fractions(&sh, solute)
        .iter()
        .map(|f| (f - target).powi(2))
        .sum()
}

/// Chooses `n_solute` of the `sites` (indices) as an SQS; `steps` annealing swaps, reported to
/// `progress` (its length is set here).
pub fn sqs_sublattice(
    cell: &[[f64; 3]; 3],
    sites: &[[f64; 3]],
    n_solute: usize,
    steps: usize,
    rng: &mut Rng,
    progress: &indicatif::ProgressBar,
) -> (Vec<usize>, SqsReport) {
    progress.set_length(steps as u64);
    let n = sites.len();
    let sh = shells(cell, sites);
    let ns = sh.distances.len();
    let start = rng.choose(&(0..n).collect::<Vec<_>>(), n_solute);
    let mut solute = vec![false; n];
    for &i in &start {
        solute[i] = true;
    }
    let target = n_solute as f64 * (n_solute as f64 - 1.0) / (n as f64 * (n as f64 - 1.0));
    // solute neighbours of every site per shell, and solute-solute bonds per shell
    let mut count = vec![vec![0usize; n]; ns];
    let mut ww = vec![0.0; ns];
    for s in 0..ns {
        for i in 0..n {
            count[s][i] = sh.neighbours[s][i].iter().filter(|&&j| solute[j]).count();
            if solute[i] {
                ww[s] += count[s][i] as f64 / 2.0;
            }
        }
    }
    let error = |ww: &[f64]| -> f64 {
        (0..ns)
            .map(|s| (ww[s] / sh.bonds[s].max(1.0) - target).powi(2))
            .sum()
    };
    let random_fraction: Vec<f64> = (0..ns).map(|s| ww[s] / sh.bonds[s].max(1.0)).collect();
    let random_error = error(&ww);
    let mut current = random_error;
    let mut best = current;
    // swaps accepted since the best state: undone at the end (a copy of the whole state at
    // every improvement cost O(sites) each)
    let mut since_best: Vec<(usize, usize)> = Vec::new();
    let (mut on, mut off): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| solute[i]);
    if !on.is_empty() && !off.is_empty() {
        let t0 = (current.max(1e-12)) * 0.1;
        for step in 0..steps {
            let temperature = t0 * (1e-4f64).powf(step as f64 / steps as f64);
            let (a, b) = (rng.below(on.len()), rng.below(off.len()));
            let (i, j) = (on[a], off[b]);
            let trial: Vec<f64> = (0..ns)
                .map(|s| {
                    let i_nb_j = sh.neighbours[s][j].contains(&i) as usize;
                    ww[s] + count[s][j] as f64 - i_nb_j as f64 - count[s][i] as f64
                })
                .collect();
            let e = error(&trial);
            if e <= current || rng.uniform() < (-(e - current) / temperature).exp() {
                for s in 0..ns {
                    for &k in &sh.neighbours[s][i] {
                        count[s][k] -= 1;
                    }
                    for &k in &sh.neighbours[s][j] {
                        count[s][k] += 1;
                    }
                }
                solute[i] = false;
                solute[j] = true;
                on[a] = j;
                off[b] = i;
                ww = trial;
                current = e;
                since_best.push((i, j));
                if current < best {
                    best = current;
                    since_best.clear();
                }
            }
            if step % 1024 == 0 {
                progress.set_position(step as u64);
            }
        }
    }
    for &(i, j) in since_best.iter().rev() {
        solute[i] = true;
        solute[j] = false;
    }
    progress.finish_and_clear();
    let chosen: Vec<usize> = (0..n).filter(|&i| solute[i]).collect();
    let report = SqsReport {
        shell_distance_A: sh.distances.clone(),
        target,
        random_fraction,
        sqs_fraction: fractions(&sh, &solute),
        random_error,
        sqs_error: best,
    };
    (chosen, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sb sites of cubic Na3SbS4 (2a of I-43m) form a body-centred cubic lattice: every site has
    /// 8 neighbours at a sqrt(3)/2, 6 at a and 12 at a sqrt(2).
    fn bcc_check(reps: usize) {
        let a = 7.15;
        let l = a * reps as f64;
        let cell = [[l, 0.0, 0.0], [0.0, l, 0.0], [0.0, 0.0, l]];
        let mut sites = Vec::new();
        for i in 0..reps {
            for j in 0..reps {
                for k in 0..reps {
                    let o = [i as f64, j as f64, k as f64];
                    sites.push(o.map(|x| x * a));
                    sites.push(o.map(|x| (x + 0.5) * a));
                }
            }
        }
        let sh = shells(&cell, &sites);
        let want = [3f64.sqrt() / 2.0 * a, a, 2f64.sqrt() * a];
        for s in 0..3 {
            assert!(
                (sh.distances[s] - want[s]).abs() < 1e-9,
                "{:?}",
                sh.distances
            );
            let count = [8, 6, 12][s];
            assert!(
                sh.neighbours[s].iter().all(|nb| nb.len() == count),
                "{reps}^3, shell {s}"
            );
            assert_eq!(sh.bonds[s], (count * sites.len() / 2) as f64);
        }
    }

    #[test]
    fn neighbour_shells_of_the_bcc_sublattice() {
        bcc_check(3); // all pairs (fewer than 3 bins across)
        bcc_check(7); // binned search
    }
}
