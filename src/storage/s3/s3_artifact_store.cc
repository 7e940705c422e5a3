#include "storage/s3/s3_artifact_store.h"

#include <algorithm>
#include <limits.h>

namespace kiln::storage::s3 {
namespace {

constexpr size_t kMaxKeyBytes = 1024;  // S3's limit
constexpr int kMaxParts = 10000;       // S3's limit
constexpr size_t kDeleteBatch = 1000;  // DeleteObjects' limit

// The same rules as LocalArtifactStore, so an artifact path means the same
// thing whichever store holds it.
Status ValidatePath(const std::string& path) {
  if (path.find('\0') != std::string::npos) return InvalidArgument("artifact path contains a NUL byte");
  if (path.find('\\') != std::string::npos) {
    return InvalidArgument("artifact path contains a backslash; use '/' as separator");
  }
  if (path[0] == '/') {
    return PermissionDenied("path escapes the artifact root: '" + path + "' (absolute paths are not allowed)");
  }
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    size_t end = slash == std::string::npos ? path.size() : slash;
    segments.emplace_back(path.data() + start, end - start);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (auto s : segments) {
    if (s == "..") return PermissionDenied("path escapes the artifact root: '" + path + "' ('..' segments are not allowed)");
  }
  for (auto s : segments) {
    if (s.empty()) return InvalidArgument("artifact path '" + path + "' has an empty segment");
    if (s == ".") return InvalidArgument("artifact path '" + path + "' has a '.' segment");
    if (s.size() > NAME_MAX) {
      return InvalidArgument("artifact path '" + path + "' has a segment longer than " + std::to_string(NAME_MAX) + " bytes");
    }
  }
  return Status::Ok();
}

// An S3 refusal met while serving a request is the server's misconfiguration
// (its credentials or the bucket policy), not the caller's lack of permission,
// which PermissionDenied would tell an MLflow client (or, on artifact routes,
// "Invalid path"). Ping() keeps PermissionDenied for startup.
Status Answer(const S3Response& res, const std::string& what) {
  Status s = S3Client::AnswerStatus(res, what);
  if (s.code() != StatusCode::kPermissionDenied) return s;
  return Internal("the artifact store's S3 credentials were refused: " + s.message());
}

std::string DirPrefix(const std::string& key) { return key.empty() ? "" : key + "/"; }

std::string Quote(const std::string& etag) {
  if (etag.size() >= 2 && etag.front() == '"') return etag;
  return "\"" + etag + "\"";
}

class S3Reader final : public ArtifactReader {
 public:
  S3Reader(std::shared_ptr<S3Client> client, std::unique_ptr<S3Client::Download> download, int64_t size)
      : client_(std::move(client)), download_(std::move(download)), size_(size) {}
  int64_t size() const override { return size_; }
  StatusOr<size_t> Read(char* buffer, size_t capacity) override { return download_->Read(buffer, capacity); }

 private:
  std::shared_ptr<S3Client> client_;  // keeps the client alive for the download
  std::unique_ptr<S3Client::Download> download_;
  int64_t size_;
};

class S3Writer final : public ArtifactWriter {
 public:
  S3Writer(std::shared_ptr<S3Client> client, std::string key, std::string rel, int64_t part_size)
      : client_(std::move(client)), key_(std::move(key)), rel_(std::move(rel)), part_size_(static_cast<size_t>(part_size)) {}

  ~S3Writer() override {
    if (!upload_id_.empty() && state_ != State::kCommitted) {
      S3Request req;
      req.method = "DELETE";
      req.key = key_;
      req.query = {{"uploadId", upload_id_}};
      (void)client_->Call(req);  // best effort: a lifecycle rule collects what fails here
    }
  }

  Status Write(std::string_view chunk) override {
    if (state_ != State::kOpen) return FailedPrecondition("writer for '" + rel_ + "' is no longer open");
    while (!chunk.empty()) {
      // A full part goes out only when more bytes follow, so an artifact of
      // exactly one part is still a single PUT.
      if (buffer_.size() == part_size_) {
        Status s = SendPart();
        if (!s.ok()) {
          state_ = State::kFailed;
          return s;
        }
      }
      if (buffer_.capacity() < part_size_) buffer_.reserve(part_size_);
      const size_t take = std::min(chunk.size(), part_size_ - buffer_.size());
      buffer_.append(chunk.data(), take);
      chunk.remove_prefix(take);
    }
    return Status::Ok();
  }

