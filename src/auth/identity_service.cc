#include "auth/identity_service.h"

#include <algorithm>
#include <cctype>

namespace kiln::auth {
namespace {

constexpr size_t kMaxNameLength = 128;
constexpr size_t kMinPasswordLength = 12;  // MLflow's _validate_password
constexpr size_t kMaxPasswordLength = 1024;

int64_t CountAdmins(const std::vector<storage::UserRecord>& users) {
  return std::count_if(users.begin(), users.end(), [](const storage::UserRecord& u) { return u.admin; });
}

}  // namespace

std::unique_ptr<IdentityService> IdentityService::Create(storage::IdentityStore& store, const ServerSecret& secret,
                                                         Clock& clock, ScryptParams scrypt) {
  return std::unique_ptr<IdentityService>(new IdentityService(store, secret, clock, scrypt));
}

Status IdentityService::ValidateName(const std::string& name) {
  if (name.empty()) return InvalidArgument("a user name cannot be empty");
  if (name.size() > kMaxNameLength) {
    return InvalidArgument("a user name has at most " + std::to_string(kMaxNameLength) + " characters");
  }
  // No ':' (it ends the name in HTTP Basic) and nothing a shell or a log
  // line would misread.
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '_' && c != '-' && c != '@' && c != '+') {
      return InvalidArgument("user name '" + name + "' may contain only letters, digits and . _ - @ +");
    }
  }
  return Status::Ok();
}

Status IdentityService::ValidatePassword(const std::string& password) {
  if (password.size() < kMinPasswordLength) return InvalidArgument("Password must be at least 12 characters.");
  if (password.size() > kMaxPasswordLength) return InvalidArgument("Password must be at most 1024 characters.");
  return Status::Ok();
}

Status IdentityService::EnsureAdmin(const std::string& password) {
  KILN_ASSIGN_OR_RETURN(int64_t users, store_.CountUsers());
  if (users > 0) return Status::Ok();
  if (password.empty()) {
    return FailedPrecondition(
        "auth is on and no user exists yet: set KILN_ADMIN_PASSWORD or --admin-password-file to create the admin "
        "user 'admin' on this first start (kiln has no default password)");
  }
  NewUser admin;
  admin.name = "admin";
  admin.password = password;
  admin.admin = true;
  StatusOr<storage::UserRecord> created = CreateUser(admin);
  if (!created.ok()) {
    // Another replica bootstrapped at the same moment.
    if (created.status().code() == StatusCode::kAlreadyExists) return Status::Ok();
    return Status(created.status().code(), "cannot create the admin user: " + created.status().message());
  }
  return Status::Ok();
}

StatusOr<storage::UserRecord> IdentityService::CreateUser(const NewUser& user) {
  KILN_RETURN_IF_ERROR(ValidateName(user.name));
  storage::UserRecord record;
  record.name = user.name;
  record.service_account = user.service_account;
  record.admin = user.admin;
  record.groups = user.groups;
  if (user.service_account) {
    if (!user.password.empty()) {
      return InvalidArgument("a service account has no password: it authenticates with API tokens");
    }
  } else {
    KILN_RETURN_IF_ERROR(ValidatePassword(user.password));
    KILN_ASSIGN_OR_RETURN(record.password_hash, HashPassword(user.password, scrypt_));
  }
  const int64_t now = clock_.NowMillis();
  record.created_ms = now;
  record.updated_ms = now;
  record.password_changed_ms = user.service_account ? 0 : now;
  return store_.CreateUser(record);
}

StatusOr<storage::UserRecord> IdentityService::GetUser(const std::string& name) { return store_.GetUser(name); }

StatusOr<std::vector<storage::UserRecord>> IdentityService::ListUsers() { return store_.ListUsers(); }

Status IdentityService::SetPassword(const std::string& name, const std::string& password) {
  KILN_RETURN_IF_ERROR(ValidatePassword(password));
  KILN_ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(name));
  if (user.service_account) {
    return InvalidArgument("'" + name + "' is a service account: it has no password, only API tokens");
  }
  KILN_ASSIGN_OR_RETURN(user.password_hash, HashPassword(password, scrypt_));
  const int64_t now = clock_.NowMillis();
  user.updated_ms = now;
  // Strictly increasing, so two changes within one millisecond still differ.
  user.password_changed_ms = std::max(now, user.password_changed_ms + 1);
  return store_.UpdateUser(user);
}

