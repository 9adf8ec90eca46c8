// The restoration log (docs/restoration-log.md): the chain as appended and its documented
// encoding; records changed, removed, inserted and swapped through the database file itself
// (the sqlite3 CLI), each caught and named by `log verify`; signed checkpoints, checked also with
// the openssl CLI; two connections appending at once; and the chain recomputed independently by
// the document's own python script from `log show --json`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "rp/restoration_log.h"
#include "rp/store.h"
#include "process_kit.h"
#include "testkit.h"

namespace rp {
namespace {

using json = nlohmann::json;
using test::ShellQuote;

constexpr int64_t kDay = 86400;
constexpr int64_t kStart = 1763798400;  // 2025-11-22T08:00:00Z

// An appliance without targets: its configuration (Europe/Stockholm) and data_dir.
class LogEstate {
 public:
  LogEstate() : config(dir / "restoreproof.toml"), data_dir(dir / "data") {
    std::filesystem::create_directories(data_dir);
    chmod(data_dir.c_str(), 0700);
    test::WriteFile(config, "[appliance]\ndata_dir = \"" + data_dir + "\"\ntimezone = \"Europe/Stockholm\"\n");
  }
  std::string db() const { return StorePath(data_dir); }
  std::unique_ptr<Store> Open() const {
    std::unique_ptr<Store> s;
    const Status st = OpenSqliteStore(db(), &s, false);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }
  // Runs SQL on the store's file with the sqlite3 CLI, as someone editing it by hand would.
  void Sql(const std::string& sql) const {
    std::string out;
    ASSERT_EQ(test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(db()) + " " + ShellQuote(sql), &out), 0) << sql << "\n" << out;
  }
  std::string SqlValue(const std::string& sql) const {
    std::string out;
    EXPECT_EQ(test::Run("sqlite3 -cmd '.timeout 10000' " + ShellQuote(db()) + " " + ShellQuote(sql), &out), 0) << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  test::TempDir dir;
  const std::string config, data_dir;
};

using test::CliResult;

CliResult Rp(const LogEstate& e, const std::string& args) { return test::RunWithConfig(e.dir.path(), e.config, args); }

json ParseJson(const CliResult& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON document:\n" << r.out << "\nstderr:\n" << r.err;
  return j;
}

// Record i of a varied log: every kind, texts with quotes, backslashes, newlines and Swedish
// letters, personal-data verdicts with the files to correct, a configuration change.
LogRecord Sample(int i) {
  static const TimeZone zone = *TimeZone::Locate("Europe/Stockholm");
  static const LogKind kinds[] = {LogKind::kScheduledTest, LogKind::kDrill,        LogKind::kOperatorTest,
                                  LogKind::kRealRestore,   LogKind::kConfigChange, LogKind::kClearNamesExport};
  LogRecord r = NewLogRecord(kinds[i % 6], kStart + i * kDay, zone);
  if (r.kind == LogKind::kConfigChange) {
    r.responsible = "root";
    r.result = "changed";
    r.changed_keys = {"targets[0].owner", "notify[1].secret"};
    return r;
  }
  r.target = i % 2 ? "alpha" : "löner";
  r.point = r.target + "-2025112" + std::to_string(i % 10) + "T020000.tar";
  r.location = "site-a";
  r.responsible = i % 3 ? "Åsa Öberg" : "Test Owner";
  r.personal_data = "Anställda: namn, personnummer";
  r.reason = "quarterly \"check\" \\ line\nbreak " + std::to_string(i);
  r.result = i % 4 == 1 ? "failed" : "passed";
  r.files = static_cast<uint64_t>(10 + i);
  r.bytes = static_cast<uint64_t>(1000 * i + 7);
  r.run_id = 100 + i;
  if (r.result == "failed") {
    r.failing_findings = 2;
    r.correctness = Correctness::kIncorrect;
    r.failed_files = {"lön/januari.csv", "dir/with\\\\escaped"};
  } else {
    r.correctness = Correctness::kCorrect;
  }
  return r;
}

// A log of `n` records appended through the store.
std::vector<LogRecord> AppendSamples(Store& store, int n) {
  std::vector<LogRecord> out;
  for (int i = 1; i <= n; ++i) out.push_back(store.AppendLog(Sample(i)));
  return out;
}

bool SameContent(const LogRecord& a, const LogRecord& b) {
  return CanonicalLogRecord(a) == CanonicalLogRecord(b) && a.prev_hash == b.prev_hash && a.hash == b.hash;
}

// --- the chain as appended ------------------------------------------------------------------------

TEST(RestorationLog, AppendChainsFromTheGenesisHashAndReadsBackExactly) {
  LogEstate e;
  auto store = e.Open();
  const auto appended = AppendSamples(*store, 8);
  std::string prev = kLogGenesisHash;
  for (size_t i = 0; i < appended.size(); ++i) {
    const LogRecord& r = appended[i];
    EXPECT_EQ(r.seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(r.prev_hash, prev);
    EXPECT_EQ(r.hash, LogRecordHash(prev, r));
    EXPECT_EQ(r.hash.size(), 64u);
    prev = r.hash;
  }
  const auto read = store->ReadLog(1, 0);
  ASSERT_EQ(read.size(), appended.size());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_TRUE(SameContent(read[i], appended[i])) << "seq " << read[i].seq;
    EXPECT_EQ(read[i].failed_files, appended[i].failed_files);
    EXPECT_TRUE(read[i].damage.empty()) << read[i].damage;
  }
  EXPECT_EQ(store->ReadLog(3, 2).size(), 2u);
  EXPECT_EQ(store->ReadLog(3, 2)[0].seq, 3);
  const LogVerification v = VerifyLog(*store, std::nullopt);
  EXPECT_TRUE(v.ok) << v.detail;
  EXPECT_EQ(v.records, 8);
  EXPECT_EQ(v.checkpoints, 0);
}

TEST(RestorationLog, CanonicalEncodingAndHashAreTheDocumentedOnes) {
  // Computed with the python script of docs/restoration-log.md, not with this code.
  LogRecord a;
  a.seq = 1;
  a.time = 1763798400;
  a.time_local = "2025-11-22T09:00:00+0100";
  a.kind = LogKind::kRealRestore;
  a.target = "payroll";
  a.point = "payroll-20251121T020000.tar";
  a.location = "site-a";
  a.responsible = "Åsa Öberg";
  a.personal_data = "Anställda: namn, personnummer";
  a.reason = "disk failure";
  a.result = "failed";
  a.files = 6;
  a.bytes = 123456;
  a.failing_findings = 2;
  a.correctness = Correctness::kIncorrect;
  a.failed_files = {"lön/januari.csv", "b"};
  a.run_id = 42;
  LogRecord b;
  b.seq = 2;
  b.time = 1763802000;
  b.time_local = "2025-11-22T10:00:00+0100";
  b.kind = LogKind::kConfigChange;
  b.responsible = "root";
  b.result = "changed";
  b.changed_keys = {"targets[0].owner", "notify[0].secret"};

  // Records written before schema 6, without a salt: the v1 form, as the earlier code hashed them.
  EXPECT_EQ(CanonicalLogRecord(a).size(), 285u);
  const std::string ha1 = LogRecordHash(kLogGenesisHash, a);
  EXPECT_EQ(ha1, "7c1cd09e4cf3d63e6a98bdddd2b5e6a86f54a1402c065c4cde03dc3a76044bd0");
  EXPECT_EQ(LogRecordHash(ha1, b), "2fef886f5b4b0edd9a7deb7cc3a2d7beaf00dcd362c20617ef5b7a088285751c");

  // With salts: the v2 form, the private texts through their commitment.
  a.salt = "00112233445566778899aabbccddeeff";
  b.salt = "ffeeddccbbaa99887766554433221100";
  EXPECT_EQ(CanonicalLogRecord(a).size(), 232u);
  const std::string ha = LogRecordHash(kLogGenesisHash, a);
  EXPECT_EQ(ha, "7f94cc957213b841903c20aca6abb4771f6434934243e6b2edfb57df283e320c");
  EXPECT_EQ(LogRecordHashWithCommitment(kLogGenesisHash, a, LogRecordCommitment(a)), ha);
  const std::string expected_hex =
      "00000013726573746f726570726f6f662d6c6f672d763200000001320000000a3137363338303230303000000018323032352d31312d32"
      "325431303a30303a30302b303130300000000d636f6e6669672d6368616e67650000000000000004726f6f74000000076368616e676564"
      "0000000130000000013000000001300000000e6e6f742d6170706c696361626c6500000001300000000200000010746172676574735b30"
      "5d2e6f776e6572000000106e6f746966795b305d2e73656372657400000040303064353366666331356534633636656434663436646130"
      "62636135303665633166633966333635303639616131353563646437656639346564373634613664";
  std::string hex;
  for (const char c : CanonicalLogRecord(b)) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
    hex += two;
  }
  EXPECT_EQ(hex, expected_hex);
  EXPECT_EQ(LogRecordHash(ha, b), "052710f93a019cf24b84b3d9b073619ba3d5910c850d944db178d42698491b38");
  // A private text changed changes the commitment, and so the hash.
  LogRecord c = a;
  c.reason = "disk failures";
  EXPECT_NE(LogRecordCommitment(c), LogRecordCommitment(a));
  EXPECT_NE(LogRecordHash(kLogGenesisHash, c), ha);
}

TEST(RestorationLog, TextsThatAreNotUtf8AreStoredEscapedAndStillVerify) {
  LogEstate e;
  auto store = e.Open();
  LogRecord r = Sample(1);
  r.responsible = std::string("bad \xff byte");
  r.failed_files = {std::string("nul\0inside", 10)};
  const LogRecord stored = store->AppendLog(r);
  EXPECT_EQ(stored.responsible, "bad \\xff byte");
  EXPECT_EQ(stored.failed_files, std::vector<std::string>{"nul\\x00inside"});
  EXPECT_EQ(store->ReadLog(1, 1).at(0).responsible, "bad \\xff byte");
  EXPECT_TRUE(VerifyLog(*store, std::nullopt).ok);
}

TEST(RestorationLog, TwoConnectionsAppendingAtOnceFormOneChain) {
  LogEstate e;
  auto first = e.Open();
  auto second = e.Open();
  constexpr int kEach = 150;
  std::vector<int64_t> seqs_a, seqs_b;
  std::thread a([&] {
    for (int i = 0; i < kEach; ++i) seqs_a.push_back(first->AppendLog(Sample(i)).seq);
  });
  std::thread b([&] {
    for (int i = 0; i < kEach; ++i) seqs_b.push_back(second->AppendLog(Sample(i + 1000)).seq);
  });
  a.join();
  b.join();
  std::set<int64_t> all(seqs_a.begin(), seqs_a.end());
  all.insert(seqs_b.begin(), seqs_b.end());
  EXPECT_EQ(all.size(), 2u * kEach) << "a seq was given twice";
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), 2 * kEach);
  const LogVerification v = VerifyLog(*first, std::nullopt);
  EXPECT_TRUE(v.ok) << LogDefectName(v.what) << " at " << v.first_bad_seq << ": " << v.detail;
  EXPECT_EQ(v.records, 2 * kEach);
}

