"""Same thermo output with 1, 2 and 4 MPI ranks, including ranks that own no atoms and a rank
whose only atom has no neighbours (zero edges)."""
import numpy as np
import pytest
from ase import Atoms
from conftest import header, model_path, run_lammps, thermo

import structures

MD = """
velocity all create 600.0 4928459 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
thermo_style custom step pe ke etotal press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
thermo 5
run 20
"""


def slab_with_lone_atom():
    """A 2x2x1 slab of cubic cells in a box three times taller, plus one Na far from it: with
    `processors 1 1 4` the upper subdomains own either nothing or one atom without edges."""
    slab = structures.cubic((2, 2, 1))
    cell = slab.cell[:].copy()
    cell[2, 2] *= 3
    lone = Atoms("Na", positions=[[3.0, 3.0, 17.0]])
    atoms = slab + lone
    atoms.set_cell(cell)
    atoms.pbc = True
    return atoms


@pytest.mark.parametrize("kind,backend", [("pth", "native"), ("pth", "torch"), ("pt2", "torch")])
def test_ranks_agree_with_empty_domains(tmp_path, kind, backend):
    atoms = slab_with_lone_atom()
    z = atoms.positions[:, 2]
    lz = atoms.cell[2, 2]
    per_domain = np.histogram(z, bins=4, range=(0, lz))[0]
    assert per_domain[2] == 0 and per_domain[3] == 1, per_domain  # empty rank, lone-atom rank
    model = model_path("float64", kind)
    results = {}
    for np_ranks in (1, 2, 4):
        work = tmp_path / f"np{np_ranks}"
        work.mkdir()
        structures.write_lammps_data(atoms, work / "data.lmp")
        grid = f"processors 1 1 {np_ranks}"
        _, out = run_lammps(work, header("data.lmp", model, extra=grid, backend=backend) + MD, np_ranks=np_ranks)
        results[np_ranks] = thermo((work / "log.lammps").read_text())[0]
    for col in ("PotEng", "KinEng", "TotEng", "Press", "Pxx", "Pzz", "Pxy"):
        ref = results[1][col]
        scale = np.abs(ref).max()
        for np_ranks in (2, 4):
            diff = np.abs(results[np_ranks][col] - ref).max()
            assert diff <= 1e-10 * scale, f"{col}: np {np_ranks} differs from np 1 by {diff:e}"
    # the lone atom sits beyond the cutoff: the run really had a rank with zero edges
    assert np.linalg.norm(atoms.get_distances(len(atoms) - 1, range(len(atoms) - 1), mic=True), axis=-1).min() > 4.0
