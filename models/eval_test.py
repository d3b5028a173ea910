#!/usr/bin/env python
"""Test-set errors of a deployed model vs the teacher labels.

Method: nequip's own ASE calculator, `nequip.integrations.ase.NequIPCalculator.from_compiled_model`
on the compiled TorchScript file (the exact file LAMMPS loads), evaluated frame by frame on
data/test.xyz.gz (independent trajectories, seeds 9000+, never used in training / validation).
RMSE definitions: energy per atom = RMSE over frames of (E_model - E_teacher) / N_atoms;
forces = RMSE over all Cartesian force components of all atoms; stress = RMSE over the 6
independent components (Voigt xx yy zz yz xz xy) of every frame (also given over all 9 components,
which is what nequip's `stress_rmse` uses), in kbar (1 eV/A^3 = 1602.1766 kbar).

usage: eval_test.py MODEL.nequip.pth DATA.xyz.gz [OUT.json] [--label NAME]
"""
import json, os, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
import torch
torch.set_num_threads(1)
import warnings
warnings.filterwarnings("ignore")
from ase.io import read
from nequip.integrations.ase import NequIPCalculator

EV_A3_TO_KBAR = 1602.1766208


def evaluate(model, data):
    calc = NequIPCalculator.from_compiled_model(model, device="cpu")
    frames = read(data, index=":")
    de, df, ds6, ds9, nat = [], [], [], [], 0
    t = time.time()
    for f in frames:
        e_ref = f.get_potential_energy()
        f_ref = f.get_forces()
        s_ref = f.get_stress(voigt=False)
        g = f.copy()
        g.calc = calc
        e = g.get_potential_energy()
        fo = g.get_forces()
        s = g.get_stress(voigt=False)
        de.append((e - e_ref) / len(f))
        df.append((fo - f_ref).ravel())
        d = (s - s_ref) * EV_A3_TO_KBAR
        ds9.append(d.ravel())
        ds6.append(d[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]])
        nat += len(f)
    rmse = lambda x: float(np.sqrt(np.mean(np.square(np.concatenate([np.atleast_1d(v) for v in x])))))
    mae = lambda x: float(np.mean(np.abs(np.concatenate([np.atleast_1d(v) for v in x]))))
    return dict(
        n_frames=len(frames), n_atoms=nat,
        energy_rmse_meV_per_atom=1000 * rmse(de), energy_mae_meV_per_atom=1000 * mae(de),
        forces_rmse_meV_per_A=1000 * rmse(df), forces_mae_meV_per_A=1000 * mae(df),
        stress_rmse_kbar_6comp=rmse(ds6), stress_rmse_kbar_9comp=rmse(ds9),
        stress_mae_kbar_6comp=mae(ds6),
        eval_wall_s=round(time.time() - t, 1))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    model, data = args[0], args[1]
    res = evaluate(model, data)
    res = dict(model=os.path.basename(model), data=data, reference="teacher SevenNet-MF-0 R2SCAN",
               method=__doc__.split("Method: ")[1].split("\n\nusage")[0].replace("\n", " "), **res)
    print(json.dumps(res, indent=1))
    if len(args) > 2:
        json.dump(res, open(args[2], "w"), indent=1)
