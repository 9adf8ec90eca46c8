// Accounts (issue 17): Argon2id password hashes with the chosen parameters and a fresh salt;
// the role order; API tokens, session ids and CSRF tokens (format, randomness, the hash the
// store keeps); the login rate limiter with injected time; users, tokens, sessions and the
// audit trail on a real SQLite store; and `user add`, `user list`, `token create` through the
// binary, the password piped on standard input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "rp/accounts.h"
#include "rp/appliance.h"
#include "rp/store.h"
#include "process_kit.h"
#include "store_backends.h"
#include "testkit.h"

namespace rp {
namespace {

using json = nlohmann::json;
using test::CliResult;
using test::ShellQuote;

const std::string kGoodPassword = "correct horse battery staple";

bool Matches(const std::string& text, const char* pattern) { return std::regex_match(text, std::regex(pattern)); }
bool Contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// ---- passwords ----

TEST(accounts_password, TheRightPasswordVerifiesAndAWrongOneIsRefused) {
  std::string encoded;
  ASSERT_TRUE(HashPassword(kGoodPassword, &encoded).ok());
  EXPECT_TRUE(VerifyPassword(encoded, kGoodPassword));
  EXPECT_FALSE(VerifyPassword(encoded, "correct horse battery stapler"));
  EXPECT_FALSE(VerifyPassword(encoded, "Correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(encoded, ""));
  EXPECT_FALSE(Contains(encoded, kGoodPassword));
}

TEST(accounts_password, TheEncodedHashIsArgon2idWithTheChosenParameters) {
  std::string encoded;
  ASSERT_TRUE(HashPassword(kGoodPassword, &encoded).ok());
  // PHC string: version 19, 64 MiB, 3 passes, 1 lane; a 16-byte salt (22 base64 characters)
  // and a 32-byte tag (43).
  EXPECT_TRUE(Matches(encoded, R"(\$argon2id\$v=19\$m=65536,t=3,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43})")) << encoded;
}

TEST(accounts_password, TwoHashesOfOnePasswordDifferByTheirSalt) {
  std::string a, b;
  ASSERT_TRUE(HashPassword(kGoodPassword, &a).ok());
  ASSERT_TRUE(HashPassword(kGoodPassword, &b).ok());
  EXPECT_NE(a, b);
  const auto salt = [](const std::string& e) { return e.substr(0, e.rfind('$')); };
  EXPECT_NE(salt(a), salt(b));
  EXPECT_TRUE(VerifyPassword(a, kGoodPassword));
  EXPECT_TRUE(VerifyPassword(b, kGoodPassword));
}

TEST(accounts_password, LengthIsCountedInCharactersAndBoundedInBytes) {
  EXPECT_EQ(CheckPassword("elevenchars").code(), Status::Code::kUsage);
  EXPECT_TRUE(CheckPassword("twelve chars").ok());
  // Eleven two-byte characters are 22 bytes but still too short; twelve are enough.
  EXPECT_EQ(CheckPassword("åäöåäöåäöåä").code(), Status::Code::kUsage);
  EXPECT_TRUE(CheckPassword("åäöåäöåäöåäö").ok());
  EXPECT_TRUE(CheckPassword(std::string(1024, 'x')).ok());
  EXPECT_EQ(CheckPassword(std::string(1025, 'x')).code(), Status::Code::kUsage);
  std::string encoded = "unchanged";
  EXPECT_EQ(HashPassword("short", &encoded).code(), Status::Code::kUsage);
  EXPECT_EQ(encoded, "unchanged");
  EXPECT_FALSE(Contains(CheckPassword("elevenchars").message(), "elevenchars"));
}

TEST(accounts_password, AnythingButAnArgon2idEncodingIsRefused) {
  std::string encoded;
  ASSERT_TRUE(HashPassword(kGoodPassword, &encoded).ok());
  std::string as_argon2i = encoded;
  as_argon2i.replace(0, 10, "$argon2i$");
  EXPECT_FALSE(VerifyPassword(as_argon2i, kGoodPassword));
  EXPECT_FALSE(VerifyPassword("", kGoodPassword));
  EXPECT_FALSE(VerifyPassword(kGoodPassword, kGoodPassword));
  std::string damaged = encoded;
  damaged[damaged.size() - 5] = damaged[damaged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyPassword(damaged, kGoodPassword));
}

// ---- roles ----

TEST(accounts_roles, EachRoleHoldsTheRightsOfTheRolesBeforeIt) {
  const Role order[] = {Role::kViewer, Role::kOperator, Role::kAuditor, Role::kAdmin};
  for (size_t has = 0; has < 4; ++has)
    for (size_t needs = 0; needs < 4; ++needs)
      EXPECT_EQ(RoleAllows(order[has], order[needs]), has >= needs) << has << " " << needs;
  EXPECT_TRUE(RoleAllows(Role::kAuditor, Role::kOperator));
  EXPECT_FALSE(RoleAllows(Role::kAuditor, Role::kAdmin));
  EXPECT_FALSE(RoleAllows(Role::kViewer, Role::kOperator));
}

TEST(accounts_roles, NamesRoundTripAndNothingElseParses) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAuditor, Role::kAdmin}) EXPECT_EQ(ParseRole(RoleName(r)), r);
  EXPECT_EQ(RoleName(Role::kAuditor), "auditor");
  EXPECT_FALSE(ParseRole("Admin"));
  EXPECT_FALSE(ParseRole("root"));
  EXPECT_FALSE(ParseRole(""));
}

TEST(accounts_names, OnlyLowerCaseDigitsDotUnderscoreDashUpTo64) {
  EXPECT_TRUE(ValidAccountName("anna"));
  EXPECT_TRUE(ValidAccountName("backup.report_2-x"));
  EXPECT_TRUE(ValidAccountName(std::string(64, 'a')));
  EXPECT_FALSE(ValidAccountName(std::string(65, 'a')));
  EXPECT_FALSE(ValidAccountName(""));
  EXPECT_FALSE(ValidAccountName("Anna"));
  EXPECT_FALSE(ValidAccountName("an na"));
  EXPECT_FALSE(ValidAccountName("åsa"));
  EXPECT_FALSE(ValidAccountName("a/b"));
}

// ---- tokens, session ids, CSRF ----

TEST(accounts_tokens, ApiTokensAreRpAndBase64UrlOf32RandomBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string t = NewApiToken();
    ASSERT_TRUE(Matches(t, "rp_[A-Za-z0-9_-]{43}")) << t;
    ASSERT_TRUE(LooksLikeApiToken(t)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
  // The last character carries 4 bits of the 32nd byte and two zero bits: one of 16 values.
  std::set<char> last;
  for (const auto& t : seen) last.insert(t.back());
  EXPECT_LE(last.size(), 16u);
  EXPECT_GT(last.size(), 8u);
  EXPECT_FALSE(LooksLikeApiToken("rp_" + std::string(42, 'a')));
  EXPECT_FALSE(LooksLikeApiToken("xx_" + std::string(43, 'a')));
  EXPECT_FALSE(LooksLikeApiToken("rp_" + std::string(42, 'a') + "+"));
}

TEST(accounts_tokens, TokenHashIsSha256Hex) {
  EXPECT_EQ(TokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string t = NewApiToken();
  EXPECT_TRUE(Matches(TokenHash(t), "[0-9a-f]{64}"));
  EXPECT_EQ(TokenHash(t), TokenHash(std::string(t)));
  EXPECT_NE(TokenHash(t), TokenHash(NewApiToken()));
}

TEST(accounts_tokens, SessionIdsAndCsrfTokensAre32RandomBytesInHex) {
  std::set<std::string> seen;
  std::array<int, 16> digit_counts{};
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewSessionId(), csrf = NewCsrfToken();
    ASSERT_TRUE(Matches(id, "[0-9a-f]{64}")) << id;
    ASSERT_TRUE(Matches(csrf, "[0-9a-f]{64}")) << csrf;
    seen.insert(id);
    seen.insert(csrf);
    for (char c : id) ++digit_counts[static_cast<size_t>(c <= '9' ? c - '0' : c - 'a' + 10)];
  }
  EXPECT_EQ(seen.size(), 2000u);
  // 64000 digits: each of the 16 about 4000 times.
  for (int n : digit_counts) {
    EXPECT_GT(n, 3500);
    EXPECT_LT(n, 4500);
  }
}

TEST(accounts_tokens, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(accounts_sessions, SessionsEndWhenIdleOrTooOld) {
  const SessionTimeouts t{600, 3600};
  EXPECT_FALSE(t.Expired(1000, 1000, 1599));
  EXPECT_TRUE(t.Expired(1000, 1000, 1600));
  EXPECT_FALSE(t.Expired(1000, 4000, 4599));  // active, but ...
  EXPECT_TRUE(t.Expired(1000, 4500, 4600));   // ... an hour after sign-in it ends anyway
}

// ---- the login rate limiter ----

TEST(accounts_rate_limit, FiveFailuresBlockTheAccountForTheRestOfTheWindow) {
  LoginRateLimiter limiter;  // 5 per account, 20 per address, 15 minutes
  const int64_t t0 = 1'000'000;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(limiter.Allowed("anna", "10.0.0.1", t0 + i)) << i;
    limiter.RecordFailure("anna", "10.0.0.1", t0 + i);
  }
  int64_t wait = 0;
  EXPECT_FALSE(limiter.Allowed("anna", "10.0.0.1", t0 + 10, &wait));
  EXPECT_EQ(wait, 900 - 10);
  // The account is blocked from every address; another account from this one is not.
  EXPECT_FALSE(limiter.Allowed("anna", "10.0.0.2", t0 + 10));
  EXPECT_TRUE(limiter.Allowed("bertil", "10.0.0.1", t0 + 10));
  // Once the first failure leaves the window, one more try is allowed.
  EXPECT_FALSE(limiter.Allowed("anna", "10.0.0.1", t0 + 899));
  EXPECT_TRUE(limiter.Allowed("anna", "10.0.0.1", t0 + 900, &wait));
  EXPECT_EQ(wait, 0);
}

TEST(accounts_rate_limit, TwentyFailuresBlockTheAddressWhateverTheAccount) {
  LoginRateLimiter limiter;
  const int64_t t0 = 5'000'000;
  for (int i = 0; i < 20; ++i) limiter.RecordFailure("guess" + std::to_string(i), "192.0.2.7", t0 + i);
  EXPECT_FALSE(limiter.Allowed("anna", "192.0.2.7", t0 + 30));
  EXPECT_TRUE(limiter.Allowed("anna", "192.0.2.8", t0 + 30));
  EXPECT_TRUE(limiter.Allowed("anna", "192.0.2.7", t0 + 900));
}

TEST(accounts_rate_limit, ASuccessClearsTheAccountButNotTheAddress) {
  LoginRateLimiter limiter(LoginRateLimiter::Limits{3, 4, 60});
  for (int i = 0; i < 3; ++i) limiter.RecordFailure("anna", "10.0.0.1", 100 + i);
  EXPECT_FALSE(limiter.Allowed("anna", "10.0.0.9", 110));
  limiter.RecordSuccess("anna");
  EXPECT_TRUE(limiter.Allowed("anna", "10.0.0.9", 110));
  limiter.RecordFailure("bertil", "10.0.0.1", 111);  // the address's fourth
  EXPECT_FALSE(limiter.Allowed("anna", "10.0.0.1", 112));
}

TEST(accounts_rate_limit, PruningManyNamesKeepsTheFailuresStillInTheWindow) {
  LoginRateLimiter limiter(LoginRateLimiter::Limits{1, 100000, 60});
  for (int i = 0; i < 5000; ++i) limiter.RecordFailure("n" + std::to_string(i), "a" + std::to_string(i), 100);
  EXPECT_FALSE(limiter.Allowed("n1", "x", 159));
  for (int i = 0; i < 5000; ++i) limiter.RecordFailure("m" + std::to_string(i), "b" + std::to_string(i), 200);
  EXPECT_TRUE(limiter.Allowed("n1", "x", 200));
  EXPECT_FALSE(limiter.Allowed("m1", "x", 200));
}

// ---- the store ----

// On both backends: AccountsStoreTest/SQLite.*, AccountsStoreTest/PostgreSQL.* (a fresh
// database per test).
class AccountsStoreTest : public ::testing::TestWithParam<test::StoreBackend> {
 protected:
  std::unique_ptr<Store> Open() { return stores_.Open(); }
  static AuditRecord Audit(const std::string& action, int64_t at) { return AuditRecord{0, at, "root", "cli", action, "d"}; }
  test::TempDir dir_;
  test::BackendStores stores_{GetParam(), dir_ / "restoreproof.db"};
};
INSTANTIATE_TEST_SUITE_P(Backends, AccountsStoreTest,
                         ::testing::Values(test::StoreBackend::kSqlite, test::StoreBackend::kPostgres),
                         test::StoreBackendName);

TEST_P(AccountsStoreTest, UsersAreAddedOnceListedByNameAndKeptAcrossReopens) {
  {
    auto s = Open();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->SchemaVersion(), StoreSchemaVersion());
    EXPECT_EQ(s->CountAdmins(), 0);
    EXPECT_TRUE(s->AddUser(UserRecord{"olle", Role::kOperator, "$argon2id$x", 100, false}, Audit("user-add", 100)));
    EXPECT_TRUE(s->AddUser(UserRecord{"anna", Role::kAdmin, "$argon2id$y", 101, false}, Audit("user-add", 101)));
    EXPECT_TRUE(s->AddUser(UserRecord{"gone", Role::kAdmin, "$argon2id$z", 102, true}, Audit("user-add", 102)));
    EXPECT_FALSE(s->AddUser(UserRecord{"anna", Role::kViewer, "$argon2id$w", 103, false}, Audit("user-add", 103)));
  }
  auto s = Open();
  const auto anna = s->GetUser("anna");
  ASSERT_TRUE(anna);
  EXPECT_EQ(anna->role, Role::kAdmin);  // the duplicate changed nothing
  EXPECT_EQ(anna->password_hash, "$argon2id$y");
  EXPECT_EQ(anna->created_at, 101);
  EXPECT_FALSE(s->GetUser("nobody"));
  const auto users = s->ListUsers();
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].name, "anna");
  EXPECT_EQ(users[1].name, "gone");
  EXPECT_TRUE(users[1].disabled);
  EXPECT_EQ(users[2].name, "olle");
  EXPECT_EQ(s->CountAdmins(), 1);  // the disabled admin does not count
  // One audit record per user added; the refused duplicate wrote none.
  EXPECT_EQ(s->ListAudit(0, 0).size(), 3u);
}