  Status Commit() override {
    if (state_ != State::kOpen) return FailedPrecondition("writer for '" + rel_ + "' is no longer open");
    state_ = State::kFailed;  // until S3 confirms
    if (upload_id_.empty()) {
      S3Request req;
      req.method = "PUT";
      req.key = key_;
      req.body = buffer_;
      KILN_ASSIGN_OR_RETURN(S3Response res, client_->Call(req));
      if (res.status != 200) return Answer(res, "the upload of '" + rel_ + "'");
      state_ = State::kCommitted;
      return Status::Ok();
    }
    if (!buffer_.empty()) KILN_RETURN_IF_ERROR(SendPart());
    const std::string xml = CompleteMultipartXml(etags_);
    S3Request req;
    req.method = "POST";
    req.key = key_;
    req.query = {{"uploadId", upload_id_}};
    req.body = xml;
    KILN_ASSIGN_OR_RETURN(S3Response res, client_->Call(req));
    // CompleteMultipartUpload may fail with a 200 whose body is an <Error>.
    if (res.status != 200 || !ParseError(res.body).code.empty()) {
      if (res.status == 200) res.status = 500;
      return Answer(res, "completing the upload of '" + rel_ + "'");
    }
    state_ = State::kCommitted;
    return Status::Ok();
  }

 private:
  enum class State { kOpen, kFailed, kCommitted };

  Status SendPart() {
    if (upload_id_.empty()) {
      S3Request req;
      req.method = "POST";
      req.key = key_;
      req.query = {{"uploads", ""}};
      KILN_ASSIGN_OR_RETURN(S3Response res, client_->Call(req));
      if (res.status != 200) return Answer(res, "starting the upload of '" + rel_ + "'");
      upload_id_ = XmlText(res.body, "UploadId").value_or("");
      if (upload_id_.empty()) return Internal("S3 started a multipart upload of '" + rel_ + "' without an UploadId");
    }
    if (etags_.size() >= static_cast<size_t>(kMaxParts)) {
      return ResourceExhausted("'" + rel_ + "' is larger than S3's " + std::to_string(kMaxParts) + " parts of " +
                               std::to_string(part_size_) + " bytes (raise part_size in the artifacts URI)");
    }
    S3Request req;
    req.method = "PUT";
    req.key = key_;
    req.query = {{"partNumber", std::to_string(etags_.size() + 1)}, {"uploadId", upload_id_}};
    req.body = buffer_;
    KILN_ASSIGN_OR_RETURN(S3Response res, client_->Call(req));
    if (res.status != 200) return Answer(res, "part " + std::to_string(etags_.size() + 1) + " of '" + rel_ + "'");
    auto etag = res.headers.find("etag");
    if (etag == res.headers.end() || etag->second.empty()) {
      return Internal("S3 accepted part " + std::to_string(etags_.size() + 1) + " of '" + rel_ + "' without an ETag");
    }
    etags_.push_back(Quote(etag->second));
    buffer_.clear();
    return Status::Ok();
  }

