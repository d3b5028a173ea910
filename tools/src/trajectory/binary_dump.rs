//! LAMMPS binary dumps (`dump atom/custom ... file.bin`), format revision 2 (LAMMPS >= 2021):
//! every frame repeats the header: -len(magic), "DUMPATOM"|"DUMPCUSTOM", endian flag (1),
//! revision, timestep, natoms, triclinic (0, 1, 2 = general), boundary[6], the box (6, 9 or 12
//! doubles), values per atom, units (length + text), time flag (+ time), column names (length +
//! text), then nchunk chunks of (count, doubles) with rows in any order. Native byte order.
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use super::text_dump::{find_columns, Columns};
use super::{Cell, Counter, Frame, FrameSource, ReadError, Result};

/// Streams the frames of a LAMMPS binary dump (format revision 2).
pub struct BinaryDumpReader {
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    counter: Counter,
    offset: u64,
    index: usize,
    truncated: Option<String>,
}

/// End of file inside a frame, or a real error.
enum Stop {
    Eof,
    Error(ReadError),
}

impl From<ReadError> for Stop {
    fn from(e: ReadError) -> Stop {
        Stop::Error(e)
    }
}

const MAX_ATOMS: i64 = 1 << 40;

impl BinaryDumpReader {
    /// A reader of the dump `input` (named `path` in errors); `counter` counts its bytes.
    pub(crate) fn new(
        path: &Path,
        input: Box<dyn BufRead + Send>,
        counter: Counter,
    ) -> Result<Self> {
        Ok(BinaryDumpReader {
            path: path.to_owned(),
            input,
            counter,
            offset: 0,
            index: 0,
            truncated: None,
        })
    }

    fn error(&self, what: String) -> Stop {
        Stop::Error(ReadError::Format {
            path: self.path.clone(),
            location: format!("frame {}, byte {}", self.index + 1, self.offset),
            what,
        })
    }

    fn bytes(&mut self, buf: &mut [u8]) -> std::result::Result<(), Stop> {
        match self.input.read_exact(buf) {
            Ok(()) => {
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Stop::Eof),
            Err(source) => Err(Stop::Error(ReadError::Io {
                path: self.path.clone(),
                source,
            })),
        }
    }