// --- tampering through the database file ------------------------------------------------------------

// A fresh copy of one pristine log of 8 records, ready to be damaged.
class Tampered : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pristine_ = std::make_unique<LogEstate>();
    auto store = pristine_->Open();
    records_ = AppendSamples(*store, 8);
  }
  static void TearDownTestSuite() { pristine_.reset(); }
  void SetUp() override {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string from = pristine_->db() + suffix;
      if (std::filesystem::exists(from)) std::filesystem::copy_file(from, e_.db() + suffix);
    }
  }
  // `log verify` fails naming `seq` and `what`, in its JSON and its text.
  void ExpectCaught(int64_t seq, const std::string& what) {
    const CliResult j = Rp(e_, "log verify --json");
    EXPECT_EQ(j.rc, 1) << j.out << j.err;
    const json doc = ParseJson(j);
    EXPECT_EQ(doc.value("ok", true), false) << j.out;
    EXPECT_EQ(doc.value("first_bad_seq", int64_t{0}), seq) << j.out;
    EXPECT_EQ(doc.value("what", ""), what) << j.out;
    const CliResult t = Rp(e_, "log verify");
    EXPECT_EQ(t.rc, 1) << t.out << t.err;
    EXPECT_NE(t.out.find(what + " at seq " + std::to_string(seq)), std::string::npos) << t.out;
  }
  // Sets record `seq`'s `column` and its hash recomputed as the documented rule says, so that
  // the record itself is consistent again.
  void ChangeAndRehash(int64_t seq, const std::string& responsible) {
    auto store = e_.Open();
    LogRecord r = store->ReadLog(seq, 1).at(0);
    r.responsible = responsible;
    r.hash = LogRecordHash(r.prev_hash, r);
    e_.Sql("UPDATE restoration_log SET responsible = '" + responsible + "', hash = '" + r.hash +
           "' WHERE seq = " + std::to_string(seq));
  }

  static inline std::unique_ptr<LogEstate> pristine_;
  static inline std::vector<LogRecord> records_;
  LogEstate e_;
};

