//! Running the plan: one folder per run (input, start structure, command, log, dump, end
//! state, and a completion marker), runs side by side within the cores, resumable: finished
//! runs are skipped, unfinished ones restarted; a failed run is reported with its log's last
//! lines and only the runs that need it are held back.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::error::{io, Result, StudyError};
use serde::{Deserialize, Serialize};

use super::config::{Composition, Study};
use super::plan::{Ensemble, Run, Stage, Start};
use crate::lattice::{self, Phase as LatticePhase};
use crate::rng::Rng;
use crate::structure::{self, Phase};

const NPT_IN: &str = include_str!("../../../lammps-inputs/npt.in");
const NVT_NVE_IN: &str = include_str!("../../../lammps-inputs/nvt_nve.in");

/// Written when a run has finished; its presence is what "finished" means.
pub const DONE: &str = "done.json";
/// Written when a run has failed: the end of its log, or why LAMMPS never started.
pub const FAILED: &str = "failed.txt";

/// The completion marker of a finished run (`done.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Done {
    /// Wall time of the run, s.
    pub seconds: f64,
    /// Atoms in its cell.
    pub atoms: usize,
    /// MD steps of the run (NPT, or NVT + NVE together).
    pub steps: u64,
    /// Temperature of the run, K (for refinement runs: the one the scan decided).
    pub temperature_k: f64,
    /// What it started from, resolved (for refinement runs: the scan run).
    pub start: String,
}

