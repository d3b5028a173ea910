"""The phase rules on real NPT runs of the shipped model. The dihedral signature (the second
phase rule) either side of the model's T_C: a 128-atom pristine cell, fully flexible, from the
tetragonal structure, at 100 K (12 ps) and 650 K (30 ps). References: at 100 K the lattice rule and the cell itself
(c/a = 1.018: tetragonal); at 650 K, far above the model's T_C (the cell's shape fluctuates too
much in so small a cell for the lattice rule to tell), the pairs' long-time means are zero.
The two runs go side by side on the two cores (~1.7 min); their logs carry the cell angles,
which must not flag either as sheared.  The lattice rule on a sheared cell (the teacher's
low-temperature cell), which its lengths alone would call cubic: ~40 s."""
import json
import os
import subprocess

import numpy as np
from ase.cell import Cell
from ase.io import read

import structures
from conftest import LMP, ROOT

BIN = ROOT / "target" / "release"
MODEL = ROOT / "models" / "nawsbs.nequip.pth"
# temperature: (2 fs steps, velocity seed). 650 K runs 30 ps: at 20 ps the signature's 95 % bound
# stays above 3 deg in about one trajectory of four (seeds 11-15 measured; which one depends on
# the CPU's last bits), at 30 ps it fell to 1.1-2.0 deg in all five.
RUNS = {100: (6000, 11), 650: (15000, 12)}


def tetragonal_start(workdir):
    """workdir/start.data: the 2x2x2 tetragonal cell; returns workdir."""
    workdir.mkdir()
    subprocess.run([str(BIN / "allegro-build"), "--phase", "tetragonal", "--reps", "2", "2", "2",
                    "--data", str(workdir / "start.data")], check=True, capture_output=True)
    return workdir


def start(workdir, temperature, steps, seed):
    """NPT from workdir/start.data in the background."""
    cmd = [str(LMP), "-in", str(ROOT / "lammps-inputs" / "npt.in"), "-log", "log.lammps",
           "-nocite", "-screen", "none", "-var", "model", str(MODEL), "-var", "data", "start.data",
           "-var", "temp", str(temperature), "-var", "steps", str(steps), "-var", "seed", str(seed),
           "-var", "thermo", "10", "-var", "dump_every", "20", "-var", "drag", "1",
           "-var", "rx", "2", "-var", "ry", "2", "-var", "rz", "2"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def analyse(workdir):
    subprocess.run([str(BIN / "allegro-dihedral"), "--types", "1=Na,2=Sb,3=W,4=S", "--timestep",
                    "0.002", "--all-directions", "--skip", "2", "--json", "dihedral.json",
                    "traj.bin"], cwd=workdir, check=True, capture_output=True)
    subprocess.run([str(BIN / "allegro-lattice"), "--json", "lattice.json", "log.lammps"],
                   cwd=workdir, check=True, capture_output=True)
    return (json.loads((workdir / "dihedral.json").read_text()),
            json.loads((workdir / "lattice.json").read_text())["runs"][0])


def test_dihedral_signature_tells_the_phases_apart_where_the_lattice_cannot(tmp_path):
    procs = {t: start(tetragonal_start(tmp_path / f"T{t}"), t, *RUNS[t]) for t in RUNS}
    for t, p in procs.items():
        out, _ = p.communicate(timeout=900)
        assert p.returncode == 0, f"LAMMPS at {t} K failed:\n{out[-3000:]}"
    cold, cold_lattice = analyse(tmp_path / "T100")
    hot, hot_lattice = analyse(tmp_path / "T650")
    # 100 K: the lattice rule decides (the reference) and the signature agrees, with the
    # tetragonal pattern: per pair one large and two small long-time means
    assert cold_lattice["phase"] == "tetragonal", cold_lattice["phase_reason"]
    assert abs(cold_lattice["c_over_a"] - 1.018) < 0.01
    assert cold["signature"]["phase"] == "tetragonal", cold["signature"]["phase_reason"]
    assert 4.0 < cold["signature"]["value_deg"] < 10.0
    means = np.sort(np.abs([p["mean_deg"] for p in cold["pair_means"]]), axis=1)[:, ::-1].mean(0)
    assert means[0] > 2 * means[2], means
    # 650 K: the pattern is gone; the lattice rule cannot tell in this cell and run
    assert hot["signature"]["phase"] == "cubic", hot["signature"]["phase_reason"]
    assert hot["signature"]["interval_deg"][1] < 3.0
    assert hot_lattice["phase"] != "tetragonal", hot_lattice["phase_reason"]
    print(f"signature: {cold['signature']['phase_reason']} at 100 K; "
          f"{hot['signature']['phase_reason']} at 650 K; lattice at 650 K: {hot_lattice['phase']}")
    for lattice in (cold_lattice, hot_lattice):
        assert lattice["angles_deg"] is not None
        assert "sheared" not in lattice["phase_reason"], lattice["phase_reason"]


def test_a_sheared_cell_is_not_called_cubic(tmp_path):
    """The teacher's sheared 2x2x2 cell (models/data/teacher_sheared_2x2x2.xyz, from
    models/checks/sheared_cell.py: three equal lengths, angles near 89.2 deg, below the
    teacher's tetragonal cell in energy) held at 100 K for 10 ps in a fully flexible cell: the
    shipped model, which prefers it too, keeps it sheared.  Its lengths alone read cubic; the
    lattice rule with the cell angles says neither phase, and its mean angles are the teacher's
    within the thermal shift."""
    teacher = read(ROOT / "models" / "data" / "teacher_sheared_2x2x2.xyz")
    angles = teacher.cell.angles()
    assert np.all(np.abs(angles - 90.0) > 0.5), angles  # the reference is sheared
    teacher.set_cell(Cell.new(teacher.cell.cellpar()), scale_atoms=True)  # LAMMPS' orientation
    work = tmp_path / "sheared"
    work.mkdir()
    structures.write_lammps_data(teacher, work / "start.data")
    p = start(work, 100, steps=5000, seed=21)
    out, _ = p.communicate(timeout=900)
    assert p.returncode == 0, out[-3000:]
    _, lattice = analyse(work)
    assert lattice["phase"] == "undetermined", lattice["phase_reason"]
    assert "the cell is sheared" in lattice["phase_reason"], lattice["phase_reason"]
    assert "by the lengths alone: cubic" in lattice["phase_reason"], lattice["phase_reason"]
    mean = np.array([a["value"] for a in lattice["angles_deg"]])
    assert np.all(np.abs(mean - angles) < 0.6), (mean, angles)
