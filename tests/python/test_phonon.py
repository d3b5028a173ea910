"""allegro-phonon against phonopy driven by nequip's own ASE calculator: same model, same
(relaxed) cubic Na3SbS4 cell, same 2x2x2 supercell and 0.02 A displacement. Also: the acoustic
modes at GAMMA, the relaxation (forces checked by nequip), and E(Q) of the frozen soft mode
against direct energy evaluations by nequip."""
import json
import subprocess
import warnings

import numpy as np
from ase import Atoms

from conftest import ROOT
import phonopy_reference as ref

PHONON = ROOT / "target" / "release" / "allegro-phonon"
MODEL = ROOT / "models" / "nawsbs.nequip.pth"


def run_ours(tmp_path, phase):
    out, relaxed = tmp_path / "ours.json", tmp_path / "relaxed.xyz"
    subprocess.run([str(PHONON), "--model", str(MODEL), "--structure", phase, "--relax", "0.001",
                    "--write-structure", str(relaxed), "--json", str(out), "--threads", "2",
                    "--dos-mesh", "4", "--plot", str(tmp_path / phase)], check=True)
    ours = json.loads(out.read_text())
    assert ours["relaxation"]["converged"]
    return ours, relaxed


def compare(ours, ph, labels):
    """Every frequency at the special points and along the path within 0.05 THz or 1 %."""
    n = 3 * ours["atoms_primitive_cell"]

    def close(q, mine):
        theirs = ref.frequencies(ph, ours["unit_cell_a"], q)
        mine = np.asarray(mine)
        assert mine.shape == theirs.shape == (n,)
        bad = np.abs(mine - theirs) > np.maximum(0.05, 0.01 * np.abs(theirs))
        assert not bad.any(), f"q {q}: ours {mine[bad]} phonopy {theirs[bad]}"
        return np.abs(mine - theirs).max()

    assert {p["label"] for p in ours["special_points"]} == labels
    worst = max(close(p["q"], p["frequencies_thz"]) for p in ours["special_points"])
    worst = max(worst, max(close(q, f) for q, f in zip(ours["band"]["q"], ours["band"]["frequencies_thz"])))
    print(f"largest difference to phonopy over the path: {worst:.4f} THz")


def test_tetragonal_cell_agrees_with_phonopy(tmp_path):
    ours, relaxed = run_ours(tmp_path, "tetragonal")
    assert ours["atoms_primitive_cell"] == 16 and ours["soft_mode"] is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = ref.phonopy_run(MODEL, ref.read_xyz(relaxed), (2, 2, 2), 0.02, masses=ours["masses_amu"],
                             threads=2)
    compare(ours, ph, {"GAMMA", "X", "M", "Z", "R", "A"})


def test_phonopy_nequip_and_allegro_phonon_agree(tmp_path):
    ours, relaxed = run_ours(tmp_path, "cubic")
    assert ours["atoms_primitive_cell"] == 8
    for what in ("band", "dos", "soft_mode"):
        assert (tmp_path / f"cubic_{what}.png").stat().st_size > 1000

    atoms = ref.read_xyz(relaxed)
    calc = ref.calculator(MODEL, threads=2)
    atoms.calc = calc
    assert np.abs(atoms.get_forces()).max() < 0.002  # relaxed, as nequip sees it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = ref.phonopy_run(MODEL, atoms, (2, 2, 2), 0.02, masses=ours["masses_amu"], threads=2)
    assert len(ph.primitive.symbols) == 8

    compare(ours, ph, {"GAMMA", "H", "N", "P"})

    gamma = next(p for p in ours["special_points"] if p["label"] == "GAMMA")
    assert np.sort(np.abs(gamma["frequencies_thz"]))[:3].max() < 0.05

    # The soft mode: E(Q) against nequip's energies of the same displaced cells.
    s = ours["soft_mode"]
    assert s["label"] == "H" and s["frequency_thz"] < 0  # imaginary, as in the paper
    cell = np.array(ours["unit_cell_a"])
    pos0, pattern = np.array(ours["positions_a"]), np.array(s["pattern"])
    def energy(q):
        a = Atoms(ours["symbols"], positions=pos0 + q * pattern, cell=cell, pbc=True)
        a.calc = calc
        return a.get_potential_energy()
    e0 = energy(0.0)
    for k in range(0, len(s["amplitude"]), 8):
        direct = (energy(s["amplitude"][k]) - e0) * 1000
        assert abs(direct - s["energy_mev"][k]) < 0.2 + 1e-3 * abs(direct), (k, direct, s["energy_mev"][k])
    assert s["minimum_energy_mev"] < 0 and abs(s["minimum_amplitude"]) > 0
    # the distortion at the minimum is the tetragonal one: Na shuffled along the c axis
    assert ours["tetragonal"]["overlap"] > 0.9
