"""Every user error is a clear LAMMPS error, never a crash, a hang or silent numbers."""
import os

import pytest
from conftest import header, model_path, run_lammps

import structures


@pytest.fixture
def data(tmp_path):
    structures.write_lammps_data(structures.cubic(), tmp_path / "data.lmp")
    return tmp_path


def fails_with(workdir, script, message, np_ranks=1):
    code, out = run_lammps(workdir, script + "run 0\n", np_ranks=np_ranks, check=False)
    assert code != 0, out[-2000:]
    assert message in out, out[-2000:]
    assert "Segmentation" not in out and "terminate called" not in out


def script(model, names="Na Sb W S", units="metal", newton="on", style="allegro"):
    return f"""units {units}
newton {newton}
atom_style atomic
read_data data.lmp
pair_style {style}
pair_coeff * * {model} {names}
"""


@pytest.mark.parametrize("np_ranks", [1, 2])
def test_missing_model(data, np_ranks):
    fails_with(data, script("/nonexistent/model.nequip.pth"),
               "ERROR: pair_style allegro: cannot load model: cannot read model file "
               "'/nonexistent/model.nequip.pth': No such file or directory", np_ranks)


@pytest.mark.parametrize("suffix", ["pth", "pt2"])
def test_corrupt_model(data, suffix):
    bad = data / f"corrupt.nequip.{suffix}"
    bad.write_bytes(b"PK\x03\x04 this is not a model" * 10)
    fails_with(data, script(bad), f"is not a deployed nequip model")


def test_unknown_extension(data):
    bad = data / "model.txt"
    bad.write_text("x")
    fails_with(data, script(bad), "unsupported extension, expected .nequip.pth")


def test_unknown_type_name(data):
    fails_with(data, script(model_path("float64", "pth"), names="Na Sb Xx S"),
               "LAMMPS type 3 is mapped to 'Xx', which is not a type of model")


def test_wrong_argument_count(data):
    fails_with(data, script(model_path("float64", "pth"), names="Na Sb W"),
               "one model type name per LAMMPS type (4 types): expected 7 arguments, got 6")


def test_newton_off(data):
    fails_with(data, script(model_path("float64", "pth"), newton="off"),
               "pair_style allegro requires newton pair on")


def test_units_not_metal(data):
    fails_with(data, script(model_path("float64", "pth"), units="real"),
               "pair_style allegro requires 'units metal'")


def test_bad_threads(data):
    fails_with(data, script(model_path("float64", "pth"), style="allegro threads 0"),
               "pair_style allegro: threads must be at least 1")


@pytest.mark.parametrize("np_ranks", [1, 2])
def test_more_threads_than_cores_is_a_warning(data, np_ranks):
    cores = os.cpu_count()
    model = model_path("float64", "pth")
    over = cores // np_ranks + 1
    code, out = run_lammps(data, script(model, style=f"allegro threads {over}") + "run 0\n", np_ranks=np_ranks)
    assert (f"WARNING: pair_style allegro: {np_ranks} MPI rank(s) x {over} thread(s) on this node "
            f"exceed its {cores} cores") in out, out[-2000:]
    assert out.count("exceed its") == 1  # rank 0 only
    code, out = run_lammps(data, script(model, style="allegro threads 1") + "run 0\n", np_ranks=np_ranks)
    assert "exceed its" not in out


def test_unknown_keyword(data):
    fails_with(data, script(model_path("float64", "pth"), style="allegro fast yes"),
               "pair_style allegro: unknown keyword 'fast'")


def test_per_atom_virial_is_refused_by_torch(data):
    fails_with(data, script(model_path("float64", "pth"), style="allegro backend torch") +
               "compute s all stress/atom NULL\ncompute r all reduce sum c_s[1]\nthermo_style custom step c_r\n",
               "per-atom virials (compute stress/atom, centroid/stress/atom, heat/flux) need the native backend")


