"""The native backend in LAMMPS: per-atom virials (stress/atom, centroid/stress/atom) that sum to
the global virial, heat/flux built from them, and the same trajectory as the libtorch backend."""
import numpy as np
import pytest
from conftest import NKTV2P_METAL, header, model_path, run_lammps, thermo

import structures


@pytest.mark.parametrize("np_ranks", [1, 2])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_atom_virials_sum_to_global(tmp_path, dtype, np_ranks):
    atoms = structures.w_doped_with_vacancies()
    structures.write_lammps_data(atoms, tmp_path / "data.lmp")
    script = header("data.lmp", model_path(dtype, "pth"), backend="native") + """
compute s all stress/atom NULL virial
compute c all centroid/stress/atom NULL virial
compute ss all reduce sum c_s[1] c_s[2] c_s[3] c_s[4] c_s[5] c_s[6]
compute cs all reduce sum c_c[1] c_c[2] c_c[3] c_c[4] c_c[5] c_c[6] c_c[7] c_c[8] c_c[9]
variable v equal vol
thermo_style custom step pxx pyy pzz pxy pxz pyz v_v c_ss[*] c_cs[*]
thermo_modify format float %.17g
run 0
"""
    run_lammps(tmp_path, script, np_ranks=np_ranks)
    t = thermo((tmp_path / "log.lammps").read_text())[0]
    vol = t["v_v"][0]
    # stress/atom is minus the per-atom virial in pressure x volume (no velocities: virial only)
    p = np.array([t[k][0] for k in ("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz")])
    s = -np.array([t[f"c_ss[{k}]"][0] for k in range(1, 7)]) / vol
    c = -np.array([t[f"c_cs[{k}]"][0] for k in range(1, 10)]) / vol
    c_sym = np.concatenate([c[:3], 0.5 * (c[3:6] + c[6:9])])  # xy xz yz with yx zx zy
    scale = np.abs(p).max()
    assert np.abs(s - p).max() <= 1e-9 * scale, (s, p)
    assert np.abs(c_sym - p).max() <= 1e-9 * scale, (c_sym, p)


def test_heat_flux_from_atom_virials(tmp_path):
    """compute heat/flux equals sum e_i v_i - sum S_i v_i computed here from dumped per-atom data."""
    atoms = structures.w_doped_with_vacancies()
    structures.write_lammps_data(atoms, tmp_path / "data.lmp")
    script = header("data.lmp", model_path("float64", "pth"), backend="native") + """
velocity all create 600.0 4928459 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
compute ke all ke/atom
compute pe all pe/atom
compute s all stress/atom NULL virial
compute flux all heat/flux ke pe s
thermo_style custom step c_flux[1] c_flux[2] c_flux[3]
thermo_modify format float %.17g
thermo 5
dump d all custom 5 atoms.dump id vx vy vz c_ke c_pe c_s[1] c_s[2] c_s[3] c_s[4] c_s[5] c_s[6]
dump_modify d sort id format float %.17g
run 5
"""
    run_lammps(tmp_path, script)
    t = thermo((tmp_path / "log.lammps").read_text())[0]
    lines = (tmp_path / "atoms.dump").read_text().split("ITEM: TIMESTEP")[-1].splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("ITEM: ATOMS")) + 1
    a = np.array([[float(x) for x in l.split()] for l in lines[start:] if l.strip()])
    v, e, s = a[:, 1:4], a[:, 4] + a[:, 5], a[:, 6:12]
    # S_i v_i with the symmetric tensor (xx yy zz xy xz yz)
    sv = np.stack([s[:, 0] * v[:, 0] + s[:, 3] * v[:, 1] + s[:, 4] * v[:, 2],
                   s[:, 3] * v[:, 0] + s[:, 1] * v[:, 1] + s[:, 5] * v[:, 2],
                   s[:, 4] * v[:, 0] + s[:, 5] * v[:, 1] + s[:, 2] * v[:, 2]], axis=1)
    want = (e[:, None] * v).sum(0) - sv.sum(0) / NKTV2P_METAL
    got = np.array([t[f"c_flux[{k}]"][-1] for k in (1, 2, 3)])
    assert np.abs(got - want).max() <= 1e-8 * np.abs(want).max(), (got, want)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_native_and_torch_trajectories_agree(tmp_path, dtype):
    atoms = structures.w_doped_with_vacancies()
    md = """
velocity all create 600.0 87287 mom yes rot yes dist gaussian
fix nve all nve
timestep 0.001
thermo_style custom step pe ke etotal pxx pyy pzz
thermo_modify format float %.17g
thermo 5
run 20
"""
    runs = {}
    for backend in ("native", "torch"):
        work = tmp_path / backend
        work.mkdir()
        structures.write_lammps_data(atoms, work / "data.lmp")
        run_lammps(work, header("data.lmp", model_path(dtype, "pth"), backend=backend) + md)
        runs[backend] = thermo((work / "log.lammps").read_text())[0]
    rtol = 1e-9 if dtype == "float64" else 1e-5
    for col in ("PotEng", "KinEng", "TotEng", "Pxx", "Pzz"):
        a, b = runs["native"][col], runs["torch"][col]
        assert np.abs(a - b).max() <= rtol * np.abs(b).max(), f"{col}: {a} vs {b}"
