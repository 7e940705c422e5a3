#include "audit/audit_verify.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "audit/audit_crypto.h"
#include "audit/audit_record.h"

namespace kiln::audit {
namespace {

using json = nlohmann::json;
constexpr int64_t kPage = 1000;

struct Finding {
  int64_t seq = 0;
  AuditProblem problem = AuditProblem::kNone;
  std::string message;
};

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Signatures, keys and the chain of checkpoints, before any record is read.
std::optional<Finding> CheckCheckpointChain(const std::vector<storage::StoredCheckpoint>& cps, const Ed25519Key& key) {
  const std::string key_id = key.KeyId();
  std::string prev_signature;
  int64_t prev_seq = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const auto& c = cps[i];
    const std::string name = "checkpoint " + std::to_string(i + 1) + " (at record " + std::to_string(c.seq) + ")";
    auto bad = [&](const std::string& what) { return Finding{c.seq, AuditProblem::kBadCheckpoint, name + ": " + what}; };
    if (c.key_id != key_id) return bad("signed by key " + c.key_id + ", not by " + key_id);
    if (!key.Verify(CheckpointSignedText(c), c.signature)) return bad("bad checkpoint signature");
    if (c.prev_signature != prev_signature) {
      return bad("does not chain to the previous checkpoint (a checkpoint was removed or replaced)");
    }
    if (c.seq <= prev_seq) return bad("out of order (covers record " + std::to_string(c.seq) + " after " +
                                      std::to_string(prev_seq) + ")");
    prev_signature = c.signature;
    prev_seq = c.seq;
  }
  return std::nullopt;
}

// The record itself: content against hash, seq, columns and the link to the
// record before it.
std::optional<Finding> CheckRecord(const storage::StoredAuditRecord& row, int64_t expected_seq,
                                   const std::string& prev_hash) {
  const std::string seq = std::to_string(row.seq);
  if (row.seq != expected_seq) {
    return Finding{expected_seq, AuditProblem::kMissing,
                   "record " + std::to_string(expected_seq) + " missing (the next stored record is " + seq + ")"};
  }
  json j = json::parse(row.json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Finding{row.seq, AuditProblem::kEdited, "record " + seq + " edited: its content is not a JSON object"};
  }
  auto jseq = j.find("seq");
  if (jseq == j.end() || !jseq->is_number_integer()) {
    return Finding{row.seq, AuditProblem::kEdited, "record " + seq + " edited: it has no seq"};
  }
  if (jseq->get<int64_t>() != row.seq) {
    return Finding{row.seq, AuditProblem::kOutOfOrder,
                   "record " + seq + " out of order: the record stored there is record " +
                       std::to_string(jseq->get<int64_t>())};
  }
  const std::string prev = Str(j, "prev");
  if (ChainHash(prev, row.json) != row.hash) {
    return Finding{row.seq, AuditProblem::kEdited, "record " + seq + " edited: its content does not match its hash"};
  }
  auto time = j.find("time");
  const bool columns_match = Str(j, "audit_id") == row.audit_id && Str(j, "actor") == row.actor &&
                             Str(j, "action") == row.action && Str(j, "object") == row.object &&
                             Str(j, "decision") == row.decision && Str(j, "stage") == row.stage &&
                             time != j.end() && time->is_number_integer() && time->get<int64_t>() == row.time_ms;
  if (!columns_match) {
    return Finding{row.seq, AuditProblem::kEdited,
                   "record " + seq + " edited: its indexed columns differ from the signed record"};
  }
  if (prev != prev_hash) {
    // This record is intact, so what it committed to -- the one before -- is
    // what changed (edited and re-hashed, or replaced).
    const int64_t before = row.seq - 1;
    return Finding{before, AuditProblem::kBrokenLink,
                   "record " + std::to_string(before) + " edited or replaced: record " + seq +
                       " commits to a different hash"};
  }
  return std::nullopt;
}

}  // namespace

std::string_view AuditProblemName(AuditProblem p) {
  switch (p) {
    case AuditProblem::kNone: return "none";
    case AuditProblem::kEdited: return "edited";
    case AuditProblem::kMissing: return "missing";
    case AuditProblem::kOutOfOrder: return "out_of_order";
    case AuditProblem::kBrokenLink: return "broken_link";
    case AuditProblem::kTruncated: return "truncated";
    case AuditProblem::kBadCheckpoint: return "bad_checkpoint";
  }
  return "unknown";
}

