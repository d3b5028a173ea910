#!/usr/bin/env python
"""Reference evaluation of nequip/allegro models with nequip's OWN Python code.

    from nequip_reference import evaluate
    res = evaluate("tests/models/allegro_float64.nequip.pth", atoms)
    res["energy"]   float, eV
    res["energies"] (N,)   per-atom energies
    res["forces"]   (N,3)  eV/A
    res["virial"]   (3,3)  eV, the model's `virial` output (symmetric)
    res["stress"]   (3,3)  eV/A^3, ASE sign convention (= -virial / volume)
    res["stress_voigt"] (6,) ASE Voigt order xx yy zz yz xz xy

Which nequip code path is used depends on the file:
  * ``*.nequip.pth`` (TorchScript) -> ``nequip.integrations.ase.NequIPCalculator.from_compiled_model``
    (nequip's neighbor list with per-edge-type pruning, cell + edge_cell_shift inputs).
  * ``*.nequip.zip`` / checkpoint  -> ``NequIPCalculator._from_saved_model`` (eager model).
  * ``*.nequip.pt2`` compiled with ``--target pair_allegro`` -> ``evaluate_pair_allegro``
    (the ASE calculator only accepts ``--target ase`` .pt2 files).
  ``evaluate_pair_allegro`` can also be used on a ``.pth``: it feeds the model exactly what
  pair_allegro feeds it -- pos (float64, local atoms followed by ghost/image atoms),
  edge_index (int64, (2,E), [center, neighbor]) and atom_types (int64) -- with the ghost atoms
  built by nequip-allegro's own ``allegro._compile.allegro_data_settings``; the total energy is
  the sum of the atomic energies of the N local atoms, ghost forces are folded back onto
  their owners (what LAMMPS' reverse communication does).

Sign convention (checked numerically, see ``strain_fd_stress``): the model's ``virial`` output
is  W = -dE/d(eps)  (eps = symmetric strain applied to positions and cell), so
ASE stress = (1/V) dE/d(eps) = -W / V, and LAMMPS' virial (eV) = W.

Run as a script for the self-checks:  python tests/models/nequip_reference.py [models dir]
"""
import os
import sys
import warnings

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message="Defaulting to using model type names")

import allegro  # noqa: E402,F401  (registers allegro modules / the pair_allegro target)
from nequip.integrations.ase import NequIPCalculator  # noqa: E402
from nequip.data import AtomicDataDict, from_ase  # noqa: E402
from nequip.utils.global_state import set_global_state  # noqa: E402

_SPECIES_MAP = True  # identity map: model type names are chemical symbols (Na Sb W S)


class _VirialCalculator(NequIPCalculator):
    """NequIPCalculator that also keeps the model's raw `virial` output."""

    def save_extra_outputs(self, out):
        if AtomicDataDict.VIRIAL_KEY in out and out[AtomicDataDict.VIRIAL_KEY].numel() == 9:
            self.results["virial"] = (
                out[AtomicDataDict.VIRIAL_KEY].detach().cpu().double().numpy().reshape(3, 3)
            )


_CACHE = {}


def _calculator(model_path):
    key = ("calc", os.path.abspath(model_path))
    if key not in _CACHE:
        set_global_state()
        if str(model_path).endswith(".nequip.pth"):
            calc = _VirialCalculator.from_compiled_model(
                model_path, device="cpu", chemical_species_to_atom_type_map=_SPECIES_MAP
            )
        elif str(model_path).endswith(".nequip.pt2"):
            raise ValueError("use evaluate_pair_allegro for pair_allegro .pt2 files")
        else:  # .nequip.zip package or checkpoint: nequip's eager model
            calc = _VirialCalculator._from_saved_model(
                model_path, device="cpu", chemical_species_to_atom_type_map=_SPECIES_MAP
            )
        _CACHE[key] = calc
    return _CACHE[key]


