#include "api/grpc/model_info.h"

#include <atomic>

namespace kiln::api::grpcv2 {
namespace {

template <typename TensorMetadata>
void FillSpec(const serving::TensorSpec& s, TensorMetadata* t) {
  t->set_name(s.name);
  t->set_datatype(std::string(serving::DataTypeName(s.dtype)));
  for (int64_t d : s.shape) t->add_shape(d);
}

inference::DataType TritonType(serving::DataType t) {
  switch (t) {
    case serving::DataType::kBool: return inference::TYPE_BOOL;
    case serving::DataType::kUint8: return inference::TYPE_UINT8;
    case serving::DataType::kUint16: return inference::TYPE_UINT16;
    case serving::DataType::kUint32: return inference::TYPE_UINT32;
    case serving::DataType::kUint64: return inference::TYPE_UINT64;
    case serving::DataType::kInt8: return inference::TYPE_INT8;
    case serving::DataType::kInt16: return inference::TYPE_INT16;
    case serving::DataType::kInt32: return inference::TYPE_INT32;
    case serving::DataType::kInt64: return inference::TYPE_INT64;
    case serving::DataType::kFp16: return inference::TYPE_FP16;
    case serving::DataType::kFp32: return inference::TYPE_FP32;
    case serving::DataType::kFp64: return inference::TYPE_FP64;
    case serving::DataType::kBytes: return inference::TYPE_STRING;
  }
  return inference::TYPE_INVALID;
}

// Triton's dims leave out the batch dimension (implied by max_batch_size).
template <typename ModelTensor>
void FillConfigTensor(const serving::TensorSpec& s, ModelTensor* t) {
  t->set_name(s.name);
  t->set_data_type(TritonType(s.dtype));
  for (size_t i = 1; i < s.shape.size(); ++i) t->add_dims(s.shape[i]);
  if (s.shape.size() <= 1) t->add_dims(1);
}

void SetDuration(inference::StatisticDuration* d, uint64_t count, uint64_t ns) {
  d->set_count(count);
  d->set_ns(ns);
}

void FillStats(const std::string& name, const std::string& version, const serving::ModelStats& st,
               inference::ModelStatistics* out) {
  const auto relaxed = std::memory_order_relaxed;
  const uint64_t executions = st.execution_count.load(relaxed);
  out->set_name(name);
  out->set_version(version);
  out->set_last_inference(static_cast<uint64_t>(st.last_inference_ms.load(relaxed)));
  out->set_inference_count(st.inference_count.load(relaxed));
  out->set_execution_count(executions);
  auto* is = out->mutable_inference_stats();
  SetDuration(is->mutable_success(), st.success_count.load(relaxed), st.success_ns.load(relaxed));
  SetDuration(is->mutable_fail(), st.fail_count.load(relaxed), st.fail_ns.load(relaxed));
  // Input/output conversion is not measured apart from the request (0 ns), as on REST.
  SetDuration(is->mutable_queue(), executions, st.queue_ns.load(relaxed));
  SetDuration(is->mutable_compute_input(), executions, 0);
  SetDuration(is->mutable_compute_infer(), executions, st.compute_ns.load(relaxed));
  SetDuration(is->mutable_compute_output(), executions, 0);
}

}  // namespace

Status FillModelMetadata(const serving::ModelRepository& repo, const std::string& name, const std::string& version,
                         inference::ModelMetadataResponse* out) {
  KILN_ASSIGN_OR_RETURN(auto model, repo.Get(name, version));
  const serving::Runtime& rt = *model->runtime;
  out->set_name(name);
  for (int64_t v : repo.Versions(name)) out->add_versions(std::to_string(v));
  out->set_platform(rt.backend());
  for (const auto& s : rt.inputs()) FillSpec(s, out->add_inputs());
  for (const auto& s : rt.outputs()) FillSpec(s, out->add_outputs());
  return Status::Ok();
}

void FillServedModelMetadata(const serving::ServedModel& model, const std::string& name,
                             inference::ModelMetadataResponse* out) {
  const serving::Runtime& rt = *model.runtime;
  out->set_name(name);
  out->add_versions(std::to_string(model.version));
  out->set_platform(rt.backend());
  for (const auto& s : rt.inputs()) FillSpec(s, out->add_inputs());
  for (const auto& s : rt.outputs()) FillSpec(s, out->add_outputs());
}

void FillServedModelConfig(const serving::ServedModel& model, const std::string& name, inference::ModelConfig* out) {
  const serving::Runtime& rt = *model.runtime;
  // Triton's max_batch_size is the most rows one execution takes: the batcher's limit.
  const serving::BatchingOptions& batching = model.batcher->options();
  out->set_name(name);
  out->set_platform(rt.backend());
  out->set_backend(rt.backend());
  out->set_max_batch_size(static_cast<int32_t>(batching.max_batch_rows));
  for (const auto& s : rt.inputs()) FillConfigTensor(s, out->add_input());
  for (const auto& s : rt.outputs()) FillConfigTensor(s, out->add_output());
  auto* db = out->mutable_dynamic_batching();
  db->set_max_queue_delay_microseconds(static_cast<uint64_t>(batching.max_queue_delay.count()));
  db->mutable_default_queue_policy()->set_max_queue_size(static_cast<uint32_t>(batching.max_queue));
  out->mutable_version_policy()->mutable_latest()->set_num_versions(1);
}

Status FillModelConfig(const serving::ModelRepository& repo, const std::string& name, const std::string& version,
                       inference::ModelConfig* out) {
  KILN_ASSIGN_OR_RETURN(auto model, repo.Get(name, version));
  FillServedModelConfig(*model, name, out);
  return Status::Ok();
}

Status FillModelStatistics(const serving::ModelRepository& repo, const std::string& name, const std::string& version,
                           inference::ModelStatisticsResponse* out) {
  KILN_ASSIGN_OR_RETURN(auto models, repo.Select(name, version));
  for (const auto& model : models) {
    FillStats(model->name, std::to_string(model->version), model->stats, out->add_model_stats());
  }
  return Status::Ok();
}

void FillRepositoryIndex(const serving::ModelRepository& repo, bool ready_only,
                         inference::RepositoryIndexResponse* out) {
  for (const auto& m : repo.Index()) {
    if (ready_only && m.state != "READY") continue;
    auto* e = out->add_models();
    e->set_name(m.name);
    e->set_version(m.version);
    e->set_state(m.state);
    e->set_reason(m.reason);
  }
}

}  // namespace kiln::api::grpcv2
