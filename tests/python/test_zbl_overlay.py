"""ZBL at short range on top of the Allegro model (pair_style hybrid/overlay), as the model card
and lammps-inputs/na3sbs4_zbl_overlay.in recommend for hot runs: energy, forces and pressure
must be the plain sums of the Allegro-only and the ZBL-only evaluations, on a structure with a
Na-S pair inside the ZBL range; and the example input runs as shipped."""
import shutil

import numpy as np
import pytest
from conftest import ROOT, run_lammps, run_zero, thermo

import structures

MODEL = ROOT / "models" / "nawsbs.nequip.pth"
Z = {1: 11, 2: 51, 3: 74, 4: 16}  # Na Sb W S, the data file's type order
ZBL = "zbl 1.0 1.3"


def zbl_coeffs(style_prefix):
    return "".join(f"pair_coeff {i} {j} {style_prefix}{Z[i]} {Z[j]}\n" for i in Z for j in Z if i <= j)


def evaluate(workdir, pair_lines):
    return run_zero(workdir, "../data.lmp", pair_lines)


def test_overlay_is_the_sum_of_allegro_and_zbl(tmp_path):
    atoms = structures.cubic((2, 2, 2))
    symbols = atoms.get_chemical_symbols()
    na = symbols.index("Na")
    s = [i for i, x in enumerate(symbols) if x == "S"]
    d = atoms.get_distances(na, s, mic=True, vector=True)
    k = int(np.argmin(np.linalg.norm(d, axis=1)))
    # move the Na along the bond to 1.15 A from its nearest S: inside ZBL's range
    bond = d[k] / np.linalg.norm(d[k])
    atoms.positions[na] += d[k] - 1.15 * bond
    assert abs(atoms.get_distance(na, s[k], mic=True) - 1.15) < 1e-9
    structures.write_lammps_data(atoms, tmp_path / "data.lmp")

    both, f_both = evaluate(tmp_path / "overlay", f"pair_style hybrid/overlay allegro {ZBL}\n"
                            f"pair_coeff * * allegro {MODEL} Na Sb W S\n" + zbl_coeffs("zbl "))
    model, f_model = evaluate(tmp_path / "allegro", f"pair_style allegro\npair_coeff * * {MODEL} Na Sb W S\n")
    wall, f_wall = evaluate(tmp_path / "zbl", f"pair_style {ZBL}\n" + zbl_coeffs(""))
    # the wall is really there: several eV at 1.15 A
    assert wall["PotEng"][0] > 1.0
    assert both["PotEng"][0] == pytest.approx(model["PotEng"][0] + wall["PotEng"][0], rel=1e-6, abs=1e-6)
    for col in ("Pxx", "Pyy", "Pzz", "Pxy"):
        assert both[col][0] == pytest.approx(model[col][0] + wall[col][0], rel=1e-5, abs=1e-2)
    assert np.abs(f_both - (f_model + f_wall)).max() < 1e-5 * max(1.0, np.abs(f_both).max())


def test_zbl_overlay_example_runs(tmp_path):
    for name in ("na3sbs4_zbl_overlay.in", "na3sbs4_tetragonal_4x4x4.data"):
        shutil.copy(ROOT / "lammps-inputs" / name, tmp_path / name)
    script = (tmp_path / "na3sbs4_zbl_overlay.in").read_text()
    script = script.replace("index ../models/nawsbs.nequip.pth", f"index {MODEL}")
    script = script.replace("variable steps   index 1000", "variable steps   index 20")
    run_lammps(tmp_path, script)
    t = thermo((tmp_path / "log.lammps").read_text())[-1]
    assert len(t["Step"]) >= 1 and t["Step"][-1] == 20
    # nothing near the wall in a normal crystal: same energy as without it at step 0
    plain = (tmp_path / "plain")
    plain.mkdir()
    shutil.copy(ROOT / "lammps-inputs" / "na3sbs4_tetragonal_4x4x4.data", plain)
    base = (ROOT / "lammps-inputs" / "na3sbs4_npt.in").read_text()
    base = base.replace("index ../models/nawsbs.nequip.pth", f"index {MODEL}")
    base = base.replace("variable steps   index 1000", "variable steps   index 0")
    run_lammps(plain, base)
    e0 = thermo((plain / "log.lammps").read_text())[-1]["PotEng"][0]
    assert t["PotEng"][0] == pytest.approx(e0, rel=1e-9)
