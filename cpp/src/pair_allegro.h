// pair_style allegro: a thin LAMMPS shim over the allegro C ABI (cpp/include/allegro.h).
// The same files serve the plugin (allegro_plugin.cpp registers the class) and a LAMMPS with the
// style compiled in (cmake/allegro-in-lammps.cmake), where LAMMPS' generated style_pair.h
// includes this header once with PAIR_CLASS defined to register it.
#ifdef PAIR_CLASS
// clang-format off
PairStyle(allegro, PairAllegro);
// clang-format on
#else

#ifndef LMP_PAIR_ALLEGRO_H
#define LMP_PAIR_ALLEGRO_H

#include <cstdint>
#include <vector>

#include "allegro.h"
#include "pair.h"

// Closer than this (Angstrom), two atoms are an error (as in the library, model::MIN_DISTANCE).
constexpr double ALLEGRO_MIN_DISTANCE = 1e-2;

namespace LAMMPS_NS {

class PairAllegro : public Pair {
 public:
  explicit PairAllegro(class LAMMPS *);
  ~PairAllegro() override;

  void compute(int eflag, int vflag) override;
  void settings(int narg, char **arg) override;
  void coeff(int narg, char **arg) override;
  void init_style() override;
  double init_one(int i, int j) override;

 private:
  allegro_model_t *model = nullptr;
  int threads = 1;
  allegro_backend_t backend = ALLEGRO_BACKEND_AUTO;
  bool native = false;  // the loaded model runs on the native engine (per-atom virials)
  int num_model_types = 0;
  std::vector<int> type_map;        // LAMMPS type (1..ntypes) -> model type index, -1 for NULL
  std::vector<double> model_cutoff; // num_model_types^2, [centre][neighbour]

  // scratch reused between steps
  std::vector<int32_t> types;
  std::vector<int64_t> offsets;
  std::vector<int32_t> indices;
  std::vector<double> energy, forces, atom_virial;
  // atoms the model sees (NULL types left out, for pair_style hybrid): locals first, then ghosts
  std::vector<int> keep, packed_index;
  std::vector<double> packed_x;

  void allocate();
  void check_positions();
  int pack_atoms();
  void pack_neighbours(int nlocal);
  void tally(int nlocal, const double w[9], bool want_atom_virial);
  [[noreturn]] void library_error(const char *what);
};

}  // namespace LAMMPS_NS

#endif  // LMP_PAIR_ALLEGRO_H
#endif  // PAIR_CLASS
