//! Dump files -> [`Run`]: species selection, TOR unwrapping, framework drift removal.
use std::path::Path;

use super::Run;
use crate::trajectory::{open_dump, Frame, ReadError};
use crate::unwrap::Unwrapper;

/// Which atoms diffuse: a LAMMPS type, or an element name (from an element column, or from a
/// type -> name map).
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// A LAMMPS atom type.
    Type(i32),
    /// An element name.
    Element(String),
}

/// "type-3" or the element name: a bare type number would read as a count ("371 1 atoms").
impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selection::Type(t) => write!(f, "type-{t}"),
            Selection::Element(e) => f.write_str(e),
        }
    }
}

impl Selection {
    /// "3" is a type, anything else an element name.
    pub fn parse(text: &str) -> Selection {
        match text.parse::<i32>() {
            Ok(t) => Selection::Type(t),
            Err(_) => Selection::Element(text.to_owned()),
        }
    }

    fn matches(&self, frame: &Frame, i: usize, names: &[(i32, String)]) -> Result<bool, String> {
        Ok(match self {
            Selection::Type(t) => frame.types[i] == *t,
            Selection::Element(e) => match frame.element(i) {
                Some(name) => name == e,
                None => {
                    if names.is_empty() {
                        return Err(format!(
                            "species '{e}' is an element name, but the dump has no element column: give --types 1=Na,2=Sb,... or a type number"
                        ));
                    }
                    names.iter().any(|(t, n)| *t == frame.types[i] && n == e)
                }
            },
        })
    }
}

/// Why a dump could not be loaded as a run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The dump could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The dump reads, but cannot be used as a run (no such species, unequal spacing ...).
    #[error("{path}: {what}")]
    Input {
        /// The dump file.
        path: String,
        /// What is wrong with it.
        what: String,
    },
}

/// Reads one dump as one run. `md_timestep` is the MD time step (ps) that converts the dump's
/// TIMESTEP values to time. Returns the run and warnings (e.g. a dropped truncated frame).
pub fn load_run(
    path: &Path,
    species: &Selection,
    type_names: &[(i32, String)],
    md_timestep: f64,
    progress: &mut dyn FnMut(u64),
) -> Result<(Run, Vec<String>), LoadError> {
    let fail = |what: String| LoadError::Input {
        path: path.display().to_string(),
        what,
    };
    let mut source = open_dump(path)?;
    let first = source
        .next_frame()?
        .ok_or_else(|| fail("no complete frame in the file".into()))?;
    let (chosen, framework) = partition(&first, species, type_names).map_err(&fail)?;
    let mut warnings = first_frame_warnings(path, &first, type_names, framework.is_empty());
    let mut run = Accumulator::new(&first, chosen, framework);
    let mut frame = first;
    loop {
        run.add(&frame).map_err(&fail)?;
        progress(source.bytes_read());
        let ids = std::mem::take(&mut frame.ids);
        match source.next_frame()? {
            Some(next) => {
                if next.ids != ids {
                    return Err(fail(format!(
                        "the atoms at timestep {} are not those of the first frame (ids differ)",
                        next.timestep
                    )));
                }
                frame = next;
            }
            None => break,
        }
    }
    if let Some(t) = source.truncated() {
        warnings.push(t.to_owned());
    }
    let run = run.into_run(md_timestep).map_err(&fail)?;
    Ok((run, warnings))
}

/// Indices (in the first frame) of the diffusing atoms and of the framework; an error when no
/// atom is of `species`.
fn partition(
    first: &Frame,
    species: &Selection,
    type_names: &[(i32, String)],
) -> Result<(Vec<usize>, Vec<usize>), String> {
    let mut chosen = Vec::new();
    let mut framework = Vec::new();
    for i in 0..first.len() {
        if species.matches(first, i, type_names)? {
            chosen.push(i);
        } else {
            framework.push(i);
        }
    }
    if chosen.is_empty() {
        return Err(format!("no atoms of species {species} in the first frame"));
    }
    Ok((chosen, framework))
}