TEST_F(Tampered, TheUntouchedCopyVerifies) {
  const CliResult r = Rp(e_, "log verify");
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "8 records, chain intact, 0 checkpoints verified\n");
}

TEST_F(Tampered, AChangedFieldIsNamedChanged) {
  e_.Sql("UPDATE restoration_log SET responsible = 'Mallory' WHERE seq = 4");
  ExpectCaught(4, "changed");
}

TEST_F(Tampered, AChangedCountIsNamedChanged) {
  e_.Sql("UPDATE restoration_log SET bytes = bytes + 1 WHERE seq = 2");
  ExpectCaught(2, "changed");
}

TEST_F(Tampered, AFilesListThatIsNoLongerJsonIsNamedChanged) {
  e_.Sql("UPDATE restoration_log SET failed_files = 'nothing to correct' WHERE seq = 5");
  ExpectCaught(5, "changed");
}

TEST_F(Tampered, AChangedRecordWithItsHashRecomputedIsNamedChanged) {
  ChangeAndRehash(3, "Mallory");
  ExpectCaught(3, "changed");
}

TEST_F(Tampered, ARemovedRecordIsNamedRemoved) {
  e_.Sql("DELETE FROM restoration_log WHERE seq = 5");
  ExpectCaught(5, "removed");
}

