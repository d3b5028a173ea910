//! Extended XYZ (the ASE convention), plain or gzip: Lattice, Properties (species, pos and any
//! per-atom columns), and per-frame values such as energy and stress (9 or 6 values, eV/A^3).
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::trajectory::{ReadError, Result};

#[derive(Clone, Debug, Default)]
pub struct XyzFrame {
    /// Rows are the cell vectors, A.
    pub cell: [[f64; 3]; 3],
    pub symbols: Vec<String>,
    pub positions: Vec<[f64; 3]>,
    /// Per-frame key=value pairs, raw text (quotes removed).
    pub info: HashMap<String, String>,
    /// Per-atom real columns other than pos, by name (e.g. "forces" -> N x width).
    pub arrays: HashMap<String, Vec<Vec<f64>>>,
}

impl XyzFrame {
    pub fn float(&self, key: &str) -> Option<f64> {
        self.info.get(key)?.trim().parse().ok()
    }

    pub fn floats(&self, key: &str) -> Option<Vec<f64>> {
        self.info
            .get(key)?
            .split_whitespace()
            .map(|v| v.parse().ok())
            .collect()
    }

    /// A 3x3 tensor from 9 values (row-major) or 6 Voigt values (xx yy zz yz xz xy).
    pub fn tensor(&self, key: &str) -> Option<[[f64; 3]; 3]> {
        let v = self.floats(key)?;
        match v.len() {
            9 => Some([[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]]),
            6 => Some([[v[0], v[5], v[4]], [v[5], v[1], v[3]], [v[4], v[3], v[2]]]),
            _ => None,
        }
    }

    pub fn vectors(&self, key: &str) -> Option<Vec<[f64; 3]>> {
        let a = self.arrays.get(key)?;
        a.iter()
            .map(|r| (r.len() == 3).then(|| [r[0], r[1], r[2]]))
            .collect()
    }
}

/// Splits `key=value key2="a b c"` into pairs.
fn parse_info(line: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    value.push(c);
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        } else {
            value = "T".into();
        }
        out.insert(key, value);
    }
    out
}

pub fn read_extxyz(path: impl AsRef<Path>) -> Result<Vec<XyzFrame>> {
    let path: PathBuf = path.as_ref().to_owned();
    let (input, _) = crate::trajectory::open_maybe_gzip(&path)?;
    let err = |line: usize, what: String| ReadError::Format {
        path: path.clone(),
        location: format!("line {line}"),
        what,
    };
    let mut lines = input.lines().enumerate();
    let mut frames = Vec::new();
    let next = |lines: &mut dyn Iterator<Item = (usize, std::io::Result<String>)>| -> Result<Option<(usize, String)>> {
        match lines.next() {
            None => Ok(None),
            Some((k, Ok(l))) => Ok(Some((k + 1, l))),
            Some((_, Err(source))) => Err(ReadError::Io { path: path.clone(), source }),
        }
    };
    while let Some((ln, count)) = next(&mut lines)? {
        if count.trim().is_empty() {
            continue;
        }
        let n: usize = count.trim().parse().map_err(|_| {
            err(
                ln,
                format!("expected the number of atoms, found '{}'", count.trim()),
            )
        })?;
        let (ln2, comment) =
            next(&mut lines)?.ok_or_else(|| err(ln, "file ends after the atom count".into()))?;
        let info = parse_info(&comment);
        let lattice: Vec<f64> = info
            .get("Lattice")
            .ok_or_else(|| {
                err(
                    ln2,
                    "no Lattice=\"...\" (only periodic frames are supported)".into(),
                )
            })?
            .split_whitespace()
            .map(|v| v.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| err(ln2, "Lattice is not 9 numbers".into()))?;
        if lattice.len() != 9 {
            return Err(err(
                ln2,
                format!("Lattice has {} numbers, expected 9", lattice.len()),
            ));
        }
        let props = info
            .get("Properties")
            .cloned()
            .unwrap_or_else(|| "species:S:1:pos:R:3".into());
        let spec: Vec<&str> = props.split(':').collect();
        if !spec.len().is_multiple_of(3) {
            return Err(err(
                ln2,
                format!("Properties '{props}' is not name:type:width triples"),
            ));
        }
        let columns: Vec<(String, String, usize)> = spec
            .chunks(3)
            .map(|c| {
                Ok((
                    c[0].to_owned(),
                    c[1].to_owned(),
                    c[2].parse::<usize>()
                        .map_err(|_| err(ln2, format!("bad width in Properties '{props}'")))?,
                ))
            })
            .collect::<Result<_>>()?;
        let width: usize = columns.iter().map(|c| c.2).sum();
        let mut frame = XyzFrame {
            cell: [
                [lattice[0], lattice[1], lattice[2]],
                [lattice[3], lattice[4], lattice[5]],
                [lattice[6], lattice[7], lattice[8]],
            ],
            info,
            ..XyzFrame::default()
        };
        for _ in 0..n {
            let (la, line) = next(&mut lines)?.ok_or_else(|| {
                err(
                    ln,
                    format!("frame from line {ln} ends before its {n} atoms"),
                )
            })?;
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != width {
                return Err(err(
                    la,
                    format!("expected {width} columns ({props}), found {}", f.len()),
                ));
            }
            let mut k = 0;
            for (name, kind, w) in &columns {
                let field = &f[k..k + w];
                k += w;
                match (name.as_str(), kind.as_str()) {
                    ("species", _) => frame.symbols.push(field[0].to_owned()),
                    (_, "R") | (_, "I") => {
                        let v: Vec<f64> = field
                            .iter()
                            .map(|x| x.parse::<f64>().ok().filter(|v| v.is_finite()))
                            .collect::<Option<_>>()
                            .ok_or_else(|| {
                                err(
                                    la,
                                    format!(
                                        "column '{name}': expected numbers, found '{}'",
                                        field.join(" ")
                                    ),
                                )
                            })?;
                        if name == "pos" {
                            frame.positions.push([v[0], v[1], v[2]]);
                        } else {
                            frame.arrays.entry(name.clone()).or_default().push(v);
                        }
                    }
                    _ => {}
                }
            }
        }
        if frame.positions.len() != n || frame.symbols.len() != n {
            return Err(err(ln2, "frame lacks species or pos columns".into()));
        }
        frames.push(frame);
    }
    Ok(frames)
}