StatusOr<AuditVerifyResult> VerifyAuditStore(storage::AuditStore& store, std::string_view public_key_pem) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Ed25519Key> key, Ed25519Key::FromPublicPem(public_key_pem));
  KILN_ASSIGN_OR_RETURN(std::vector<storage::StoredCheckpoint> cps, store.Checkpoints());
  KILN_ASSIGN_OR_RETURN(storage::StoredAuditRecord last, store.Last());

  AuditVerifyResult result;
  result.key_id = key->KeyId();
  result.checkpoints = static_cast<int64_t>(cps.size());
  std::optional<Finding> checkpoint_problem = CheckCheckpointChain(cps, *key);
  std::optional<Finding> record_problem;

  size_t next_cp = 0;
  int64_t expected = 1;
  std::string prev_hash(kGenesisHash);
  // A checkpoint problem found later in seq order does not hide an earlier
  // bad record, and vice versa.
  const int64_t stop_at = checkpoint_problem ? checkpoint_problem->seq : INT64_MAX;
  for (int64_t from = 1; from <= last.seq && !record_problem && expected <= stop_at; from += kPage) {
    KILN_ASSIGN_OR_RETURN(std::vector<storage::StoredAuditRecord> rows, store.Range(from, from + kPage - 1));
    for (const auto& row : rows) {
      if (result.records == 0) result.first_seq = row.seq;
      ++result.records;
      record_problem = CheckRecord(row, expected, prev_hash);
      if (record_problem) break;
      while (next_cp < cps.size() && cps[next_cp].seq <= row.seq) {
        const auto& c = cps[next_cp];
        if (c.seq == row.seq && c.hash != row.hash && !checkpoint_problem) {
          checkpoint_problem = Finding{c.seq, AuditProblem::kBadCheckpoint,
                                       "checkpoint " + std::to_string(next_cp + 1) + " (at record " +
                                           std::to_string(c.seq) + ") does not match the record's hash"};
        }
        ++next_cp;
      }
      result.last_seq = row.seq;
      prev_hash = row.hash;
      ++expected;
    }
    // Pages past a gap: the next page starts where this one was asked to end.
  }
  if (!record_problem && expected <= stop_at && !cps.empty() && cps.back().seq > result.last_seq) {
    // Records covered by a signed checkpoint are gone from the end.
    const auto& c = cps.back();
    record_problem = Finding{result.last_seq + 1, AuditProblem::kTruncated,
                             "log truncated after checkpoint " + std::to_string(cps.size()) + ": it covers up to record " +
                                 std::to_string(c.seq) + " but the log ends at record " +
                                 std::to_string(result.last_seq) + " (records " + std::to_string(result.last_seq + 1) +
                                 ".." + std::to_string(c.seq) + " removed)"};
  }
  std::optional<Finding> first = record_problem;
  if (checkpoint_problem && (!first || checkpoint_problem->seq < first->seq)) first = checkpoint_problem;
  if (!cps.empty()) {
    result.last_checkpoint_seq = cps.back().seq;
    result.last_checkpoint_time_ms = cps.back().time_ms;
  }
  result.uncovered = result.last_seq > result.last_checkpoint_seq ? result.last_seq - result.last_checkpoint_seq : 0;
  if (first) {
    result.ok = false;
    result.bad_seq = first->seq;
    result.problem = first->problem;
    result.message = first->message;
  }
  return result;
}

std::string DescribeResult(const AuditVerifyResult& r) {
  if (!r.ok) return "audit log NOT intact: " + r.message;
  std::string out = "audit log intact: " + std::to_string(r.records) + " records";
  if (r.records > 0) out += " (" + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq) + ")";
  out += ", " + std::to_string(r.checkpoints) + " signed checkpoints (key " + r.key_id + ")";
  if (r.checkpoints > 0) out += ", the last at record " + std::to_string(r.last_checkpoint_seq);
  if (r.uncovered > 0) {
    out += "; " + std::to_string(r.uncovered) + " newer records not yet covered by a checkpoint";
  }
  return out;
}

}  // namespace kiln::audit
