//! LAMMPS output: dumps (text, gzip-compressed text, binary) and log files.
//!
//! Readers stream frames; rows are sorted by atom id; a truncated last frame is reported
//! (`truncated()`) and dropped, never used; any other malformed input is an error naming the
//! file, the frame and line, and what was expected.
mod binary_dump;
pub mod cell;
pub mod log;
mod text_dump;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub use binary_dump::BinaryDumpReader;
pub use cell::Cell;
pub use text_dump::TextDumpReader;

/// Why a dump, log or structure file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The content is not what the format allows.
    #[error("{path}: {location}: {what}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Where in the file: frame, line or byte.
        location: String,
        /// What was expected and what was found.
        what: String,
    },
}

/// Result of reading trajectory and structure files.
pub type Result<T> = std::result::Result<T, ReadError>;

/// Whether positions are wrapped into the box (x, xs) or unwrapped by LAMMPS (xu, xsu).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coordinates {
    /// Wrapped into the box (x y z or xs ys zs).
    Wrapped,
    /// Unwrapped by LAMMPS with image flags (xu yu zu or xsu ysu zsu).
    Unwrapped,
}

/// One snapshot, rows sorted by atom id. Positions are Cartesian (A) whatever the columns were.
#[derive(Clone, Debug, Default)]
pub struct Frame {
    /// The dump's TIMESTEP (MD steps, not time).
    pub timestep: i64,
    /// The simulation box, A.
    pub cell: Cell,
    /// Atom ids, ascending.
    pub ids: Vec<i64>,
    /// LAMMPS types; 0 where the dump has only an element column.
    pub types: Vec<i32>,
    /// Element of each atom as an index into `element_names` (empty without an element column).
    pub elements: Vec<u16>,
    /// Distinct element names, in order of first appearance (by id).
    pub element_names: Vec<String>,
    /// Cartesian positions, A.
    pub positions: Vec<[f64; 3]>,
    /// Whether the dump had wrapped or unwrapped position columns (set by the dump readers).
    pub coordinates: Option<Coordinates>,
    /// Image flags, if the dump has ix iy iz.
    pub images: Option<Vec<[i32; 3]>>,
}

impl Frame {
    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the frame has no atoms.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Element name of atom `i`, if the dump has an element column.
    pub fn element(&self, i: usize) -> Option<&str> {
        self.elements
            .get(i)
            .map(|&e| self.element_names[e as usize].as_str())
    }
}

/// A source of frames: text or binary dump, optionally gzip-compressed.
pub trait FrameSource {
    /// The next frame, or None at the end.
    fn next_frame(&mut self) -> Result<Option<Frame>>;
    /// Why the last frame was dropped, if the file ends inside it.
    fn truncated(&self) -> Option<&str>;
    /// Bytes of the (possibly compressed) file consumed so far, for progress bars.
    fn bytes_read(&self) -> u64;
}

/// Counts bytes read from the underlying file (before decompression).
pub(crate) struct Counted<R> {
    inner: R,
    /// Bytes read so far, shared with the reader's owner.
    pub count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// A shared count of bytes read from a file.
pub(crate) type Counter = std::sync::Arc<std::sync::atomic::AtomicU64>;

/// Opens a file, transparently decompressing gzip; returns the reader and a byte counter.
pub fn open_maybe_gzip(path: &Path) -> Result<(Box<dyn BufRead + Send>, Counter)> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let count: Counter = Default::default();
    let mut buffered = BufReader::with_capacity(
        1 << 20,
        Counted {
            inner: file,
            count: count.clone(),
        },
    );
    let magic = buffered.fill_buf().map_err(io)?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(buffered);
        Ok((Box::new(BufReader::with_capacity(1 << 20, gz)), count))
    } else {
        Ok((Box::new(buffered), count))
    }
}

/// Opens a dump of any supported kind, detected from its content.
pub fn open_dump(path: impl AsRef<Path>) -> Result<Box<dyn FrameSource>> {
    let path = path.as_ref();
    let (input, count) = open_maybe_gzip(path)?;
    dump_from(path, input, count)
}

/// A dump held in memory (fuzzing, tests); `label` names it in errors.
pub fn dump_from_bytes(label: &str, bytes: Vec<u8>) -> Result<Box<dyn FrameSource>> {
    let count: Counter = Default::default();
    let input: Box<dyn BufRead + Send> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            std::io::Cursor::new(bytes),
        )))
    } else {
        Box::new(std::io::Cursor::new(bytes))
    };
    dump_from(Path::new(label), input, count)
}

fn dump_from(
    path: &Path,
    mut input: Box<dyn BufRead + Send>,
    count: Counter,
) -> Result<Box<dyn FrameSource>> {
    let head = input.fill_buf().map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    if head.is_empty() {
        return Err(ReadError::Format {
            path: path.to_owned(),
            location: "line 1".into(),
            what: "the file is empty, expected a LAMMPS dump".into(),
        });
    }
    if head.starts_with(b"ITEM:") {
        Ok(Box::new(TextDumpReader::new(path, input, count)))
    } else {
        Ok(Box::new(BinaryDumpReader::new(path, input, count)?))
    }
}

/// One parsed row: id, type, element name, Cartesian position, image flags.
pub(crate) type Row<'a> = (i64, i32, Option<&'a str>, [f64; 3], [i32; 3]);

/// Sorts rows by id into `frame`, refusing duplicate ids.
pub(crate) fn assemble(
    frame: &mut Frame,
    mut rows: Vec<Row<'_>>,
    has_images: bool,
) -> std::result::Result<(), String> {
    rows.sort_unstable_by_key(|r| r.0);
    if let Some(w) = rows.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("atom id {} appears twice", w[0].0));
    }
    frame.ids = rows.iter().map(|r| r.0).collect();
    frame.types = rows.iter().map(|r| r.1).collect();
    frame.positions = rows.iter().map(|r| r.3).collect();
    if has_images {
        frame.images = Some(rows.iter().map(|r| r.4).collect());
    }
    if rows.iter().any(|r| r.2.is_some()) {
        for r in &rows {
            let name = r.2.unwrap_or_default();
            let e = match frame.element_names.iter().position(|n| n == name) {
                Some(e) => e,
                None => {
                    frame.element_names.push(name.to_owned());
                    frame.element_names.len() - 1
                }
            };
            frame.elements.push(e as u16);
        }
    }
    Ok(())
}

/// Reads every frame of a dump (small files, tests); a truncated last frame is dropped.
pub fn read_all(path: impl AsRef<Path>) -> Result<Vec<Frame>> {
    let path = path.as_ref();
    let mut source = open_dump(path)?;
    let mut frames = Vec::new();
    while let Some(frame) = source.next_frame()? {
        frames.push(frame);
    }
    Ok(frames)
}
