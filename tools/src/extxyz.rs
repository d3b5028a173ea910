//! Extended XYZ (the ASE convention), plain or gzip: Lattice, Properties (species, pos and any
//! per-atom columns), and per-frame values such as energy and stress (9 or 6 values, eV/A^3).
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::trajectory::{ReadError, Result};

/// One frame of an extended XYZ file.
#[derive(Clone, Debug, Default)]
pub struct XyzFrame {
    /// Rows are the cell vectors, A.
    pub cell: [[f64; 3]; 3],
    /// Element symbol of each atom (the species column).
    pub symbols: Vec<String>,
    /// Cartesian positions (the pos column), A.
    pub positions: Vec<[f64; 3]>,
    /// Per-frame key=value pairs, raw text (quotes removed).
    pub info: HashMap<String, String>,
    /// Per-atom real columns other than pos, by name (e.g. "forces" -> N x width).
    pub arrays: HashMap<String, Vec<Vec<f64>>>,
}

impl XyzFrame {
    /// A per-frame value as a number (e.g. `energy`); None if absent or not a number.
    pub fn float(&self, key: &str) -> Option<f64> {
        self.info.get(key)?.trim().parse().ok()
    }

    /// A per-frame value as whitespace-separated numbers; None if absent or any is not a number.
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

