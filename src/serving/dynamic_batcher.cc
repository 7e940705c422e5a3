#include "serving/dynamic_batcher.h"

#include <cstring>

namespace kiln::serving {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MergeableRows(const std::vector<Tensor>& inputs) {
  if (inputs.size() != 1 || inputs[0].shape.size() != 2 || inputs[0].dtype == DataType::kBytes) return 0;
  const size_t expected = static_cast<size_t>(inputs[0].shape[0] * inputs[0].shape[1]) * ElementSize(inputs[0].dtype);
  if (inputs[0].data.size() != expected) return 0;  // let the runtime refuse it on its own
  return inputs[0].shape[0];
}

bool SameLayout(const Tensor& a, const Tensor& b) {
  return a.name == b.name && a.dtype == b.dtype && a.shape.size() == 2 && b.shape.size() == 2 && a.shape[1] == b.shape[1];
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

DynamicBatcher::DynamicBatcher(std::shared_ptr<Runtime> runtime, BatchingOptions options)
    : runtime_(std::move(runtime)), options_(options), thread_([this] { Loop(); }) {}

DynamicBatcher::~DynamicBatcher() {
  std::deque<Job> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  left.swap(queue_);
  for (Job& j : left) j.done(Unavailable("the model was unloaded"), BatchTiming{});
}

Status DynamicBatcher::Submit(std::vector<Tensor> inputs, Done done) {
  Job job{std::move(inputs), std::move(done), Clock::now(), 0};
  job.rows = MergeableRows(job.inputs);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Unavailable("the model is being unloaded");
    if (queue_.size() >= options_.max_queue) {
      return ResourceExhausted("the model's queue is full (" + std::to_string(options_.max_queue) +
                               " requests waiting); retry later");
    }
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return Status::Ok();
}

void DynamicBatcher::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::vector<Job> batch;
    // A lone request while nothing arrived during the last wait: waiting
    // would only add latency (one client, or load too light to merge).
    const bool skip_wait = alone_ && queue_.size() == 1;
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
    int64_t rows = batch[0].rows;
    if (rows > 0 && options_.max_batch_rows > 1) {
      const Clock::time_point deadline =
          skip_wait ? batch[0].enqueued : batch[0].enqueued + options_.max_queue_delay;
      bool waited = false;
      while (rows < options_.max_batch_rows) {
        if (!queue_.empty()) {
          Job& next = queue_.front();
          if (next.rows <= 0 || rows + next.rows > options_.max_batch_rows ||
              !SameLayout(batch[0].inputs[0], next.inputs[0])) {
            break;
          }
          rows += next.rows;
          batch.push_back(std::move(next));
          queue_.pop_front();
          continue;
        }
        if (Clock::now() >= deadline || stopping_) break;
        waited = true;
        cv_.wait_until(lock, deadline);
      }
      // Waiting pays again as soon as a second request shows up.
      if (batch.size() > 1 || !queue_.empty()) {
        alone_ = false;
      } else if (waited) {
        alone_ = true;
      }
    }
    lock.unlock();
    Run(batch);
    lock.lock();
  }
}

void DynamicBatcher::Run(std::vector<Job>& batch) {
  const Clock::time_point start = Clock::now();
  if (batch.size() == 1) {
    auto out = runtime_->Execute(batch[0].inputs);
    BatchTiming t{Seconds(start - batch[0].enqueued), Seconds(Clock::now() - start), batch[0].rows};
    batch[0].done(std::move(out), t);
    return;
  }
  // Stack the rows into one input tensor.
  Tensor merged;
  merged.name = batch[0].inputs[0].name;
  merged.dtype = batch[0].inputs[0].dtype;
  int64_t rows = 0;
  for (const Job& j : batch) rows += j.rows;
  merged.shape = {rows, batch[0].inputs[0].shape[1]};
  for (const Job& j : batch) merged.data.insert(merged.data.end(), j.inputs[0].data.begin(), j.inputs[0].data.end());
  std::vector<Tensor> inputs;
  inputs.push_back(std::move(merged));
  auto out = runtime_->Execute(inputs);
  const double compute = Seconds(Clock::now() - start);
  if (!out.ok()) {
    for (Job& j : batch) j.done(out.status(), BatchTiming{Seconds(start - j.enqueued), compute, rows});
    return;
  }
  // Split every output by rows; outputs must have the batch as first dimension.
  for (const Tensor& t : *out) {
    if (t.shape.empty() || t.shape[0] != rows || t.dtype == DataType::kBytes) {
      for (Job& j : batch) {
        j.done(Internal("output '" + t.name + "' cannot be split by rows"), BatchTiming{Seconds(start - j.enqueued), compute, rows});
      }
      return;
    }
  }
  int64_t offset = 0;
  for (Job& j : batch) {
    std::vector<Tensor> mine;
    for (const Tensor& t : *out) {
      const size_t row_bytes = t.data.size() / static_cast<size_t>(rows);
      Tensor part;
      part.name = t.name;
      part.dtype = t.dtype;
      part.shape = t.shape;
      part.shape[0] = j.rows;
      auto begin = t.data.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(offset) * row_bytes);
      part.data.assign(begin, begin + static_cast<std::ptrdiff_t>(static_cast<size_t>(j.rows) * row_bytes));
      mine.push_back(std::move(part));
    }
    offset += j.rows;
    j.done(std::move(mine), BatchTiming{Seconds(start - j.enqueued), compute, rows});
  }
}

}  // namespace kiln::serving
