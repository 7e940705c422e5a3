#include "storage/backup/backup.h"

#include <openssl/evp.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "storage/backup/table_copy.h"
#include "storage/local/local_artifact_store.h"

namespace kiln::storage::backup {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kManifestFormat = 1;

// Tables whose rows a fresh migration seeds (a singleton counter): the copy
// replaces the seed instead of counting it as data in the target.
bool SeededByMigrations(const std::string& table) { return table == "feature_registry_generation"; }
constexpr size_t kChunk = 1 << 20;

struct TablePlace {
  size_t db = 0;  // index into the side's databases
  TableInfo info;
};

StatusOr<std::map<std::string, TablePlace>> TablesOf(const std::vector<sql::Database*>& dbs) {
  std::map<std::string, TablePlace> out;
  for (size_t i = 0; i < dbs.size(); ++i) {
    Status s = dbs[i]->Read([&](sql::Conn& c) -> Status {
      KILN_ASSIGN_OR_RETURN(std::vector<TableInfo> tables, ListTables(c));
      for (auto& t : tables) {
        std::string name = t.name;  // t is moved into the value below
        if (out.count(name)) return Internal("table " + name + " exists in two databases of one deployment");
        out.emplace(std::move(name), TablePlace{i, std::move(t)});
      }
      return Status::Ok();
    });
    KILN_RETURN_IF_ERROR(s);
  }
  return out;
}

bool SameColumns(const TableInfo& a, const TableInfo& b) {
  if (a.columns.size() != b.columns.size()) return false;
  std::set<std::string> names;
  for (const auto& c : a.columns) names.insert(c.name);
  for (const auto& c : b.columns) {
    if (!names.count(c.name)) return false;
  }
  return true;
}

// Copies every table of `from` into the database of `to` that has it, one
// snapshot per source database and one transaction per target database.
// With `require_empty`, a target table holding rows is refused. Returns the
// source digests, each checked against the target's after the copy.
StatusOr<std::vector<TableDigest>> CopyAllTables(const std::vector<sql::Database*>& from,
                                                 const std::vector<sql::Database*>& to, bool require_empty,
                                                 const Progress& progress, CopyReport& report) {
  KILN_ASSIGN_OR_RETURN(auto targets, TablesOf(to));
  std::vector<TableDigest> digests;
  for (sql::Database* source : from) {
    Status s = source->Read([&](sql::Conn& sc) -> Status {
      KILN_ASSIGN_OR_RETURN(std::vector<TableInfo> tables, ListTables(sc));
      // Group the tables (parents first) by the target database holding them.
      std::map<size_t, std::vector<const TableInfo*>> by_target;
      for (const auto& t : tables) {
        auto it = targets.find(t.name);
        if (it == targets.end()) {
          return FailedPrecondition("table " + t.name + " has no place in the target (schema versions differ?)");
        }
        if (!SameColumns(t, it->second.info)) {
          return FailedPrecondition("table " + t.name + " has different columns in the target (schema versions differ?)");
        }
        by_target[it->second.db].push_back(&t);
      }
      for (auto& [db, list] : by_target) {
        std::vector<TableDigest> written;
        Status w = to[db]->Write([&](sql::Conn& dc) -> Status {
          written.clear();  // a retried transaction starts over
          for (const TableInfo* t : list) {
            if (SeededByMigrations(t->name)) {
              KILN_ASSIGN_OR_RETURN(sql::Stmt del, dc.Prepare("DELETE FROM \"" + t->name + "\"", false));
              KILN_RETURN_IF_ERROR(del.Run());
            } else if (require_empty) {
              KILN_ASSIGN_OR_RETURN(int64_t n, CountRows(dc, t->name));
              if (n > 0) {
                return FailedPrecondition("the target is not empty: table " + t->name + " holds " +
                                          std::to_string(n) + " rows (restore needs a fresh deployment)");
              }
            }
            auto rows = CopyTable(sc, dc, *t, [&](int64_t done) {
              if (progress.update) progress.update("tables", t->name, done, 0);
            });
            if (!rows.ok()) return rows.status();
            KILN_ASSIGN_OR_RETURN(TableDigest d, DigestTable(dc, *t));
            written.push_back(std::move(d));
          }
          // The target's own column facts: only it knows which are serial.
          std::vector<TableInfo> infos;
          for (const TableInfo* t : list) infos.push_back(targets.at(t->name).info);
          return AdvanceSequences(dc, infos);
        });
        KILN_RETURN_IF_ERROR(w);
        for (size_t i = 0; i < list.size(); ++i) {
          KILN_ASSIGN_OR_RETURN(TableDigest d, DigestTable(sc, *list[i]));
          if (d.sha256 != written[i].sha256 || d.rows != written[i].rows) {
            return Internal("table " + d.table + ": the copy does not match the source (" + std::to_string(d.rows) +
                            " rows read, " + std::to_string(written[i].rows) + " written)");
          }
          report.rows += d.rows;
          ++report.tables;
          digests.push_back(std::move(d));
        }
      }
      return Status::Ok();
    });
    KILN_RETURN_IF_ERROR(s);
  }
  return digests;
}

struct FileEntry {
  std::string path;
  int64_t size = 0;
  std::string sha256;
};

Status Walk(ArtifactStore& store, const std::string& dir, std::vector<ArtifactEntry>& files) {
  KILN_ASSIGN_OR_RETURN(std::vector<ArtifactEntry> entries, store.List(dir));
  for (auto& e : entries) {
    if (e.is_dir) {
      KILN_RETURN_IF_ERROR(Walk(store, e.path, files));
    } else {
      files.push_back(std::move(e));
    }
  }
  return Status::Ok();
}

std::string Hex(const unsigned char* md, unsigned len) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// Streams one artifact from one store to the other, hashing it on the way.
StatusOr<FileEntry> CopyFile(ArtifactStore& from, ArtifactStore& to, const std::string& path,
                             const Progress& progress, int64_t& bytes_done, int64_t bytes_total) {
  KILN_ASSIGN_OR_RETURN(auto reader, from.OpenReader(path));
  KILN_ASSIGN_OR_RETURN(auto writer, to.OpenWriter(path));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return Internal("sha256 unavailable");
  std::vector<char> buf(kChunk);
  FileEntry f;
  f.path = path;
  for (;;) {
    KILN_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    KILN_RETURN_IF_ERROR(writer->Write(std::string_view(buf.data(), n)));
    f.size += static_cast<int64_t>(n);
    bytes_done += static_cast<int64_t>(n);
    if (progress.update) progress.update("artifacts", path, bytes_done, bytes_total);
  }
  KILN_RETURN_IF_ERROR(writer->Commit());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  f.sha256 = Hex(md, len);
  return f;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int SchemaVersion(sql::Database& db) {
  int version = 0;
  (void)db.Read([&](sql::Conn& c) -> Status {
    auto v = c.QueryInt("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (v.ok()) version = static_cast<int>(*v);
    return Status::Ok();
  });
  return version;
}

Status WriteManifest(const std::string& path, const json& manifest) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << manifest.dump(2) << "\n";
    if (!out.good()) return Unavailable("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Unavailable("cannot write " + path + ": " + ec.message());
  return Status::Ok();
}

StatusOr<json> ReadManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("no backup manifest at " + path);
  json m = json::parse(in, nullptr, false);
  if (m.is_discarded() || !m.is_object()) return InvalidArgument(path + " is not a kiln backup manifest");
  if (m.value("format", 0) != kManifestFormat) {
    return InvalidArgument(path + ": unsupported backup format " + std::to_string(m.value("format", 0)));
  }
  return m;
}

}  // namespace

StatusOr<CopyReport> Backup(const Deployment& from, const std::string& dest, const OpenSqlite& open_sqlite,
                            const Progress& progress) {
  if (from.databases.empty() || from.artifacts == nullptr) return InvalidArgument("backup: nothing to back up");
  std::error_code ec;
  if (fs::exists(dest, ec) && !fs::is_empty(dest, ec)) {
    return FailedPrecondition("backup destination " + dest + " is not empty");
  }
  fs::create_directories(dest, ec);
  if (ec) return Unavailable("cannot create " + dest + ": " + ec.message());

  KILN_ASSIGN_OR_RETURN(auto metadata, open_sqlite((fs::path(dest) / "metadata.db").string(), false));
  KILN_ASSIGN_OR_RETURN(auto audit, open_sqlite((fs::path(dest) / "audit.db").string(), true));
  CopyReport report;
  const int64_t started = NowMs();
  KILN_ASSIGN_OR_RETURN(std::vector<TableDigest> digests,
                        CopyAllTables(from.databases, {metadata.get(), audit.get()}, false, progress, report));

  KILN_ASSIGN_OR_RETURN(auto local, LocalArtifactStore::Create((fs::path(dest) / "artifacts").string()));
  std::vector<ArtifactEntry> files;
  KILN_RETURN_IF_ERROR(Walk(*from.artifacts, "", files));
  int64_t total = 0, done = 0;
  for (const auto& f : files) total += f.size;
  json file_list = json::array();
  for (const auto& f : files) {
    KILN_ASSIGN_OR_RETURN(FileEntry e, CopyFile(*from.artifacts, *local, f.path, progress, done, total));
    file_list.push_back({{"path", e.path}, {"size", e.size}, {"sha256", e.sha256}});
    ++report.files;
    report.bytes += e.size;
  }

  json tables = json::array();
  for (const auto& d : digests) tables.push_back({{"name", d.table}, {"rows", d.rows}, {"sha256", d.sha256}});
  json manifest = {{"format", kManifestFormat},
                   {"schema_version", SchemaVersion(*metadata)},
                   {"started_ms", started},
                   {"finished_ms", NowMs()},
                   {"tables", tables},
                   {"artifacts", file_list}};
  KILN_RETURN_IF_ERROR(WriteManifest((fs::path(dest) / "manifest.json").string(), manifest));
  return report;
}

StatusOr<CopyReport> Restore(const std::string& src, const Deployment& to, const OpenSqlite& open_sqlite,
                             const Progress& progress) {
  if (to.databases.empty() || to.artifacts == nullptr) return InvalidArgument("restore: no target");
  KILN_ASSIGN_OR_RETURN(json manifest, ReadManifest((fs::path(src) / "manifest.json").string()));
  std::vector<ArtifactEntry> existing;
  KILN_RETURN_IF_ERROR(Walk(*to.artifacts, "", existing));
  if (!existing.empty()) {
    return FailedPrecondition("the target artifact store is not empty (" + existing.front().path +
                              "); restore needs a fresh deployment");
  }
  KILN_ASSIGN_OR_RETURN(auto metadata, open_sqlite((fs::path(src) / "metadata.db").string(), false));
  KILN_ASSIGN_OR_RETURN(auto audit, open_sqlite((fs::path(src) / "audit.db").string(), true));

  CopyReport report;
  KILN_ASSIGN_OR_RETURN(std::vector<TableDigest> digests,
                        CopyAllTables({metadata.get(), audit.get()}, to.databases, true, progress, report));
  // The backup's own rows must be what the manifest recorded when it was taken.
  std::map<std::string, std::pair<int64_t, std::string>> recorded;
  for (const auto& t : manifest["tables"]) {
    recorded[t.value("name", "")] = {t.value("rows", int64_t{0}), t.value("sha256", "")};
  }
  for (const auto& d : digests) {
    auto it = recorded.find(d.table);
    if (it == recorded.end()) continue;  // a table this build's migrations added after the backup: empty
    if (it->second.first != d.rows || it->second.second != d.sha256) {
      return Internal("backup table " + d.table + " does not match its manifest (the backup is damaged)");
    }
    recorded.erase(it);
  }
  if (!recorded.empty()) return Internal("backup table " + recorded.begin()->first + " is missing");

  KILN_ASSIGN_OR_RETURN(auto local, LocalArtifactStore::Create((fs::path(src) / "artifacts").string()));
  int64_t total = 0, done = 0;
  for (const auto& f : manifest["artifacts"]) total += f.value("size", int64_t{0});
  for (const auto& f : manifest["artifacts"]) {
    const std::string path = f.value("path", "");
    KILN_ASSIGN_OR_RETURN(FileEntry e, CopyFile(*local, *to.artifacts, path, progress, done, total));
    if (e.sha256 != f.value("sha256", "") || e.size != f.value("size", int64_t{-1})) {
      return Internal("artifact " + path + " does not match its manifest checksum (the backup is damaged)");
    }
    ++report.files;
    report.bytes += e.size;
  }
  return report;
}

}  // namespace kiln::storage::backup