/// Warnings about the first frame: --types contradicting the element column, no framework.
fn first_frame_warnings(
    path: &Path,
    first: &Frame,
    type_names: &[(i32, String)],
    no_framework: bool,
) -> Vec<String> {
    let mut warnings = Vec::new();
    // --types and an element column that disagree: the column is what the dump says
    if let Some((t, named, column)) = (0..first.len()).find_map(|i| {
        let column = first.element(i)?;
        let (t, named) = type_names.iter().find(|(t, _)| *t == first.types[i])?;
        (named != column).then(|| (*t, named.clone(), column.to_owned()))
    }) {
        warnings.push(format!(
            "{}: --types names type {t} '{named}' but the dump's element column says \
             '{column}': the element column is used",
            path.display()
        ));
    }
    if no_framework {
        warnings.push(format!(
            "{}: no framework atoms (all atoms are of the diffusing species): drift not removed",
            path.display()
        ));
    }
    warnings
}

/// The run so far: unwrapped, drift-corrected positions of the diffusing atoms (A), and the
/// sums of cell volumes (A^3) and vectors (A) over frames.
struct Accumulator {
    unwrapper: Unwrapper,
    chosen: Vec<usize>,
    framework: Vec<usize>,
    /// Unwrapped framework positions in the first frame, A.
    framework_start: Vec<[f64; 3]>,
    positions: Vec<Vec<[f64; 3]>>,
    volume: f64,
    cell: [[f64; 3]; 3],
    timesteps: Vec<i64>,
}

impl Accumulator {
    fn new(first: &Frame, chosen: Vec<usize>, framework: Vec<usize>) -> Accumulator {
        let unwrapper = Unwrapper::new(first);
        let positions: Vec<Vec<[f64; 3]>> = vec![Vec::new(); chosen.len()];
        let framework_start: Vec<[f64; 3]> = framework
            .iter()
            .map(|&i| unwrapper.positions()[i])
            .collect();
        Accumulator {
            unwrapper,
            chosen,
            framework,
            framework_start,
            positions,
            volume: 0.0,
            cell: [[0.0; 3]; 3],
            timesteps: Vec::new(),
        }
    }

    /// Adds a frame (the first included): unwraps it and removes the framework's drift.
    fn add(&mut self, frame: &Frame) -> Result<(), String> {
        let (positions, framework) = (&mut self.positions, &self.framework);
        if frame.ids.len() != positions.len() + framework.len() {
            return Err(format!(
                "frame at timestep {} has {} atoms, the first frame {}",
                frame.timestep,
                frame.ids.len(),
                positions.len() + framework.len()
            ));
        }
        let timesteps = &mut self.timesteps;
        if !timesteps.is_empty() {
            self.unwrapper.push(frame).map_err(|i| {
                format!(
                    "atom id {} moved more than {} of the box between timesteps {} and {}: dump more often",
                    frame.ids[i],
                    crate::unwrap::MAX_FRACTIONAL_STEP,
                    timesteps.last().unwrap(),
                    frame.timestep
                )
            })?;
        }
        let u = self.unwrapper.positions();
        let mut drift = [0.0; 3];
        if !framework.is_empty() {
            for (k, &i) in framework.iter().enumerate() {
                for d in 0..3 {
                    drift[d] += (u[i][d] - self.framework_start[k][d]) / framework.len() as f64;
                }
            }
        }
        for (k, &i) in self.chosen.iter().enumerate() {
            positions[k].push([u[i][0] - drift[0], u[i][1] - drift[1], u[i][2] - drift[2]]);
        }
        self.volume += frame.cell.volume();
        for i in 0..3 {
            for j in 0..3 {
                self.cell[i][j] += frame.cell.h[i][j];
            }
        }
        timesteps.push(frame.timestep);
        Ok(())
    }

    /// The run, with `md_timestep` (ps) converting TIMESTEP values to time; an error unless
    /// there are two frames or more, equally spaced.
    fn into_run(self, md_timestep: f64) -> Result<Run, String> {
        let Accumulator {
            positions,
            volume,
            cell,
            timesteps,
            ..
        } = self;
        let n = timesteps.len();
        if n < 2 {
            return Err("only one frame: need a trajectory".into());
        }
        // i128: timesteps are user data and may be anything an i64 holds
        let step = timesteps[1] as i128 - timesteps[0] as i128;
        if let Some(w) = timesteps
            .windows(2)
            .find(|w| w[1] as i128 - w[0] as i128 != step || step <= 0)
        {
            return Err(format!(
                "frames must be equally spaced in time: timestep {} follows {} but the first interval is {step} (repeated frames from a restart?)",
                w[1], w[0]
            ));
        }
        Ok(Run {
            dt: step as f64 * md_timestep,
            positions,
            volume: volume / n as f64,
            cell: cell.map(|r| r.map(|x| x / n as f64)),
        })
    }
}
