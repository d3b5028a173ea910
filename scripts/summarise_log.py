"""Prints what to look at in the example's LAMMPS log: the second half of the thermo output
averaged (temperature, pressure, lattice parameters per conventional cell) and the speed."""
import re
import sys

import numpy as np


def main(path):
    text = open(path).read()
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.split()[:1] == ["Step"])
    cols = lines[start].split()
    rows = []
    for l in lines[start + 1:]:
        parts = l.split()
        if len(parts) != len(cols) or not re.match(r"^-?\d", parts[0]):
            break
        rows.append([float(x) for x in parts])
    data = np.array(rows)
    half = data[len(data) // 2:]
    col = {c: half[:, k] for k, c in enumerate(cols)}
    print(f"\nlog: {path}  ({len(data)} thermo rows; averages over the second half)")
    print(f"  temperature      {col['Temp'].mean():9.1f} K   (target: the 'temp' variable)")
    print(f"  pressure         {col['Press'].mean():9.0f} bar (+- {col['Press'].std():.0f}; target 1 bar)")
    a, b, c = (col[k].mean() for k in ("v_a", "v_b", "v_c"))
    print(f"  a, b, c per cell {a:.4f} {b:.4f} {c:.4f} A  (cubic: all equal; tetragonal: one longer)")
    print(f"  potential energy {col['PotEng'].mean():.4f} eV")
    m = re.search(r"Performance: .*?([\d.]+) timesteps/s", text)
    loop = re.search(r"Loop time of ([\d.]+) on (\d+) procs for (\d+) steps with (\d+) atoms", text)
    if m and loop:
        steps_per_s = float(m.group(1))
        print(f"  speed            {steps_per_s:.2f} steps/s = {steps_per_s * int(loop.group(4)):.0f} atom-steps/s "
              f"on {loop.group(2)} MPI rank(s)")
    print("  model: models/nawsbs.nequip.pth, Allegro distilled from SevenNet-MF-0 (r2SCAN);\n"
          "         see models/MODEL_CARD.md. Experiment: a = 7.16, c = 7.29 A (tetragonal, 300 K).")


if __name__ == "__main__":
    main(sys.argv[1])
