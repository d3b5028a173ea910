"""LAMMPS `run 0` through the plugin against nequip's own evaluation of the same model."""
import numpy as np
import pytest
from conftest import MODELS, NKTV2P_METAL, header, model_path, read_dump_forces, rtol_of, run_lammps, thermo

import structures
from nequip_reference import evaluate

STRUCTURES = structures.all_structures()


@pytest.mark.parametrize("dtype,kind,backend", MODELS)
@pytest.mark.parametrize("name", list(STRUCTURES))
def test_run0_matches_nequip(workdir, dtype, kind, backend, name):
    atoms = STRUCTURES[name]
    model = model_path(dtype, kind)
    ref = evaluate(model, atoms)
    structures.write_lammps_data(atoms, workdir / "data.lmp")
    script = header("data.lmp", model, backend=backend) + """
compute pe_atom all pe/atom
compute pe_sum all reduce sum c_pe_atom
thermo_style custom step pe c_pe_sum pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
dump d all custom 1 forces.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
"""
    _, out = run_lammps(workdir, script)
    expected = {"native": "native", "torch": "torchscript" if kind == "pth" else "aoti"}[backend]
    assert f"backend {expected} (" in out and f"), dtype {dtype}," in out
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


@pytest.mark.parametrize("backend", ["native", "torch"])
def test_several_lammps_types_per_element_and_threads(workdir, backend):
    """Na split over LAMMPS types 1 and 5 (`pair_coeff * * M Na Sb W S Na`), 2 threads:
    the same numbers as the plain mapping."""
    atoms = STRUCTURES["w_doped_vacancies"]
    model = model_path("float64", "pth")
    ref = evaluate(model, atoms)
    structures.write_lammps_data(atoms, workdir / "data.lmp")
    text = (workdir / "data.lmp").read_text()
    head, body = text.split("Atoms  # atomic\n\n")
    head = head.replace("4 atom types", "5 atom types").replace("4 32.06  # S\n", "4 32.06  # S\n5 22.98977  # Na\n")
    rows = body.strip().splitlines()
    na_rows = [k for k, r in enumerate(rows) if r.split()[1] == "1"]
    for k in na_rows[::2]:
        parts = rows[k].split()
        parts[1] = "5"
        rows[k] = " ".join(parts)
    (workdir / "data.lmp").write_text(head + "Atoms  # atomic\n\n" + "\n".join(rows) + "\n")
    script = f"""units metal
atom_style atomic
read_data data.lmp
pair_style allegro backend {backend} threads 2
pair_coeff * * {model} Na Sb W S Na
thermo_style custom step pe
thermo_modify format float %.17g
dump d all custom 1 forces.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
"""
    run_lammps(workdir, script)
    t = thermo((workdir / "log.lammps").read_text())[0]
    assert t["PotEng"][0] == pytest.approx(ref["energy"], rel=1e-10, abs=0)
    forces = read_dump_forces(workdir / "forces.dump")
    assert np.abs(forces - ref["forces"]).max() <= 1e-10 * np.abs(ref["forces"]).max()
