// ChangeFeed: how replicas sharing one metadata store tell each other that
// something they keep in memory changed (an endpoint's routes, grants,
// cached credentials, the feature registry's typed reads).
//
// A service that changed a stored object calls Announce(topic, key) after the
// store committed it; every OTHER replica's handlers for that topic then run
// with the key. Key "" means "anything under this topic may have changed":
// handlers get it after the feed lost its connection (announcements may have
// been missed) and periodically as a safety net, so a lost announcement
// delays a replica by at most the feed's resync period, never forever.
//
// Handlers run on the feed's own thread, one at a time: they must be quick
// (drop a cache, queue work), never wait for the announcing side.
//
// NullChangeFeed is the single-process feed (embedded storage): nothing to
// tell, nobody to hear.
//
// Ownership: implementations own their thread(s) and stop them in the
// destructor. Thread-safety: Announce and Subscribe are thread-safe.
#pragma once

#include <functional>
#include <string>

namespace kiln {

class ChangeFeed {
 public:
  using Handler = std::function<void(const std::string& key)>;

  virtual ~ChangeFeed() = default;
  // Best effort: a failure is logged, never returned (the change itself is
  // committed; the periodic resync covers it).
  virtual void Announce(const std::string& topic, const std::string& key) = 0;
  virtual void Subscribe(const std::string& topic, Handler handler) = 0;
};

class NullChangeFeed final : public ChangeFeed {
 public:
  void Announce(const std::string&, const std::string&) override {}
  void Subscribe(const std::string&, Handler) override {}
};

// Topics (one place, so announcers and subscribers agree).
namespace change_topics {
inline constexpr const char* kEndpoints = "endpoints";            // key: endpoint name
inline constexpr const char* kGrants = "grants";                  // key: ""
inline constexpr const char* kCredentials = "credentials";        // key: user name
inline constexpr const char* kFeatureRegistry = "feature_registry";  // key: project
}  // namespace change_topics

}  // namespace kiln
