//! The plan as Slurm batch scripts: one job array per stage (each task one LAMMPS run through
//! `allegro-study exec`), and a submit script that chains the stages with dependencies.
use std::fmt::Write as _;
use std::path::Path;

use super::error::{io, Result};

use super::config::Study;
use super::plan::{Run, Stage};

/// What the batch headers ask for.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    /// Slurm partition (`--partition`); None: the cluster's default.
    pub partition: Option<String>,
    /// Slurm account (`--account`); None: the user's default.
    pub account: Option<String>,
    /// Wall-time limit per task, as Slurm writes it (e.g. 24:00:00).
    pub time: String,
}

/// Which stage waits for which (`afterany`: a failed task does not cancel the next stage;
/// `exec` itself refuses a run whose inputs did not finish).
fn waits_for(stage: Stage) -> &'static [Stage] {
    match stage {
        Stage::Refine => &[Stage::Scan],
        Stage::Diffusion | Stage::Haven => &[Stage::Cell],
        _ => &[],
    }
}

/// Writes DIR/study.toml, DIR/STAGE.ids, DIR/STAGE.sbatch, DIR/submit.sh and DIR/logs/.
/// `exe` is the allegro-study executable the tasks call.
pub fn write(
    dir: &Path,
    study: &Study,
    runs: &[Run],
    exe: &Path,
    res: &Resources,
) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir.join("logs")).map_err(io("create", dir))?;
    let dir = std::fs::canonicalize(dir).map_err(io("find", dir))?;
    let mut study = study.clone();
    study.output = std::path::absolute(&study.output).map_err(io("find", &study.output))?;
    study.model.path = std::fs::canonicalize(&study.model.path)
        .map_err(io("find the model", &study.model.path))?;
    if study.launcher.ranks > 1 && study.launcher.mpirun == "mpirun" {
        study.launcher.mpirun = "srun".into();
    }
    let toml_path = dir.join("study.toml");
    crate::cli::write_atomic(&toml_path, toml::to_string(&study)?.as_bytes())?;
    let mut stages: Vec<Stage> = Vec::new();
    for r in runs {
        if !stages.contains(&r.stage) {
            stages.push(r.stage);
        }
    }
    let mut submit = String::from(
        "#!/bin/bash\n# Submits every stage of the study; stages that need others wait for them.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n",
    );
    let mut files = Vec::new();
    for stage in &stages {
        let name = stage.name();
        let ids: Vec<&str> = runs
            .iter()
            .filter(|r| r.stage == *stage)
            .map(|r| r.id.as_str())
            .collect();
        let ids_path = dir.join(format!("{name}.ids"));
        std::fs::write(&ids_path, ids.join("\n") + "\n").map_err(io("write", &ids_path))?;
        let mut s = String::new();
        let _ = writeln!(s, "#!/bin/bash");
        let _ = writeln!(
            s,
            "# Stage '{name}' of the study: {} runs, one per array task.",
            ids.len()
        );
        let _ = writeln!(s, "#SBATCH --job-name=allegro-{name}");
        let _ = writeln!(s, "#SBATCH --array=1-{}", ids.len());
        let _ = writeln!(s, "#SBATCH --ntasks={}", study.launcher.ranks);
        let _ = writeln!(s, "#SBATCH --cpus-per-task={}", study.launcher.threads);
        let _ = writeln!(s, "#SBATCH --time={}", res.time);
        if let Some(p) = &res.partition {
            let _ = writeln!(s, "#SBATCH --partition={p}");
        }
        if let Some(a) = &res.account {
            let _ = writeln!(s, "#SBATCH --account={a}");
        }
        let _ = writeln!(s, "#SBATCH --output={}/logs/{name}-%a.out", dir.display());
        let _ = writeln!(s, "set -euo pipefail");
        let _ = writeln!(
            s,
            "id=$(sed -n \"${{SLURM_ARRAY_TASK_ID}}p\" \"{}/{name}.ids\")",
            dir.display()
        );
        let _ = writeln!(
            s,
            "exec \"{}\" exec --study \"{}\" \"$id\"",
            exe.display(),
            toml_path.display()
        );
        let script = dir.join(format!("{name}.sbatch"));
        std::fs::write(&script, s).map_err(io("write", &script))?;
        files.push(script.display().to_string());
        let deps: Vec<String> = waits_for(*stage)
            .iter()
            .filter(|d| stages.contains(d))
            .map(|d| format!("${}", d.name()))
            .collect();
        if deps.is_empty() {
            let _ = writeln!(submit, "{name}=$(sbatch --parsable {name}.sbatch)");
        } else {
            let _ = writeln!(
                submit,
                "{name}=$(sbatch --parsable --dependency=afterany:{} {name}.sbatch)",
                deps.join(":")
            );
        }
        let _ = writeln!(submit, "echo \"stage {name}: job ${name}\"");
    }
    let _ = writeln!(
        submit,
        "echo \"when they have finished: {} report --study {}\"",
        exe.display(),
        toml_path.display()
    );
    let submit_path = dir.join("submit.sh");
    std::fs::write(&submit_path, submit).map_err(io("write", &submit_path))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&submit_path, std::fs::Permissions::from_mode(0o755))
        .map_err(io("make executable", &submit_path))?;
    files.push(submit_path.display().to_string());
    Ok(files)
}