TEST_F(Tampered, TheFirstRecordRemovedIsNamedRemoved) {
  e_.Sql("DELETE FROM restoration_log WHERE seq = 1");
  ExpectCaught(1, "removed");
}

TEST_F(Tampered, ARemovedRecordWithTheLaterOnesRenumberedIsNamedRemoved) {
  e_.Sql("DELETE FROM restoration_log WHERE seq = 5; UPDATE restoration_log SET seq = -(seq - 1) WHERE seq > 5;"
         " UPDATE restoration_log SET seq = -seq WHERE seq < 0;");
  ExpectCaught(5, "removed");
}

TEST_F(Tampered, ARecordInsertedInTheMiddleIsNamedInserted) {
  // Records 4.. move up by one; a made-up record 4 linked to record 3 takes the free place.
  e_.Sql("UPDATE restoration_log SET seq = -(seq + 1) WHERE seq >= 4; UPDATE restoration_log SET seq = -seq WHERE seq < 0;"
         " INSERT INTO restoration_log SELECT 4, at + 3600, at_local, kind, target, point, location, 'Mallory',"
         " personal_data, 'never happened', 'passed', files, bytes, 0, correctness, '[]', 0, changed_keys, hash,"
         " '" + std::string(64, 'a') + "', salt FROM restoration_log WHERE seq = 3;");
  ExpectCaught(4, "inserted");
}