TEST_P(AccountsStoreTest, TokensAreFoundByTheirHashOnly) {
  auto s = Open();
  const std::string token = NewApiToken();
  ApiTokenRecord t;
  t.name = "nightly-report";
  t.role = Role::kAuditor;
  t.token_hash = TokenHash(token);
  t.created_at = 500;
  const int64_t id = s->AddApiToken(t, Audit("token-create", 500));
  EXPECT_GT(id, 0);
  EXPECT_FALSE(s->FindApiToken(token));  // the token itself is no key
  auto found = s->FindApiToken(TokenHash(token));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->name, "nightly-report");
  EXPECT_EQ(found->role, Role::kAuditor);
  EXPECT_EQ(found->last_used_at, 0);
  EXPECT_FALSE(found->revoked);
  s->TouchApiToken(id, 900);
  s->TouchApiToken(id, 800);  // an older use does not move it back
  EXPECT_EQ(s->FindApiToken(TokenHash(token))->last_used_at, 900);
  EXPECT_FALSE(s->FindApiToken(TokenHash(NewApiToken())));
  // A second token with the same hash is refused by the UNIQUE column, and rolls back its audit.
  EXPECT_ANY_THROW(s->AddApiToken(t, Audit("token-create", 501)));
  EXPECT_EQ(s->ListApiTokens().size(), 1u);
  EXPECT_EQ(s->ListAudit(0, 0).size(), 1u);
}