  std::shared_ptr<S3Client> client_;
  const std::string key_;
  const std::string rel_;
  const size_t part_size_;
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  State state_ = State::kOpen;
};

}  // namespace

StatusOr<std::unique_ptr<S3ArtifactStore>> S3ArtifactStore::Create(const std::string& uri, const S3Settings& settings,
                                                                   S3ClientOptions options) {
  KILN_ASSIGN_OR_RETURN(S3Uri location, ParseS3Uri(uri));
  KILN_ASSIGN_OR_RETURN(auto client, S3Client::Create(settings, location.bucket, location.addressing, options));
  std::string clean = "s3://" + location.bucket + (location.prefix.empty() ? "" : "/" + location.prefix);
  return std::unique_ptr<S3ArtifactStore>(
      new S3ArtifactStore(std::shared_ptr<S3Client>(std::move(client)), std::move(location), std::move(clean)));
}

S3ArtifactStore::S3ArtifactStore(std::shared_ptr<S3Client> client, S3Uri location, std::string uri)
    : client_(std::move(client)), location_(std::move(location)), uri_(std::move(uri)) {}

StatusOr<std::string> S3ArtifactStore::KeyFor(const std::string& path, bool allow_root) const {
  if (path.empty()) {
    if (allow_root) return location_.prefix;
    return InvalidArgument("artifact path must not be empty");
  }
  KILN_RETURN_IF_ERROR(ValidatePath(path));
  std::string key = location_.prefix.empty() ? path : location_.prefix + "/" + path;
  if (key.size() > kMaxKeyBytes) {
    return InvalidArgument("artifact path '" + path + "' is too long for S3 (keys are at most 1024 bytes)");
  }
  return key;
}

StatusOr<ListPage> S3ArtifactStore::ListPageOf(const std::string& prefix, bool delimited, const std::string& token,
                                               int max_keys, bool keep_refusal) const {
  S3Request req;
  req.method = "GET";
  req.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(max_keys)},
               {"encoding-type", "url"}};
  if (delimited) req.query["delimiter"] = "/";
  if (!token.empty()) req.query["continuation-token"] = token;
  KILN_ASSIGN_OR_RETURN(S3Response res, client_->Call(req));
  if (res.status != 200) {
    return keep_refusal ? S3Client::AnswerStatus(res, "a listing of " + uri_) : Answer(res, "a listing of " + uri_);
  }
  return ParseListObjectsV2(res.body);
}

StatusOr<bool> S3ArtifactStore::HasChildren(const std::string& key) const {
  KILN_ASSIGN_OR_RETURN(ListPage page, ListPageOf(DirPrefix(key), false, "", 1));
  return !page.objects.empty();
}

Status S3ArtifactStore::Ping() {
  auto page = ListPageOf(DirPrefix(location_.prefix), true, "", 1, /*keep_refusal=*/true);
  if (!page.ok()) {
    return Status(page.status().code(), "artifact store " + uri_ + " (" + client_->addressing().description() + "): " + page.status().message());
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<ArtifactWriter>> S3ArtifactStore::OpenWriter(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string key, KeyFor(path, false));
  KILN_ASSIGN_OR_RETURN(bool is_dir, HasChildren(key));
  if (is_dir) return InvalidArgument("cannot write '" + path + "': it is a directory");
  const int64_t part = location_.part_size > 0 ? location_.part_size : kDefaultPartSize;
  return std::unique_ptr<ArtifactWriter>(new S3Writer(client_, std::move(key), path, part));
}

StatusOr<std::unique_ptr<ArtifactReader>> S3ArtifactStore::OpenReader(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string key, KeyFor(path, false));
  S3Request req;
  req.method = "HEAD";
  req.key = key;
  KILN_ASSIGN_OR_RETURN(S3Response res, client_->Call(req));
  if (res.status == 404) {
    KILN_ASSIGN_OR_RETURN(bool is_dir, HasChildren(key));
    if (is_dir) return InvalidArgument("cannot read '" + path + "': it is a directory");
    return NotFound("artifact not found: '" + path + "'");
  }
  if (res.status != 200) return Answer(res, "a HEAD of '" + path + "'");
  int64_t size = 0;
  auto len = res.headers.find("content-length");
  if (len == res.headers.end()) return Internal("S3 answered a HEAD of '" + path + "' without a Content-Length");
  try {
    size = std::stoll(len->second);
  } catch (...) {
    return Internal("S3 answered a HEAD of '" + path + "' with Content-Length '" + len->second + "'");
  }
  auto etag = res.headers.find("etag");
  std::string tag = etag == res.headers.end() ? "" : etag->second;
  auto download = client_->OpenDownload(key, 0, size, tag, path);
  return std::unique_ptr<ArtifactReader>(new S3Reader(client_, std::move(download), size));
}