def _finish(energy, energies, forces, virial, atoms):
    virial = np.asarray(virial, dtype=np.float64).reshape(3, 3)
    vol = abs(np.linalg.det(atoms.cell[:]))
    stress = -virial / vol
    return {
        "energy": float(energy),
        "energies": np.asarray(energies, dtype=np.float64).reshape(-1),
        "forces": np.asarray(forces, dtype=np.float64).reshape(-1, 3),
        "virial": virial,
        "stress": stress,
        "stress_voigt": stress.ravel()[[0, 4, 8, 5, 2, 1]],
    }


def evaluate(model_path, atoms):
    """Energy/forces/virial/stress of a periodic ase.Atoms with nequip's own evaluation."""
    model_path = str(model_path)
    if model_path.endswith(".nequip.pt2"):
        return evaluate_pair_allegro(model_path, atoms)
    calc = _calculator(model_path)
    atoms = atoms.copy()
    atoms.calc = calc
    e = atoms.get_potential_energy()
    res = _finish(e, calc.results["energies"], atoms.get_forces(), calc.results["virial"], atoms)
    # consistency with nequip's own stress output (ASE Voigt)
    np.testing.assert_allclose(res["stress_voigt"], calc.results["stress"], rtol=1e-6, atol=1e-9)
    return res


def _load_compiled_pair_allegro(model_path):
    key = ("pa", os.path.abspath(model_path))
    if key not in _CACHE:
        from nequip.model.inference_models import load_compiled_model
        from nequip.integrations.utils import basic_transforms
        from allegro._compile import PAIR_ALLEGRO_INPUTS
        from nequip.scripts._compile_utils import LMP_OUTPUTS

        set_global_state()
        if model_path.endswith(".nequip.pt2"):
            model, meta = load_compiled_model(model_path, "cpu", PAIR_ALLEGRO_INPUTS, LMP_OUTPUTS)
        else:
            model, meta = load_compiled_model(model_path, "cpu")
        tnames = meta["type_names"]
        tf = basic_transforms(meta, meta["r_max"], tnames, {t: t for t in tnames})
        _CACHE[key] = (model, tf)
    return _CACHE[key]


def pair_allegro_inputs(model_path, atoms):
    """(inputs dict, owner index of every local+ghost atom) as pair_allegro would build them."""
    from allegro._compile import allegro_data_settings

    _, tf = _load_compiled_pair_allegro(str(model_path))
    data = from_ase(atoms)
    for t in tf:
        data = t(data)
    n = len(atoms)
    ei = data[AtomicDataDict.EDGE_INDEX_KEY]
    shift = data[AtomicDataDict.EDGE_CELL_SHIFT_KEY]
    outside = shift.abs().sum(-1) != 0
    owner = torch.cat([torch.arange(n), ei[1, outside]])
    g = allegro_data_settings(dict(data))
    inp = {
        "pos": g[AtomicDataDict.POSITIONS_KEY].to(torch.float64).contiguous(),
        "edge_index": g[AtomicDataDict.EDGE_INDEX_KEY].to(torch.int64).contiguous(),
        "atom_types": g[AtomicDataDict.ATOM_TYPE_KEY].to(torch.int64).contiguous(),
    }
    return inp, owner


def evaluate_pair_allegro(model_path, atoms):
    """Evaluate like pair_allegro: explicit ghost atoms, no cell, local-energy sum."""
    model_path = str(model_path)
    model, _ = _load_compiled_pair_allegro(model_path)
    inp, owner = pair_allegro_inputs(model_path, atoms)
    n = len(atoms)
    out = model(dict(inp))
    ae = out[AtomicDataDict.PER_ATOM_ENERGY_KEY].detach().double().reshape(-1)
    f_all = out[AtomicDataDict.FORCE_KEY].detach().double()
    forces = torch.zeros(n, 3, dtype=torch.float64).index_add_(0, owner, f_all)
    virial = out[AtomicDataDict.VIRIAL_KEY].detach().double().reshape(3, 3)
    return _finish(ae[:n].sum().item(), ae[:n].numpy(), forces.numpy(), virial.numpy(), atoms)