    fn i32(&mut self) -> std::result::Result<i32, Stop> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(i32::from_ne_bytes(b))
    }

    fn i64(&mut self) -> std::result::Result<i64, Stop> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(i64::from_ne_bytes(b))
    }

    /// Reads n doubles in blocks, so that a corrupt count cannot allocate more than the file holds.
    fn f64s(&mut self, n: usize) -> std::result::Result<Vec<f64>, Stop> {
        const BLOCK: usize = 1 << 16;
        let mut out = Vec::with_capacity(n.min(BLOCK));
        let mut raw = vec![0u8; 8 * n.min(BLOCK)];
        let mut left = n;
        while left > 0 {
            let k = left.min(BLOCK);
            self.bytes(&mut raw[..8 * k])?;
            out.extend(
                raw[..8 * k]
                    .chunks_exact(8)
                    .map(|c| f64::from_ne_bytes(c.try_into().unwrap())),
            );
            left -= k;
        }
        Ok(out)
    }

    fn text(&mut self, what: &str) -> std::result::Result<String, Stop> {
        let len = self.i32()?;
        if !(0..=1 << 20).contains(&len) {
            return Err(self.error(format!("implausible {what} length {len}")));
        }
        let mut b = vec![0u8; len as usize];
        self.bytes(&mut b)?;
        String::from_utf8(b).map_err(|_| self.error(format!("{what} is not text")))
    }

    fn frame(&mut self) -> std::result::Result<Frame, Stop> {
        self.magic()?;
        let _revision = self.i32()?;
        let timestep = self.i64()?;
        let natoms = self.i64()?;
        if !(0..MAX_ATOMS).contains(&natoms) {
            return Err(self.error(format!("implausible number of atoms {natoms}")));
        }
        let triclinic = self.i32()?;
        for _ in 0..6 {
            self.i32()?;
        }
        let cell = self.cell(triclinic)?;
        let size_one = self.i32()?;
        if !(1..=4096).contains(&size_one) {
            return Err(self.error(format!("implausible number of values per atom {size_one}")));
        }
        let size_one = size_one as usize;
        self.text("units")?;
        let mut flag = [0u8; 1];
        self.bytes(&mut flag)?;
        if flag[0] != 0 {
            self.f64s(1)?;
        }
        let names = self.text("column names")?;
        let names: Vec<&str> = names.split_whitespace().collect();
        if names.len() != size_one {
            return Err(self.error(format!(
                "{} column names for {size_one} values per atom",
                names.len()
            )));
        }
        let columns = find_columns(&names).map_err(|what| self.error(what))?;
        let values = self.chunks(natoms, size_one)?;
        let mut frame = Frame {
            timestep,
            cell,
            coordinates: Some(columns.coordinates),
            ..Frame::default()
        };
        let rows = self.rows(&values, size_one, &columns, &cell, natoms)?;
        if columns.element.is_some() {
            return Err(self.error("binary dumps cannot hold an element column".into()));
        }
        super::assemble(&mut frame, rows, columns.image.is_some())
            .map_err(|what| self.error(what))?;
        Ok(frame)
    }

    /// Checks the start of a frame: -len(magic), "DUMPATOM"|"DUMPCUSTOM", the endian flag.
    fn magic(&mut self) -> std::result::Result<(), Stop> {
        let first = self.i64()?;
        if first >= 0 {
            return Err(self.error(
                "binary dump without a magic string (LAMMPS before 2021, or not a dump): \
                 convert it with LAMMPS' binary2txt"
                    .into(),
            ));
        }
        let len = first.unsigned_abs() as usize;
        if len > 64 {
            return Err(self.error("not a LAMMPS dump (no ITEM: header, no binary magic)".into()));
        }
        let mut magic = vec![0u8; len];
        self.bytes(&mut magic)?;
        if magic != b"DUMPATOM" && magic != b"DUMPCUSTOM" {
            return Err(self.error(format!(
                "unknown binary dump kind '{}', expected DUMPATOM or DUMPCUSTOM",
                String::from_utf8_lossy(&magic)
            )));
        }
        if self.i32()? != 1 {
            return Err(
                self.error("written with a different byte order than this machine's".into())
            );
        }
        Ok(())
    }

    /// Reads the box (6, 9 or 12 doubles by the triclinic flag 0, 1, 2) and checks its volume.
    fn cell(&mut self, triclinic: i32) -> std::result::Result<Cell, Stop> {
        let cell = match triclinic {
            0 => {
                let b = self.f64s(6)?;
                Cell::from_lammps([b[0], b[2], b[4]], [b[1], b[3], b[5]], [0.0; 3])
            }
            1 => {
                let b = self.f64s(9)?;
                let (xy, xz, yz) = (b[6], b[7], b[8]);
                let lo = [
                    b[0] - 0f64.min(xy).min(xz).min(xy + xz),
                    b[2] - 0f64.min(yz),
                    b[4],
                ];
                let hi = [
                    b[1] - 0f64.max(xy).max(xz).max(xy + xz),
                    b[3] - 0f64.max(yz),
                    b[5],
                ];
                Cell::from_lammps(lo, hi, [xy, xz, yz])
            }
            2 => {
                let b = self.f64s(12)?;
                Cell {
                    h: [[b[0], b[1], b[2]], [b[3], b[4], b[5]], [b[6], b[7], b[8]]],
                    origin: [b[9], b[10], b[11]],
                }
            }
            other => return Err(self.error(format!("unknown triclinic flag {other}"))),
        };
        if !cell.is_valid() || cell.h.iter().flatten().any(|x| !x.is_finite()) {
            return Err(self.error("the box has zero, negative or non-finite volume".into()));
        }
        Ok(cell)
    }

    /// Reads the chunk count and the chunks: `natoms` rows of `size_one` values in all.
    fn chunks(&mut self, natoms: i64, size_one: usize) -> std::result::Result<Vec<f64>, Stop> {
        let nchunk = self.i32()?;
        if nchunk < 0 {
            return Err(self.error(format!("negative chunk count {nchunk}")));
        }
        // capacity capped: a corrupt header must not allocate before the data proves it
        let mut values = Vec::with_capacity((natoms as usize * size_one).min(1 << 24));
        for _ in 0..nchunk {
            let n = self.i32()?;
            if n < 0
                || !(n as usize).is_multiple_of(size_one)
                || values.len() + n as usize > natoms as usize * size_one
            {
                return Err(self.error(format!(
                    "chunk of {n} values does not fit {natoms} atoms x {size_one}"
                )));
            }
            values.extend(self.f64s(n as usize)?);
        }
        if values.len() != natoms as usize * size_one {
            return Err(self.error(format!(
                "chunks hold {} atoms, the header says {natoms}",
                values.len() / size_one
            )));
        }
        Ok(values)
    }

    /// Converts the per-atom values into rows; scaled positions become Cartesian in `cell`.
    fn rows(
        &self,
        values: &[f64],
        size_one: usize,
        columns: &Columns,
        cell: &Cell,
        natoms: i64,
    ) -> std::result::Result<Vec<super::Row<'static>>, Stop> {
        let mut rows = Vec::with_capacity((natoms as usize).min(1 << 22));
        let int = |v: f64, what: &str| -> std::result::Result<i64, String> {
            if v.fract() == 0.0 && v.abs() < 9e15 {
                Ok(v as i64)
            } else {
                Err(format!("column '{what}': expected an integer, found {v}"))
            }
        };
        for row in values.chunks_exact(size_one) {
            let conv = || -> std::result::Result<super::Row<'static>, String> {
                let id = int(row[columns.id], "id")?;
                let kind = match columns.kind {
                    Some(c) => i32::try_from(int(row[c], "type")?)
                        .ok()
                        .filter(|t| *t > 0)
                        .ok_or("column 'type': expected a positive type")?,
                    None => 0,
                };
                let mut p = columns.pos.map(|c| row[c]);
                if p.iter().any(|x| !x.is_finite()) {
                    return Err(format!("atom {id}: non-finite position"));
                }
                if columns.scaled {
                    p = cell.to_cartesian(p);
                }
                let mut image = [0i32; 3];
                if let Some(c) = columns.image {
                    for d in 0..3 {
                        image[d] = i32::try_from(int(row[c[d]], "image flag")?)
                            .map_err(|_| "image flag out of range")?;
                    }
                }
                Ok((id, kind, None, p, image))
            };
            rows.push(conv().map_err(|what| self.error(what))?);
        }
        Ok(rows)
    }
}

impl FrameSource for BinaryDumpReader {
    fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.truncated.is_some() {
            return Ok(None);
        }
        let start = self.offset;
        // a clean end of file is no bytes at all where a frame would start
        let at_end = self
            .input
            .fill_buf()
            .map_err(|source| ReadError::Io {
                path: self.path.clone(),
                source,
            })?
            .is_empty();
        if at_end {
            return Ok(None);
        }
        match self.frame() {
            Ok(frame) => {
                self.index += 1;
                Ok(Some(frame))
            }
            Err(Stop::Eof) => {
                self.truncated = Some(format!(
                    "{}: frame {} (from byte {start}) ends early: dropped",
                    self.path.display(),
                    self.index + 1
                ));
                Ok(None)
            }
            Err(Stop::Error(e)) => Err(e),
        }
    }

    fn truncated(&self) -> Option<&str> {
        self.truncated.as_deref()
    }

    fn bytes_read(&self) -> u64 {
        self.counter.load(std::sync::atomic::Ordering::Relaxed)
    }
}
