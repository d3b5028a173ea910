//! LAMMPS text dumps (`dump custom`, `dump atom`), plain or gzip-compressed. Frames are split
//! sequentially and parsed in parallel batches.
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{Cell, Coordinates, Counter, Frame, FrameSource, ReadError, Result};

const BATCH: usize = 32;
/// No line of a LAMMPS text dump comes near this; a file of NULs or binary junk stops here.
const MAX_LINE: usize = 1 << 20;

/// Streams the frames of a LAMMPS text dump (plain or gzip).
pub struct TextDumpReader {
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    counter: Counter,
    line: u64,
    index: usize,
    ready: VecDeque<Frame>,
    truncated: Option<String>,
    damage: Option<String>,
    eof: bool,
}

/// The text of one frame, not yet parsed.
struct RawFrame {
    index: usize,
    first_line: u64,
    text: Vec<u8>,
}

impl TextDumpReader {
    /// A reader of the dump `input` (named `path` in errors); `counter` counts its bytes.
    pub(crate) fn new(path: &Path, input: Box<dyn BufRead + Send>, counter: Counter) -> Self {
        TextDumpReader {
            path: path.to_owned(),
            input,
            counter,
            line: 0,
            index: 0,
            ready: VecDeque::new(),
            truncated: None,
            damage: None,
            eof: false,
        }
    }

    fn error(&self, location: String, what: String) -> ReadError {
        ReadError::Format {
            path: self.path.clone(),
            location,
            what,
        }
    }

