#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage::testing {
namespace {

const Metric* FindMetric(const storage::Run& r, const std::string& key) {
  for (const auto& m : r.metrics) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

const Tag* FindTag(const std::vector<Tag>& tags, const std::string& key) {
  for (const auto& t : tags) {
    if (t.key == key) return &t;
  }
  return nullptr;
}

TEST_F(SqlStoreTest, CreateAndGetRun) {
  std::string exp = NewExperiment("e");
  RunInfo info;
  info.run_id = "abc123";
  info.experiment_id = exp;
  info.user_id = "bob";
  info.start_time = 42;
  auto r = store_->CreateRun(info, {{"mlflow.runName", "from-tag"}, {"k", "v"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.run_name, "from-tag");
  EXPECT_EQ(r->info.artifact_uri, "file:///art/" + exp + "/abc123/artifacts");
  EXPECT_EQ(r->info.status, "RUNNING");
  EXPECT_FALSE(r->info.end_time.has_value());

  auto g = store_->GetRun("abc123");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->info.user_id, "bob");
  EXPECT_EQ(g->info.start_time, 42);
  EXPECT_EQ(g->info.experiment_id, exp);
  ASSERT_EQ(g->tags.size(), 2u);
  EXPECT_EQ(FindTag(g->tags, "k")->value, "v");

  // run_name given: the tag is stored too.
  storage::Run named = NewRun(exp, "named", 1, "my-run");
  ASSERT_NE(FindTag(named.tags, "mlflow.runName"), nullptr);
  EXPECT_EQ(FindTag(named.tags, "mlflow.runName")->value, "my-run");

  auto missing = store_->GetRun("zzz");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "Run with id=zzz not found");
  info.experiment_id = "77";
  info.run_id = "other";
  EXPECT_EQ(store_->CreateRun(info, {}).status().code(), StatusCode::kNotFound);
}

TEST_F(SqlStoreTest, CreatingARunTwiceIsAlreadyExistsAndKeepsTheFirst) {
  std::string exp = NewExperiment("dup");
  NewRun(exp, "same-id", 5, "first");
  RunInfo info;
  info.run_id = "same-id";
  info.experiment_id = exp;
  info.start_time = 6;
  auto again = store_->CreateRun(info, {{"k", "second"}});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status().ToString();
  EXPECT_EQ(again.status().message(), "Run with id=same-id already exists");
  auto g = store_->GetRun("same-id");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->info.start_time, 5);
  EXPECT_EQ(g->info.run_name, "first");
  EXPECT_EQ(FindTag(g->tags, "k"), nullptr);
}

// Many clients creating runs and logging batches at once (the load under
// which runs/create answered 409 on PostgreSQL): every call succeeds and
// every point is stored.
TEST_F(SqlStoreTest, ConcurrentRunCreationAndLoggingAllSucceed) {
  std::string exp = NewExperiment("busy");
  constexpr int kThreads = 8, kEach = 12, kMetrics = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        RunInfo info;
        info.run_id = "r" + std::to_string(t) + "_" + std::to_string(i);
        info.experiment_id = exp;
        info.start_time = 1000 + i;
        auto r = store_->CreateRun(info, {{"thread", std::to_string(t)}});
        if (!r.ok()) {
          ADD_FAILURE() << r.status().ToString();
          ++failures;
          continue;
        }
        std::vector<Metric> ms;
        for (int k = 0; k < kMetrics; ++k) ms.push_back(M("m" + std::to_string(k), k * 0.5 + i, 7, i));
        Status s = store_->LogBatch(info.run_id, ms, {{"p", "v"}}, {{"t", "x"}});
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  RunQuery q;
  q.experiment_ids = {exp};
  q.max_results = 1000;
  auto page = store_->SearchRuns(q);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items.size(), static_cast<size_t>(kThreads * kEach));
  for (const auto& r : page->items) {
    EXPECT_EQ(r.metrics.size(), static_cast<size_t>(kMetrics)) << r.info.run_id;
    EXPECT_EQ(r.params.size(), 1u);
    EXPECT_NE(FindTag(r.tags, "t"), nullptr);
  }
}

TEST_F(SqlStoreTest, UpdateRunAndRunNameSync) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r1", 1, "first");
  auto info = store_->UpdateRun("r1", std::string("FINISHED"), int64_t{99}, std::string("second"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->status, "FINISHED");
  EXPECT_EQ(info->end_time.value_or(0), 99);
  EXPECT_EQ(info->run_name, "second");
  EXPECT_EQ(FindTag(store_->GetRun("r1")->tags, "mlflow.runName")->value, "second");

  // Unset fields stay.
  info = store_->UpdateRun("r1", std::nullopt, std::nullopt, std::nullopt);
  EXPECT_EQ(info->status, "FINISHED");
  EXPECT_EQ(info->run_name, "second");

  // Tag mlflow.runName renames the run.
  ASSERT_TRUE(store_->LogBatch("r1", {}, {}, {{"mlflow.runName", "third"}}).ok());
  EXPECT_EQ(store_->GetRun("r1")->info.run_name, "third");
}

