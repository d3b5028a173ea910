#!/usr/bin/env python
"""Summarise an MD check: lattice lengths per conventional cell (second half), c/a, min pair
distance over the dumped frames, Na MSD slope -> D.   usage: analyse.py TAG (reads TAG.log, TAG.dump)"""
import sys, re
import numpy as np
from ase.io import read
from ase.neighborlist import neighbor_list

tag = sys.argv[1]
rows, hdr = [], None
for line in open(tag + ".log"):
    p = line.split()
    if p and p[0] == "Step":
        hdr = p
        continue
    if hdr and len(p) == len(hdr):
        try:
            rows.append([float(x) for x in p])
        except ValueError:
            hdr = None if not rows else hdr
    elif hdr and rows and p and p[0] == "Loop":
        hdr = None
d = np.array(rows)
col = {h: i for i, h in enumerate(hdr or ["Step", "Time", "Temp", "PotEng", "Press", "v_a", "v_b", "v_c"])}
t = d[:, 1]
half = d[len(d) // 2:]
abc = half[:, [5, 6, 7]].mean(0)
sd = half[:, [5, 6, 7]].std(0)
s = np.sort(abc)
# c = the length that differs most from the other two
dev = [abs(abc[i] - np.mean(np.delete(abc, i))) for i in range(3)]
ic = int(np.argmax(dev))
c = abc[ic]
a = np.mean(np.delete(abc, ic))
print(f"[{tag}] {len(d)} thermo rows, t = {t[-1]:.2f} ps; T(2nd half) = {half[:, 2].mean():.0f} K, "
      f"P = {half[:, 4].mean():.0f} bar")
print(f"[{tag}] <a>,<b>,<c> (2nd half, per conv. cell) = {abc.round(4)} +- {sd.round(4)} A;  "
      f"unique axis {'xyz'[ic]}: c/a = {c / a:.4f}  (first 10% of run: "
      f"{d[:max(1, len(d) // 10), [5, 6, 7]].mean(0).round(4)})")
# Na MSD (LAMMPS compute msd, com yes): linear fit over the second half
msd = d[:, -1]
k = np.polyfit(half[:, 1], half[:, -1], 1)[0]
D = k / 6.0
print(f"[{tag}] Na MSD at end = {msd[-1]:.3f} A^2; slope (2nd half) = {k:.4f} A^2/ps -> "
      f"D = {D:.4f} A^2/ps = {D * 1e-4:.2e} cm^2/s")
try:
    frames = read(tag + ".dump", index=":", format="lammps-dump-text")
    dmins = []
    for f in frames:
        dd = neighbor_list("d", f, 2.5)
        dmins.append(dd.min() if len(dd) else 2.5)
    print(f"[{tag}] min pair distance over {len(frames)} dumped frames = {min(dmins):.3f} A "
          f"({'OK' if min(dmins) > 1.8 else 'COLLAPSE'} vs 1.8 A)")
except FileNotFoundError:
    pass