    /// Appends one line (with its newline) to `text`: Some(true) for a whole line, Some(false)
    /// for a last line without newline, None at the end of the file. Damage that ends the
    /// readable part (a cut gzip stream, NUL bytes from a pre-allocated file) is recorded in
    /// `damage` and reads as the end of the file, so the frames before it are kept.
    fn read_line(&mut self, text: &mut Vec<u8>) -> Result<Option<bool>> {
        if self.damage.is_some() {
            return Ok(None);
        }
        let start = text.len();
        let read = (&mut self.input)
            .take(MAX_LINE as u64)
            .read_until(b'\n', text);
        let n = match read {
            Ok(n) => n,
            // flate2 reports a gzip stream cut short as UnexpectedEof
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.damage = Some(format!(
                    "the compressed stream ends early after line {}",
                    self.line
                ));
                return Ok(None);
            }
            Err(source) => {
                return Err(ReadError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        if n == 0 {
            return Ok(None);
        }
        if text[start..].contains(&0) {
            self.damage = Some(format!("NUL bytes from line {} on", self.line + 1));
            return Ok(None);
        }
        self.line += 1;
        let whole = text[start..].ends_with(b"\n");
        if !whole && n == MAX_LINE {
            return Err(self.error(
                format!("line {}", self.line),
                format!(
                    "a line longer than {} bytes: not a LAMMPS text dump",
                    MAX_LINE
                ),
            ));
        }
        Ok(Some(whole))
    }

    /// Reads the text of the next frame. None at a clean end of file; sets `truncated` when
    /// the file ends inside a frame.
    fn split(&mut self) -> Result<Option<RawFrame>> {
        let first_line = self.line + 1;
        let index = self.index;
        let mut text = Vec::with_capacity(4096);
        let mut n_atoms: Option<usize> = None;
        let mut expect_count = false;
        let cut = |me: &mut Self, what: &str| {
            let what = me.damage.take().unwrap_or_else(|| what.to_owned());
            me.truncated = Some(format!(
                "{}: frame {} (from line {first_line}) ends early ({what}): dropped",
                me.path.display(),
                index + 1
            ));
            Ok(None)
        };
        // header items up to and including "ITEM: ATOMS ..."
        loop {
            let start = text.len();
            match self.read_line(&mut text)? {
                None if start == 0 => {
                    if let Some(damage) = self.damage.take() {
                        self.truncated = Some(format!(
                            "{}: {damage}: read up to frame {index}",
                            self.path.display()
                        ));
                    }
                    return Ok(None);
                }
                None => return cut(self, "end of file in the header"),
                Some(false) => return cut(self, "last line has no newline"),
                Some(true) => {}
            }
            let line = String::from_utf8_lossy(&text[start..]).trim().to_string();
            if expect_count {
                n_atoms = Some(line.parse().map_err(|_| {
                    self.error(
                        format!("frame {}, line {}", index + 1, self.line),
                        format!("expected the number of atoms, found '{line}'"),
                    )
                })?);
                expect_count = false;
            } else if line == "ITEM: NUMBER OF ATOMS" {
                expect_count = true;
            } else if line.starts_with("ITEM: ATOMS") {
                break;
            }
            if text.len() > (1 << 16) && n_atoms.is_none() {
                return Err(self.error(
                    format!("frame {}, line {}", index + 1, self.line),
                    "no 'ITEM: NUMBER OF ATOMS' in the frame header: not a LAMMPS text dump".into(),
                ));
            }
        }
        let n_atoms = n_atoms.ok_or_else(|| {
            self.error(
                format!("frame {}, line {}", index + 1, self.line),
                "'ITEM: ATOMS' before 'ITEM: NUMBER OF ATOMS'".into(),
            )
        })?;
        for k in 0..n_atoms {
            match self.read_line(&mut text)? {
                None => {
                    return cut(self, &format!("{k} of {n_atoms} atom lines"));
                }
                Some(false) => return cut(self, "last line has no newline"),
                Some(true) => {}
            }
        }
        self.index += 1;
        Ok(Some(RawFrame {
            index,
            first_line,
            text,
        }))
    }

    fn fill(&mut self) -> Result<()> {
        let mut raw = Vec::with_capacity(BATCH);
        while raw.len() < BATCH && !self.eof {
            match self.split()? {
                Some(r) => raw.push(r),
                None => self.eof = true,
            }
        }
        let parsed: Vec<Result<Frame>> =
            raw.par_iter().map(|r| parse_frame(&self.path, r)).collect();
        for frame in parsed {
            self.ready.push_back(frame?);
        }
        Ok(())
    }
}

impl FrameSource for TextDumpReader {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.ready.is_empty() && !self.eof {
            self.fill()?;
        }
        Ok(self.ready.pop_front())
    }

    fn truncated(&self) -> Option<&str> {
        self.truncated.as_deref()
    }

    fn bytes_read(&self) -> u64 {
        self.counter.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Which columns hold what.
pub(super) struct Columns {
    /// Number of columns.
    pub count: usize,
    /// The column names, space-separated (for errors).
    pub names: String,
    /// Column of the atom id.
    pub id: usize,
    /// Column of the LAMMPS type, if any.
    pub kind: Option<usize>,
    /// Column of the element name, if any.
    pub element: Option<usize>,
    /// Columns of the three position components.
    pub pos: [usize; 3],
    /// Whether the positions are fractional (xs, xsu).
    pub scaled: bool,
    /// Whether the positions are wrapped or unwrapped.
    pub coordinates: Coordinates,
    /// Columns of the image flags ix iy iz, if all three are there.
    pub image: Option<[usize; 3]>,
}

/// Finds the columns from the names after `ITEM: ATOMS`: id, type and/or element, and the
/// first complete set of positions; an error says what is missing.
pub(super) fn find_columns(names: &[&str]) -> std::result::Result<Columns, String> {
    let find = |n: &str| names.iter().position(|c| *c == n);
    let id = find("id").ok_or("no 'id' column")?;
    let kind = find("type");
    let element = find("element");
    if kind.is_none() && element.is_none() {
        return Err("neither a 'type' nor an 'element' column".into());
    }
    let sets = [
        (["x", "y", "z"], false, Coordinates::Wrapped),
        (["xu", "yu", "zu"], false, Coordinates::Unwrapped),
        (["xs", "ys", "zs"], true, Coordinates::Wrapped),
        (["xsu", "ysu", "zsu"], true, Coordinates::Unwrapped),
    ];
    let (pos, scaled, coordinates) = sets
        .iter()
        .find_map(|(set, scaled, c)| {
            let p = [find(set[0])?, find(set[1])?, find(set[2])?];
            Some((p, *scaled, *c))
        })
        .ok_or("no complete set of position columns (x y z, xu yu zu, xs ys zs or xsu ysu zsu)")?;
    let image = match (find("ix"), find("iy"), find("iz")) {
        (Some(a), Some(b), Some(c)) => Some([a, b, c]),
        _ => None,
    };
    Ok(Columns {
        count: names.len(),
        names: names.join(" "),
        id,
        kind,
        element,
        pos,
        scaled,
        coordinates,
        image,
    })
}

/// The lines of one raw frame, numbered as in the file.
struct FrameText<'a> {
    path: &'a Path,
    raw: &'a RawFrame,
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
}

/// What the header items of a frame said, up to and including `ITEM: ATOMS`.
struct Header {
    timestep: Option<i64>,
    n_atoms: usize,
    cell: Option<Cell>,
    columns: Columns,
    /// Line of `ITEM: ATOMS`, where errors about the frame as a whole point.
    line_no: u64,
}

/// A format error at `line` of the frame `raw`.
fn frame_error(path: &Path, raw: &RawFrame, line: u64, what: String) -> ReadError {
    ReadError::Format {
        path: path.to_owned(),
        location: format!("frame {}, line {line}", raw.index + 1),
        what,
    }
}

impl<'a> FrameText<'a> {
    fn err(&self, line: u64, what: String) -> ReadError {
        frame_error(self.path, self.raw, line, what)
    }

    /// The next line and its number in the file; `what` names what was expected there.
    fn next(&mut self, what: &str) -> Result<(u64, &'a str)> {
        match self.lines.next() {
            Some((k, l)) => Ok((self.raw.first_line + k as u64, l)),
            None => Err(self.err(self.raw.first_line, format!("frame ends before {what}"))),
        }
    }
}

fn parse_frame(path: &Path, raw: &RawFrame) -> Result<Frame> {
    let text = std::str::from_utf8(&raw.text).map_err(|_| ReadError::Format {
        path: path.to_owned(),
        location: format!("frame {} (from line {})", raw.index + 1, raw.first_line),
        what: "not UTF-8 text".into(),
    })?;
    let mut text = FrameText {
        path,
        raw,
        lines: text.lines().enumerate(),
    };
    let header = parse_header(&mut text)?;
    let line_no = header.line_no;
    let err = |line: u64, what: String| frame_error(path, raw, line, what);
    let timestep = header
        .timestep
        .ok_or_else(|| err(line_no, "no 'ITEM: TIMESTEP' in the header".into()))?;
    let cell = header
        .cell
        .ok_or_else(|| err(line_no, "no 'ITEM: BOX BOUNDS' in the header".into()))?;
    if !cell.is_valid() {
        return Err(err(line_no, "the box has zero or negative volume".into()));
    }
    let mut frame = Frame {
        timestep,
        cell,
        coordinates: Some(header.columns.coordinates),
        ..Frame::default()
    };
    let rows = parse_atoms(text, &header.columns, &frame.cell, header.n_atoms)?;
    if rows.len() != header.n_atoms {
        return Err(err(
            line_no,
            format!(
                "expected {} atom lines, found {}",
                header.n_atoms,
                rows.len()
            ),
        ));
    }
    super::assemble(&mut frame, rows, header.columns.image.is_some())
        .map_err(|what| err(line_no, what))?;
    Ok(frame)
}

/// Reads the header items of a frame up to and including `ITEM: ATOMS`.
fn parse_header(text: &mut FrameText<'_>) -> Result<Header> {
    let mut timestep = None;
    let mut n_atoms = 0usize;
    let mut cell = None;
    loop {
        let (ln, line) = text.next("'ITEM: ATOMS'")?;
        let item = line.trim();
        if item == "ITEM: TIMESTEP" {
            let (ln, v) = text.next("the timestep")?;
            timestep = Some(v.trim().parse::<i64>().map_err(|_| {
                text.err(
                    ln,
                    format!("expected a timestep (integer), found '{}'", v.trim()),
                )
            })?);
        } else if item == "ITEM: UNITS" || item == "ITEM: TIME" {
            text.next("the value")?;
        } else if item == "ITEM: NUMBER OF ATOMS" {
            let (_, v) = text.next("the number of atoms")?;
            n_atoms = v.trim().parse().unwrap_or(0);
        } else if let Some(flags) = item.strip_prefix("ITEM: BOX BOUNDS") {
            cell = Some(parse_box(text, flags)?);
        } else if let Some(names) = item.strip_prefix("ITEM: ATOMS") {
            let names: Vec<&str> = names.split_whitespace().collect();
            let columns = find_columns(&names).map_err(|what| text.err(ln, what))?;
            return Ok(Header {
                timestep,
                n_atoms,
                cell,
                columns,
                line_no: ln,
            });
        } else {
            return Err(text.err(
                ln,
                format!("expected an 'ITEM:' header line, found '{item}'"),
            ));
        }
    }
}

/// Reads the three lines after `ITEM: BOX BOUNDS <flags>` into a cell: orthogonal (lo hi),
/// restricted triclinic (lo hi tilt, bounds including the tilt) or general (a b c origin).
fn parse_box(text: &mut FrameText<'_>, flags: &str) -> Result<Cell> {
    let mut rows = [[0.0f64; 4]; 3];
    let words: Vec<&str> = flags.split_whitespace().collect();
    let (general, triclinic) = (words.contains(&"abc"), words.contains(&"xy"));
    let width = if general {
        4
    } else if triclinic {
        3
    } else {
        2
    };
    for row in rows.iter_mut() {
        let (ln, v) = text.next("the box bounds")?;
        let values: Vec<f64> = v
            .split_whitespace()
            .map(|x| x.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                text.err(
                    ln,
                    format!("expected {width} numbers for the box, found '{}'", v.trim()),
                )
            })?;
        if values.len() != width || values.iter().any(|x| !x.is_finite()) {
            return Err(text.err(
                ln,
                format!(
                    "expected {width} finite numbers for the box, found '{}'",
                    v.trim()
                ),
            ));
        }
        row[..width].copy_from_slice(&values);
    }
    Ok(if general {
        Cell {
            h: [0, 1, 2].map(|k| [rows[k][0], rows[k][1], rows[k][2]]),
            origin: [rows[0][3], rows[1][3], rows[2][3]],
        }
    } else if triclinic {
        // bounds include the tilt: undo as LAMMPS documents for dump files
        let (xy, xz, yz) = (rows[0][2], rows[1][2], rows[2][2]);
        let lo = [
            rows[0][0] - 0f64.min(xy).min(xz).min(xy + xz),
            rows[1][0] - 0f64.min(yz),
            rows[2][0],
        ];
        let hi = [
            rows[0][1] - 0f64.max(xy).max(xz).max(xy + xz),
            rows[1][1] - 0f64.max(yz),
            rows[2][1],
        ];
        Cell::from_lammps(lo, hi, [xy, xz, yz])
    } else {
        Cell::from_lammps(
            [rows[0][0], rows[1][0], rows[2][0]],
            [rows[0][1], rows[1][1], rows[2][1]],
            [0.0; 3],
        )
    })
}

/// Parses the atom lines left in `text`, in file order; scaled positions become Cartesian.
fn parse_atoms<'a>(
    text: FrameText<'a>,
    columns: &Columns,
    cell: &Cell,
    n_atoms: usize,
) -> Result<Vec<super::Row<'a>>> {
    let FrameText { path, raw, lines } = text;
    let mut rows: Vec<super::Row<'a>> = Vec::with_capacity(n_atoms.min(1 << 22));
    let mut fields: Vec<&'a str> = Vec::with_capacity(columns.count);
    for (k, line) in lines {
        let ln = raw.first_line + k as u64;
        fields.clear();
        fields.extend(line.split_ascii_whitespace());
        if fields.len() != columns.count {
            return Err(frame_error(
                path,
                raw,
                ln,
                format!(
                    "expected {} columns ({}), found {}",
                    columns.count,
                    columns.names,
                    fields.len()
                ),
            ));
        }
        rows.push(parse_row(path, raw, ln, &fields, columns, cell)?);
    }
    Ok(rows)
}

