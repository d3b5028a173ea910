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
