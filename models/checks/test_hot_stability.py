"""The shipped model survives hot MD (models/checks/hot_stability.py, the short version of the
model card's 50 ps protocol): the 126-atom W-doped cell (2x2x2 cubic, 2 W + 2 Na vacancies,
a = 7.15 A) in NVT at 900 K for 15 ps with three velocity seeds, then 5 ps of NVE, against a 600 K
reference run of the same cell.  Each run must reach its end (no collapse: the temperature never
above 5x the target, no lost atoms, no NaN), hold the target temperature, have a potential energy
above the relaxed cell's by 0.7-2.0 x 3/2 k_B T per atom (equipartition, the harmonic value) and
an NVE drift no worse than at 600 K.  The model shipped before this test (stage 3) collapsed at
900 K after 8-24 ps in this cell (the potential energy fell by hundreds of eV in 0.2 ps).
About 2.5 minutes on two cores.

Kept here, outside the suite, while the shipped model still fails it (MODEL_CARD.md, "Hot
stability"); it moves to tests/python/ with the model that passes it.  Run it by hand with
`.venv/bin/python -m pytest models/checks/test_hot_stability.py`."""
import os
import subprocess
import sys

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository, from tests/python/ or models/checks/

# ALLEGRO_HOT_MODEL: check a candidate model instead of the shipped one
MODEL = Path(os.environ.get("ALLEGRO_HOT_MODEL", ROOT / "models" / "nawsbs.nequip.pth"))
BIN = ROOT / "target" / "release"


def test_shipped_model_survives_900_k():
    cmd = [sys.executable, str(ROOT / "models" / "checks" / "hot_stability.py"), str(MODEL),
           "--cells", "doped126", "--seeds", "3", "--nvt-ps", "15", "--nve-ps", "5",
           "--ref-nvt-ps", "5", "--jobs", "2"]
    env = {"ALLEGRO_BUILD": str(BIN / "allegro-build"), "OMP_NUM_THREADS": "1"}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=dict(os.environ, **env))
    rows = [line for line in p.stdout.splitlines() if line.startswith("doped126")]
    assert len(rows) == 4, p.stdout + p.stderr
    assert p.returncode == 0 and all(line.endswith("ok") for line in rows), p.stdout + p.stderr
