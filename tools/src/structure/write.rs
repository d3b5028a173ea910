//! Output formats: LAMMPS data files (atom_style atomic) and extended XYZ. Numbers are printed
//! with fixed formats, so the same structure gives the same bytes.
use std::fmt::Write as _;

use super::{Element, Structure};

/// A LAMMPS data file: 4 atom types in the fixed order Na, Sb, W, S (all four always declared,
/// so one `pair_coeff * * MODEL Na Sb W S` line fits every file), masses, orthogonal box.
pub fn write_lammps_data(s: &Structure, title: &str) -> String {
    let mut out = String::new();
    writeln!(out, "{title}\n\n{} atoms\n4 atom types\n", s.elements.len()).unwrap();
    for (k, name) in ["x", "y", "z"].iter().enumerate() {
        writeln!(out, "0.0 {:.10} {name}lo {name}hi", s.cell[k][k]).unwrap();
    }
    writeln!(out, "\nMasses\n").unwrap();
    for e in Element::ALL {
        writeln!(out, "{} {}  # {}", e.lammps_type(), e.mass(), e.symbol()).unwrap();
    }
    writeln!(out, "\nAtoms  # atomic\n").unwrap();
    for (i, (e, p)) in s.elements.iter().zip(&s.positions).enumerate() {
        writeln!(
            out,
            "{} {} {:.10} {:.10} {:.10}",
            i + 1,
            e.lammps_type(),
            p[0],
            p[1],
            p[2]
        )
        .unwrap();
    }
    out
}

/// Extended XYZ (ASE convention): Lattice, Properties=species:S:1:pos:R:3, pbc.
pub fn write_extxyz(s: &Structure, comment: &str) -> String {
    let mut out = String::new();
    let c = &s.cell;
    writeln!(out, "{}", s.elements.len()).unwrap();
    writeln!(
        out,
        "Lattice=\"{:.10} {:.10} {:.10} {:.10} {:.10} {:.10} {:.10} {:.10} {:.10}\" Properties=species:S:1:pos:R:3 pbc=\"T T T\" comment=\"{}\"",
        c[0][0], c[0][1], c[0][2], c[1][0], c[1][1], c[1][2], c[2][0], c[2][1], c[2][2],
        comment.replace('"', "'")
    )
    .unwrap();
    for (e, p) in s.elements.iter().zip(&s.positions) {
        writeln!(
            out,
            "{:<2} {:16.10} {:16.10} {:16.10}",
            e.symbol(),
            p[0],
            p[1],
            p[2]
        )
        .unwrap();
    }
    out
}