TEST_F(Tampered, ARecordInsertedWithAValidHashIsNamedInserted) {
  e_.Sql("UPDATE restoration_log SET seq = -(seq + 1) WHERE seq >= 4; UPDATE restoration_log SET seq = -seq WHERE seq < 0;"
         " INSERT INTO restoration_log SELECT 4, at + 3600, at_local, kind, target, point, location, 'Mallory',"
         " personal_data, 'never happened', 'passed', files, bytes, 0, correctness, '[]', 0, changed_keys, hash, '',"
         " salt FROM restoration_log WHERE seq = 3;");
  // The forger knows the documented rule: the made-up record matches its own hash.
  auto store = e_.Open();
  const LogRecord forged = store->ReadLog(4, 1).at(0);
  e_.Sql("UPDATE restoration_log SET hash = '" + LogRecordHash(forged.prev_hash, forged) + "' WHERE seq = 4");
  ExpectCaught(4, "inserted");
}

TEST_F(Tampered, ACopiedRecordAppendedIsNamedInserted) {
  e_.Sql("INSERT INTO restoration_log SELECT 9, at, at_local, kind, target, point, location, responsible, personal_data,"
         " reason, result, files, bytes, failing_findings, correctness, failed_files, run_id, changed_keys, prev_hash,"
         " hash, salt FROM restoration_log WHERE seq = 3");
  ExpectCaught(9, "inserted");
}

TEST_F(Tampered, TwoSwappedRecordsAreNamedReordered) {
  e_.Sql("UPDATE restoration_log SET seq = -1 WHERE seq = 3; UPDATE restoration_log SET seq = 3 WHERE seq = 6;"
         " UPDATE restoration_log SET seq = 6 WHERE seq = -1;");
  ExpectCaught(3, "reordered");
}

TEST_F(Tampered, TwoAdjacentSwappedRecordsAreNamedReordered) {
  e_.Sql("UPDATE restoration_log SET seq = -1 WHERE seq = 2; UPDATE restoration_log SET seq = 2 WHERE seq = 3;"
         " UPDATE restoration_log SET seq = 3 WHERE seq = -1;");
  ExpectCaught(2, "reordered");
}

TEST_F(Tampered, TheDocumentedScriptAgreesOnAnIntactAndAChangedLog) {
  // The python of docs/restoration-log.md, run on `log show --json`.
  const std::string doc = test::ReadFile(std::string(RP_SOURCE_DIR) + "/docs/restoration-log.md");
  const size_t begin = doc.find("```python\n");
  ASSERT_NE(begin, std::string::npos) << "docs/restoration-log.md has no python block";
  const size_t end = doc.find("```\n", begin + 10);
  ASSERT_NE(end, std::string::npos);
  const std::string script = e_.dir / "recompute.py";
  test::WriteFile(script, doc.substr(begin + 10, end - begin - 10));
  const auto recompute = [&] {
    CliResult r;
    r.rc = test::Run(ShellQuote(RP_BINARY) + " --config " + ShellQuote(e_.config) + " log show --json | python3 " +
                         ShellQuote(script),
                     &r.out);
    return r;
  };
  const CliResult intact = recompute();
  EXPECT_EQ(intact.rc, 0) << intact.out;
  EXPECT_EQ(intact.out, "8 records, chain intact, head " + records_.back().hash + "\n");
  e_.Sql("UPDATE restoration_log SET reason = 'other' WHERE seq = 6");
  const CliResult changed = recompute();
  EXPECT_NE(changed.rc, 0) << changed.out;
  EXPECT_NE(changed.out.find("record 6: the chain breaks here"), std::string::npos) << changed.out;
}

// --- checkpoints ---------------------------------------------------------------------------------

