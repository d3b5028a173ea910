//! Why unwrapping must use the per-frame minimum-image step (TOR): under a barostat the box
//! changes and positions are rescaled with it, so x + image * box(t) makes every boundary
//! crossing an atom has made move with the box. A drifting atom in an oscillating box shows it.
mod common;

use allegro_tools::trajectory::read_all;
use allegro_tools::unwrap::{naive_unwrap, Unwrapper};
use common::{write_dump, Box3, Rng, SynthFrame};

#[test]
fn naive_image_unwrapping_is_wrong_under_npt_and_tor_is_right() {
    // one atom moving 0.5 A per frame along x (affine barostat: fractional coordinates move by
    // H(t)^-1 step), box length oscillating by +-5 % around 10 A
    let boxes = |f: usize| Box3 {
        lo: [0.0; 3],
        len: [10.0 * (1.0 + 0.05 * (f as f64 / 7.0).sin()), 10.0, 10.0],
        tilt: [0.0; 3],
    };
    let mut s = [0.05, 0.5, 0.5];
    let mut frames = vec![SynthFrame {
        timestep: 0,
        bx: boxes(0),
        s: vec![s],
    }];
    let step = 0.5;
    for f in 1..400 {
        let bx = boxes(f);
        s[0] += step / bx.len[0];
        frames.push(SynthFrame {
            timestep: f as i64,
            bx,
            s: vec![s],
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drift.dump");
    write_dump(&path, &frames, &[1], "x", &mut Rng::new(0));
    let read = read_all(&path).unwrap();
    let mut tor = Unwrapper::new(&read[0]);
    let x0 = tor.positions()[0][0];
    let naive0 = naive_unwrap(&read[0]).unwrap()[0][0];
    let (mut worst_tor, mut worst_naive) = (0.0f64, 0.0f64);
    for (f, frame) in read.iter().enumerate().skip(1) {
        let truth = step * f as f64;
        let t = tor.push(frame).unwrap()[0][0] - x0;
        let n = naive_unwrap(frame).unwrap()[0][0] - naive0;
        worst_tor = worst_tor.max((t - truth).abs());
        worst_naive = worst_naive.max((n - truth).abs());
    }
    eprintln!("after 200 A (20 box crossings): TOR error <= {worst_tor:.3} A, naive error up to {worst_naive:.3} A");
    // TOR is off only by the rescaling of the current cell position (<= 5 % of 10 A);
    // the naive scheme accumulates 5 % of every crossing: ~20 crossings x 0.5 A
    assert!(worst_tor < 0.6, "TOR error {worst_tor}");
    assert!(worst_naive > 5.0, "naive error {worst_naive}");
}
