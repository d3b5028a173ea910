"""The dihedral signature (the second phase rule) on real NPT runs of the shipped model either
side of its T_C: a 128-atom pristine cell, fully flexible, from the tetragonal structure, at
100 K (12 ps) and 650 K (20 ps). References: at 100 K the lattice rule and the cell itself
(c/a = 1.018: tetragonal); at 650 K, far above the model's T_C (the cell's shape fluctuates too
much in so small a cell for the lattice rule to tell), the pairs' long-time means are zero.
The two runs go side by side on the two cores (~1.5 min)."""
import json
import os
import subprocess

import numpy as np

from conftest import LMP, ROOT

BIN = ROOT / "target" / "release"
MODEL = ROOT / "models" / "nawsbs.nequip.pth"
RUNS = {100: (6000, 11), 650: (10000, 12)}  # temperature: (2 fs steps, velocity seed)


def start(workdir, temperature):
    steps, seed = RUNS[temperature]
    workdir.mkdir()
    subprocess.run([str(BIN / "allegro-build"), "--phase", "tetragonal", "--reps", "2", "2", "2",
                    "--data", str(workdir / "start.data")], check=True, capture_output=True)
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
    procs = {t: start(tmp_path / f"T{t}", t) for t in RUNS}
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