def test_unknown_backend(data):
    fails_with(data, script(model_path("float64", "pth"), style="allegro backend gpu"),
               "pair_style allegro: unknown backend 'gpu' (expected auto, native or torch)")


def test_native_refuses_unsupported_model(data):
    """A module the native engine does not implement (a Tanh put where the model has a SiLU):
    one line naming it and suggesting `backend torch`."""
    import zipfile
    src, bad = model_path("float64", "pth"), data / "tanh.nequip.pth"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            payload = zin.read(item)
            if item.filename.endswith("/data.pkl"):
                payload = payload.replace(b"activation\nSiLU\n", b"activation\nTanh\n", 1)
            zout.writestr(item, payload)
    fails_with(data, script(bad, style="allegro backend native"),
               "is a Tanh, which the native engine does not implement (use `backend torch`)")


def test_overlapping_atoms_name_lammps_ids(tmp_path):
    """Two atoms at the same place: a LAMMPS error naming both atom IDs, before any number."""
    atoms = structures.cubic()
    atoms.positions[7] = atoms.positions[3]
    structures.write_lammps_data(atoms, tmp_path / "data.lmp")
    code, out = run_lammps(tmp_path, script(model_path("float64", "pth")) + "run 0\n", check=False)
    assert code != 0
    assert ("atoms 4 and 8 are 0 A apart (overlapping atoms)" in out
            or "atoms 8 and 4 are 0 A apart (overlapping atoms)" in out), out[-2000:]
    assert "Segmentation" not in out


def test_model_found_through_lammps_potentials(data):
    """A bare model file name is looked for in $LAMMPS_POTENTIALS, as LAMMPS does for potentials;
    same energy as with the full path."""
    import shutil
    from conftest import thermo
    pots = data / "potentials"
    pots.mkdir()
    shutil.copy(model_path("float64", "pth"), pots / "mine.nequip.pth")
    run = lambda model, env=None: run_lammps(data, script(model) + "thermo_style custom step pe\nthermo_modify format float %.17g\nrun 0\n", env=env)
    run("mine.nequip.pth", env={"LAMMPS_POTENTIALS": str(pots)})
    found = thermo((data / "log.lammps").read_text())[0]["PotEng"][0]
    assert "pair_style allegro: model " + str(pots / "mine.nequip.pth") in (data / "log.lammps").read_text()
    run(str(model_path("float64", "pth")))
    assert found == thermo((data / "log.lammps").read_text())[0]["PotEng"][0]
    fails_with(data, script("mine.nequip.pth"), "cannot read model file 'mine.nequip.pth'")


def _damaged_copy(src, dst, flip_in_storage):
    """`src` with one bit flipped inside a stored tensor (the zip's CRC no longer matches) or,
    otherwise, its extra/type_names permuted (entries rewritten, CRCs right)."""
    import zipfile
    if flip_in_storage:
        with zipfile.ZipFile(src) as z:
            storage = z.read(next(n for n in z.namelist() if n.endswith("/data/3")))
        raw = bytearray(src.read_bytes())
        at = raw.find(storage[:64])
        raw[at + 5] ^= 0x10
        dst.write_bytes(bytes(raw))
        return
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            payload = zin.read(item)
            if item.filename.endswith("/extra/type_names"):
                payload = b"Sb Na W S"
            zout.writestr(item, payload)


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("damage,message", [
    (True, "the CRC-32 checksum does not match (the file is damaged)"),
    (False, "contradicts the metadata stored with the network"),
])
def test_damaged_models_never_run_on_any_backend(data, backend, damage, message):
    """A storage whose CRC fails, extra/type_names that contradict the network: an error on every
    backend (backend auto used to hand both to libtorch, which ran them with wrong numbers)."""
    bad = data / "damaged.nequip.pth"
    _damaged_copy(model_path("float64", "pth"), bad, damage)
    fails_with(data, script(bad, style=f"allegro backend {backend}"), message)
