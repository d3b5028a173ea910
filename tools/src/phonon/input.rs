//! Structures for phonons: extended XYZ, LAMMPS data files (atom_style atomic), or the
//! builder's cubic and tetragonal Na3SbS4 cells.
use std::path::Path;

use super::error::{PhononError, Result};
use crate::trajectory::ReadError;

use super::crystal::{standard_mass, Crystal};
use crate::structure;

/// Where the structure comes from.
#[derive(Clone, Debug)]
pub enum Source<'a> {
    /// The builder's 16-atom cubic (I-43m) cell with lattice parameter a (A).
    Cubic(f64),
    /// The builder's 16-atom tetragonal (P-421c) cell, a and c (A).
    Tetragonal(f64, f64),
    /// An extended XYZ (first frame) or LAMMPS data file; element names of the data file's
    /// types when its Masses section does not name them.
    File(&'a Path, Option<&'a [String]>),
}

/// Loads and validates the structure. `masses` (element, amu) override the file's masses;
/// standard masses fill in atoms that have neither.
pub fn load(source: &Source<'_>, masses: &[(String, f64)]) -> Result<Crystal> {
    let mut crystal = match source {
        Source::Cubic(a) => from_builder(&structure::cubic(*a)),
        Source::Tetragonal(a, c) => from_builder(&structure::tetragonal(*a, *c)),
        Source::File(path, types) => {
            let name = path.to_string_lossy();
            if name.ends_with(".xyz") || name.ends_with(".extxyz") || name.ends_with(".xyz.gz") {
                // The first frame is the crystal (a file cut later still has it whole).
                let file = crate::extxyz::read_extxyz(path)?;
                let truncated = file.truncated;
                let f = file
                    .frames
                    .into_iter()
                    .next()
                    .ok_or_else(|| PhononError::DataFile {
                        path: path.to_path_buf(),
                        what: truncated.unwrap_or_else(|| "the file has no frame".into()),
                    })?;
                let n = f.positions.len();
                let masses = match f.arrays.get("masses") {
                    Some(m) if m.len() == n && m.iter().all(|r| r.len() == 1) => {
                        m.iter().map(|r| r[0]).collect()
                    }
                    _ => vec![0.0; n],
                };
                Crystal {
                    cell: f.cell,
                    positions: f.positions,
                    masses,
                    symbols: f.symbols,
                }
            } else {
                read_data(path, *types)?
            }
        }
    };
    for (i, s) in crystal.symbols.iter().enumerate() {
        if let Some((_, m)) = masses.iter().find(|(e, _)| e == s) {
            crystal.masses[i] = *m;
        } else if crystal.masses[i] <= 0.0 {
            crystal.masses[i] = standard_mass(s).ok_or_else(|| {
                PhononError::Structure(format!(
                    "no standard mass for element {s}: give --mass {s}=M (amu)"
                ))
            })?;
        }
    }
    crystal.validate()?;
    Ok(crystal)
}

fn from_builder(s: &structure::Structure) -> Crystal {
    Crystal {
        cell: s.cell,
        positions: s.positions.clone(),
        symbols: s.elements.iter().map(|e| e.symbol().to_string()).collect(),
        masses: s.elements.iter().map(|e| e.mass()).collect(),
    }
}

/// A LAMMPS data file, atom_style atomic (id type x y z [ix iy iz]); orthogonal or triclinic.
pub fn read_data(path: &Path, types: Option<&[String]>) -> Result<Crystal> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_data(&text, types).map_err(|e| match e {
        PhononError::Structure(what) => PhononError::DataFile {
            path: path.to_path_buf(),
            what,
        },
        other => other,
    })
}

fn missing(what: &str) -> PhononError {
    PhononError::Structure(what.to_string())
}

/// What a data file's header and sections said, in the file's units (A, amu).
#[derive(Default)]
struct DataSections {
    atoms: Option<usize>,
    ntypes: Option<usize>,
    lo: [f64; 3],
    hi: [f64; 3],
    /// xy, xz, yz.
    tilt: [f64; 3],
    /// Element of each type, from the comments of the Masses section.
    names: Vec<Option<String>>,
    type_mass: Vec<f64>,
    /// (id, type, position) of each atom, in file order.
    rows: Vec<(usize, usize, [f64; 3])>,
}

/// A finite number, or an error naming `what` was being read.
fn number(w: &str, what: &str) -> Result<f64> {
    w.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| PhononError::Structure(format!("{what}: '{w}' is not a number")))
}

fn parse_data(text: &str, types: Option<&[String]>) -> Result<Crystal> {
    let mut lines = text.lines().skip(1).map(|l| l.trim()).peekable();
    let mut d = DataSections::default();
    while let Some(line) = lines.next() {
        let body = line.split('#').next().unwrap_or("").trim();
        let w: Vec<&str> = body.split_whitespace().collect();
        if w.is_empty() {
            continue;
        }
        match (w.len(), w.last().copied()) {
            (2, Some("atoms")) => d.atoms = Some(number(w[0], "atoms")? as usize),
            (3, Some("types")) if w[1] == "atom" => {
                d.ntypes = Some(number(w[0], "atom types")? as usize)
            }
            (4, Some(hi_name)) if hi_name.ends_with("hi") && hi_name.len() == 3 => {
                let k = match hi_name {
                    "xhi" => 0,
                    "yhi" => 1,
                    "zhi" => 2,
                    _ => fail!(Structure; "unknown box line '{line}'"),
                };
                d.lo[k] = number(w[0], "box")?;
                d.hi[k] = number(w[1], "box")?;
            }
            (6, Some("yz")) => {
                for k in 0..3 {
                    d.tilt[k] = number(w[k], "tilt")?;
                }
            }
            (_, _) if w[0] == "Masses" => {
                let n = d
                    .ntypes
                    .ok_or_else(|| missing("Masses before the 'atom types' line"))?;
                (d.names, d.type_mass) = read_masses(&mut lines, n)?;
            }
            (_, _) if w[0] == "Atoms" => {
                check!(Structure;
                    w.len() == 1 || w[1] == "atomic",
                    "Atoms section of style '{}': only atom_style atomic is read",
                    w[1]
                );
                let n = d
                    .atoms
                    .ok_or_else(|| missing("Atoms before the 'atoms' line"))?;
                read_atoms(&mut lines, n, &mut d.rows)?;
            }
            _ => {}
        }
    }
    d.into_crystal(types)
}