TEST_P(AccountsStoreTest, SessionsAreKeptByHashTouchedAndExpire) {
  auto s = Open();
  const SessionTimeouts timeouts{600, 3600};
  const auto make = [&](const std::string& id, int64_t at) {
    SessionRecord x;
    x.id_hash = TokenHash(id);
    x.user = "anna";
    x.role = Role::kOperator;
    x.csrf = NewCsrfToken();
    x.created_at = at;
    x.last_seen_at = at;
    x.address = "10.0.0.1";
    s->CreateSession(x);
    return x;
  };
  const std::string idle = NewSessionId(), busy = NewSessionId(), old = NewSessionId();
  const SessionRecord a = make(idle, 1000);
  make(busy, 1000);
  make(old, 0);
  const auto got = s->GetSession(TokenHash(idle));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->user, "anna");
  EXPECT_EQ(got->role, Role::kOperator);
  EXPECT_EQ(got->csrf, a.csrf);
  EXPECT_EQ(got->address, "10.0.0.1");
  EXPECT_FALSE(s->GetSession(idle));  // looked up by hash only
  EXPECT_TRUE(s->TouchSession(TokenHash(busy), 3900));
  EXPECT_TRUE(s->TouchSession(TokenHash(old), 3900));
  EXPECT_EQ(s->GetSession(TokenHash(busy))->last_seen_at, 3900);
  // At 4000 the idle one has been idle 3000 s; the busy one 100 s, signed in 3000 s ago; the
  // old one, busy too, signed in 4000 s ago.
  EXPECT_EQ(s->DeleteExpiredSessions(4000, timeouts), 2);
  EXPECT_FALSE(s->GetSession(TokenHash(idle)));
  EXPECT_FALSE(s->GetSession(TokenHash(old)));
  EXPECT_TRUE(s->GetSession(TokenHash(busy)));
  EXPECT_TRUE(s->DeleteSession(TokenHash(busy)));
  EXPECT_FALSE(s->DeleteSession(TokenHash(busy)));
  EXPECT_FALSE(s->TouchSession(TokenHash(busy), 4100));
}

