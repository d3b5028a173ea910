// C++ side of the AOTInductor backend: a thin owner of torch's AOTIModelPackageLoader.
#pragma once
#include <memory>

#include "rust/cxx.h"

namespace torch::inductor {
class AOTIModelPackageLoader;
}

namespace allegro_aoti {

struct AotiModel {
    std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader;
    ~AotiModel();
};

std::unique_ptr<AotiModel> aoti_load(rust::Str path);
rust::Vec<rust::String> aoti_metadata(const AotiModel& model);
void aoti_run(AotiModel& model, rust::Slice<const rust::String> input_names,
              rust::Slice<const rust::String> output_names, rust::Slice<const double> pos,
              rust::Slice<const int64_t> edge_index, rust::Slice<const int64_t> atom_types,
              rust::Slice<double> atomic_energy, rust::Slice<double> forces,
              rust::Slice<double> virial);

}  // namespace allegro_aoti
