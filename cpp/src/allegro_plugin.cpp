// Entry point LAMMPS calls after dlopen: registers pair_style allegro.
//
// A plugin compiled against another LAMMPS version or another MPI than the process it is loaded
// into would crash on its first MPI call (MPICH's MPI_Comm is an int, Open MPI's a pointer) or
// on a changed class layout. So before anything else, the host is asked through ABI-stable C
// functions only (LAMMPS' C library API and MPI_Get_library_version, which take no MPI handles)
// what it is; on a mismatch the style is registered as one that refuses to run with a message.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <mpi.h>

#include "lammpsplugin.h"
#include "pair_allegro.h"

using namespace LAMMPS_NS;

// What this plugin was compiled for (set by cpp/CMakeLists.txt from the LAMMPS it found).
#ifndef ALLEGRO_LAMMPS_VERSION_ID
#error "ALLEGRO_LAMMPS_VERSION_ID (e.g. 20250722) must be defined by the build"
#endif
#if defined(MPI_STUBS)
#define ALLEGRO_MPI_ABI "LAMMPS' serial MPI stubs"
#elif defined(OPEN_MPI)
#define ALLEGRO_MPI_ABI "Open MPI"
#elif defined(MPICH_VERSION) || defined(MPICH) || defined(I_MPI_VERSION)
#define ALLEGRO_MPI_ABI "MPICH"  // also Intel MPI, MVAPICH and Cray MPICH: one ABI
#else
#define ALLEGRO_MPI_ABI ""  // unknown family: not checked
#endif

namespace {

// values of LAMMPS' library.h enum _LMP_ERROR_CONST
constexpr int LMP_ERROR_WARNING = 0, LMP_ERROR_ALL = 2;
using lammps_version_t = int (*)(void *);
using lammps_error_t = void (*)(void *, int, const char *);
using lammps_extract_setting_t = int (*)(void *, const char *);
using mpi_library_version_t = int (*)(char *, int *);

std::string refusal;  // why this plugin must not run here; empty when it may

std::string date_of(int id)
{
  static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int month = id / 100 % 100;
  if (id <= 0 || month < 1 || month > 12) return std::to_string(id);
  return std::to_string(id % 100) + " " + months[month - 1] + " " + std::to_string(id / 10000);
}

// The MPI family of the library the process' MPI calls go to (the first in global scope).
std::string host_mpi(std::string &full)
{
  auto get = (mpi_library_version_t) dlsym(RTLD_DEFAULT, "MPI_Get_library_version");
  if (!get) return "";
  // sized for any library's MPI_MAX_LIBRARY_VERSION_STRING (MPICH 8192, Open MPI 256), not ours
  static char text[16384];
  int len = 0;
  if (get(text, &len) != 0) return "";
  full = std::string(text, len > 0 && len < (int) sizeof(text) ? len : 0);
  full = full.substr(0, full.find_first_of("\r\n,"));
  if (full.find("Open MPI") != std::string::npos) return "Open MPI";
  if (full.find("STUBS") != std::string::npos) return "LAMMPS' serial MPI stubs";
  for (const char *mpich : {"MPICH", "Intel(R) MPI", "MVAPICH"})
    if (full.find(mpich) != std::string::npos) return "MPICH";
  return "";
}

std::string check_host(void *lmp)
{
  std::string problem;
  auto version = (lammps_version_t) dlsym(RTLD_DEFAULT, "lammps_version");
  const int host_version = version ? version(lmp) : 0;
  if (host_version > 0 && host_version != ALLEGRO_LAMMPS_VERSION_ID)
    problem = "LAMMPS " + date_of(host_version);
  std::string mpi_text;
  const std::string mpi = host_mpi(mpi_text);
  const std::string built_mpi = ALLEGRO_MPI_ABI;
  if (!mpi.empty() && !built_mpi.empty() && mpi != built_mpi)
    problem += (problem.empty() ? "" : " with ") + mpi + " (" + mpi_text + ")";
  if (problem.empty()) return "";
  return "pair_style allegro: this plugin was built for LAMMPS " + date_of(ALLEGRO_LAMMPS_VERSION_ID) +
      (built_mpi.empty() ? "" : " with " + built_mpi) + " (" ALLEGRO_LAMMPS_ORIGIN "), but it is loaded into " +
      problem + "; rebuild it against this LAMMPS: cmake -S cpp -B build/hpc-plugin -DLAMMPS_DIR=<prefix>/lib/cmake/LAMMPS (see docs/hpc.md)";
}

// LAMMPS' own error path (its MPI, its layout); a LAMMPS too old for lammps_error: stderr + exit.
void report(void *lmp, int kind, const std::string &text)
{
  auto error = (lammps_error_t) dlsym(RTLD_DEFAULT, "lammps_error");
  if (error) return error(lmp, kind, text.c_str());
  std::fprintf(stderr, "%s: %s\n", kind == LMP_ERROR_ALL ? "ERROR" : "WARNING", text.c_str());
  if (kind == LMP_ERROR_ALL) std::exit(1);
}

void *allegro_creator(void *lmp)
{
  if (!refusal.empty()) {
    report(lmp, LMP_ERROR_ALL, refusal);
    std::exit(1);  // not reached: LAMMPS stops on an error of kind ALL
  }
  return (Pair *) new PairAllegro((LAMMPS *) lmp);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void lammpsplugin_init(void *lmp, void *handle,
                                                                         void *regfunc)
{
  refusal = check_host(lmp);
  if (!refusal.empty()) {
    auto setting = (lammps_extract_setting_t) dlsym(RTLD_DEFAULT, "lammps_extract_setting");
    if (!setting || setting(lmp, "world_rank") == 0) report(lmp, LMP_ERROR_WARNING, refusal);
  }
  // LAMMPS' own spelling ("22 Jul 2025"), which it compares with its version for its log
  static const std::string version = date_of(ALLEGRO_LAMMPS_VERSION_ID);
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  plugin.version = version.c_str();
  plugin.style = "pair";
  plugin.name = "allegro";
  plugin.info = "Allegro machine-learning potential (allegro-rs " ALLEGRO_VERSION ")";
  plugin.author = "allegro-rs developers";
  plugin.creator.v1 = &allegro_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
