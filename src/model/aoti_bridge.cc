// Exceptions thrown here are caught by cxx and returned to Rust as Err.
#include "allegro-rs/src/model/aoti_bridge.h"

#include <stdexcept>
#include <string>
#include <vector>

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/torch.h>

namespace allegro_aoti {

AotiModel::~AotiModel() = default;

std::unique_ptr<AotiModel> aoti_load(rust::Str path) {
    auto model = std::make_unique<AotiModel>();
    // run_single_threaded=false, libtorch's default: its thread-safe runner. Each model is
    // called from one thread only, so true would be correct too; nothing was measured to gain.
    // Intra-op threads come from at::set_num_threads, as for the TorchScript backend.
    model->loader = std::make_unique<torch::inductor::AOTIModelPackageLoader>(
        std::string(path), "model", /*run_single_threaded=*/false);
    return model;
}

rust::Vec<rust::String> aoti_metadata(const AotiModel& model) {
    rust::Vec<rust::String> flat;
    for (const auto& [key, value] : model.loader->get_metadata()) {
        flat.push_back(rust::String(key));
        flat.push_back(rust::String(value));
    }
    return flat;
}

static void copy_out(const at::Tensor& t, rust::Slice<double> out, const std::string& name) {
    auto d = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    if (static_cast<size_t>(d.numel()) != out.size()) {
        throw std::runtime_error("model output '" + name + "' has " + std::to_string(d.numel()) +
                                 " values, expected " + std::to_string(out.size()));
    }
    std::copy(d.data_ptr<double>(), d.data_ptr<double>() + d.numel(), out.begin());
}

void aoti_run(AotiModel& model, rust::Slice<const rust::String> input_names,
              rust::Slice<const rust::String> output_names, rust::Slice<const double> pos,
              rust::Slice<const int64_t> edge_index, rust::Slice<const int64_t> atom_types,
              rust::Slice<double> atomic_energy, rust::Slice<double> forces,
              rust::Slice<double> virial) {
    const int64_t n = static_cast<int64_t>(atom_types.size());
    const int64_t e = static_cast<int64_t>(edge_index.size() / 2);
    auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    // from_blob does not copy; the buffers outlive the synchronous run().
    auto t_pos = torch::from_blob(const_cast<double*>(pos.data()), {n, 3}, f64);
    auto t_edges = torch::from_blob(const_cast<int64_t*>(edge_index.data()), {2, e}, i64);
    auto t_types = torch::from_blob(const_cast<int64_t*>(atom_types.data()), {n}, i64);

    std::vector<at::Tensor> inputs;
    for (const auto& name : input_names) {
        std::string key(name);
        if (key == "pos") {
            inputs.push_back(t_pos);
        } else if (key == "edge_index") {
            inputs.push_back(t_edges);
        } else if (key == "atom_types") {
            inputs.push_back(t_types);
        } else {
            throw std::runtime_error("model wants input '" + key +
                                     "', which pair_allegro models do not take");
        }
    }
    auto outputs = model.loader->run(inputs);
    if (outputs.size() != output_names.size()) {
        throw std::runtime_error("model returned " + std::to_string(outputs.size()) +
                                 " outputs, its metadata names " +
                                 std::to_string(output_names.size()));
    }
    bool got_energy = false, got_forces = false, got_virial = false;
    for (size_t k = 0; k < outputs.size(); ++k) {
        std::string key(output_names[k]);
        if (key == "atomic_energy") {
            copy_out(outputs[k], atomic_energy, key);
            got_energy = true;
        } else if (key == "forces") {
            copy_out(outputs[k], forces, key);
            got_forces = true;
        } else if (key == "virial") {
            copy_out(outputs[k], virial, key);
            got_virial = true;
        }
    }
    if (!(got_energy && got_forces && got_virial)) {
        throw std::runtime_error("model outputs lack atomic_energy, forces or virial");
    }
}

}  // namespace allegro_aoti