Status IdentityService::CheckNotLastAdmin(const storage::UserRecord& user, const char* what) {
  if (!user.admin) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(auto users, store_.ListUsers());
  if (CountAdmins(users) <= 1) {
    return FailedPrecondition(std::string("cannot ") + what + " '" + user.name +
                              "': it is the last admin (make another user admin first)");
  }
  return Status::Ok();
}

Status IdentityService::SetAdmin(const std::string& name, bool admin) {
  std::lock_guard lock(admin_mu_);
  KILN_ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(name));
  if (user.admin == admin) return Status::Ok();
  if (!admin) KILN_RETURN_IF_ERROR(CheckNotLastAdmin(user, "demote"));
  user.admin = admin;
  user.updated_ms = clock_.NowMillis();
  return store_.UpdateUser(user);
}

Status IdentityService::SetGroups(const std::string& name, const std::vector<std::string>& groups) {
  for (const auto& g : groups) {
    if (g.empty()) return InvalidArgument("a group name cannot be empty");
  }
  std::lock_guard lock(admin_mu_);  // UpdateUser rewrites admin too: no interleaving with SetAdmin
  KILN_ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(name));
  user.groups = groups;
  user.updated_ms = clock_.NowMillis();
  return store_.UpdateUser(user);
}

Status IdentityService::DeleteUser(const std::string& name) {
  std::lock_guard lock(admin_mu_);
  KILN_ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(name));
  KILN_RETURN_IF_ERROR(CheckNotLastAdmin(user, "delete"));
  return store_.DeleteUser(name);
}

StatusOr<bool> IdentityService::CheckPassword(const std::string& name, const std::string& password) {
  KILN_ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(name));
  if (user.service_account || user.password_hash.empty()) return false;
  return VerifyPassword(password, user.password_hash);
}

StatusOr<CreatedToken> IdentityService::CreateToken(const NewToken& token) {
  KILN_ASSIGN_OR_RETURN(storage::UserRecord user, store_.GetUser(token.user_name));
  const int64_t now = clock_.NowMillis();
  if (token.expires_ms < 0) return InvalidArgument("expires_ms cannot be negative");
  if (token.expires_ms != 0 && token.expires_ms <= now) return InvalidArgument("the token would expire in the past");
  if (token.name.size() > 256) return InvalidArgument("a token name has at most 256 characters");
  CreatedToken out;
  out.secret = "kiln_" + RandomHex(32);
  storage::TokenRecord& r = out.record;
  r.id = "tok_" + RandomHex(8);
  r.user_id = user.id;
  r.user_name = user.name;
  r.name = token.name;
  r.hash = secret_.HmacHex(out.secret);
  r.created_ms = now;
  r.expires_ms = token.expires_ms;
  KILN_RETURN_IF_ERROR(store_.CreateToken(r));
  r.hash.clear();
  return out;
}

StatusOr<std::vector<storage::TokenRecord>> IdentityService::ListTokens(const std::string& user_name) {
  if (!user_name.empty()) KILN_RETURN_IF_ERROR(store_.GetUser(user_name).status());
  KILN_ASSIGN_OR_RETURN(auto tokens, store_.ListTokens(user_name));
  for (auto& t : tokens) t.hash.clear();
  return tokens;
}

StatusOr<storage::TokenRecord> IdentityService::GetToken(const std::string& id) {
  KILN_ASSIGN_OR_RETURN(storage::TokenRecord t, store_.GetToken(id));
  t.hash.clear();
  return t;
}

StatusOr<storage::TokenRecord> IdentityService::RevokeToken(const std::string& id) {
  KILN_RETURN_IF_ERROR(store_.RevokeToken(id, clock_.NowMillis()));
  return GetToken(id);
}

}  // namespace kiln::auth
