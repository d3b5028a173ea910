//! How fast the model runs here: a few force evaluations of a 432-atom cubic cell in-process,
//! the basis of the plan's wall-time estimate (an MD step costs about one evaluation).
use std::path::Path;
use std::time::Instant;

use super::error::Result;

use crate::phonon::crystal::Crystal;
use crate::phonon::model::Allegro;
use crate::phonon::ForceModel;
use crate::structure;

/// Atom-steps per second of one run with `threads` threads.
pub fn speed(model: &Path, threads: usize) -> Result<f64> {
    allegro::model::set_threads(threads);
    let model = allegro::Model::load_with(
        model,
        allegro::LoadOptions {
            backend: allegro::BackendChoice::Auto,
            threads,
            ..allegro::LoadOptions::default()
        },
    )?;
    let mut model = Allegro { model };
    let s = structure::cubic(structure::CUBIC_A).supercell([3, 3, 3]);
    let crystal = Crystal {
        cell: s.cell,
        positions: s.positions.clone(),
        symbols: s.elements.iter().map(|e| e.symbol().to_string()).collect(),
        masses: s.elements.iter().map(|e| e.mass()).collect(),
    };
    model.evaluate(&crystal)?; // warm-up
    let t0 = Instant::now();
    let mut calls = 0;
    while calls < 3 || (t0.elapsed().as_secs_f64() < 1.0 && calls < 50) {
        model.evaluate(&crystal)?;
        calls += 1;
    }
    Ok(crystal.len() as f64 * calls as f64 / t0.elapsed().as_secs_f64())
}