StatusOr<std::vector<ArtifactEntry>> S3ArtifactStore::List(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(std::string key, KeyFor(path, true));
  const std::string prefix = DirPrefix(key);
  const int page_size = location_.list_page_size > 0 ? location_.list_page_size : 1000;
  std::vector<ArtifactEntry> entries;
  std::string token;
  auto child_path = [&path](std::string_view name) { return path.empty() ? std::string(name) : path + "/" + std::string(name); };
  for (int pages = 0;; ++pages) {
    if (pages > 1000000) return Internal("S3 listing of '" + path + "' does not end");
    KILN_ASSIGN_OR_RETURN(ListPage page, ListPageOf(prefix, true, token, page_size));
    for (const ListedObject& o : page.objects) {
      if (!o.key.starts_with(prefix)) continue;
      std::string_view name = std::string_view(o.key).substr(prefix.size());
      // Folder markers ("dir/") written by other tools are not files.
      if (name.empty() || name.find('/') != std::string_view::npos) continue;
      entries.push_back({child_path(name), false, o.size});
    }
    for (const std::string& p : page.common_prefixes) {
      if (!p.starts_with(prefix) || p.size() <= prefix.size() + 1) continue;
      std::string_view name = std::string_view(p).substr(prefix.size());
      name.remove_suffix(1);  // the delimiter
      if (name.empty() || name.find('/') != std::string_view::npos) continue;
      entries.push_back({child_path(name), true, 0});
    }
    if (!page.truncated) break;
    token = page.next_continuation_token;
  }
  std::sort(entries.begin(), entries.end(), [](const ArtifactEntry& a, const ArtifactEntry& b) {
    return a.path != b.path ? a.path < b.path : a.is_dir < b.is_dir;
  });
  return entries;
}

Status S3ArtifactStore::Delete(const std::string& path) {
  if (path.empty()) return PermissionDenied("refusing to delete the artifact root");
  KILN_ASSIGN_OR_RETURN(std::string key, KeyFor(path, false));
  bool found = false;
  // The object itself (S3's DELETE answers 204 whether or not it existed, so
  // HEAD first to tell NotFound apart).
  S3Request head;
  head.method = "HEAD";
  head.key = key;
  KILN_ASSIGN_OR_RETURN(S3Response h, client_->Call(head));
  if (h.status == 200) {
    S3Request del;
    del.method = "DELETE";
    del.key = key;
    KILN_ASSIGN_OR_RETURN(S3Response d, client_->Call(del));
    if (d.status != 204 && d.status != 200) return Answer(d, "the deletion of '" + path + "'");
    found = true;
  } else if (h.status != 404) {
    return Answer(h, "a HEAD of '" + path + "'");
  }
  // Everything under it, a batch per listing page. Each page is deleted
  // before the next is asked for; the continuation token is a position in
  // key order, so deleting behind it does not skip anything.
  const std::string prefix = DirPrefix(key);
  std::string token;
  while (true) {
    KILN_ASSIGN_OR_RETURN(ListPage page, ListPageOf(prefix, false, token, static_cast<int>(kDeleteBatch)));
    std::vector<std::string> keys;
    for (const auto& o : page.objects) keys.push_back(o.key);
    if (!keys.empty()) {
      found = true;
      const std::string xml = DeleteObjectsXml(keys);
      S3Request del;
      del.method = "POST";
      del.query = {{"delete", ""}};
      del.headers = {{"Content-MD5", Md5Base64(xml)}};
      del.body = xml;
      KILN_ASSIGN_OR_RETURN(S3Response d, client_->Call(del));
      if (d.status != 200) return Answer(d, "the deletion of '" + path + "'");
      auto errors = ParseDeleteErrors(d.body);
      if (!errors.empty()) {
        return Unavailable("S3 did not delete " + std::to_string(errors.size()) + " object(s) under '" + path +
                           "', first: " + errors.front());
      }
    }
    if (!page.truncated) break;
    token = page.next_continuation_token;
  }
  if (!found) return NotFound("artifact not found: '" + path + "'");
  return Status::Ok();
}

}  // namespace kiln::storage::s3
