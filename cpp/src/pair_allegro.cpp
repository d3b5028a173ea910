#include "pair_allegro.h"

#include <mpi.h>

#include <cmath>
#include <cstring>
#include <string>
#include <thread>

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

using namespace LAMMPS_NS;

PairAllegro::PairAllegro(LAMMPS *lmp) : Pair(lmp)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  // The model returns the global virial itself; f.r over ghosts is not needed.
  no_virial_fdotr_compute = 1;
  // Per-atom virials come from edge forces (native backend): the full 3x3 tensor per atom.
  centroidstressflag = CENTROID_AVAIL;
  if (strcmp(allegro_version(), ALLEGRO_VERSION) != 0)
    error->all(FLERR, "pair_style allegro: plugin built with header {} but library {}; rebuild",
               ALLEGRO_VERSION, allegro_version());
}

PairAllegro::~PairAllegro()
{
  (void) allegro_model_free(model);
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairAllegro::library_error(const char *what)
{
  error->one(FLERR, "pair_style allegro: {}: {}", what, allegro_last_error());
}

void PairAllegro::allocate()
{
  allocated = 1;
  int n = atom->ntypes + 1;
  memory->create(setflag, n, n, "pair:setflag");
  memory->create(cutsq, n, n, "pair:cutsq");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) setflag[i][j] = 0;
}

// pair_style allegro [backend auto|native|torch] [threads N]
void PairAllegro::settings(int narg, char **arg)
{
  int iarg = 0;
  while (iarg < narg) {
    if (strcmp(arg[iarg], "threads") == 0) {
      if (iarg + 1 >= narg) error->all(FLERR, "pair_style allegro: 'threads' needs a value");
      threads = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
      if (threads < 1) error->all(FLERR, "pair_style allegro: threads must be at least 1");
      iarg += 2;
    } else if (strcmp(arg[iarg], "backend") == 0) {
      if (iarg + 1 >= narg) error->all(FLERR, "pair_style allegro: 'backend' needs a value (auto, native or torch)");
      const std::string b = arg[iarg + 1];
      if (b == "auto") backend = ALLEGRO_BACKEND_AUTO;
      else if (b == "native") backend = ALLEGRO_BACKEND_NATIVE;
      else if (b == "torch") backend = ALLEGRO_BACKEND_TORCH;
      else error->all(FLERR, "pair_style allegro: unknown backend '{}' (expected auto, native or torch)", b);
      iarg += 2;
    } else {
      error->all(FLERR, "pair_style allegro: unknown keyword '{}' (expected: backend auto|native|torch, threads N)",
                 arg[iarg]);
    }
  }
  if (allegro_set_threads(threads) != ALLEGRO_SUCCESS) library_error("cannot set threads");

  // More threads than cores on a node only slows every rank down (libtorch spin-waits): say so.
  int node_ranks = 1;
#if !defined(MPI_STUBS)  // LAMMPS' serial MPI stubs have no shared-memory split: one rank
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &node_ranks);
  MPI_Comm_free(&node);
#endif
  const unsigned cores = std::thread::hardware_concurrency();
  if (comm->me == 0 && cores > 0 && (long) node_ranks * threads > (long) cores)
    error->warning(FLERR,
                   "pair_style allegro: {} MPI rank(s) x {} thread(s) on this node exceed its {} cores: "
                   "expect a slowdown (keep ranks x threads <= cores)",
                   node_ranks, threads, cores);
}