/// Reads the `n` lines `TYPE MASS [# Element]` of a Masses section: the element names and
/// masses (amu) by type.
fn read_masses<'a>(
    lines: &mut impl Iterator<Item = &'a str>,
    n: usize,
) -> Result<(Vec<Option<String>>, Vec<f64>)> {
    let mut names = vec![None; n];
    let mut type_mass = vec![0.0; n];
    let mut seen = 0;
    while seen < n {
        let Some(l) = lines.next() else {
            fail!(Structure; "the Masses section ends early")
        };
        let mut parts = l.splitn(2, '#');
        let v: Vec<&str> = parts.next().unwrap_or("").split_whitespace().collect();
        if v.is_empty() {
            continue;
        }
        check!(Structure; v.len() >= 2, "Masses line '{l}' is not 'TYPE MASS'");
        let t = number(v[0], "Masses")? as usize;
        check!(Structure; (1..=n).contains(&t), "Masses: type {t} is not 1 to {n}");
        type_mass[t - 1] = number(v[1], "Masses")?;
        names[t - 1] = parts
            .next()
            .and_then(|c| c.split_whitespace().next())
            .map(String::from);
        seen += 1;
    }
    Ok((names, type_mass))
}

/// Reads the lines `ID TYPE X Y Z [IX IY IZ]` of an Atoms section into `rows`, until it
/// holds `n` atoms.
fn read_atoms<'a>(
    lines: &mut impl Iterator<Item = &'a str>,
    n: usize,
    rows: &mut Vec<(usize, usize, [f64; 3])>,
) -> Result<()> {
    while rows.len() < n {
        let Some(l) = lines.next() else {
            fail!(Structure; "the Atoms section has {} of {n} atoms", rows.len())
        };
        let v: Vec<&str> = l
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if v.is_empty() {
            continue;
        }
        check!(Structure;
            v.len() == 5 || v.len() == 8,
            "Atoms line '{l}' is not 'ID TYPE X Y Z [IX IY IZ]'"
        );
        let mut p = [0.0; 3];
        for k in 0..3 {
            p[k] = number(v[2 + k], "Atoms")?;
        }
        rows.push((
            number(v[0], "Atoms")? as usize,
            number(v[1], "Atoms")? as usize,
            p,
        ));
    }
    Ok(())
}

impl DataSections {
    /// The crystal, atoms sorted by id and shifted so the box starts at the origin; element
    /// names from `types` (by type) when given, else from the Masses comments.
    fn into_crystal(self, types: Option<&[String]>) -> Result<Crystal> {
        let DataSections {
            ntypes,
            lo,
            hi,
            tilt,
            names,
            type_mass,
            mut rows,
            ..
        } = self;
        let ntypes = ntypes.ok_or_else(|| missing("no 'atom types' line"))?;
        check!(Structure; !rows.is_empty(), "no Atoms section");
        rows.sort_by_key(|r| r.0);
        let name_of = |t: usize| -> Result<String> {
            check!(Structure;
                (1..=ntypes).contains(&t),
                "atom type {t} is not 1 to {ntypes}"
            );
            if let Some(types) = types {
                check!(Structure;
                    types.len() == ntypes,
                    "--types names {} elements for {ntypes} atom types",
                    types.len()
                );
                return Ok(types[t - 1].clone());
            }
            names.get(t - 1).cloned().flatten().ok_or_else(|| {
                PhononError::Structure(format!(
                    "type {t} has no element name: add '# Element' to its Masses line or give --types"
                ))
            })
        };
        let cell = [
            [hi[0] - lo[0], 0.0, 0.0],
            [tilt[0], hi[1] - lo[1], 0.0],
            [tilt[1], tilt[2], hi[2] - lo[2]],
        ];
        let mut c = Crystal {
            cell,
            positions: Vec::new(),
            symbols: Vec::new(),
            masses: Vec::new(),
        };
        for (_, t, p) in rows {
            c.symbols.push(name_of(t)?);
            c.masses.push(type_mass.get(t - 1).copied().unwrap_or(0.0));
            c.positions.push(std::array::from_fn(|d| p[d] - lo[d]));
        }
        Ok(c)
    }
}

/// Extended XYZ of a crystal (ASE convention), with its masses as a per-atom column.
pub fn to_extxyz(c: &Crystal) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let l: Vec<String> = c
        .cell
        .iter()
        .flatten()
        .map(|v| format!("{v:.10}"))
        .collect();
    writeln!(out, "{}", c.len()).unwrap();
    writeln!(
        out,
        "Lattice=\"{}\" Properties=species:S:1:pos:R:3:masses:R:1 pbc=\"T T T\"",
        l.join(" ")
    )
    .unwrap();
    for i in 0..c.len() {
        let p = c.positions[i];
        writeln!(
            out,
            "{} {:.10} {:.10} {:.10} {:.8}",
            c.symbols[i], p[0], p[1], p[2], c.masses[i]
        )
        .unwrap();
    }
    out
}