    /// A per-atom column of width 3 (e.g. `forces`); None if absent or of another width.
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

/// The frames of a file and, when it ends inside a frame (a cut copy, a gzip stream cut short),
/// a note saying so: the complete frames before the cut are kept, the cut one is dropped.
#[derive(Debug)]
pub struct XyzFile {
    /// The complete frames, in file order.
    pub frames: Vec<XyzFrame>,
    /// Where and why the file is cut, if it is.
    pub truncated: Option<String>,
}

/// Whether an ASE `pbc` value ("T T T", "True False True", "1 1 0") is periodic in all three
/// directions; `None` when it is not three booleans.
fn fully_periodic(pbc: &str) -> Option<bool> {
    let flags: Vec<bool> = pbc
        .split_whitespace()
        .map(|f| match f.to_ascii_lowercase().as_str() {
            "t" | "true" | "1" => Some(true),
            "f" | "false" | "0" => Some(false),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (flags.len() == 3).then(|| flags.iter().all(|&f| f))
}

/// One Properties column: name, type letter (S, R, I, L) and width.
type Column = (String, String, usize);

/// The lines of a file as `lines()` gives them, numbered from 1, noting a last line without
/// newline and where the readable part ends early.
struct XyzLines {
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    /// Lines handed out so far, a read error counting as one.
    read: usize,
    /// Whether a line had no newline (a cut file).
    unterminated: bool,
    /// A read error (a gzip stream cut short) or the end of the file inside a frame is a cut:
    /// noted here, and the frames before it kept.
    cut: Option<String>,
}

impl XyzLines {
    fn err(&self, line: usize, what: String) -> ReadError {
        ReadError::Format {
            path: self.path.clone(),
            location: format!("line {line}"),
            what,
        }
    }

    /// The next line and its number; None at the end of the file or at a read error, which
    /// is noted as the cut.
    fn next(&mut self) -> Option<(usize, String)> {
        let mut buf = String::new();
        let k = self.read;
        match self.input.read_line(&mut buf) {
            Ok(0) => None,
            Ok(_) => {
                self.read += 1;
                match buf.strip_suffix('\n') {
                    Some(l) => buf.truncate(l.trim_end_matches('\r').len()),
                    None => self.unterminated = true,
                }
                Some((k + 1, buf))
            }
            Err(source) => {
                self.read += 1;
                self.cut = Some(format!("line {}: {source}", k + 1));
                None
            }
        }
    }

    /// Notes that the file ends inside a frame, unless a cut is noted already.
    fn ends(&mut self, ln: usize, what: &str) {
        self.cut.get_or_insert_with(|| format!("line {ln}: {what}"));
    }
}

/// Reads an extended XYZ file (plain or gzip); a cut last frame is dropped and noted.
pub fn read_extxyz(path: impl AsRef<Path>) -> Result<XyzFile> {
    let path: PathBuf = path.as_ref().to_owned();
    let (input, _) = crate::trajectory::open_maybe_gzip(&path)?;
    let mut lines = XyzLines {
        path,
        input,
        read: 0,
        unterminated: false,
        cut: None,
    };
    let mut frames = Vec::new();
    while let Some((ln, count)) = lines.next() {
        if count.trim().is_empty() {
            continue;
        }
        let n: usize = count.trim().parse().map_err(|_| {
            lines.err(
                ln,
                format!("expected the number of atoms, found '{}'", count.trim()),
            )
        })?;
        match read_frame(&mut lines, ln, n)? {
            Some(frame) => frames.push(frame),
            None => break,
        }
    }
    let truncated = lines.cut.take().map(|what| {
        format!(
            "{} is cut ({what}): using the {} complete frame(s) before it",
            lines.path.display(),
            frames.len()
        )
    });
    Ok(XyzFile { frames, truncated })
}

/// Reads the frame whose atom count `n` stood on line `ln`; None when the file ends inside it.
fn read_frame(lines: &mut XyzLines, ln: usize, n: usize) -> Result<Option<XyzFrame>> {
    let Some((ln2, comment)) = lines.next() else {
        lines.ends(ln, "the file ends after the atom count");
        return Ok(None);
    };
    let info = parse_info(&comment);
    let (cell, props, columns) = frame_layout(lines, ln2, &info)?;
    let width: usize = columns.iter().map(|c| c.2).sum();
    let mut frame = XyzFrame {
        cell,
        info,
        ..XyzFrame::default()
    };
    for _ in 0..n {
        let Some((la, line)) = lines.next() else {
            lines.ends(
                ln,
                &format!("the frame from line {ln} ends before its {n} atoms"),
            );
            return Ok(None);
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != width && lines.unterminated {
            lines.ends(la, "the last line is cut");
            return Ok(None);
        }
        if f.len() != width {
            return Err(lines.err(
                la,
                format!("expected {width} columns ({props}), found {}", f.len()),
            ));
        }
        read_atom(&mut frame, &f, &columns, la, lines)?;
    }
    if frame.positions.len() != n || frame.symbols.len() != n {
        return Err(lines.err(ln2, "frame lacks species or pos columns".into()));
    }
    Ok(Some(frame))
}

/// From the comment line `ln2` (parsed into `info`): the cell (rows a, b, c in A), the
/// Properties text and its columns. Refuses frames that are not periodic in all directions.
fn frame_layout(
    lines: &XyzLines,
    ln2: usize,
    info: &HashMap<String, String>,
) -> Result<([[f64; 3]; 3], String, Vec<Column>)> {
    let err = |line: usize, what: String| lines.err(line, what);
    if let Some(pbc) = info.get("pbc") {
        if fully_periodic(pbc) != Some(true) {
            return Err(err(
                ln2,
                format!(
                    "pbc=\"{pbc}\": only frames periodic in all three directions are \
                     supported (a cluster or slab needs a vacuum-padded periodic cell)"
                ),
            ));
        }
    }
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
    let columns: Vec<Column> = spec
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
    let cell = [
        [lattice[0], lattice[1], lattice[2]],
        [lattice[3], lattice[4], lattice[5]],
        [lattice[6], lattice[7], lattice[8]],
    ];
    Ok((cell, props, columns))
}

/// Adds the atom on line `la` (split into `f`, one field per column width) to `frame`.
fn read_atom(
    frame: &mut XyzFrame,
    f: &[&str],
    columns: &[Column],
    la: usize,
    lines: &XyzLines,
) -> Result<()> {
    let mut k = 0;
    for (name, kind, w) in columns {
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
                        lines.err(
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn frames(n: usize) -> String {
        (0..n)
            .map(|k| {
                format!(
                    "2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 energy={k}.5 pbc=\"T T T\"\n\
                     Na 0 0 0\nS 1.2 0.3 {k}\n"
                )
            })
            .collect()
    }

    #[test]
    fn a_cut_file_keeps_its_complete_frames_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let text = frames(3);
        let cut_at = text.len() - 10; // inside the third frame
        let plain = dir.path().join("cut.xyz");
        std::fs::write(&plain, &text[..cut_at]).unwrap();
        let file = read_extxyz(&plain).unwrap();
        assert_eq!(file.frames.len(), 2);
        assert_eq!(file.frames[1].float("energy"), Some(1.5));
        let note = file.truncated.unwrap();
        assert!(note.contains("using the 2 complete frame(s)"), "{note}");
        // the gzip stream itself cut short
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(frames(40).as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        let gzip = dir.path().join("cut.xyz.gz");
        std::fs::write(&gzip, &bytes[..bytes.len() * 3 / 4]).unwrap();
        let file = read_extxyz(&gzip).unwrap();
        assert!(file.frames.len() >= 20, "{} frames", file.frames.len());
        assert!(file.truncated.is_some());
        for (k, f) in file.frames.iter().enumerate() {
            assert_eq!(f.positions[1][2], k as f64);
        }
        // a whole file has no note
        std::fs::write(&plain, frames(3)).unwrap();
        assert!(read_extxyz(&plain).unwrap().truncated.is_none());
    }

    #[test]
    fn non_periodic_frames_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.xyz");
        for (pbc, ok) in [
            ("T T T", true),
            ("True True True", true),
            ("F F F", false),
            ("T T F", false),
            ("yes", false),
        ] {
            std::fs::write(&path, frames(1).replace("T T T", pbc)).unwrap();
            match read_extxyz(&path) {
                Ok(f) => assert!(ok && f.frames.len() == 1, "{pbc}"),
                Err(e) => {
                    assert!(!ok, "{pbc}: {e}");
                    assert!(
                        e.to_string().contains("only frames periodic in all three"),
                        "{e}"
                    );
                }
            }
        }
    }
}