TEST_P(AccountsStoreTest, TheAuditTrailKeepsEveryRecordInOrder) {
  auto s = Open();
  for (int i = 0; i < 10; ++i)
    s->AppendAudit(AuditRecord{0, 100 + i, "anna", "10.0.0." + std::to_string(i), i % 2 ? "sign-in" : "sign-in-failed",
                               "attempt " + std::to_string(i)});
  const auto all = s->ListAudit(0, 0);
  ASSERT_EQ(all.size(), 10u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].at, 100 + static_cast<int64_t>(i));
    EXPECT_EQ(all[i].detail, "attempt " + std::to_string(i));
    if (i) {
      EXPECT_GT(all[i].id, all[i - 1].id);
    }
  }
  EXPECT_EQ(all[3].action, "sign-in");
  EXPECT_EQ(all[3].address, "10.0.0.3");
  const auto since = s->ListAudit(105, 0);
  ASSERT_EQ(since.size(), 5u);
  EXPECT_EQ(since.front().at, 105);
  const auto newest = s->ListAudit(0, 3);
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest.front().at, 107);
  EXPECT_EQ(newest.back().at, 109);
}

// ---- the commands, through the binary ----

class AccountsCli : public ::testing::Test {
 protected:
  AccountsCli() : config_(dir_ / "restoreproof.toml"), data_dir_(dir_ / "data") {
    std::filesystem::create_directories(data_dir_);
    chmod(data_dir_.c_str(), 0700);
    test::WriteFile(config_, "[appliance]\ndata_dir = \"" + data_dir_ + "\"\ntimezone = \"Europe/Stockholm\"\n");
  }
  CliResult Rp(const std::string& args) { return test::RunWithConfig(dir_.path(), config_, args + " </dev/null"); }
  // `printf '%s' INPUT | restoreproof --config CONFIG ARGS`: the password on a pipe.
  CliResult RpWithInput(const std::string& input, const std::string& args) {
    static int calls = 0;
    const std::string err_file = dir_ / ("stdin-stderr-" + std::to_string(++calls) + ".txt");
    CliResult r;
    r.rc = test::Run("printf '%s' " + ShellQuote(input) + " | { " + ShellQuote(RP_BINARY) + " --config " +
                         ShellQuote(config_) + " " + args + " 2>" + ShellQuote(err_file) + "; }",
                     &r.out);
    r.err = test::ReadFile(err_file);
    return r;
  }
  std::unique_ptr<Store> Open() {
    std::unique_ptr<Store> s;
    EXPECT_TRUE(OpenSqliteStore(StorePath(data_dir_), &s, false).ok());
    return s;
  }
  // Every byte SQLite keeps: the database file and its write-ahead log.
  std::string StoreBytes() {
    std::string bytes;
    for (const char* suffix : {"", "-wal", "-shm"}) bytes += test::ReadFile(StorePath(data_dir_) + suffix);
    return bytes;
  }
  test::TempDir dir_;
  const std::string config_, data_dir_;
};

