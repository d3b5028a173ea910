//! Synthetic trajectories with known answers, written as LAMMPS dumps.
#![allow(dead_code)]
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `cmd` and returns its output; panics with its stdout and stderr unless it exits 0.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// SplitMix64 + Box-Muller: a tiny seeded generator, independent of the code under test.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A cell as LAMMPS stores it: lower corner, lengths, tilts (xy, xz, yz).
#[derive(Clone, Copy, Debug)]
pub struct Box3 {
    pub lo: [f64; 3],
    pub len: [f64; 3],
    pub tilt: [f64; 3],
}

impl Box3 {
    pub fn cubic(l: f64) -> Box3 {
        Box3 {
            lo: [0.0; 3],
            len: [l; 3],
            tilt: [0.0; 3],
        }
    }
    /// rows a, b, c
    pub fn h(&self) -> [[f64; 3]; 3] {
        [
            [self.len[0], 0.0, 0.0],
            [self.tilt[0], self.len[1], 0.0],
            [self.tilt[1], self.tilt[2], self.len[2]],
        ]
    }
    pub fn cart(&self, s: [f64; 3]) -> [f64; 3] {
        let h = self.h();
        std::array::from_fn(|d| self.lo[d] + s[0] * h[0][d] + s[1] * h[1][d] + s[2] * h[2][d])
    }
    /// fractional coordinates of a Cartesian vector (no origin): solve the triangular system
    pub fn frac_vec(&self, v: [f64; 3]) -> [f64; 3] {
        let [xy, xz, yz] = self.tilt;
        let s2 = v[2] / self.len[2];
        let s1 = (v[1] - s2 * yz) / self.len[1];
        let s0 = (v[0] - s1 * xy - s2 * xz) / self.len[0];
        [s0, s1, s2]
    }
}

/// One frame: fractional unwrapped coordinates of every atom and the box.
pub struct SynthFrame {
    pub timestep: i64,
    pub bx: Box3,
    pub s: Vec<[f64; 3]>,
}

