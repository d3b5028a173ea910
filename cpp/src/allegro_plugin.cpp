// Entry point LAMMPS calls after dlopen: registers pair_style allegro.
#include "lammpsplugin.h"
#include "pair_allegro.h"

using namespace LAMMPS_NS;

static Pair *allegro_creator(LAMMPS *lmp)
{
  return new PairAllegro(lmp);
}

extern "C" __attribute__((visibility("default"))) void lammpsplugin_init(void *lmp, void *handle,
                                                                         void *regfunc)
{
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  plugin.version = LAMMPS_PLUGIN_VERSION;
  plugin.style = "pair";
  plugin.name = "allegro";
  plugin.info = "Allegro machine-learning potential (allegro-rs " ALLEGRO_VERSION ")";
  plugin.author = "allegro-rs developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &allegro_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
