"""allegro-eval against RMSEs computed here with nequip's own ASE calculator on the same frames."""
import json
import subprocess

import numpy as np
import pytest
from ase.io import read
from conftest import ROOT, model_path

from nequip_reference import evaluate

EVAL = ROOT / "target" / "release" / "allegro-eval"  # the torch-free build: the native engine
DATA = ROOT / "models" / "data" / "test.xyz.gz"
EV_A3_TO_KBAR = 1602.176634


def nequip_metrics(model, frames):
    e, f, s = [], [], []
    for atoms in frames:
        ref = evaluate(model, atoms)
        n = len(atoms)
        e.append((ref["energy"] - atoms.get_potential_energy()) / n)
        f.append((ref["forces"] - atoms.get_forces()).ravel())
        s.append((ref["stress"] - atoms.get_stress(voigt=False)).ravel())
    rmse = lambda x: float(np.sqrt(np.mean(np.square(np.concatenate([np.atleast_1d(v) for v in x])))))
    return {"energy": rmse(e) * 1000, "forces": rmse(f) * 1000, "stress": rmse(s) * EV_A3_TO_KBAR}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_eval_matches_nequip(tmp_path, dtype):
    assert EVAL.exists(), f"{EVAL} missing: cargo build --release --workspace builds it"
    model = model_path(dtype, "pth")
    frames = read(DATA, index=":8")
    subset = tmp_path / "subset.xyz"
    from ase.io import write
    write(subset, frames, format="extxyz")
    out = tmp_path / "eval.json"
    subprocess.run([str(EVAL), "--model", str(model), "--json", str(out), "--plot", str(tmp_path / "parity"), str(subset)],
                   check=True, capture_output=True)
    got = json.loads(out.read_text())
    want = nequip_metrics(model, frames)
    rel = 1e-8 if dtype == "float64" else 1e-4
    assert got["energy_per_atom_meV"]["rmse"] == pytest.approx(want["energy"], rel=rel)
    assert got["forces_meV_per_A"]["rmse"] == pytest.approx(want["forces"], rel=rel)
    assert got["stress_kbar"]["rmse"] == pytest.approx(want["stress"], rel=rel)
    for what in ("energy", "forces", "stress"):
        assert (tmp_path / f"parity_{what}.png").exists() and (tmp_path / f"parity_{what}.svg").exists()


def test_frames_without_stress_are_a_warning(tmp_path):
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write
    frames = read(DATA, index=":3")
    for atoms in frames:  # keep energy and forces, drop the stress
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(), forces=atoms.get_forces())
    subset = tmp_path / "nostress.xyz"
    write(subset, frames, format="extxyz")
    out = tmp_path / "eval.json"
    proc = subprocess.run([str(EVAL), "--model", str(model_path("float64", "pth")), "--json", str(out), str(subset)],
                          check=True, capture_output=True, text=True)
    got = json.loads(out.read_text())
    assert got["stress_kbar"] is None
    assert got["warnings"] == ["no frame has a reference stress: stresses were not compared"]
    assert "warning: no frame has a reference stress" in proc.stderr
    diff = [evaluate(model_path("float64", "pth"), a)["forces"] - a.get_forces() for a in frames]
    want = 1000 * float(np.sqrt(np.mean(np.square(np.concatenate([d.ravel() for d in diff])))))
    assert got["forces_meV_per_A"]["rmse"] == pytest.approx(want, rel=1e-8)


def _eval_fails(tmp_path, frames_text, message, extra=()):
    path = tmp_path / "bad.xyz"
    path.write_text(frames_text)
    out = tmp_path / "never.json"
    proc = subprocess.run([str(EVAL), "--model", str(model_path("float64", "pth")), "--json", str(out), *extra, str(path)],
                          capture_output=True, text=True)
    assert proc.returncode != 0, proc.stdout
    assert message in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists()


def _frame(lattice="7.15 0 0 0 7.15 0 0 0 7.15", energy="-100.0", pbc="T T T"):
    return (f'2\nLattice="{lattice}" Properties=species:S:1:pos:R:3:forces:R:3 energy={energy} pbc="{pbc}"\n'
            "Na 0 0 0 0 0 0\nS 2.1 0.3 0.1 0 0 0\n")


def test_bad_references_and_cells_are_errors_not_numbers(tmp_path):
    """A NaN reference energy (RMSE NaN, exit 0 before), a cluster marked non-periodic (treated
    as periodic before), a 0.5 A cell (1.28e9 eV/atom before), /dev/null as the output (replaced
    by a regular file when run as root before): each a one-line error, nothing written."""
    _eval_fails(tmp_path, _frame(energy="nan"), "reference 'energy' is NaN")
    _eval_fails(tmp_path, _frame(pbc="F F F"), "only frames periodic in all three directions")
    _eval_fails(tmp_path, _frame(lattice="0.5 0 0 0 0.5 0 0 0 0.5"), "lattice vector 1 is 0.500 A long")
    import os
    before = os.stat("/dev/null")
    proc = subprocess.run([str(EVAL), "--model", str(model_path("float64", "pth")), "--json", "/dev/null",
                           str(tmp_path / "bad.xyz")], capture_output=True, text=True)
    assert proc.returncode != 0 and "cannot write /dev/null: it is not a regular file" in proc.stderr, proc.stderr
    after = os.stat("/dev/null")
    assert (after.st_mode, after.st_rdev, after.st_ino) == (before.st_mode, before.st_rdev, before.st_ino)