def strain_fd_stress(model_path, atoms, h=1e-4, fn=None):
    """(1/V) dE/d(eps) by central differences of symmetric strains (ASE stress convention)."""
    fn = fn or evaluate
    vol = atoms.get_volume()
    s = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            es = []
            for sgn in (1, -1):
                eps = np.zeros((3, 3))
                eps[a, b] += 0.5 * sgn * h
                eps[b, a] += 0.5 * sgn * h
                at = atoms.copy()
                at.set_cell(atoms.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
                es.append(fn(model_path, at)["energy"])
            s[a, b] = (es[0] - es[1]) / (2 * h) / vol
    return s


def _self_check(models_dir):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_training_data import na3sbs4_cell

    rng = np.random.default_rng(7)
    small = na3sbs4_cell()  # a = 7.15 A < 2 r_max = 8 A: atoms see their own images
    sym = small.get_chemical_symbols()
    sym[0] = "W"
    small.set_chemical_symbols(sym)
    small.set_cell(small.cell[:] @ (np.eye(3) + [[0.01, 0.004, 0], [0.004, -0.008, 0.003], [0, 0.003, 0.005]]),
                   scale_atoms=True)
    small.positions += rng.normal(scale=0.08, size=small.positions.shape)
    big = small.repeat((2, 2, 2))  # 14.3 A > 2 r_max
    # (model name, dtype); models other than the first two are checked when present
    models = [("float32", "float32"), ("float64", "float64"), ("l2_float64", "float64"),
              ("l3_float32", "float32"), ("zbl_float64", "float64")]
    for name, dt in models:
        pth = os.path.join(models_dir, f"allegro_{name}.nequip.pth")
        pkg = os.path.join(models_dir, f"allegro_{name}.nequip.zip")
        if name not in ("float32", "float64") and not os.path.exists(pth):
            continue
        tol = 1e-4 if dt == "float32" else 1e-9
        r = evaluate(pth, small)
        rb = evaluate(pth, big)
        rp = evaluate(pkg, small)
        rg = evaluate_pair_allegro(pth, small)
        fd = strain_fd_stress(pth, small, h=1e-3 if dt == "float32" else 1e-5)
        print(f"== {name}: E(small)={r['energy']:.10f}  |F|max={abs(r['forces']).max():.4f}")
        print("   E(2x2x2)/8 - E =", rb["energy"] / 8 - r["energy"],
              " dF =", abs(rb["forces"][: len(small)] - r["forces"]).max())
        print("   package - pth: dE =", rp["energy"] - r["energy"], " dF =", abs(rp["forces"] - r["forces"]).max(),
              " dV =", abs(rp["virial"] - r["virial"]).max())
        print("   pair_allegro-style - calculator: dE =", rg["energy"] - r["energy"],
              " dF =", abs(rg["forces"] - r["forces"]).max(), " dV =", abs(rg["virial"] - r["virial"]).max())
        print("   virial =", np.array2string(r["virial"], precision=6).replace("\n", ""))
        print("   -virial/V =", np.array2string(r["stress"], precision=6).replace("\n", ""))
        print("   FD (1/V)dE/deps =", np.array2string(fd, precision=6).replace("\n", ""),
              " max|diff| =", abs(fd - r["stress"]).max())
        assert abs(rb["energy"] / 8 - r["energy"]) < tol * 10 * max(1, abs(r["energy"]))
        assert abs(rp["energy"] - r["energy"]) < tol * max(1, abs(r["energy"]))
        assert abs(rg["energy"] - r["energy"]) < tol * max(1, abs(r["energy"]))
        assert abs(fd - r["stress"]).max() < (1e-3 if dt == "float32" else 1e-7)
        pt2 = os.path.join(models_dir, f"allegro_{name}.nequip.pt2")
        if os.path.exists(pt2):
            r2 = evaluate(pt2, small)
            print("   pt2 - pth: dE =", r2["energy"] - r["energy"], " dF =", abs(r2["forces"] - r["forces"]).max(),
                  " dV =", abs(r2["virial"] - r["virial"]).max())
    print("self-check OK")


if __name__ == "__main__":
    _self_check(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
