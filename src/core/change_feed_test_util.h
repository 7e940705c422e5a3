// Test helper: replicas' change feeds in one process. An announcement on one
// feed runs the other feeds' handlers at once, on the announcing thread (the
// real feed runs them on its own thread, a little later). Only for *_test.cc.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/change_feed.h"

namespace kiln::testing {

class ChangeFeedHub {
 public:
  class Feed final : public ChangeFeed {
   public:
    explicit Feed(ChangeFeedHub& hub) : hub_(hub) {}
    void Announce(const std::string& topic, const std::string& key) override { hub_.Deliver(this, topic, key); }
    void Subscribe(const std::string& topic, Handler handler) override {
      std::lock_guard lock(hub_.mu_);
      handlers_.emplace(topic, std::move(handler));
    }

   private:
    friend class ChangeFeedHub;
    ChangeFeedHub& hub_;
    std::multimap<std::string, Handler> handlers_;  // guarded by hub_.mu_
  };

  // One replica's feed; the hub must outlive it.
  std::unique_ptr<Feed> NewReplica() {
    auto f = std::make_unique<Feed>(*this);
    std::lock_guard lock(mu_);
    feeds_.push_back(f.get());
    return f;
  }

 private:
  void Deliver(const Feed* from, const std::string& topic, const std::string& key) {
    std::vector<ChangeFeed::Handler> run;
    {
      std::lock_guard lock(mu_);
      for (Feed* f : feeds_) {
        if (f == from) continue;
        auto [lo, hi] = f->handlers_.equal_range(topic);
        for (auto it = lo; it != hi; ++it) run.push_back(it->second);
      }
    }
    for (auto& h : run) h(key);
  }

  std::mutex mu_;
  std::vector<Feed*> feeds_;  // guarded by mu_
};

}  // namespace kiln::testing
