// ReleaseLater: drops a reference on a background thread of its own.
//
// Why: an inference finishes on its model's batcher thread, and the call
// holds the served model it started on. When the model was unloaded or an
// endpoint moved away from it meanwhile, that call may be the model's last
// owner, and destroying the model there would destroy the batcher from its
// own thread (a self-join). Completions hand their references here instead.
//
// Thread-safety: thread-safe; never blocks beyond a short mutex. The thread
// starts on first use and is joined at exit, releasing what is left.
#pragma once

#include <memory>

namespace kiln {

void ReleaseLater(std::shared_ptr<const void> ref);

}  // namespace kiln
