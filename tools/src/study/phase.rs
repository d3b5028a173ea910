//! The phase of one NPT scan run from two rules: the paper's lattice rule (the time-averaged
//! axis splitting of the cell, `lattice`) and the dihedral signature of its trajectory (the
//! tetrahedra's long-time pattern, `dihedral::signature`), which converges in cells and runs
//! too small for the cell's shape to settle. Both are reported; the run's phase is the one they
//! agree on, or the one that decides when the other cannot tell; when they contradict each
//! other the run decides nothing. The scan's refinement and T_C use this phase.
use std::path::Path;

use serde::Serialize;

use super::error::Result;
use super::execute::lattice_series;
use super::plan::Run;
use crate::dihedral::{self, Signature};
use crate::lattice::{self, Phase, RunResult};
use crate::trajectory::open_dump;

/// Which rule a run's phase rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// Both rules decide, and agree.
    Both,
    /// The lattice rule alone decides (or the run switches phase).
    Lattice,
    /// The dihedral signature alone decides.
    Dihedral,
    /// Neither decides, or they contradict each other.
    Neither,
}

impl Rule {
    /// The rule's name in report prose ("the lattice rule" ...).
    pub fn name(self) -> &'static str {
        match self {
            Rule::Both => "both rules",
            Rule::Lattice => "the lattice rule",
            Rule::Dihedral => "the dihedral signature",
            Rule::Neither => "neither rule",
        }
    }
}

/// The two rules' own verdicts on one scan run, and which one its phase rests on.
#[derive(Clone, Debug, Serialize)]
pub struct RunRules {
    /// The run's id.
    pub run: String,
    /// The lattice rule's verdict.
    pub lattice: Phase,
    /// The dihedral signature (None: the run wrote no trajectory, or it could not be read).
    pub signature: Option<Signature>,
    /// Why the trajectory could not be analysed, when it could not.
    pub trajectory_error: Option<String>,
    /// Which rule the combined phase rests on.
    pub rests_on: Rule,
}

/// One scan run analysed by both rules.
#[derive(Clone, Debug, Serialize)]
pub struct RunPhase {
    /// The lattice analysis, with `phase` and `phase_reason` the combined ones.
    pub lattice: RunResult,
    /// Each rule's verdict.
    pub rules: RunRules,
}

/// The run's phase from the two verdicts: a switching run stays mixed (a time average over a
/// switch means nothing); agreement or a single decided verdict decides; contradiction does not.
pub fn combine(lattice: Phase, dihedral: Option<Phase>) -> (Phase, Rule) {
    use Phase::*;
    let decided = |p: Phase| matches!(p, Tetragonal | Cubic);
    match (lattice, dihedral) {
        (Mixed, _) => (Mixed, Rule::Lattice),
        (l, Some(d)) if decided(l) && l == d => (l, Rule::Both),
        (l, Some(d)) if decided(l) && decided(d) => (Undetermined, Rule::Neither),
        (l, _) if decided(l) => (l, Rule::Lattice),
        (_, Some(d)) if decided(d) => (d, Rule::Dihedral),
        _ => (Undetermined, Rule::Neither),
    }
}

/// Analyses `run` (finished, in `out/<id>`): its log by the lattice rule, its trajectory (when
/// it wrote one) by the dihedral signature after the same equilibration cut. Fails only when
/// the log cannot be read or analysed.
pub fn analyse_run(out: &Path, run: &Run) -> Result<RunPhase> {
    let dir = out.join(&run.id);
    let mut series = lattice_series(&dir.join("log.lammps"))?;
    series.name = run.id.clone();
    let mut result = lattice::analyse_run(&series, &lattice::Settings::default())?;
    let traj = dir.join("traj.bin");
    // A trajectory that cannot be read costs the run its second rule, not its lattice verdict.
    let (signature, trajectory_error) = if run.dump_every.is_some() && traj.exists() {
        let row_ps = run.thermo_every as f64 * run.timestep_fs / 1000.0;
        let settings = dihedral::Settings {
            all_directions: true,
            pairs: Vec::new(),
            skip_ps: result.equilibration_rows as f64 * row_ps,
            ..dihedral::Settings::new(run.timestep_fs / 1000.0, super::report::type_names())
        };
        let analysis = open_dump(&traj)
            .map_err(dihedral::DihedralError::from)
            .and_then(|mut source| dihedral::analyse(source.as_mut(), &traj, &settings, &|_| {}));
        match analysis {
            Ok(a) => (Some(a.signature), None),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    let lattice_phase = result.phase;
    let (phase, rests_on) = combine(lattice_phase, signature.as_ref().map(|s| s.phase));
    if let Some(s) = &signature {
        result.phase_reason = format!(
            "lattice: {} ({}); dihedrals: {} ({})",
            lattice_phase.name(),
            result.phase_reason,
            s.phase.name(),
            s.phase_reason
        );
    }
    result.phase = phase;
    Ok(RunPhase {
        lattice: result,
        rules: RunRules {
            run: run.id.clone(),
            lattice: lattice_phase,
            signature,
            trajectory_error,
            rests_on,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Phase::*;

    #[test]
    fn agreement_decides_contradiction_does_not() {
        assert_eq!(
            combine(Tetragonal, Some(Tetragonal)),
            (Tetragonal, Rule::Both)
        );
        assert_eq!(combine(Cubic, Some(Undetermined)), (Cubic, Rule::Lattice));
        assert_eq!(combine(Undetermined, Some(Cubic)), (Cubic, Rule::Dihedral));
        assert_eq!(combine(Undetermined, None), (Undetermined, Rule::Neither));
        assert_eq!(combine(Tetragonal, None), (Tetragonal, Rule::Lattice));
        assert_eq!(
            combine(Tetragonal, Some(Cubic)),
            (Undetermined, Rule::Neither)
        );
        assert_eq!(combine(Mixed, Some(Cubic)), (Mixed, Rule::Lattice));
    }
}