TEST(Checkpoints, TheKeyIsMadeOnceClosedToOthersAndNeverPrinted) {
  LogEstate e;
  std::unique_ptr<SigningKey> a, b;
  Status sb;
  std::thread other([&] { sb = SigningKey::LoadOrCreate(e.data_dir, &b); });
  const Status sa = SigningKey::LoadOrCreate(e.data_dir, &a);
  other.join();
  ASSERT_TRUE(sa.ok()) << sa.message();
  ASSERT_TRUE(sb.ok()) << sb.message();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->public_key().raw, b->public_key().raw) << "two processes creating the key got two keys";
  EXPECT_EQ(a->public_key().Fingerprint().size(), 64u);
  struct stat st {};
  ASSERT_EQ(stat(SigningKeyPath(e.data_dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  PublicKey pub;
  ASSERT_TRUE(ReadPublicKey(PublicKeyPath(e.data_dir), &pub).ok());
  EXPECT_EQ(pub.raw, a->public_key().raw);
  std::unique_ptr<SigningKey> again;
  ASSERT_TRUE(SigningKey::LoadOrCreate(e.data_dir, &again).ok());
  EXPECT_EQ(again->public_key().raw, a->public_key().raw);

  auto store = e.Open();
  std::optional<LogCheckpoint> none;
  ASSERT_TRUE(Checkpoint(*store, *a, kStart, &none).ok());
  EXPECT_FALSE(none) << "an empty log has no head to sign";
  AppendSamples(*store, 3);
  std::optional<LogCheckpoint> made;
  ASSERT_TRUE(Checkpoint(*store, *a, kStart + 10, &made).ok());
  const std::string pem = test::ReadFile(SigningKeyPath(e.data_dir));
  for (const char* args : {"log verify", "log verify --json", "log show", "log show --json"}) {
    const CliResult r = Rp(e, args);
    EXPECT_EQ(r.rc, 0) << args << "\n" << r.out << r.err;
    EXPECT_EQ((r.out + r.err).find("PRIVATE"), std::string::npos) << args;
    EXPECT_EQ((r.out + r.err).find(pem.substr(28, 40)), std::string::npos) << args;
  }
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = e_.Open();
    AppendSamples(*store_, 5);
    ASSERT_TRUE(SigningKey::LoadOrCreate(e_.data_dir, &key_).ok());
    std::optional<LogCheckpoint> made;
    ASSERT_TRUE(Checkpoint(*store_, *key_, kStart + 6 * kDay, &made).ok());
    ASSERT_TRUE(made);
    checkpoint_ = *made;
  }
  LogVerification Verify() { return VerifyLog(*store_, key_->public_key()); }

  LogEstate e_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SigningKey> key_;
  LogCheckpoint checkpoint_;
};

TEST_F(CheckpointTest, ASignedHeadVerifiesHereAndWithTheOpensslCommand) {
  EXPECT_EQ(checkpoint_.seq, 5);
  EXPECT_EQ(checkpoint_.head_hash, store_->ReadLog(5, 1).at(0).hash);
  EXPECT_EQ(checkpoint_.key_fingerprint, key_->public_key().Fingerprint());
  const LogVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.detail;
  EXPECT_EQ(v.checkpoints, 1);
  const CliResult r = Rp(e_, "log verify");
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "5 records, chain intact, 1 checkpoints verified\n");

  // As docs/restoration-log.md shows: the message as one line, the raw signature, signing.pub.
  const auto cp = store_->Checkpoints().at(0);
  test::WriteFile(e_.dir / "msg", CheckpointMessage(cp.seq, cp.head_hash, cp.at));
  std::string sig;
  for (size_t i = 0; i + 1 < cp.signature.size(); i += 2)
    sig += static_cast<char>(std::stoi(cp.signature.substr(i, 2), nullptr, 16));
  test::WriteFile(e_.dir / "sig", sig);
  std::string out;
  const std::string openssl = "openssl pkeyutl -verify -pubin -inkey " + ShellQuote(PublicKeyPath(e_.data_dir)) +
                              " -rawin -in " + ShellQuote(e_.dir / "msg") + " -sigfile " + ShellQuote(e_.dir / "sig");
  EXPECT_EQ(test::Run(openssl, &out), 0) << out;
  test::WriteFile(e_.dir / "msg", CheckpointMessage(cp.seq, cp.head_hash, cp.at + 1));
  EXPECT_NE(test::Run(openssl, &out), 0) << "openssl accepted a signature over another time";
}