TEST_F(SqlStoreTest, ParamsInsertOnce) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  ASSERT_TRUE(store_->LogBatch("r", {}, {{"k", "a"}, {"j", "1"}}, {}).ok());
  EXPECT_TRUE(store_->LogBatch("r", {}, {{"k", "a"}}, {}).ok());
  Status s = store_->LogBatch("r", {M("m", 1, 1, 1)}, {{"k", "b"}}, {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "Changing param values is not allowed. Param with key='k' was already logged with "
            "value='a' for run ID='r'. Attempted logging new value 'b'.");
  auto run = store_->GetRun("r");
  ASSERT_EQ(run->params.size(), 2u);
  EXPECT_EQ(run->params[1].key, "k");
  EXPECT_EQ(run->params[1].value, "a");
  EXPECT_TRUE(run->metrics.empty()) << "failed batch must roll back completely";
}

// A batch of several params (PostgreSQL writes them in one statement): one
// changed value refuses the whole batch, naming that param; repeating
// stored values with new ones is fine.
TEST_F(SqlStoreTest, ParamBatchWithOneChangedValueWritesNothing) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  ASSERT_TRUE(store_->LogBatch("r", {}, {{"a", "1"}, {"b", "2"}, {"c", "3"}}, {}).ok());
  Status s = store_->LogBatch("r", {}, {{"new1", "x"}, {"a", "1"}, {"b", "20"}, {"new2", "y"}}, {{"t", "v"}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("key='b' was already logged with value='2'"), std::string::npos) << s.message();
  auto run = store_->GetRun("r");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->params.size(), 3u);
  EXPECT_EQ(FindTag(run->tags, "t"), nullptr);
  ASSERT_TRUE(store_->LogBatch("r", {}, {{"new1", "x"}, {"a", "1"}, {"c", "3"}, {"new2", "y"}}, {}).ok());
  run = store_->GetRun("r");
  ASSERT_EQ(run->params.size(), 5u);
  EXPECT_EQ(run->params[3].key, "new1");
  EXPECT_EQ(run->params[4].value, "y");
}

TEST_F(SqlStoreTest, TagBatchSetsTheRunNameAndKeepsTheLastOfRepeats) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r", 1000, "before");
  ASSERT_TRUE(store_->LogBatch("r", {}, {},
                               {{"x", "1"}, {"mlflow.runName", "renamed"}, {"x", "3"}, {"y", "q\"uote"}})
                  .ok());
  auto run = store_->GetRun("r");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.run_name, "renamed");
  EXPECT_EQ(FindTag(run->tags, "mlflow.runName")->value, "renamed");
  EXPECT_EQ(FindTag(run->tags, "x")->value, "3");
  EXPECT_EQ(FindTag(run->tags, "y")->value, "q\"uote");
}

TEST_F(SqlStoreTest, NanAndInfRoundTrip) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ASSERT_TRUE(store_->LogBatch("r", {M("n", nan, 1, 0), M("p", inf, 1, 0), M("q", -inf, 1, 0)},
                               {}, {})
                  .ok());
  auto run = store_->GetRun("r");
  ASSERT_EQ(run->metrics.size(), 3u);
  EXPECT_TRUE(std::isnan(FindMetric(*run, "n")->value));
  EXPECT_EQ(FindMetric(*run, "p")->value, inf);
  EXPECT_EQ(FindMetric(*run, "q")->value, -inf);
  auto h = store_->GetMetricHistory("r", "n", 0, 10);
  ASSERT_EQ(h->items.size(), 1u);
  EXPECT_TRUE(std::isnan(h->items[0].value));
  // NaN is distinct from a real 0 at the same step/timestamp.
  ASSERT_TRUE(store_->LogBatch("r", {M("n", 0.0, 1, 0), M("n", nan, 1, 0)}, {}, {}).ok());
  EXPECT_EQ(store_->GetMetricHistory("r", "n", 0, 10)->items.size(), 2u);
  EXPECT_EQ(store_->GetMetricHistory("r", "p", 0, 10)->items[0].value, inf);
}

