"""The study's MD inputs stop a run whose temperature runs away (a model falling into a hole of its
potential, as the shipped model can above 700 K: models/MODEL_CARD.md, "Hot stability") with an
error, instead of writing a trajectory and end.data that an analysis would read as physics.

A real collapse is rare and slow to provoke, so the runaway here is made by hand: a 128-atom cell
whose velocities are drawn at 6,000 K, run at a target of 300 K. Reference: the temperature at
the step where the guard fires (its first check, step 10) in the same run with the guard set out
of reach (`halt_above` 1000), where LAMMPS prints it, divided by 5 x 300 K. The same cell started
at 300 K runs to its end (~20 s in all)."""
import os
import subprocess

import pytest

from conftest import LMP, ROOT, thermo

BIN = ROOT / "target" / "release"
MODEL = ROOT / "models" / "nawsbs.nequip.pth"
INPUTS = {
    "npt.in": ["-var", "steps", "40", "-var", "rx", "2", "-var", "ry", "2", "-var", "rz", "2"],
    "nvt_nve.in": ["-var", "nvt_steps", "20", "-var", "nve_steps", "20", "-var", "ax", "7.2",
                   "-var", "ay", "7.2", "-var", "az", "7.25", "-var", "rx", "2", "-var", "ry", "2",
                   "-var", "rz", "2", "-var", "dump_every", "10"],
}


def start(workdir, temperature):
    """workdir/start.data: the 2x2x2 tetragonal cell with velocities drawn at `temperature`."""
    workdir.mkdir()
    subprocess.run([str(BIN / "allegro-build"), "--phase", "tetragonal", "--reps", "2", "2", "2",
                    "--data", str(workdir / "cell.data")], check=True, capture_output=True)
    (workdir / "velocities.in").write_text(
        f"units metal\natom_style atomic\nread_data cell.data\n"
        f"velocity all create {temperature} 7 mom yes rot yes dist gaussian\n"
        f"write_data start.data\n")
    subprocess.run([str(LMP), "-in", "velocities.in", "-log", "none", "-nocite", "-screen", "none"],
                   cwd=workdir, check=True)
    return workdir


def run(workdir, name, *extra):
    cmd = [str(LMP), "-in", str(ROOT / "lammps-inputs" / name), "-log", "log.lammps", "-nocite",
           "-var", "model", str(MODEL), "-var", "data", "start.data", "-var", "temp", "300",
           "-var", "velocities", "keep", "-var", "thermo", "10"] + INPUTS[name] + list(extra)
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", list(INPUTS))
def test_a_runaway_temperature_stops_the_run(tmp_path, name):
    workdir = start(tmp_path / "hot", 6000)
    code, out = run(workdir, name)
    assert code != 0, out[-2000:]
    assert "ERROR: Fix halt condition for fix-id collapse met on step 10 with value" in out, out[-2000:]
    value = float(out.split("met on step 10 with value")[1].split()[0])
    assert not (workdir / "end.data").exists()
    code, out = run(workdir, name, "-var", "halt_above", "1000")
    assert code == 0, out[-2000:]
    rows = thermo((workdir / "log.lammps").read_text())[0]
    at_10 = rows["Temp"][list(rows["Step"]).index(10)]
    assert at_10 > 5 * 300
    assert value == pytest.approx(at_10 / (5 * 300), rel=1e-4), (value, at_10)


@pytest.mark.parametrize("name", list(INPUTS))
def test_a_run_at_its_temperature_is_left_alone(tmp_path, name):
    workdir = start(tmp_path / "ok", 300)
    code, out = run(workdir, name)
    assert code == 0, out[-2000:]
    assert (workdir / "end.data").exists()
    rows = thermo((workdir / "log.lammps").read_text())
    assert max(r["Temp"].max() for r in rows) < 5 * 300
