//! What a study asks the builder for: phase, composition variant and x, and the counts of W and
//! Na vacancies they mean on a given supercell.
use serde::{Deserialize, Serialize};

/// The structure a cell is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Cubic Na3SbS4, I-43m.
    Cubic,
    /// Tetragonal Na3SbS4, P-421c.
    Tetragonal,
}

impl Phase {
    /// Lowercase name, as in study files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Cubic => "cubic",
            Phase::Tetragonal => "tetragonal",
        }
    }
}

/// The paper's four composition variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Na3SbS4
    Pristine,
    /// Na(3-x)W(x)Sb(1-x)S4: W with one compensating Na vacancy each
    WVac,
    /// Na(3-x)SbS4: vacancies only
    Vac,
    /// Na3W(x)Sb(1-x)S4: W only (charge left implicit)
    W,
}

impl Variant {
    /// Kebab-case name, as in study files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Pristine => "pristine",
            Variant::WVac => "w-vac",
            Variant::Vac => "vac",
            Variant::W => "w",
        }
    }

    /// (has W, has Na vacancies)
    pub fn defects(self) -> (bool, bool) {
        match self {
            Variant::Pristine => (false, false),
            Variant::WVac => (true, true),
            Variant::Vac => (false, true),
            Variant::W => (true, false),
        }
    }

    /// Numbers of W and Na vacancies for x on `formula_units` formula units (2 per
    /// conventional cell): x per formula unit, rounded to whole atoms.
    pub fn counts(self, x: f64, formula_units: usize) -> (usize, usize) {
        let n = (x * formula_units as f64).round() as usize;
        let (w, vac) = self.defects();
        (if w { n } else { 0 }, if vac { n } else { 0 })
    }

    /// Atoms of an n1 x n2 x n3 supercell with this variant at x.
    pub fn atoms(self, x: f64, reps: [usize; 3]) -> usize {
        let cells = reps[0] * reps[1] * reps[2];
        16 * cells - self.counts(x, 2 * cells).1
    }
}
