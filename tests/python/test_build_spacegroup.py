"""allegro-build cells have the space groups of the Wyckoff data, checked independently with
spglib: cubic I-43m (217) and tetragonal P-42_1c (114), as conventional cells and supercells."""
import subprocess

import pytest
import spglib
from ase.io import read
from conftest import ROOT

BUILD = ROOT / "target" / "release" / "allegro-build"


@pytest.mark.parametrize("phase,number,symbol", [("cubic", 217, "I-43m"), ("tetragonal", 114, "P-42_1c")])
@pytest.mark.parametrize("reps", [["1", "1", "1"], ["2", "2", "3"]])
def test_space_group(tmp_path, phase, number, symbol, reps):
    assert BUILD.exists(), f"{BUILD} missing: cargo build --release builds it"
    xyz = tmp_path / "cell.xyz"
    subprocess.run([str(BUILD), "--phase", phase, "--reps", *reps, "--data", str(tmp_path / "cell.data"),
                    "--xyz", str(xyz)], check=True, capture_output=True)
    atoms = read(xyz)
    n_cells = int(reps[0]) * int(reps[1]) * int(reps[2])
    assert len(atoms) == 16 * n_cells
    cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
    assert spglib.get_spacegroup(cell, symprec=1e-4) == f"{symbol} ({number})"
