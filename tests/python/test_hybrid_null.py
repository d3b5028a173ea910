"""pair_style hybrid with NULL in allegro's pair_coeff: the NULL type takes no part in the model
(no energy, no force, no neighbour) and another style handles it. Reference: the same crystal
without the extra atoms through plain pair_style allegro, plus the other style alone."""
import numpy as np
import pytest
from conftest import model_path, run_lammps, run_zero

import structures

MODEL = model_path("float64", "pth")  # float64: 1 and 2 ranks agree to rounding
EXTRA = np.array([[1.0, 1.2, 1.1], [4.3, 1.0, 1.3], [1.1, 4.4, 1.0], [7.9, 8.3, 2.2]])  # A


def data_files(tmp_path):
    atoms = structures.cubic((2, 2, 2))
    structures.write_lammps_data(atoms, tmp_path / "crystal.lmp")
    lines = (tmp_path / "crystal.lmp").read_text().splitlines()
    n = len(atoms)
    out = []
    for line in lines:
        if line.endswith(" atoms"):
            line = f"{n + len(EXTRA)} atoms"
        elif line.endswith(" atom types"):
            line = "5 atom types"
        out.append(line)
        if line.startswith("4 ") and "# S" in line:
            out.append("5 39.948  # Ar")
    out += [f"{n + 1 + k} 5 {p[0]} {p[1]} {p[2]}" for k, p in enumerate(EXTRA)]
    (tmp_path / "with_ar.lmp").write_text("\n".join(out) + "\n")
    return n


def evaluate(workdir, data, pair_lines, np_ranks=1):
    return run_zero(workdir, f"../{data}", pair_lines, np_ranks)


@pytest.mark.parametrize("np_ranks", [1, 2])
def test_null_type_takes_no_part(tmp_path, np_ranks):
    n = data_files(tmp_path)
    hybrid, f_h = evaluate(tmp_path / "hybrid", "with_ar.lmp",
                           f"pair_style hybrid allegro lj/cut 5.0\npair_coeff * * allegro {MODEL} Na Sb W S NULL\n"
                           "pair_coeff 5 5 lj/cut 0.0104 3.4\npair_coeff 1*4 5 none\n", np_ranks)
    model, f_m = evaluate(tmp_path / "allegro", "crystal.lmp", f"pair_style allegro\npair_coeff * * {MODEL} Na Sb W S\n")
    lj, f_lj = evaluate(tmp_path / "lj", "with_ar.lmp",
                        "pair_style lj/cut 5.0\npair_coeff * * 0.0 1.0\npair_coeff 5 5 0.0104 3.4\n")
    assert abs(lj["PotEng"][0]) > 1e-4  # the Ar atoms do interact with each other
    assert hybrid["PotEng"][0] == pytest.approx(model["PotEng"][0] + lj["PotEng"][0], rel=1e-9, abs=1e-9)
    assert np.abs(f_h[:n] - f_m).max() < 1e-9 * max(1.0, np.abs(f_m).max())
    assert np.abs(f_h[n:] - f_lj[n:]).max() < 1e-12
    assert hybrid["Pxx"][0] == pytest.approx(model["Pxx"][0] + lj["Pxx"][0], rel=1e-8, abs=1e-6)


def test_all_null_is_an_error(tmp_path):
    data_files(tmp_path)
    (tmp_path / "w").mkdir()
    code, out = run_lammps(tmp_path / "w", f"""units metal
atom_style atomic
read_data ../with_ar.lmp
pair_style allegro
pair_coeff * * {MODEL} NULL NULL NULL NULL NULL
run 0
""", check=False)
    assert code != 0 and "every type is NULL" in out, out[-1500:]
