"""The shipped default Na-W-Sb-S model: it loads in LAMMPS through the plugin and its energy,
forces and stress on reference structures match nequip's own evaluation; allegro-eval on the
shipped test set reproduces the RMSEs nequip's calculator gives on the same frames."""
import json
import subprocess

import numpy as np
import pytest
from ase.io import read
from conftest import NKTV2P_METAL, ROOT, header, read_dump_forces, run_lammps, thermo

import structures
from nequip_reference import evaluate
from test_eval import EVAL, nequip_metrics

MODEL = ROOT / "models" / "nawsbs.nequip.pth"


@pytest.mark.parametrize("name", ["cubic", "tetragonal", "w_doped_vacancies"])
def test_shipped_model_in_lammps_matches_nequip(tmp_path, name):
    atoms = structures.all_structures()[name]
    ref = evaluate(MODEL, atoms)
    structures.write_lammps_data(atoms, tmp_path / "data.lmp")
    script = header("data.lmp", MODEL) + """
thermo_style custom step pe pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
dump d all custom 1 forces.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
"""
    run_lammps(tmp_path, script)
    t = thermo((tmp_path / "log.lammps").read_text())[0]
    assert t["PotEng"][0] == pytest.approx(ref["energy"], rel=1e-5)
    if name == "cubic":
        # the teacher's relaxed cubic cell (a = 7.1547 A): -9.494334 eV/atom (models/teacher_relax.txt)
        assert abs(ref["energy"] / len(atoms) - (-9.494334)) < 0.03
    forces = read_dump_forces(tmp_path / "forces.dump")
    assert np.abs(forces - ref["forces"]).max() <= 1e-5 * max(1.0, np.abs(ref["forces"]).max())
    pressure = ref["virial"] / atoms.get_volume() * NKTV2P_METAL
    assert t["Pxx"][0] == pytest.approx(pressure[0, 0], rel=1e-4, abs=1e-2)


def test_eval_reproduces_nequip_rmse_on_shipped_test_set(tmp_path):
    data = ROOT / "models" / "data" / "test.xyz.gz"
    out = tmp_path / "eval.json"
    subprocess.run([str(EVAL), "--model", str(MODEL), "--json", str(out), str(data)], check=True, capture_output=True)
    got = json.loads(out.read_text())
    want = nequip_metrics(MODEL, read(data, index=":"))
    assert got["frames"] == len(read(data, index=":"))
    assert got["energy_per_atom_meV"]["rmse"] == pytest.approx(want["energy"], rel=1e-3)
    assert got["forces_meV_per_A"]["rmse"] == pytest.approx(want["forces"], rel=1e-4)
    assert got["stress_kbar"]["rmse"] == pytest.approx(want["stress"], rel=1e-4)