TEST_F(AccountsCli, UserAddThenListShowsTheUserWithoutAnyHash) {
  const CliResult add = RpWithInput(kGoodPassword + "\n", "user add anna --role admin");
  ASSERT_EQ(add.rc, 0) << add.out << add.err;
  EXPECT_EQ(add.out, "user anna added, role admin\n");
  EXPECT_FALSE(Contains(add.err, "no admin exists"));
  const CliResult list = Rp("user list");
  ASSERT_EQ(list.rc, 0) << list.err;
  EXPECT_TRUE(Matches(list.out, R"(NAME +ROLE +CREATED +DISABLED\nanna +admin +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} +no\n)"))
      << list.out;
  EXPECT_FALSE(Contains(list.out, "argon2"));
  const CliResult lj = Rp("user list --json");
  ASSERT_EQ(lj.rc, 0) << lj.err;
  const json j = json::parse(lj.out);
  ASSERT_EQ(j["users"].size(), 1u);
  EXPECT_EQ(j["users"][0]["name"], "anna");
  EXPECT_EQ(j["users"][0]["role"], "admin");
  EXPECT_EQ(j["users"][0]["disabled"], false);
  EXPECT_EQ(j["users"][0]["must_change_password"], false);  // a password of her own choosing
  EXPECT_TRUE(j["users"][0]["created_at"].is_number_integer());
  EXPECT_EQ(j["users"][0].size(), 5u);
  EXPECT_FALSE(Contains(lj.out, "argon2"));
  // The store holds an Argon2id hash of the piped line, never the password itself.
  auto s = Open();
  const auto anna = s->GetUser("anna");
  ASSERT_TRUE(anna);
  EXPECT_TRUE(VerifyPassword(anna->password_hash, kGoodPassword));
  EXPECT_FALSE(Contains(StoreBytes(), kGoodPassword));
  EXPECT_EQ(s->CountAdmins(), 1);
  const auto audit = s->ListAudit(0, 0);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "user-add");
  EXPECT_EQ(audit[0].actor, InvokingUser());
  EXPECT_EQ(audit[0].address, "cli");
  EXPECT_EQ(audit[0].detail, "user anna, role admin");
}

