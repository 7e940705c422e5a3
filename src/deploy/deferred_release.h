// ReleaseLater: drops a reference on a thread of its own.
//
// Why: a prediction's completion runs on the model's batcher thread and holds
// the endpoint snapshot it started on (that is what keeps a model alive
// through a rollout step, a rollback or a delete). When the endpoint changed
// meanwhile, that snapshot may be the model's last owner; destroying it there
// would destroy the batcher from its own thread (a self-join). So the
// completion hands its references here instead of dropping them.
//
// Thread-safety: thread-safe; never blocks beyond a short mutex.
#pragma once

#include <memory>

namespace kiln::deploy {

void ReleaseLater(std::shared_ptr<const void> ref);

}  // namespace kiln::deploy
