"""LAMMPS `run 0` through the plugin against nequip's own evaluation of the same model."""
import numpy as np
import pytest
from conftest import MODELS, NKTV2P_METAL, header, model_path, read_dump_forces, rtol_of, run_lammps, thermo

import structures
from nequip_reference import evaluate

STRUCTURES = structures.all_structures()


@pytest.mark.parametrize("dtype,kind", MODELS)
@pytest.mark.parametrize("name", list(STRUCTURES))
def test_run0_matches_nequip(workdir, dtype, kind, name):
    atoms = STRUCTURES[name]
    model = model_path(dtype, kind)
    ref = evaluate(model, atoms)
    structures.write_lammps_data(atoms, workdir / "data.lmp")
    script = header("data.lmp", model) + """
compute pe_atom all pe/atom
compute pe_sum all reduce sum c_pe_atom
thermo_style custom step pe c_pe_sum pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
dump d all custom 1 forces.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
"""
    run_lammps(workdir, script)
    t = thermo((workdir / "log.lammps").read_text())[0]
    rtol = rtol_of(dtype)
    assert t["PotEng"][0] == pytest.approx(ref["energy"], rel=rtol, abs=0)
    # per-atom energies (eatom) add up to the same total
    assert t["c_pe_sum"][0] == pytest.approx(ref["energy"], rel=rtol, abs=0)
    forces = read_dump_forces(workdir / "forces.dump")
    scale = np.abs(ref["forces"]).max()
    assert np.abs(forces - ref["forces"]).max() <= rtol * scale
    # pressure tensor at zero velocity: P = W / V (LAMMPS virial W = nequip's `virial`)
    pressure = ref["virial"] / atoms.get_volume() * NKTV2P_METAL
    got = np.array([[t["Pxx"][0], t["Pxy"][0], t["Pxz"][0]],
                    [t["Pxy"][0], t["Pyy"][0], t["Pyz"][0]],
                    [t["Pxz"][0], t["Pyz"][0], t["Pzz"][0]]])
    assert np.abs(got - pressure).max() <= rtol * np.abs(pressure).max()