TEST_F(AccountsCli, AShortPasswordAMissingOneAndADuplicateAreRefusedWithExitTwo) {
  const CliResult shortpw = RpWithInput("elevenchars\n", "user add anna --role admin");
  EXPECT_EQ(shortpw.rc, 2) << shortpw.err;
  EXPECT_EQ(shortpw.out, "");
  EXPECT_TRUE(Contains(shortpw.err, "shorter than 12 characters")) << shortpw.err;
  EXPECT_FALSE(Contains(shortpw.err, "elevenchars"));
  const CliResult none = RpWithInput("", "user add anna --role admin");
  EXPECT_EQ(none.rc, 2) << none.err;
  EXPECT_TRUE(Contains(none.err, "no password on standard input")) << none.err;
  EXPECT_FALSE(Open()->GetUser("anna"));

  ASSERT_EQ(RpWithInput(kGoodPassword + "\n", "user add anna --role operator").rc, 0);
  const CliResult dup = RpWithInput("another long password\n", "user add anna --role admin");
  EXPECT_EQ(dup.rc, 2) << dup.err;
  EXPECT_TRUE(Contains(dup.err, "the user \"anna\" exists")) << dup.err;
  auto s = Open();
  EXPECT_EQ(s->GetUser("anna")->role, Role::kOperator);
  EXPECT_TRUE(VerifyPassword(s->GetUser("anna")->password_hash, kGoodPassword));
  const auto audit = s->ListAudit(0, 0);
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].action, "user-add");
  EXPECT_EQ(audit[1].action, "user-add-refused");
  EXPECT_EQ(audit[1].actor, InvokingUser());
}