// pair_coeff * * MODEL NAME1 ... NAMEntypes
void PairAllegro::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg != 3 + ntypes)
    error->all(FLERR,
               "pair_style allegro: pair_coeff needs '* * MODEL' and one model type name per "
               "LAMMPS type ({} types): expected {} arguments, got {}",
               ntypes, 3 + ntypes, narg);
  if (strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_style allegro: pair_coeff must start with '* *'");

  // A bare file name is also looked for where LAMMPS looks for potentials ($LAMMPS_POTENTIALS).
  std::string path = utils::get_potential_file_path(arg[2]);
  if (path.empty()) path = arg[2];
  (void) allegro_model_free(model);
  model = allegro_model_load_with(path.c_str(), backend, threads);
  // Every rank loads the file; agree before anyone reports, so that a bad path is one clean error.
  int ok = model != nullptr, n_ok = 0;
  MPI_Allreduce(&ok, &n_ok, 1, MPI_INT, MPI_SUM, world);
  if (n_ok == 0) error->all(FLERR, "pair_style allegro: cannot load model: {}", allegro_last_error());
  if (!ok) error->one(FLERR, "pair_style allegro: cannot load model on this rank: {}", allegro_last_error());
  MPI_Barrier(world);  // ranks that loaded wait here for an abort by one that did not

  size_t ntypes_model = 0;
  if (allegro_model_num_types(model, &ntypes_model) != ALLEGRO_SUCCESS)
    library_error("cannot read model types");
  num_model_types = static_cast<int>(ntypes_model);
  model_cutoff.assign(ntypes_model * ntypes_model, 0.0);
  if (allegro_model_cutoffs(model, model_cutoff.data(), model_cutoff.size()) != ALLEGRO_SUCCESS)
    library_error("cannot read model cutoffs");

  std::string known;
  std::vector<std::string> names(ntypes_model);
  for (size_t t = 0; t < ntypes_model; t++) {
    const char *name = nullptr;
    if (allegro_model_type_name(model, t, &name) != ALLEGRO_SUCCESS)
      library_error("cannot read model type names");
    names[t] = name;
    known += (t ? " " : "") + names[t];
  }
  // NULL: a type this model does not handle (another style of pair_style hybrid does)
  type_map.assign(ntypes + 1, -1);
  int mapped = 0;
  for (int i = 1; i <= ntypes; i++) {
    if (strcmp(arg[2 + i], "NULL") == 0) continue;
    for (size_t t = 0; t < ntypes_model; t++)
      if (names[t] == arg[2 + i]) type_map[i] = static_cast<int>(t);
    if (type_map[i] < 0)
      error->all(FLERR, "pair_style allegro: LAMMPS type {} is mapped to '{}', which is not a type of model {} (its types: {}, or NULL)",
                 i, arg[2 + i], arg[2], known);
    mapped++;
  }
  if (mapped == 0) error->all(FLERR, "pair_style allegro: every type is NULL: map at least one to a model type");
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) setflag[i][j] = type_map[i] >= 0 && type_map[j] >= 0;

  const char *backend_name = nullptr, *dtype = nullptr, *kernels = nullptr, *reason = nullptr;
  if (allegro_model_backend(model, &backend_name) != ALLEGRO_SUCCESS ||
      allegro_model_backend_reason(model, &reason) != ALLEGRO_SUCCESS ||
      allegro_model_dtype(model, &dtype) != ALLEGRO_SUCCESS ||
      allegro_model_kernels(model, &kernels) != ALLEGRO_SUCCESS)
    library_error("cannot read the model's backend");
  native = strcmp(backend_name, "native") == 0;
  if (comm->me == 0) {
    std::string map, cut;
    for (int i = 1; i <= ntypes; i++)
      map += fmt::format(" {}->{}", i, type_map[i] < 0 ? std::string("NULL") : names[type_map[i]]);
    for (size_t a = 0; a < ntypes_model; a++)
      for (size_t b = 0; b < ntypes_model; b++)
        cut += fmt::format(" {}-{} {:g}", names[a], names[b], model_cutoff[a * ntypes_model + b]);
    utils::logmesg(lmp,
                   "pair_style allegro: model {}\n  backend {} ({}), dtype {}, {} thread(s) per MPI rank, kernels {}\n"
                   "  type map (LAMMPS type -> model type):{}\n"
                   "  cutoffs (centre-neighbour, Angstrom):{}\n",
                   path, backend_name, reason, dtype, threads, kernels, map, cut);
  }
}

void PairAllegro::init_style()
{
  if (!model) error->all(FLERR, "pair_style allegro: no model: use pair_coeff * * MODEL NAMES...");
  if (force->newton_pair == 0)
    error->all(FLERR, "pair_style allegro requires newton pair on (forces on ghost atoms are summed by LAMMPS)");
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "pair_style allegro requires 'units metal' (the model works in eV and Angstrom), not '{}'",
               update->unit_style);
  neighbor->add_request(this, NeighConst::REQ_FULL);
}

double PairAllegro::init_one(int i, int j)
{
  const int a = type_map[i], b = type_map[j];
  if (a < 0 || b < 0) return 0.0;  // a NULL type: not this style's pair
  return std::max(model_cutoff[a * num_model_types + b], model_cutoff[b * num_model_types + a]);
}

void PairAllegro::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  const bool want_atom_virial = vflag_atom || cvflag_atom;
  if (want_atom_virial && !native)
    error->all(FLERR, "pair_style allegro: per-atom virials (compute stress/atom, centroid/stress/atom, "
                      "heat/flux) need the native backend; this model runs on libtorch");
  check_positions();
  const int nlocal = pack_atoms();
  pack_neighbours(nlocal);

  const int ntotal = static_cast<int>(keep.size());
  energy.resize(nlocal);
  forces.resize(3 * static_cast<size_t>(ntotal));
  double w[9];
  if (want_atom_virial) atom_virial.resize(9 * static_cast<size_t>(ntotal));
  if (allegro_model_compute(model, nlocal, ntotal, ntotal ? packed_x.data() : nullptr, types.data(),
                            offsets.data(), indices.data(), energy.data(), forces.data(), w,
                            want_atom_virial ? atom_virial.data() : nullptr) != ALLEGRO_SUCCESS)
    library_error("model evaluation failed");
  tally(nlocal, w, want_atom_virial);
}

