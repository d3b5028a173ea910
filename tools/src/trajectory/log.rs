//! LAMMPS log files: every thermo block of every run, any `thermo_style custom` columns.
use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::{open_maybe_gzip, ReadError, Result};

/// One thermo block (one `run` or `minimize`): column names as printed and numeric rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThermoBlock {
    /// Column names as in the header line (Step, Temp, Lx ...).
    pub columns: Vec<String>,
    /// One row per thermo line, a value per column, in the log's units.
    pub rows: Vec<Vec<f64>>,
    /// Line of the header in the file.
    pub line: u64,
}

impl ThermoBlock {
    /// Index of a column, case-insensitive ("Lx" and "lx" match).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    /// The values of column `index`, one per row.
    pub fn series(&self, index: usize) -> Vec<f64> {
        self.rows.iter().map(|r| r[index]).collect()
    }
}

/// A log file's thermo output.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// The file read.
    pub path: PathBuf,
    /// The thermo blocks, in file order.
    pub blocks: Vec<ThermoBlock>,
    /// Set when the file ends inside a thermo block (a run still going or killed).
    pub truncated: Option<String>,
}

/// Reads all thermo blocks of a log file (plain or gzip).
pub fn read_log(path: impl AsRef<Path>) -> Result<Log> {
    let path = path.as_ref();
    let (input, _) = open_maybe_gzip(path)?;
    let err = |line: u64, what: String| ReadError::Format {
        path: path.to_owned(),
        location: format!("line {line}"),
        what,
    };
    let mut log = Log {
        path: path.to_owned(),
        ..Log::default()
    };
    let mut current: Option<ThermoBlock> = None;
    let mut expect_header = false;
    let lines = input.lines();
    let mut n = 0u64;
    let mut last_partial: Option<u64> = None;
    for line in lines {
        let line = line.map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
        n += 1;
        let trimmed = line.trim();
        if trimmed.starts_with("Per MPI rank memory allocation")
            || trimmed.starts_with("Memory usage per processor")
        {
            expect_header = true;
            continue;
        }
        if expect_header {
            if trimmed.is_empty() {
                continue;
            }
            expect_header = false;
            if trimmed.starts_with("---") || trimmed.starts_with("keywords:") {
                return Err(err(n, "thermo_style multi/yaml output is not supported: use thermo_style custom (one line per step)".into()));
            }
            current = Some(ThermoBlock {
                columns: trimmed.split_whitespace().map(str::to_owned).collect(),
                rows: Vec::new(),
                line: n,
            });
            continue;
        }
        let Some(block) = current.as_mut() else {
            continue;
        };
        if trimmed.starts_with("Loop time of") {
            log.blocks.push(current.take().unwrap());
            continue;
        }
        // LAMMPS interleaves warnings and messages with thermo output
        if trimmed.is_empty()
            || !trimmed
                .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')
        {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let values: std::result::Result<Vec<f64>, _> =
            fields.iter().map(|f| f.parse::<f64>()).collect();
        match values {
            Ok(v) if v.len() == block.columns.len() => {
                if let Some(k) = v.iter().position(|x| !x.is_finite()) {
                    return Err(err(
                        n,
                        format!(
                            "thermo column '{}' is not finite ('{}')",
                            block.columns[k], fields[k]
                        ),
                    ));
                }
                if let Some(p) = last_partial {
                    return Err(err(
                        p,
                        format!(
                            "expected {} thermo columns ({})",
                            block.columns.len(),
                            block.columns.join(" ")
                        ),
                    ));
                }
                block.rows.push(v);
            }
            _ => {
                // a short or odd line is an error unless it is the last line of the file
                last_partial = Some(n);
            }
        }
    }
    if let Some(block) = current.take() {
        log.truncated = Some(format!(
            "{}: the thermo block from line {} has no 'Loop time' (run unfinished){}",
            path.display(),
            block.line,
            if last_partial.is_some() {
                "; its cut-off last line is dropped"
            } else {
                ""
            }
        ));
        log.blocks.push(block);
    } else if let Some(p) = last_partial {
        return Err(err(p, "malformed thermo line".into()));
    }
    Ok(log)
}