/// One atom line, split into `fields` (as many as `columns.count`), at line `ln`.
fn parse_row<'a>(
    path: &Path,
    raw: &RawFrame,
    ln: u64,
    fields: &[&'a str],
    columns: &Columns,
    cell: &Cell,
) -> Result<super::Row<'a>> {
    let err = |what: String| frame_error(path, raw, ln, what);
    let num = |c: usize, what: &str| -> Result<f64> {
        let v = fields[c].parse::<f64>().ok().filter(|v| v.is_finite());
        v.ok_or_else(|| {
            err(format!(
                "column '{what}': expected a number, found '{}'",
                fields[c]
            ))
        })
    };
    let int = |c: usize, what: &str| -> Result<i64> {
        fields[c].parse::<i64>().map_err(|_| {
            err(format!(
                "column '{what}': expected an integer, found '{}'",
                fields[c]
            ))
        })
    };
    let id = int(columns.id, "id")?;
    let kind = match columns.kind {
        Some(c) => i32::try_from(int(c, "type")?)
            .ok()
            .filter(|t| *t > 0)
            .ok_or_else(|| {
                err(format!(
                    "column 'type': expected a positive type, found '{}'",
                    fields[c]
                ))
            })?,
        None => 0,
    };
    let mut p = [
        num(columns.pos[0], "x")?,
        num(columns.pos[1], "y")?,
        num(columns.pos[2], "z")?,
    ];
    if columns.scaled {
        p = cell.to_cartesian(p);
    }
    let image = match columns.image {
        Some(c) => {
            let mut im = [0i32; 3];
            for d in 0..3 {
                im[d] = i32::try_from(int(c[d], "image flag")?)
                    .map_err(|_| err("image flag out of range".into()))?;
            }
            im
        }
        None => [0; 3],
    };
    Ok((id, kind, columns.element.map(|c| fields[c]), p, image))
}