/// Writes a `dump custom` text file with wrapped x y z and image flags (rows shuffled to test
/// sorting), or unscaled unwrapped coordinates when `column_set` is "xu".
pub fn write_dump(
    path: &Path,
    frames: &[SynthFrame],
    types: &[i32],
    column_set: &str,
    rng: &mut Rng,
) {
    let mut out = String::new();
    for f in frames {
        let triclinic = f.bx.tilt.iter().any(|t| *t != 0.0);
        let [xy, xz, yz] = f.bx.tilt;
        let lo = f.bx.lo;
        let hi = [
            lo[0] + f.bx.len[0],
            lo[1] + f.bx.len[1],
            lo[2] + f.bx.len[2],
        ];
        writeln!(
            out,
            "ITEM: TIMESTEP\n{}\nITEM: NUMBER OF ATOMS\n{}",
            f.timestep,
            f.s.len()
        )
        .unwrap();
        if triclinic {
            writeln!(out, "ITEM: BOX BOUNDS xy xz yz pp pp pp").unwrap();
            let xlo_b = lo[0] + 0f64.min(xy).min(xz).min(xy + xz);
            let xhi_b = hi[0] + 0f64.max(xy).max(xz).max(xy + xz);
            writeln!(out, "{xlo_b:.17e} {xhi_b:.17e} {xy:.17e}").unwrap();
            writeln!(
                out,
                "{:.17e} {:.17e} {xz:.17e}",
                lo[1] + 0f64.min(yz),
                hi[1] + 0f64.max(yz)
            )
            .unwrap();
            writeln!(out, "{:.17e} {:.17e} {yz:.17e}", lo[2], hi[2]).unwrap();
        } else {
            writeln!(out, "ITEM: BOX BOUNDS pp pp pp").unwrap();
            for d in 0..3 {
                writeln!(out, "{:.17e} {:.17e}", lo[d], hi[d]).unwrap();
            }
        }
        let mut order: Vec<usize> = (0..f.s.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        if column_set == "xu" {
            writeln!(out, "ITEM: ATOMS id type xu yu zu").unwrap();
        } else {
            writeln!(out, "ITEM: ATOMS id type x y z ix iy iz").unwrap();
        }
        for &i in &order {
            let s = f.s[i];
            if column_set == "xu" {
                let x = f.bx.cart(s);
                writeln!(
                    out,
                    "{} {} {:.17} {:.17} {:.17}",
                    i + 1,
                    types[i],
                    x[0],
                    x[1],
                    x[2]
                )
                .unwrap();
            } else {
                let image = s.map(|v| v.floor());
                let x =
                    f.bx.cart([s[0] - image[0], s[1] - image[1], s[2] - image[2]]);
                writeln!(
                    out,
                    "{} {} {:.17} {:.17} {:.17} {} {} {}",
                    i + 1,
                    types[i],
                    x[0],
                    x[1],
                    x[2],
                    image[0] as i64,
                    image[1] as i64,
                    image[2] as i64
                )
                .unwrap();
            }
        }
    }
    std::fs::write(path, out).unwrap();
}

/// Random walks: Cartesian Gaussian steps with per-dimension variances 2 D_k dt, added in the
/// box of the new frame (fractional coordinates move by H^-1 step, as under an affine barostat).
/// `shared` atoms (pairs 2i, 2i+1) also share a common step of variance 2 D_shared dt.
pub struct WalkSpec {
    pub atoms: usize,
    pub frames: usize,
    pub dt: f64,
    pub d_own: [f64; 3],
    pub d_shared: f64,
    pub boxes: Box<dyn Fn(usize) -> Box3>,
}

pub fn random_walks(spec: &WalkSpec, rng: &mut Rng) -> Vec<SynthFrame> {
    let b0 = (spec.boxes)(0);
    let mut s: Vec<[f64; 3]> = (0..spec.atoms)
        .map(|_| [rng.uniform(), rng.uniform(), rng.uniform()])
        .collect();
    let mut frames = vec![SynthFrame {
        timestep: 0,
        bx: b0,
        s: s.clone(),
    }];
    for f in 1..spec.frames {
        let bx = (spec.boxes)(f);
        let shared: Vec<[f64; 3]> = (0..spec.atoms / 2 + 1)
            .map(|_| std::array::from_fn(|_| rng.normal() * (2.0 * spec.d_shared * spec.dt).sqrt()))
            .collect();
        for (i, si) in s.iter_mut().enumerate() {
            let step: [f64; 3] = std::array::from_fn(|k| {
                rng.normal() * (2.0 * spec.d_own[k] * spec.dt).sqrt() + shared[i / 2][k]
            });
            let ds = bx.frac_vec(step);
            for k in 0..3 {
                si[k] += ds[k];
            }
        }
        frames.push(SynthFrame {
            timestep: 10 * f as i64,
            bx,
            s: s.clone(),
        });
    }
    frames
}

/// Ions hopping between sites of a cubic lattice (spacing `hop` A) as a Poisson process, with
/// Ornstein-Uhlenbeck vibration about the site. Per frame, each ion hops along axis k with
/// probability `p_own[k]`, and each pair (2i, 2i+1) hops together (same hop vector) with
/// probability `p_pair` per axis. Known answers: D_k = (p_own[k] + p_pair) hop^2 / (2 dt),
/// D_sigma,k = (p_own[k] + 2 p_pair) hop^2 / (2 dt).
pub struct HopSpec {
    pub atoms: usize,
    pub frames: usize,
    /// ps between frames
    pub dt: f64,
    pub hop: f64,
    pub p_own: [f64; 3],
    pub p_pair: f64,
    /// rms vibration per axis (A) and its correlation time (ps)
    pub vib_rms: f64,
    pub vib_tau: f64,
    /// All ions' hop rate switching together between `low` and `high` times the mean (which
    /// stays the mean: low + high = 2), with this probability per frame: (low, high, switch).
    pub bursts: Option<(f64, f64, f64)>,
}

impl HopSpec {
    /// Tracer and collective D per axis, A^2/ps.
    pub fn d_axis(&self, k: usize) -> (f64, f64) {
        let f = self.hop * self.hop / (2.0 * self.dt);
        (
            (self.p_own[k] + self.p_pair) * f,
            (self.p_own[k] + 2.0 * self.p_pair) * f,
        )
    }
}

/// Unwrapped Cartesian positions [atom][frame] of a hopping trajectory.
pub fn hopping(spec: &HopSpec, rng: &mut Rng) -> Vec<Vec<[f64; 3]>> {
    let phi = (-spec.dt / spec.vib_tau).exp();
    let kick = spec.vib_rms * (1.0 - phi * phi).sqrt();
    let mut site: Vec<[f64; 3]> = (0..spec.atoms)
        .map(|_| std::array::from_fn(|_| (rng.uniform() * 4.0).floor() * spec.hop))
        .collect();
    let mut vib: Vec<[f64; 3]> = (0..spec.atoms)
        .map(|_| std::array::from_fn(|_| spec.vib_rms * rng.normal()))
        .collect();
    let mut out = vec![Vec::with_capacity(spec.frames); spec.atoms];
    let mut high = spec.bursts.is_some() && rng.uniform() < 0.5;
    for f in 0..spec.frames {
        let rate = match spec.bursts {
            Some((low, hi, switch)) => {
                if rng.uniform() < switch {
                    high = !high;
                }
                if high {
                    hi
                } else {
                    low
                }
            }
            None => 1.0,
        };
        if f > 0 {
            let pair_hops: Vec<[f64; 3]> = (0..spec.atoms / 2 + 1)
                .map(|_| std::array::from_fn(|_| jump(rng, spec.p_pair, spec.hop)))
                .collect();
            for i in 0..spec.atoms {
                for k in 0..3 {
                    site[i][k] += jump(rng, rate * spec.p_own[k], spec.hop);
                    if i / 2 < spec.atoms / 2 {
                        site[i][k] += pair_hops[i / 2][k];
                    }
                    vib[i][k] = phi * vib[i][k] + kick * rng.normal();
                }
            }
        }
        for i in 0..spec.atoms {
            out[i].push(std::array::from_fn(|k| site[i][k] + vib[i][k]));
        }
    }
    out
}

fn jump(rng: &mut Rng, p: f64, hop: f64) -> f64 {
    let u = rng.uniform();
    if u < p / 2.0 {
        hop
    } else if u < p {
        -hop
    } else {
        0.0
    }
}

/// Estimates against a known truth over many seeds: z = (estimate - truth) / std.
pub struct Tally {
    pub z: Vec<f64>,
    pub rel: Vec<f64>,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            z: Vec::new(),
            rel: Vec::new(),
        }
    }
    pub fn add(&mut self, value: f64, std: f64, truth: f64) {
        self.z.push((value - truth) / std);
        self.rel.push(value / truth - 1.0);
    }
    pub fn within(&self, k: f64) -> f64 {
        self.z.iter().filter(|z| z.abs() < k).count() as f64 / self.z.len() as f64
    }
    /// Fraction within 1 std in 0.60-0.76, none beyond 4 std, mean relative error compatible
    /// with zero (4 standard errors).
    pub fn check(&self, what: &str) {
        self.check_within(what, 0.76, 4.0)
    }

    /// As [`Tally::check`] with another upper limit on the fraction within 1 std (errors
    /// that are conservative) and on the worst |z|.
    pub fn check_within(&self, what: &str, max_inside: f64, max_worst: f64) {
        let n = self.z.len() as f64;
        let (inside, inside3) = (self.within(1.0), self.within(3.0));
        let worst = self.z.iter().fold(0.0f64, |a, z| a.max(z.abs()));
        let mut tail: Vec<(f64, f64)> = (self.z.iter().copied())
            .zip(self.rel.iter().copied())
            .filter(|(z, _)| z.abs() > 2.5)
            .collect();
        tail.sort_by(|a, b| a.0.total_cmp(&b.0));
        eprintln!("{what}: seeds beyond 2.5 std as (z, relative error): {tail:.2?}");
        let bias = self.rel.iter().sum::<f64>() / n;
        let spread = (self.rel.iter().map(|r| (r - bias).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        eprintln!(
            "{what}: {} seeds, within 1 std {inside:.3}, within 3 std {inside3:.3}, worst {worst:.1} std, relative bias {bias:+.4} +- {:.4}, relative spread {spread:.3}",
            self.z.len(),
            spread / n.sqrt()
        );
        assert!(
            (0.60..=max_inside).contains(&inside),
            "{what}: fraction within 1 std = {inside:.3}"
        );
        assert!(worst < max_worst, "{what}: a seed is {worst:.1} std off");
        assert!(
            bias.abs() < 4.0 * spread / n.sqrt(),
            "{what}: relative bias {bias:.4}"
        );
    }
}

/// A small valid dump: 6 atoms (3 of type 1 walking, 3 of type 2), 40 frames 1 ps apart in
/// an 8 A cube, seeded: the good file the malformed-input and CLI tests start from.
pub fn small_dump(path: &Path) {
    let spec = WalkSpec {
        atoms: 6,
        frames: 40,
        dt: 1.0,
        d_own: [0.05; 3],
        d_shared: 0.0,
        boxes: Box::new(|_| Box3::cubic(8.0)),
    };
    let mut rng = Rng::new(1);
    let frames = random_walks(&spec, &mut rng);
    write_dump(path, &frames, &[1, 1, 1, 2, 2, 2], "x", &mut rng);
}

/// A LAMMPS log of an NPT run as the study's inputs write it (Temp, v_a v_b v_c per conventional
/// cell): 600 rows at `temperature`, lengths a, a, a (cubic) or a, a, 1.015 a (tetragonal), each
/// with 0.1 % noise; `noise` gives standard normal numbers.
pub fn write_lattice_log(
    dir: &Path,
    temperature: f64,
    a: f64,
    tetragonal: bool,
    noise: &mut dyn FnMut() -> f64,
) {
    let mut log = String::from("LAMMPS (22 Jul 2025)\nPer MPI rank memory allocation (min/avg/max) = 3 | 3 | 3 Mbytes\n   Step          Time           Temp          v_a            v_b            v_c\n");
    for r in 0..600 {
        let c = if tetragonal { 1.015 } else { 1.0 };
        let l = [a, a, a * c].map(|x| x * (1.0 + 0.001 * noise()));
        let t = temperature + noise();
        writeln!(
            log,
            "{} {} {t} {} {} {}",
            25 * r,
            0.05 * r as f64,
            l[0],
            l[1],
            l[2]
        )
        .unwrap();
    }
    log.push_str(
        "Loop time of 1 on 1 procs for 15000 steps with 432 atoms\nTotal wall time: 0:00:01\n",
    );
    std::fs::write(dir.join("log.lammps"), log).unwrap();
}

/// The completion marker and end state of a finished study run.
pub fn mark_done(dir: &Path, atoms: usize, steps: u64, temperature: f64) {
    let done = format!("{{\"seconds\": 1.0, \"atoms\": {atoms}, \"steps\": {steps}, \"temperature_k\": {temperature}, \"start\": \"synthetic\"}}");
    std::fs::write(dir.join("done.json"), done).unwrap();
    std::fs::write(dir.join("end.data"), "synthetic\n").unwrap();
}