// A NaN or infinite coordinate stops the run with the atom's ID, before the model sees it.
void PairAllegro::check_positions()
{
  double **x = atom->x;
  for (int i = 0; i < atom->nlocal + atom->nghost; i++)
    if (!std::isfinite(x[i][0]) || !std::isfinite(x[i][1]) || !std::isfinite(x[i][2]))
      error->one(FLERR, "pair_style allegro: atom {} has a non-finite position ({} {} {})",
                 atom->tag[i], x[i][0], x[i][1], x[i][2]);
}

// The atoms the model sees: every atom of a mapped type, locals first (NULL types, handled
// by another style of pair_style hybrid, are left out: no energy, no force, no neighbour).
// Fills keep, packed_index, types and packed_x; returns the number of kept local atoms.
int PairAllegro::pack_atoms()
{
  const int nlocal_all = atom->nlocal;
  const int ntotal_all = nlocal_all + atom->nghost;
  keep.clear();
  packed_index.assign(ntotal_all, -1);
  for (int i = 0; i < ntotal_all; i++)
    if (type_map[atom->type[i]] >= 0) {
      packed_index[i] = static_cast<int>(keep.size());
      keep.push_back(i);
    }
  int nlocal = 0;
  while (nlocal < static_cast<int>(keep.size()) && keep[nlocal] < nlocal_all) nlocal++;
  const int ntotal = static_cast<int>(keep.size());
  types.resize(ntotal);
  packed_x.resize(3 * static_cast<size_t>(ntotal));
  double **x = atom->x;
  for (int k = 0; k < ntotal; k++) {
    const int i = keep[k];
    types[k] = type_map[atom->type[i]];
    for (int d = 0; d < 3; d++) packed_x[3 * static_cast<size_t>(k) + d] = x[i][d];
  }
  return nlocal;
}

// Neighbours of the kept local atoms in compressed rows (offsets, indices), in packed indices
// (ilist may be permuted).
void PairAllegro::pack_neighbours(int nlocal)
{
  const int nlocal_all = atom->nlocal;
  double **x = atom->x;
  std::vector<int> row(nlocal_all, -1);
  for (int ii = 0; ii < list->inum; ii++) {
    const int i = list->ilist[ii];
    if (i < nlocal_all) row[i] = ii;
  }
  offsets.assign(nlocal + 1, 0);
  indices.clear();
  for (int k = 0; k < nlocal; k++) {
    const int i = keep[k];
    if (row[i] >= 0) {
      const int *jlist = list->firstneigh[i];
      for (int jj = 0; jj < list->numneigh[i]; jj++) {
        const int j = jlist[jj] & NEIGHMASK;
        if (packed_index[j] < 0) continue;
        // Overlapping atoms: name them by their LAMMPS IDs before any number is computed.
        const double dx = x[j][0] - x[i][0], dy = x[j][1] - x[i][1], dz = x[j][2] - x[i][2];
        const double r2 = dx * dx + dy * dy + dz * dz;
        if (r2 < ALLEGRO_MIN_DISTANCE * ALLEGRO_MIN_DISTANCE)
          error->one(FLERR, "pair_style allegro: atoms {} and {} are {:.3g} A apart (overlapping atoms)",
                     atom->tag[i], atom->tag[j], std::sqrt(r2));
        indices.push_back(packed_index[j]);
      }
    }
    offsets[k + 1] = static_cast<int64_t>(indices.size());
  }
}

// Adds the model's forces, energies and virials (global w, row-major 3x3) to LAMMPS' arrays.
void PairAllegro::tally(int nlocal, const double w[9], bool want_atom_virial)
{
  const int ntotal = static_cast<int>(keep.size());
  double **f = atom->f;
  for (int k = 0; k < ntotal; k++) {
    const int i = keep[k];
    f[i][0] += forces[3 * k];
    f[i][1] += forces[3 * k + 1];
    f[i][2] += forces[3 * k + 2];
  }
  if (eflag_global)
    for (int k = 0; k < nlocal; k++) eng_vdwl += energy[k];
  if (eflag_atom)
    for (int k = 0; k < nlocal; k++) eatom[keep[k]] += energy[k];
  if (vflag_global) {
    virial[0] += w[0];
    virial[1] += w[4];
    virial[2] += w[8];
    virial[3] += w[1];
    virial[4] += w[2];
    virial[5] += w[5];
  }
  // Per-atom virials of local and ghost atoms (LAMMPS sums the ghosts' onto their owners).
  for (int k = 0; want_atom_virial && k < ntotal; k++) {
    const int i = keep[k];
    const double *a = &atom_virial[9 * static_cast<size_t>(k)];
    if (vflag_atom) {
      vatom[i][0] += a[0];
      vatom[i][1] += a[4];
      vatom[i][2] += a[8];
      vatom[i][3] += 0.5 * (a[1] + a[3]);
      vatom[i][4] += 0.5 * (a[2] + a[6]);
      vatom[i][5] += 0.5 * (a[5] + a[7]);
    }
    if (cvflag_atom) {
      // xx yy zz xy xz yz yx zx zy
      const int order[9] = {0, 4, 8, 1, 2, 5, 3, 6, 7};
      for (int c = 0; c < 9; c++) cvatom[i][c] += a[order[c]];
    }
  }
}