TEST_F(CheckpointTest, ATamperedSignatureIsCaught) {
  const std::string sig = checkpoint_.signature;
  const std::string flipped = (sig[10] == '0' ? "1" : "0");
  e_.Sql("UPDATE log_checkpoints SET signature = '" + sig.substr(0, 10) + flipped + sig.substr(11) + "'");
  const LogVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.what, LogDefect::kBadCheckpoint);
  EXPECT_EQ(v.first_bad_seq, 5);
  const CliResult r = Rp(e_, "log verify --json");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_EQ(ParseJson(r).value("what", ""), "bad-checkpoint") << r.out;
}

TEST_F(CheckpointTest, AMovedHeadHashIsCaughtBySignature) {
  e_.Sql("UPDATE log_checkpoints SET seq = 4, head_hash = (SELECT hash FROM restoration_log WHERE seq = 4)");
  const LogVerification v = Verify();
  EXPECT_EQ(v.what, LogDefect::kBadCheckpoint) << v.detail;
}

TEST_F(CheckpointTest, RecordsRemovedFromTheEndAreCaughtByTheCheckpoint) {
  e_.Sql("DELETE FROM restoration_log WHERE seq >= 4");
  const LogVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.what, LogDefect::kRemoved) << v.detail;
  EXPECT_EQ(v.first_bad_seq, 4);
  EXPECT_EQ(Rp(e_, "log verify").rc, 1);
}

TEST_F(CheckpointTest, AChainRewrittenWithoutTheKeyIsCaughtByTheCheckpoint) {
  // Record 2 changed and every hash after it recomputed: the chain alone is consistent again.
  auto records = store_->ReadLog(1, 0);
  records[1].responsible = "Mallory";
  std::string sql = "UPDATE restoration_log SET responsible = 'Mallory' WHERE seq = 2;";
  for (size_t i = 1; i < records.size(); ++i) {
    records[i].prev_hash = records[i - 1].hash;
    records[i].hash = LogRecordHash(records[i].prev_hash, records[i]);
    sql += " UPDATE restoration_log SET prev_hash = '" + records[i].prev_hash + "', hash = '" + records[i].hash +
           "' WHERE seq = " + std::to_string(records[i].seq) + ";";
  }
  e_.Sql(sql);
  EXPECT_FALSE(VerifyLog(*store_, std::nullopt).ok) << "checkpoints without a key cannot pass";
  const LogVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.what, LogDefect::kChanged) << v.detail;
  EXPECT_EQ(v.first_bad_seq, 5);
}

TEST_F(CheckpointTest, WithoutThePublicKeyCheckpointsCannotPass) {
  std::filesystem::remove(PublicKeyPath(e_.data_dir));
  const CliResult r = Rp(e_, "log verify --json");
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_EQ(ParseJson(r).value("what", ""), "bad-checkpoint") << r.out;
}

// --- log show ----------------------------------------------------------------------------------------