TEST_F(SqlStoreTest, LatestMetricRuleAndDedup) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  // Higher step wins even with an older timestamp.
  ASSERT_TRUE(store_->LogBatch("r", {M("loss", 5, 100, 2), M("loss", 9, 200, 1)}, {}, {}).ok());
  EXPECT_EQ(FindMetric(*store_->GetRun("r"), "loss")->value, 5);
  // Same step: later timestamp wins.
  ASSERT_TRUE(store_->LogBatch("r", {M("loss", 3, 150, 2)}, {}, {}).ok());
  EXPECT_EQ(FindMetric(*store_->GetRun("r"), "loss")->value, 3);
  // Same step and timestamp: greater value wins.
  ASSERT_TRUE(store_->LogBatch("r", {M("loss", 7, 150, 2), M("loss", 4, 150, 2)}, {}, {}).ok());
  auto latest = *FindMetric(*store_->GetRun("r"), "loss");
  EXPECT_EQ(latest.value, 7);
  EXPECT_EQ(latest.step, 2);
  EXPECT_EQ(latest.timestamp, 150);
  // Identical points are stored once.
  ASSERT_TRUE(store_->LogBatch("r", {M("loss", 7, 150, 2), M("loss", 7, 150, 2)}, {}, {}).ok());
  auto h = store_->GetMetricHistory("r", "loss", 0, 100);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->items.size(), 5u);
  EXPECT_EQ(h->items[0].value, 9);  // step 1 first
  EXPECT_EQ(h->items[1].value, 5);  // step 2 ts 100
  EXPECT_EQ(h->items[2].value, 3);  // step 2 ts 150, ordered by value
  EXPECT_EQ(h->items[3].value, 4);
  EXPECT_EQ(h->items[4].value, 7);
  EXPECT_EQ(h->items[4].run_id, "r");
}

TEST_F(SqlStoreTest, MetricHistoryPagingAndStepRange) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  std::vector<Metric> ms;
  for (int i = 0; i < 25; ++i) ms.push_back(M("acc", i * 0.1, 1000 + i, i));
  ASSERT_TRUE(store_->LogBatch("r", ms, {}, {}).ok());
  auto p1 = store_->GetMetricHistory("r", "acc", 0, 10);
  ASSERT_EQ(p1->items.size(), 10u);
  EXPECT_TRUE(p1->has_more);
  auto p3 = store_->GetMetricHistory("r", "acc", 20, 10);
  ASSERT_EQ(p3->items.size(), 5u);
  EXPECT_FALSE(p3->has_more);
  EXPECT_EQ(p3->items[0].step, 20);
  auto range = store_->GetMetricHistory("r", "acc", 0, 100, 5, 7);
  ASSERT_EQ(range->items.size(), 3u);
  EXPECT_EQ(range->items[2].step, 7);
  EXPECT_EQ(store_->GetMetricHistory("nope", "acc", 0, 10).status().code(),
            StatusCode::kNotFound);
}

TEST_F(SqlStoreTest, DeletedRunRejectsWrites) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  ASSERT_TRUE(store_->LogBatch("r", {}, {}, {{"t", "1"}}).ok());
  ASSERT_TRUE(store_->SetRunLifecycle("r", "deleted", 5).ok());
  Status s = store_->LogBatch("r", {M("m", 1, 1, 1)}, {}, {});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "The run r must be in the 'active' state. Current state is deleted.");
  EXPECT_EQ(store_->DeleteRunTag("r", "t").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->UpdateRun("r", std::string("FAILED"), {}, {}).status().code(),
            StatusCode::kFailedPrecondition);
  // Reads still work, and restore re-enables writes.
  EXPECT_EQ(store_->GetRun("r")->info.lifecycle_stage, "deleted");
  ASSERT_TRUE(store_->SetRunLifecycle("r", "active", 6).ok());
  EXPECT_TRUE(store_->LogBatch("r", {M("m", 1, 1, 1)}, {}, {}).ok());
  EXPECT_EQ(store_->SetRunLifecycle("missing", "deleted", 1).code(), StatusCode::kNotFound);
}

TEST_F(SqlStoreTest, RunTags) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  ASSERT_TRUE(store_->LogBatch("r", {}, {}, {{"a", "1"}, {"a", "2"}}).ok());
  EXPECT_EQ(FindTag(store_->GetRun("r")->tags, "a")->value, "2");
  ASSERT_TRUE(store_->DeleteRunTag("r", "a").ok());
  EXPECT_EQ(FindTag(store_->GetRun("r")->tags, "a"), nullptr);
  Status s = store_->DeleteRunTag("r", "a");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

