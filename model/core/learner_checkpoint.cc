// LearnerCore's training state on disk and between ranks: checkpoints written so that a
// crash or power loss leaves either the old or the new one, never a truncated one; resume
// with a check of the networks' sizes; transfer of the encoder, transition and decoder from
// another run; rank 0's state broadcast to the others at start. Split from learner_core.cc,
// which holds the update step.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include "model/core/learner_core.h"

namespace ivg::model {
namespace {

// Flushes `path` (a file, or a directory after a rename in it) to the disk.
bool FsyncPath(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool synced = fsync(fd) == 0;
  close(fd);
  return synced;
}

std::string ShapeString(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::vector<std::string> SplitName(const std::string& name) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : name) {
    if (c == '.') {
      parts.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  parts.push_back(current);
  return parts;
}

// Reads `name` ("a.b.weight") from nested sub-archives into `target`, checking the shape
// (Module::load would silently replace a mis-sized tensor).
Error ReadChecked(torch::serialize::InputArchive& archive, const std::vector<std::string>& path,
                  size_t index, const std::string& full_name, at::Tensor& target) {
  if (index + 1 == path.size()) {
    at::Tensor loaded;
    if (!archive.try_read(path[index], loaded)) {
      return "checkpoint has no tensor '" + full_name + "'";
    }
    if (loaded.sizes() != target.sizes()) {
      return "checkpoint tensor '" + full_name + "' has shape " + ShapeString(loaded.sizes()) +
             ", this model expects " + ShapeString(target.sizes());
    }
    torch::NoGradGuard no_grad;
    target.copy_(loaded);
    return std::nullopt;
  }
  torch::serialize::InputArchive sub;
  if (!archive.try_read(path[index], sub)) {
    return "checkpoint has no module '" + path[index] + "' (reading '" + full_name + "')";
  }
  return ReadChecked(sub, path, index + 1, full_name, target);
}

Error LoadModuleChecked(torch::serialize::InputArchive& archive, torch::nn::Module& module,
                        const std::string& prefix) {
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    if (Error e = ReadChecked(archive, SplitName(item.key()), 0, prefix + item.key(),
                              item.value())) {
      return e;
    }
  }
  for (auto& item : module.named_buffers(/*recurse=*/true)) {
    if (Error e = ReadChecked(archive, SplitName(item.key()), 0, prefix + item.key(),
                              item.value())) {
      return e;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string ModelOptionsFingerprint(const ModelOptions& o) {
  std::ostringstream out;
  out << "latent=" << o.latent_size << ",enc_ch=" << o.encoder_channels
      << ",enc_hid=" << o.encoder_hidden << ",trans_hid=" << o.transition_hidden
      << ",dec_ch=" << o.decoder_channels << ",dec_hid=" << o.decoder_hidden
      << ",head_hid=" << o.head_hidden << ",proprio=" << o.proprio_size
      << ",action=" << o.action_size << ",image=" << o.image_channels << "x" << o.image_size
      << ",tasks=" << o.num_tasks << ",q=" << (o.with_q_critic ? 1 : 0);
  // Named only when not the paper's average pooling, so earlier runs keep their fingerprint.
  if (o.encoder_pooling == EncoderPooling::kSpatialSoftmax) out << ",pool=spatial_softmax";
  if (o.encoder_pooling == EncoderPooling::kFlatten) out << ",pool=flatten";
  return out.str();
}

void LearnerCore::WriteTrainingState(torch::serialize::OutputArchive& archive) const {
  torch::serialize::OutputArchive model_archive, model_opt, policy_opt;
  model_->save(model_archive);
  model_optimizer_->save(model_opt);
  policy_optimizer_->save(policy_opt);
  archive.write("model", model_archive);
  archive.write("model_optimizer", model_opt);
  archive.write("policy_optimizer", policy_opt);
  archive.write("counters",
                at::tensor(std::vector<int64_t>{step_, target_updates_, consecutive_nonfinite_}));
}

Error LearnerCore::ReadTrainingState(torch::serialize::InputArchive& archive,
                                     const std::string& what) {
  torch::serialize::InputArchive model_archive;
  archive.read("model", model_archive);
  if (Error e = LoadModuleChecked(model_archive, *model_, "")) return what + ": " + *e;
  torch::serialize::InputArchive model_opt, policy_opt;
  archive.read("model_optimizer", model_opt);
  archive.read("policy_optimizer", policy_opt);
  model_optimizer_->load(model_opt);
  policy_optimizer_->load(policy_opt);
  at::Tensor counters;
  archive.read("counters", counters);
  counters = counters.to(at::kCPU);
  step_ = counters[0].item<int64_t>();
  target_updates_ = counters[1].item<int64_t>();
  consecutive_nonfinite_ = static_cast<int>(counters[2].item<int64_t>());
  return std::nullopt;
}

Error LearnerCore::BroadcastTrainingState(Collective& collective) {
  try {
    // Rank 0's state as one archive in memory: its size first, then its bytes.
    std::string bytes;
    if (collective.rank() == 0) {
      torch::serialize::OutputArchive archive;
      WriteTrainingState(archive);
      std::ostringstream out;
      archive.save_to(out);
      bytes = out.str();
    }
    at::Tensor size = at::full({1}, static_cast<int64_t>(bytes.size()), at::kLong);
    if (Error e = collective.Broadcast(size, /*root=*/0)) return "training-state size: " + *e;
    const int64_t n = size.item<int64_t>();
    at::Tensor buffer = at::empty({n}, at::kByte);
    if (collective.rank() == 0) std::memcpy(buffer.data_ptr(), bytes.data(), bytes.size());
    if (Error e = collective.Broadcast(buffer, /*root=*/0)) return "training state: " + *e;
    if (collective.rank() == 0) return std::nullopt;
    std::istringstream in(std::string(static_cast<const char*>(buffer.data_ptr()), n));
    torch::serialize::InputArchive archive;
    archive.load_from(in, device_);
    return ReadTrainingState(archive, "rank 0's training state");
  } catch (const std::exception& e) {
    return std::string("training-state broadcast failed: ") + e.what();
  }
}

Error LearnerCore::SaveCheckpoint(const std::string& path, const std::string& metadata) const {
  const std::string temp = path + ".tmp";
  try {
    torch::serialize::OutputArchive archive;
    WriteTrainingState(archive);
    archive.write("noise_rng", noise_generator_.get_state());
    archive.write("global_rng", at::detail::getDefaultCPUGenerator().get_state());
    archive.write("metadata", c10::IValue(metadata));
    archive.write("fingerprint", c10::IValue(ModelOptionsFingerprint(options_.model)));
    archive.save_to(temp);
  } catch (const std::exception& e) {
    std::remove(temp.c_str());
    return "cannot write checkpoint " + temp + ": " + e.what();
  }
  // The old checkpoint is replaced only by one that is on the disk and reads back whole:
  // after a crash or power loss the path holds either checkpoint, never a truncated one
  // that would make every restart of the learner fail to resume.
  if (!FsyncPath(temp)) {
    std::remove(temp.c_str());
    return "cannot flush checkpoint " + temp + " to the disk";
  }
  try {
    torch::serialize::InputArchive check;
    check.load_from(temp, at::kCPU);
    at::Tensor counters;
    check.read("counters", counters);
    if (counters.numel() < 1 || counters[0].item<int64_t>() != step_) {
      std::remove(temp.c_str());
      return "checkpoint " + temp + " read back with the wrong step";
    }
  } catch (const std::exception& e) {
    std::remove(temp.c_str());
    return "checkpoint " + temp + " does not read back: " + e.what();
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return "cannot rename checkpoint " + temp + " to " + path;
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!FsyncPath(parent.empty() ? std::string(".") : parent.string())) {
    return "cannot flush the directory of checkpoint " + path;
  }
  return std::nullopt;
}

Result<std::string> LearnerCore::LoadCheckpoint(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device_);
    c10::IValue fingerprint, metadata;
    archive.read("fingerprint", fingerprint);
    const std::string expected = ModelOptionsFingerprint(options_.model);
    if (fingerprint.toStringRef() != expected) {
      return Result<std::string>::Failure("checkpoint " + path + " holds networks of sizes " +
                                          fingerprint.toStringRef() + ", this learner has " +
                                          expected);
    }
    if (Error e = ReadTrainingState(archive, path)) return Result<std::string>::Failure(*e);
    at::Tensor noise_rng, global_rng;
    archive.read("noise_rng", noise_rng);
    archive.read("global_rng", global_rng);
    noise_generator_.set_state(noise_rng.to(at::kCPU));
    at::Generator global = at::detail::getDefaultCPUGenerator();  // Shares the generator.
    global.set_state(global_rng.to(at::kCPU));
    archive.read("metadata", metadata);
    return metadata.toStringRef();
  } catch (const std::exception& e) {
    return Result<std::string>::Failure("cannot load checkpoint " + path + ": " + e.what());
  }
}

Error LearnerCore::LoadTransfer(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device_);
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    const std::pair<const char*, torch::nn::Module*> parts[] = {
        {"encoder", model_->encoder.get()},
        {"transition", model_->transition.get()},
        {"decoder", model_->decoder.get()}};
    for (const auto& [name, module] : parts) {
      torch::serialize::InputArchive sub;
      if (!model_archive.try_read(name, sub)) {
        return "transfer checkpoint " + path + " has no '" + name + "'";
      }
      if (Error e = LoadModuleChecked(sub, *module, std::string(name) + ".")) {
        return "transfer from " + path + ": " + *e;
      }
    }
    model_->UpdateTarget();
    return std::nullopt;
  } catch (const std::exception& e) {
    return "cannot load transfer checkpoint " + path + ": " + e.what();
  }
}

}  // namespace ivg::model