/// The LAMMPS executable: the launcher's, else this project's .venv, else `lmp` on PATH.
pub fn lammps(study: &Study) -> PathBuf {
    if !study.launcher.lmp.is_empty() {
        return PathBuf::from(&study.launcher.lmp);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let venv = root.join(".venv/bin/lmp");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("lmp")
}

/// Lattice time series of an NPT run's log (v_a v_b v_c per conventional cell).
pub fn lattice_series(log: &Path) -> Result<lattice::RunSeries> {
    let log_data = crate::trajectory::log::read_log(log)?;
    let mut s = lattice::RunSeries {
        name: log.display().to_string(),
        temperature: Vec::new(),
        lengths: Vec::new(),
        per_cell: true,
        angles: Vec::new(),
    };
    let mut used = Vec::new();
    for b in &log_data.blocks {
        let (Some(t), Some(a), Some(bb), Some(c)) = (
            b.column("Temp"),
            b.column("v_a"),
            b.column("v_b"),
            b.column("v_c"),
        ) else {
            continue;
        };
        for r in &b.rows {
            s.temperature.push(r[t]);
            s.lengths.push([r[a], r[bb], r[c]]);
        }
        used.push(b);
    }
    s.angles = lattice::log_angles(&used);
    if s.lengths.is_empty() {
        return Err(StudyError::Run {
            run: log.display().to_string(),
            what: "no thermo rows with Temp v_a v_b v_c".into(),
        });
    }
    Ok(s)
}

/// Where a refinement run starts and at which temperature, once its scan has finished.
#[derive(Clone, Debug)]
pub enum Refinement {
    /// Run it at a fine-grid temperature, from the end of a scan run.
    Run {
        /// Fine-grid temperature to run at, K.
        temperature: f64,
        /// Id of the scan run (end point of the bracket) whose end state it starts from.
        from: String,
    },
    /// Not run, and why.
    Skip(String),
}

/// Decides the fine grid of one composition from its finished coarse scan: between the
/// highest clearly tetragonal and the lowest clearly cubic point (above it), spaced by the
/// study's fine step (widened when more points would be needed than the plan holds).
pub fn refine(
    study: &Study,
    out: &Path,
    composition: &Composition,
    runs: &[Run],
) -> HashMap<String, Refinement> {
    let scan: Vec<&Run> = runs
        .iter()
        .filter(|r| r.stage == Stage::Scan && r.composition == *composition)
        .collect();
    let fine: Vec<&Run> = runs
        .iter()
        .filter(|r| r.stage == Stage::Refine && r.composition == *composition)
        .collect();
    let skip_all = |why: String| {
        fine.iter()
            .map(|r| (r.id.clone(), Refinement::Skip(why.clone())))
            .collect()
    };
    let mut phases: Vec<(f64, LatticePhase, String)> = Vec::new();
    for r in &scan {
        let t = r.temperature_K.unwrap_or(0.0);
        // both rules: the lattice splitting and, where the run dumped, the dihedral signature
        match super::phase::analyse_run(out, r) {
            Ok(res) => phases.push((t, res.lattice.phase, r.id.clone())),
            Err(e) => return skip_all(format!("the scan run {} cannot be analysed: {e}", r.id)),
        }
    }
    phases.sort_by(|a, b| a.0.total_cmp(&b.0));
    let tet = phases.iter().rfind(|p| p.1 == LatticePhase::Tetragonal);
    let Some(tet) = tet else {
        return skip_all("no coarse point is clearly tetragonal".into());
    };
    let Some(cub) = phases
        .iter()
        .find(|p| p.0 > tet.0 && p.1 == LatticePhase::Cubic)
    else {
        return skip_all(format!(
            "no coarse point above {:.1} K is clearly cubic",
            tet.0
        ));
    };
    let per_end = fine.len() / 2;
    if per_end == 0 {
        return HashMap::new();
    }
    let mut step = study.scan.fine_step_k;
    while ((cub.0 - tet.0) / step).round() as usize > per_end + 1 {
        step *= 2.0;
    }
    let temps: Vec<f64> = (1..)
        .map(|k| tet.0 + k as f64 * step)
        .take_while(|t| *t < cub.0 - 1e-6)
        .collect();
    let mut out_map = HashMap::new();
    for r in fine {
        // ids end in fine{k}-from-{phase}
        let k: usize =
            r.id.rsplit('/')
                .next()
                .and_then(|n| n.strip_prefix("fine"))
                .and_then(|n| n.split('-').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        let from = if r.id.ends_with("from-tetragonal") {
            &tet.2
        } else {
            &cub.2
        };
        let decision = match temps.get(k.wrapping_sub(1)) {
            Some(&t) => Refinement::Run {
                temperature: t,
                from: from.clone(),
            },
            None => Refinement::Skip(format!(
                "the bracket {:.1}-{:.1} K holds {} fine points",
                tet.0,
                cub.0,
                temps.len()
            )),
        };
        out_map.insert(r.id.clone(), decision);
    }
    out_map
}

/// The lock of a study folder, held by one `allegro-study run` while it lives: `.lock` with the
/// holder's pid and host, created exclusively, removed when dropped. A lock whose process is
/// gone (killed, machine rebooted) is taken over.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock of study folder `dir`, taking over a stale one; a lock held by a live
    /// process, or from another host, is a `StudyError::Config` naming its holder.
    pub fn take(dir: &Path) -> Result<Lock> {
        let path = dir.join(".lock");
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        let me = format!("{} {host}\n", std::process::id());
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    f.write_all(me.as_bytes()).map_err(io("write", &path))?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut words = text.split_whitespace();
                    let pid: Option<i32> = words.next().and_then(|p| p.parse().ok());
                    let other_host = words.next().unwrap_or("");
                    // SAFETY: signal 0 only asks whether the process exists.
                    let alive = pid.is_some_and(|p| p > 0 && unsafe { libc::kill(p, 0) } == 0);
                    if alive || (other_host != host && !other_host.is_empty()) {
                        return Err(StudyError::Config(format!(
                            "{} is in use by another allegro-study run (pid {}, host {}): wait \
                             for it to finish, or stop it; remove {} if that process is gone",
                            dir.display(),
                            pid.map_or("?".into(), |p| p.to_string()),
                            if other_host.is_empty() {
                                "?"
                            } else {
                                other_host
                            },
                            path.display()
                        )));
                    }
                    // a stale lock: its process is gone
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(io("create", &path)(e)),
            }
        }
        Err(StudyError::Config(format!(
            "cannot take the lock {}",
            path.display()
        )))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A run ready to start: its folder, command and environment.
pub struct Prepared {
    /// The run's folder.
    pub dir: PathBuf,
    /// The command line: LAMMPS and its arguments, behind the MPI launcher when ranks > 1.
    pub command: Vec<String>,
    /// Model threads per rank (`OMP_NUM_THREADS`).
    pub threads: usize,
    /// The marker to write when the run finishes (its wall time filled in then).
    pub done: Done,
}

fn var(args: &mut Vec<String>, name: &str, value: impl ToString) {
    args.push("-var".into());
    args.push(name.into());
    args.push(value.to_string());
}

/// Writes the run's folder (input, start structure, run.sh) and returns its command.
/// `refined`: the decision for a refinement run.
pub fn prepare(
    study: &Study,
    out: &Path,
    run: &Run,
    refined: Option<&Refinement>,
) -> Result<Prepared> {
    let dir = out.join(&run.id);
    if dir.exists() {
        stop_stale(&dir);
        std::fs::remove_dir_all(&dir).map_err(io("clear", &dir))?;
    }
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let model = std::fs::canonicalize(&study.model.path)
        .map_err(io("find the model", &study.model.path))?;
    let mut args: Vec<String> = vec![
        "-in".into(),
        "in.lmp".into(),
        "-log".into(),
        "log.lammps".into(),
        "-nocite".into(),
        "-screen".into(),
        "none".into(),
    ];
    var(&mut args, "model", model.display());
    var(&mut args, "types", study.model.type_map.join(" "));
    var(&mut args, "data", "start.data");
    var(&mut args, "dt", run.timestep_fs / 1000.0);
    var(&mut args, "seed", run.seed);
    var(&mut args, "threads", study.launcher.threads);
    var(&mut args, "thermo", run.thermo_every);
    var(&mut args, "rx", run.reps);
    var(&mut args, "ry", run.reps);
    var(&mut args, "rz", run.reps);
    let (temperature, start_text) = write_start(out, &dir, run, refined, &mut args)?;
    var(&mut args, "temp", temperature);
    write_input(study, &dir, run, &mut args)?;
    let mut command = Vec::new();
    if study.launcher.ranks > 1 {
        command.extend([
            study.launcher.mpirun.clone(),
            "-np".into(),
            study.launcher.ranks.to_string(),
        ]);
    }
    command.push(lammps(study).display().to_string());
    command.extend(args);
    write_run_sh(study, &dir, run, &start_text, &command)?;
    Ok(Prepared {
        dir,
        command,
        threads: study.launcher.threads,
        done: Done {
            seconds: 0.0,
            atoms: run.atoms,
            steps: run.steps,
            temperature_k: temperature,
            start: start_text,
        },
    })
}

/// The run's start structure in `dir` (built, or the end of the run it follows) and the
/// variables that go with it; returns its temperature (K) and a line saying what it starts from.
fn write_start(
    out: &Path,
    dir: &Path,
    run: &Run,
    refined: Option<&Refinement>,
    args: &mut Vec<String>,
) -> Result<(f64, String)> {
    let mut temperature = run.temperature_K.unwrap_or(0.0);
    let start_text;
    let copy_end = |from: &str| -> Result<()> {
        let src = out.join(from).join("end.data");
        std::fs::copy(&src, dir.join("start.data")).map_err(io("copy", &src))?;
        Ok(())
    };
    match (&run.start, refined) {
        (Start::Built { phase }, _) => {
            let data = build(run.composition, *phase, run.reps, run.seed)?;
            crate::cli::write_atomic(&dir.join("start.data"), data.as_bytes())?;
            var(args, "velocities", "create");
            start_text = run.start.to_string();
        }
        (Start::EndOf { run: from }, _) => {
            copy_end(from)?;
            var(args, "velocities", "keep");
            start_text = run.start.to_string();
        }
        (
            Start::ScanEndPoint { .. },
            Some(Refinement::Run {
                temperature: t,
                from,
            }),
        ) => {
            copy_end(from)?;
            temperature = *t;
            var(args, "velocities", "keep");
            start_text = format!("end of {from}");
        }
        (Start::ScanEndPoint { .. }, _) => {
            return Err(StudyError::Run {
                run: run.id.clone(),
                what: "the scan has not decided this run".into(),
            })
        }
        (Start::AveragedCell { run: from, scale }, _) => {
            copy_end(from)?;
            let series = lattice_series(&out.join(from).join("log.lammps"))?;
            let res = lattice::analyse_run(&series, &lattice::Settings::default())?;
            // the averaged lengths along x, y, z (RunResult orders them a, b, c by unique axis)
            let u = res.unique_axis;
            let mut l = [0.0; 3];
            l[u] = res.c_A.value;
            l[(u + 1) % 3] = res.a_A.value;
            l[(u + 2) % 3] = res.b_A.value;
            var(args, "ax", l[0] * scale);
            var(args, "ay", l[1] * scale);
            var(args, "az", l[2] * scale);
            var(args, "velocities", "keep");
            start_text = format!(
                "end of {from}, cell {:.4} {:.4} {:.4} A (averaged x {scale})",
                l[0] * scale,
                l[1] * scale,
                l[2] * scale
            );
        }
    }
    Ok((temperature, start_text))
}

/// The LAMMPS input of the run's ensemble, and its variables.
fn write_input(study: &Study, dir: &Path, run: &Run, args: &mut Vec<String>) -> Result<()> {
    match run.ensemble {
        Ensemble::Npt => {
            std::fs::write(dir.join("in.lmp"), NPT_IN).map_err(io("write", dir.join("in.lmp")))?;
            var(args, "steps", run.steps);
            var(args, "drag", study.barostat_drag);
            var(args, "dump_every", run.dump_every.unwrap_or(0));
        }
        Ensemble::NvtNve => {
            std::fs::write(dir.join("in.lmp"), NVT_NVE_IN)
                .map_err(io("write", dir.join("in.lmp")))?;
            var(args, "nvt_steps", run.equilibration_steps);
            var(args, "nve_steps", run.steps - run.equilibration_steps);
            var(args, "dump_every", run.dump_every.unwrap_or(100));
        }
    }
    Ok(())
}

/// run.sh: the command, runnable by hand from anywhere.
fn write_run_sh(
    study: &Study,
    dir: &Path,
    run: &Run,
    start_text: &str,
    command: &[String],
) -> Result<()> {
    let shell: Vec<String> = command
        .iter()
        .map(|a| {
            if a.contains(' ') && !a.starts_with('"') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect();
    std::fs::write(
        dir.join("run.sh"),
        format!(
            "#!/bin/sh\n# {}: {}\ncd \"$(dirname \"$0\")\"\nOMP_NUM_THREADS={} exec {}\n",
            run.id,
            start_text,
            study.launcher.threads,
            shell.join(" ")
        ),
    )
    .map_err(io("write", dir.join("run.sh")))
}

/// The start structure of a run: the builder's cell with the composition's W (SQS) and
/// vacancies, seeded by the run's seed.
fn build(c: Composition, phase: Phase, reps: usize, seed: u64) -> Result<String> {
    let mut s = match phase {
        Phase::Cubic => structure::cubic(structure::CUBIC_A),
        Phase::Tetragonal => {
            structure::tetragonal(structure::TETRAGONAL_A, structure::TETRAGONAL_C)
        }
    }
    .supercell([reps; 3]);
    let (n_w, n_vac) = c.variant.counts(c.x, s.count(structure::Element::Sb));
    let mut rng = Rng::new(seed);
    s.place_tungsten(n_w, 20_000, &mut rng, &indicatif::ProgressBar::hidden());
    s.remove_sodium(n_vac, &mut rng);
    s.sort_by_type();
    Ok(structure::write_lammps_data(
        &s,
        &format!(
            "{} {} {reps}x{reps}x{reps} seed {seed}",
            c.label(),
            phase.name()
        ),
    ))
}

/// Checks a finished LAMMPS process and writes the marker (or the failure note); a failed run
/// gives the last lines of its log and output.
pub fn finish(p: &Prepared, success: bool, seconds: f64) -> std::result::Result<(), String> {
    let log = std::fs::read_to_string(p.dir.join("log.lammps")).unwrap_or_default();
    let complete = success && log.contains("Total wall time") && p.dir.join("end.data").exists();
    if complete {
        let done = Done {
            seconds,
            ..p.done.clone()
        };
        let text = serde_json::to_vec_pretty(&done).unwrap_or_default();
        crate::cli::write_atomic(&p.dir.join(DONE), &text).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let stdout = std::fs::read_to_string(p.dir.join("stdout.txt")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().chain(stdout.lines()).rev().take(12).collect();
    let mut tail: Vec<&str> = tail.into_iter().rev().collect();
    if log.contains(COLLAPSED) || stdout.contains(COLLAPSED) {
        tail.insert(0, COLLAPSE_NOTE);
    }
    let _ = std::fs::write(p.dir.join(FAILED), tail.join("\n"));
    Err(tail.join("\n"))
}

/// Whether a run's failure note (failed.txt) is the runaway-temperature guard's.
pub fn collapsed(failure: &str) -> bool {
    failure.starts_with(COLLAPSE_NOTE)
}

/// What LAMMPS prints when the inputs' runaway-temperature guard (`fix collapse ... halt`) fires.
const COLLAPSED: &str = "Fix halt condition for fix-id collapse";
const COLLAPSE_NOTE: &str = "the temperature ran away (past halt_above, 5 unless set, times its \
target): the model fell into a hole of its potential (not physics; no trajectory of this run is \
analysed). Run this temperature with a model that is stable there, or leave it out";

/// Starts LAMMPS for a prepared run (stdout and stderr to stdout.txt in its folder).
/// Each LAMMPS runs in its own process group, recorded in PID, so that a stopped or crashed
/// driver's runs can be found and stopped (the venv's `lmp` is a launcher with a child).
pub fn spawn(p: &Prepared) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    let stdout = p.dir.join("stdout.txt");
    let out = std::fs::File::create(&stdout).map_err(io("create", &stdout))?;
    let err = out.try_clone().map_err(io("open", &stdout))?;
    let child = Command::new(&p.command[0])
        .args(&p.command[1..])
        .current_dir(&p.dir)
        .env("OMP_NUM_THREADS", p.threads.to_string())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(io("start", &p.command[0]))?;
    let pid = p.dir.join(PID);
    std::fs::write(&pid, child.id().to_string()).map_err(io("write", &pid))?;
    Ok(child)
}

/// Process group of a run's LAMMPS, written when it starts.
pub const PID: &str = "pid";

fn signal_group(pgid: i32, signal: i32) -> bool {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    pgid > 1 && unsafe { libc::kill(-pgid, signal) } == 0
}

/// Stops a process group: SIGTERM, then SIGKILL if it is still there after 2 s; returns when
/// it is gone (or after 7 s).
fn stop_group(pgid: i32) {
    for (signal, tries) in [(libc::SIGTERM, 20), (libc::SIGKILL, 50)] {
        if !signal_group(pgid, signal) {
            return;
        }
        for _ in 0..tries {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if !signal_group(pgid, 0) {
                return;
            }
        }
    }
}

/// Stops a LAMMPS that an earlier, interrupted driver left running in `dir`.
fn stop_stale(dir: &Path) {
    if let Some(pgid) = std::fs::read_to_string(dir.join(PID))
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    {
        stop_group(pgid);
    }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether `run` has finished: its folder under `out` holds `done.json`.
pub fn is_done(out: &Path, run: &Run) -> bool {
    out.join(&run.id).join(DONE).exists()
}

/// Outcome of `run_all`.
#[derive(Debug, Default)]
pub struct Summary {
    /// Runs finished by this call.
    pub done: usize,
    /// Runs skipped because they had finished before.
    pub skipped_finished: usize,
    /// Runs that failed: (id, the end of its log, or why LAMMPS never started).
    pub failed: Vec<(String, String)>,
    /// Runs not started: (id, why: a run it waits for did not finish, or the scan left no
    /// fine point for it).
    pub held: Vec<(String, String)>,
}

/// Runs every unfinished run of the plan, `parallel` at a time; progress on stderr.
pub fn run_all(study: &Study, out: &Path, runs: &[Run], parallel: usize) -> Result<Summary> {
    std::fs::create_dir_all(out).map_err(io("create", out))?;
    let mut s = Scheduler::new(study, out, runs);
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    loop {
        s.start_ready(parallel);
        if s.running.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            for (_, child, _, _) in &mut s.running {
                stop_group(child.id() as i32);
                let _ = child.wait();
            }
            return Err(StudyError::Interrupted(s.running.len()));
        }
        s.collect_finished()?;
    }
    Ok(s.summary)
}

/// What `run_all` keeps track of between its polls.
struct Scheduler<'a> {
    study: &'a Study,
    out: &'a Path,
    runs: &'a [Run],
    summary: Summary,
    /// Per run id: None while still to run; Some(Ok) finished; Some(Err(why)) given up
    /// (failed, held, skipped).
    state: HashMap<String, Option<std::result::Result<(), String>>>,
    refinements: HashMap<String, Refinement>,
    /// (index into `runs`, LAMMPS, its folder and command, when it started)
    running: Vec<(usize, Child, Prepared, Instant)>,
    started: Instant,
    /// Atom-steps of the runs finished here (for the ETA).
    work_done: f64,
}

impl<'a> Scheduler<'a> {
    fn new(study: &'a Study, out: &'a Path, runs: &'a [Run]) -> Scheduler<'a> {
        let mut summary = Summary::default();
        let mut state = HashMap::new();
        for r in runs {
            if is_done(out, r) {
                state.insert(r.id.clone(), Some(Ok(())));
                summary.skipped_finished += 1;
            } else {
                state.insert(r.id.clone(), None);
            }
        }
        Scheduler {
            study,
            out,
            runs,
            summary,
            state,
            refinements: HashMap::new(),
            running: Vec::new(),
            started: Instant::now(),
            work_done: 0.0,
        }
    }

    /// Starts what is ready, up to `parallel` runs at a time.
    fn start_ready(&mut self, parallel: usize) {
        let (study, out, runs) = (self.study, self.out, self.runs);
        for (i, r) in runs.iter().enumerate() {
            if self.running.len() >= parallel {
                break;
            }
            if self.state[&r.id].is_some() || self.running.iter().any(|x| x.0 == i) {
                continue;
            }
            let waiting: Vec<&String> = r
                .after
                .iter()
                .filter(|a| !matches!(self.state.get(*a), Some(Some(Ok(())))))
                .collect();
            if let Some(failed) = r
                .after
                .iter()
                .find(|a| matches!(self.state.get(*a), Some(Some(Err(_)))))
            {
                let why = format!("waits for {failed}, which did not finish");
                self.summary.held.push((r.id.clone(), why.clone()));
                self.state.insert(r.id.clone(), Some(Err(why)));
                continue;
            }
            if !waiting.is_empty() {
                continue;
            }
            if r.stage == Stage::Refine && !self.refinements.contains_key(&r.id) {
                self.refinements
                    .extend(refine(study, out, &r.composition, runs));
            }
            if let Some(Refinement::Skip(why)) = self.refinements.get(&r.id) {
                self.summary.held.push((r.id.clone(), why.clone()));
                self.state.insert(r.id.clone(), Some(Err(why.clone())));
                continue;
            }
            match prepare(study, out, r, self.refinements.get(&r.id))
                .and_then(|p| spawn(&p).map(|c| (c, p)))
            {
                Ok((child, p)) => self.running.push((i, child, p, Instant::now())),
                Err(e) => {
                    // Failed before LAMMPS started (its input, its start structure, the
                    // launcher): said now and kept beside the run, as a LAMMPS failure is.
                    let why = e.to_string();
                    eprintln!("failed: {} (before LAMMPS started): {why}", r.id);
                    let dir = out.join(&r.id);
                    if std::fs::create_dir_all(&dir).is_ok() {
                        let _ = std::fs::write(dir.join(FAILED), format!("{why}\n"));
                    }
                    self.summary.failed.push((r.id.clone(), why.clone()));
                    self.state.insert(r.id.clone(), Some(Err(why)));
                }
            }
        }
    }

    /// Collects the runs whose LAMMPS has exited, with a progress line for each.
    fn collect_finished(&mut self) -> Result<()> {
        let mut k = 0;
        while k < self.running.len() {
            let exited = self.running[k]
                .1
                .try_wait()
                .map_err(io("wait for the LAMMPS of", &self.running[k].2.dir))?;
            let Some(status) = exited else {
                k += 1;
                continue;
            };
            let (i, _, p, t0) = self.running.remove(k);
            let r = &self.runs[i];
            let secs = t0.elapsed().as_secs_f64();
            match finish(&p, status.success(), secs) {
                Ok(()) => {
                    self.summary.done += 1;
                    self.work_done += r.atom_steps();
                    self.state.insert(r.id.clone(), Some(Ok(())));
                }
                Err(tail) => {
                    eprintln!("failed: {} (its log ends:)\n{tail}", r.id);
                    self.summary.failed.push((r.id.clone(), tail.clone()));
                    self.state.insert(r.id.clone(), Some(Err(tail)));
                }
            }
            self.progress(r, secs);
        }
        Ok(())
    }

    /// One line on stderr after `r` finished in `secs`.
    fn progress(&self, r: &Run, secs: f64) {
        let left = self.state.values().filter(|s| s.is_none()).count() - self.running.len();
        let elapsed = self.started.elapsed().as_secs_f64();
        // still to run: neither finished nor given up (skipped, held, failed)
        let work_left: f64 = self
            .runs
            .iter()
            .filter(|r| self.state[&r.id].is_none())
            .map(|r| r.atom_steps())
            .sum();
        let eta = if self.work_done > 0.0 {
            work_left / (self.work_done / elapsed)
        } else {
            f64::NAN
        };
        let summary = &self.summary;
        eprintln!(
            "[{:>6.0} s] {} finished in {:.0} s | runs: {} done, {} running, {} left, {} failed or not run | ETA {}",
            elapsed,
            r.id,
            secs,
            summary.done + summary.skipped_finished,
            self.running.len(),
            left,
            summary.failed.len() + summary.held.len(),
            if eta.is_finite() { format!("{:.0} s", eta.max(0.0)) } else { "-".into() }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(dir: &Path) -> Prepared {
        Prepared {
            dir: dir.to_path_buf(),
            command: vec!["lmp".into()],
            threads: 1,
            done: Done {
                seconds: 0.0,
                atoms: 128,
                steps: 100,
                temperature_k: 900.0,
                start: "built".into(),
            },
        }
    }

    #[test]
    fn a_collapsed_run_fails_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        // the end of a real log of tests/python/test_collapse_guard.py
        let log = "   Step          Time           Temp\n         0   0              6000\n\
                   ERROR: Fix halt condition for fix-id collapse met on step 10 with value \
                   2.4884047985879905\n (src/src/fix_halt.cpp:313)\nLast input line: run ${steps}\n";
        std::fs::write(dir.path().join("log.lammps"), log).unwrap();
        let why = finish(&prepared(dir.path()), false, 1.0).unwrap_err();
        assert!(collapsed(&why), "{why}");
        assert!(why.contains("met on step 10"), "{why}");
        let failed = std::fs::read_to_string(dir.path().join(FAILED)).unwrap();
        assert_eq!(failed, why);
        assert!(!dir.path().join(DONE).exists());
    }

    #[test]
    fn another_failure_gets_no_collapse_note() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("log.lammps"),
            "ERROR: Lost atoms: original 128 current 127\n",
        )
        .unwrap();
        let why = finish(&prepared(dir.path()), false, 1.0).unwrap_err();
        assert_eq!(why, "ERROR: Lost atoms: original 128 current 127");
        assert!(!collapsed(&why));
    }
}