TEST_F(SqlStoreTest, DatasetInputsAreIdempotent) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r1");
  NewRun(exp, "r2");
  DatasetInput in;
  in.dataset = {"train", "d1", "local", "/data/train.csv", "{}", ""};
  in.tags = {{"mlflow.data.context", "training"}};
  ASSERT_TRUE(store_->LogInputs("r1", {in}, {{"m-1"}}).ok());
  ASSERT_TRUE(store_->LogInputs("r1", {in}, {{"m-1"}}).ok());
  ASSERT_TRUE(store_->LogInputs("r2", {in}, {}).ok());
  ASSERT_TRUE(store_->LogOutputs("r1", {{"m-2", 3}}).ok());
  auto r = store_->GetRun("r1");
  ASSERT_EQ(r->dataset_inputs.size(), 1u);
  EXPECT_EQ(r->dataset_inputs[0].dataset.name, "train");
  EXPECT_EQ(r->dataset_inputs[0].dataset.source, "/data/train.csv");
  ASSERT_EQ(r->dataset_inputs[0].tags.size(), 1u);
  EXPECT_EQ(r->dataset_inputs[0].tags[0].value, "training");
  ASSERT_EQ(r->model_inputs.size(), 1u);
  EXPECT_EQ(r->model_inputs[0].model_id, "m-1");
  ASSERT_EQ(r->model_outputs.size(), 1u);
  EXPECT_EQ(r->model_outputs[0].step, 3);
  EXPECT_EQ(store_->GetRun("r2")->dataset_inputs.size(), 1u);
}

TEST_F(SqlStoreTest, LoggedModels) {
  std::string exp = NewExperiment("e");
  LoggedModel m;
  m.model_id = "m-abc";
  m.experiment_id = exp;
  m.name = "clf";
  m.creation_timestamp = 100;
  m.tags = {{"t", "1"}};
  m.params = {{"alpha", "0.5"}};
  auto c = store_->CreateLoggedModel(m);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->artifact_uri, "file:///art/" + exp + "/models/m-abc/artifacts");
  EXPECT_EQ(c->status, "LOGGED_MODEL_PENDING");
  ASSERT_EQ(c->params.size(), 1u);

  auto f = store_->FinalizeLoggedModel("m-abc", "LOGGED_MODEL_READY", 200);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->status, "LOGGED_MODEL_READY");
  EXPECT_EQ(f->last_updated_timestamp, 200);
  ASSERT_TRUE(store_->SetLoggedModelTags("m-abc", {{"u", "2"}}).ok());
  ASSERT_TRUE(store_->DeleteLoggedModelTag("m-abc", "t").ok());
  EXPECT_EQ(store_->DeleteLoggedModelTag("m-abc", "t").code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->LogLoggedModelParams("m-abc", {{"beta", "1"}}).ok());

  NewRun(exp, "r");
  Metric x = M("acc", 0.9, 5, 1);
  x.model_id = "m-abc";
  ASSERT_TRUE(store_->LogBatch("r", {x}, {}, {}).ok());
  auto g = store_->GetLoggedModel("m-abc");
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->tags.size(), 1u);
  EXPECT_EQ(g->tags[0].key, "u");
  EXPECT_EQ(g->params.size(), 2u);
  ASSERT_EQ(g->metrics.size(), 1u);
  EXPECT_EQ(g->metrics[0].run_id, "r");
  EXPECT_EQ(store_->GetMetricHistory("r", "acc", 0, 10)->items[0].model_id, "m-abc");

  for (int i = 0; i < 5; ++i) {
    LoggedModel o;
    o.model_id = "m-" + std::to_string(i);
    o.experiment_id = exp;
    o.name = i % 2 ? "odd" : "even";
    o.creation_timestamp = 1000 + i;
    ASSERT_TRUE(store_->CreateLoggedModel(o).ok());
  }
  LoggedModelQuery q;
  q.experiment_ids = {exp};
  auto p = store_->SearchLoggedModels(q);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->items.size(), 6u);
  EXPECT_EQ(p->items[0].model_id, "m-4");  // creation_timestamp DESC
  q.filter.push_back({SearchEntity::kAttribute, "name", CompareOp::kEq, std::string("odd")});
  q.order_by.push_back({SearchEntity::kAttribute, "creation_timestamp", true});
  p = store_->SearchLoggedModels(q);
  ASSERT_EQ(p->items.size(), 2u);
  EXPECT_EQ(p->items[0].model_id, "m-1");

  ASSERT_TRUE(store_->DeleteLoggedModel("m-abc", 300).ok());
  EXPECT_EQ(store_->GetLoggedModel("m-abc").status().code(), StatusCode::kNotFound);
  LoggedModelQuery all;
  all.experiment_ids = {exp};
  EXPECT_EQ(store_->SearchLoggedModels(all)->items.size(), 5u);
  m.model_id = "m-x";
  m.experiment_id = "999";
  EXPECT_EQ(store_->CreateLoggedModel(m).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::storage::testing
