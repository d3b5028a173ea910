"""Energy conservation in NVE through the plugin.

Accepted drift: |slope of E_total| < 2e-5 eV/atom/ps with a 1 fs step. That is 20 meV/atom over a
ns; a force/energy mismatch (a wrong ghost sum, a missed edge, a sign error in one component)
shows up orders of magnitude above it, while velocity-Verlet with consistent forces at 1 fs drifts
far below it (measured: see the assertion message)."""
import numpy as np
import pytest
from conftest import header, model_path, run_lammps, thermo

import structures


@pytest.mark.parametrize("backend", ["native", "torch"])
def test_nve_conserves_energy(tmp_path, backend):
    atoms = structures.w_doped_with_vacancies()
    structures.write_lammps_data(atoms, tmp_path / "data.lmp")
    script = header("data.lmp", model_path("float64", "pth"), backend=backend) + """
velocity all create 600.0 87287 mom yes rot yes dist gaussian
fix nve all nve
timestep 0.001
thermo_style custom step time temp pe etotal
thermo_modify format float %.17g
thermo 10
run 2000
"""
    run_lammps(tmp_path, script)
    t = thermo((tmp_path / "log.lammps").read_text())[0]
    n = len(atoms)
    e = t["TotEng"] / n
    time = t["Time"]
    slope = np.polyfit(time, e, 1)[0]
    spread = e.max() - e.min()
    assert t["Temp"].mean() > 150  # the atoms really moved
    assert abs(slope) < 2e-5, f"drift {slope:.3e} eV/atom/ps (fluctuation {spread:.3e} eV/atom)"
    assert spread < 1e-3, f"E_total fluctuates by {spread:.3e} eV/atom"
    print(f"NVE drift {slope:.3e} eV/atom/ps, fluctuation {spread:.3e} eV/atom")