TEST_F(AccountsCli, MalformedNamesAndRolesAreRefusedBeforeAnythingIsRead) {
  for (const char* args : {"user add Anna --role admin", "user add 'a b' --role admin", "user add anna --role root",
                           "token create x --role superuser", "token create 'bad/name' --role viewer",
                           "user add anna"}) {
    const CliResult r = RpWithInput(kGoodPassword + "\n", args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << args;
  }
  auto s = Open();
  EXPECT_TRUE(s->ListUsers().empty());
  EXPECT_TRUE(s->ListApiTokens().empty());
}

TEST_F(AccountsCli, ANonAdminFirstUserIsToldThatNoAdminExists) {
  const CliResult r = RpWithInput(kGoodPassword + "\n", "user add olle --role viewer --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["name"], "olle");
  EXPECT_EQ(j["role"], "viewer");
  EXPECT_TRUE(Contains(r.err, "no admin exists yet")) << r.err;
  EXPECT_TRUE(Contains(r.err, "restoreproof user add NAME --role admin")) << r.err;
}

TEST_F(AccountsCli, TokenCreatePrintsTheTokenOnceAndTheStoreKeepsOnlyItsHash) {
  const CliResult r = Rp("token create nightly-report --role auditor");
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_TRUE(Matches(r.out, "rp_[A-Za-z0-9_-]{43}\n")) << r.out;
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_FALSE(Contains(r.err, token));
  EXPECT_TRUE(Contains(r.err, "shown this once")) << r.err;
  auto s = Open();
  const auto found = s->FindApiToken(TokenHash(token));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "nightly-report");
  EXPECT_EQ(found->role, Role::kAuditor);
  const std::string bytes = StoreBytes();
  EXPECT_FALSE(Contains(bytes, token));
  EXPECT_FALSE(Contains(bytes, token.substr(3)));
  EXPECT_TRUE(Contains(bytes, TokenHash(token)));
  const auto audit = s->ListAudit(0, 0);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "token-create");
  EXPECT_EQ(audit[0].actor, InvokingUser());
  EXPECT_TRUE(Contains(audit[0].detail, "nightly-report")) << audit[0].detail;
  EXPECT_FALSE(Contains(audit[0].detail, token));

  const CliResult j = Rp("--json token create deploy --role operator");
  ASSERT_EQ(j.rc, 0) << j.err;
  const json doc = json::parse(j.out);
  EXPECT_EQ(doc["name"], "deploy");
  EXPECT_EQ(doc["role"], "operator");
  const std::string second = doc["token"].get<std::string>();
  EXPECT_TRUE(LooksLikeApiToken(second));
  EXPECT_NE(second, token);
  EXPECT_TRUE(Open()->FindApiToken(TokenHash(second)));
  EXPECT_FALSE(Contains(StoreBytes(), second));
  EXPECT_EQ(Open()->ListAudit(0, 0).size(), 2u);
}

}  // namespace
}  // namespace rp