TEST(LogShow, JsonFiltersAndText) {
  LogEstate e;
  {
    auto store = e.Open();
    AppendSamples(*store, 8);
  }
  const CliResult all = Rp(e, "log show --json");
  ASSERT_EQ(all.rc, 0) << all.err;
  const json records = ParseJson(all).value("records", json::array());
  ASSERT_EQ(records.size(), 8u) << all.out;
  for (const char* field : {"seq", "time", "time_local", "kind", "target", "point", "location", "responsible",
                            "personal_data", "reason", "result", "files", "bytes", "failing_findings", "correctness",
                            "failed_files", "run_id", "changed_keys", "prev_hash", "hash"})
    EXPECT_TRUE(records[0].contains(field)) << field;
  EXPECT_EQ(records[0].value("seq", 0), 1);
  EXPECT_EQ(records[0].value("kind", ""), "drill");
  EXPECT_EQ(records[0].value("time_local", ""), "2025-11-23T09:00:00+0100");
  EXPECT_EQ(records[3].value("kind", ""), "config-change");
  EXPECT_EQ(records[3].value("target", "?"), "");
  EXPECT_EQ(records[3].value("changed_keys", json::array()), json({"targets[0].owner", "notify[1].secret"}));
  EXPECT_EQ(records[0].value("correctness", ""), "incorrect");
  EXPECT_EQ(records[0].value("failed_files", json::array()).size(), 2u);

  const CliResult alpha = Rp(e, "log show --target alpha --json");
  ASSERT_EQ(alpha.rc, 0) << alpha.err;
  std::vector<int64_t> seqs;
  const json alpha_doc = ParseJson(alpha);
  for (const auto& r : alpha_doc.value("records", json::array())) seqs.push_back(r.value("seq", int64_t{0}));
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 3, 5, 7})) << alpha.out;

  // Record i is at kStart + i days, 09:00 in Stockholm; a date alone is its local midnight.
  const CliResult since = Rp(e, "log show --since 2025-11-28 --json");
  ASSERT_EQ(since.rc, 0) << since.err;
  seqs.clear();
  const json since_doc = ParseJson(since);
  for (const auto& r : since_doc.value("records", json::array())) seqs.push_back(r.value("seq", int64_t{0}));
  EXPECT_EQ(seqs, (std::vector<int64_t>{6, 7, 8})) << since.out;

  EXPECT_EQ(Rp(e, "log show --since yesterday").rc, 2);
  EXPECT_EQ(Rp(e, "log show --bogus").rc, 2);

  const CliResult text = Rp(e, "log show");
  EXPECT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("scheduled-test"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("to correct: lön/januari.csv"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("changed: notify[1].secret"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("line\nbreak"), std::string::npos) << "a newline in a text is printed escaped";
}

}  // namespace
}  // namespace rp

namespace rp {
namespace {

// A log begun before schema 6 (records without a salt, in the v1 form) and continued after the
// upgrade: every record is checked by its own form, and the whole verifies.
TEST(RestorationLog, ALogWrittenBeforeSaltsStillVerifiesAfterTheUpgrade) {
  LogEstate e;
  {
    auto store = e.Open();
    AppendSamples(*store, 4);
    // Make the first four what schema 5 wrote: no salt, the v1 hash chained in order.
    std::vector<LogRecord> old = store->ReadLog(1, 0);
    std::string prev = kLogGenesisHash;
    std::string sql = "BEGIN;";
    for (auto& r : old) {
      r.salt.clear();
      r.prev_hash = prev;
      r.hash = LogRecordHash(prev, r);
      prev = r.hash;
      sql += "UPDATE restoration_log SET salt = '', prev_hash = '" + r.prev_hash + "', hash = '" + r.hash +
             "' WHERE seq = " + std::to_string(r.seq) + ";";
    }
    e.Sql(sql + "COMMIT;");
  }
  auto store = e.Open();
  const LogRecord added = store->AppendLog(Sample(5));
  EXPECT_EQ(added.salt.size(), 32u);
  EXPECT_EQ(added.prev_hash, store->ReadLog(4, 1).at(0).hash);
  const LogVerification v = VerifyLog(*store, std::nullopt);
  EXPECT_TRUE(v.ok) << v.detail;
  EXPECT_EQ(v.records, 5);
  const auto cli = Rp(e, "log verify");
  EXPECT_EQ(cli.rc, 0) << cli.out << cli.err;
  // A v1 record is still guarded: changed, it no longer matches.
  e.Sql("UPDATE restoration_log SET reason = 'rewritten' WHERE seq = 2");
  const auto changed = Rp(e, "log verify");
  EXPECT_EQ(changed.rc, 1) << changed.out;
  EXPECT_NE(changed.out.find("changed at seq 2"), std::string::npos) << changed.out;
}

}  // namespace
}  // namespace rp
