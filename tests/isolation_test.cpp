// The worker process and its lockdown, shown with real processes: a check command that tries
// to break out is stopped by the kernel, a worker or parent that dies is recorded and its
// sandbox wiped, and a missing layer is refused under `require`.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine_support.h"
#include "isolation/worker_protocol.h"
#include "rp/codec.h"
#include "rp/sandbox.h"

namespace rp::test {
namespace {

using K = TreeEntry::Kind;

std::vector<TreeEntry> SmallTree() {
  return {{K::kDirectory, "data", 0, 0, true, "", 0755, 0},
          {K::kFile, "data/a.txt", 1000, 1, true, "", 0644, 0},
          {K::kFile, "data/b.txt", 2000, 2, true, "", 0644, 0}};
}

const Finding* CheckFinding(const VerifyReport& r, const std::string& name) {
  for (const auto& f : r.findings)
    if ((f.kind == FindingKind::kCheckPassed || f.kind == FindingKind::kCheckFailed) && f.path == name) return &f;
  return nullptr;
}

VerifyReport RunWithCommand(const TempDir& dir, const std::vector<std::string>& argv) {
  if (!std::filesystem::exists(dir / "a.tar")) {
    EXPECT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  }
  auto o = Options(dir, dir / "a.tar");
  ContentCheck c;
  c.kind = CheckKind::kCommand;
  c.name = "probe";
  c.argv = argv;
  c.timeout_s = 20;
  o.checks.push_back(c);
  return RunVerifyIsolated(o);
}

TEST(Isolation, EveryLayerIsEnforcedAndRecorded) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  const VerifyReport r = RunVerifyIsolated(Options(dir, dir / "a.tar"));
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  using L = IsolationLayer;
  for (const L layer : {L::kWorkerProcess, L::kNoNewPrivs, L::kUserNamespace, L::kNetworkNamespace, L::kMountNamespace,
                        L::kPidNamespace, L::kCapabilities, L::kLandlock, L::kSeccomp, L::kRlimits, L::kPidsCgroup,
                        L::kMemoryCgroup, L::kNoFollowExtraction, L::kSymlinkResolutionCheck}) {
    const IsolationRecord* rec = r.isolation.Find(layer);
    ASSERT_NE(rec, nullptr) << IsolationLayerName(layer);
    EXPECT_EQ(rec->state, LayerState::kEnforced) << IsolationLayerName(layer) << ": " << rec->detail;
    EXPECT_FALSE(rec->detail.empty()) << IsolationLayerName(layer);
  }
  // The sandbox is on disk here (its size is not known in advance): the tmpfs layer says so.
  ASSERT_NE(r.isolation.Find(L::kTmpfsSandbox), nullptr);
  EXPECT_EQ(r.isolation.Find(L::kTmpfsSandbox)->state, LayerState::kNotRequested);
}

TEST(CheckCommand, CannotWriteOutsideTheSandbox) {
  TempDir dir;
  const std::string outside = dir / "outside.txt";
  const VerifyReport r = RunWithCommand(
      dir, {"/bin/sh", "-c", "echo in > inside.txt || exit 4; echo pwned > " + outside + " && exit 0; exit 3"});
  const Finding* f = CheckFinding(r, "probe");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_EQ(f->kind, FindingKind::kCheckFailed);
  EXPECT_NE(f->message.find("exit code 3"), std::string::npos) << f->message;  // inside worked, outside did not
  EXPECT_FALSE(std::filesystem::exists(outside));
  EXPECT_EQ(r.status, RunStatus::kFailed);
}

TEST(CheckCommand, CannotConnectToLocalhost) {
  TempDir dir;
  const int srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ASSERT_GE(srv, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(srv, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const VerifyReport r =
      RunWithCommand(dir, {"/bin/bash", "-c", "echo hi > /dev/tcp/127.0.0.1/" + port + " && exit 0; exit 3"});
  const Finding* f = CheckFinding(r, "probe");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_NE(f->message.find("exit code 3"), std::string::npos) << f->message;
  EXPECT_LT(accept4(srv, nullptr, nullptr, SOCK_CLOEXEC), 0) << "a connection reached the listener";
  close(srv);
}

TEST(CheckCommand, CannotReadOutsideTheSource) {
  TempDir dir;
  WriteFile(dir / "secret.txt", "TOPSECRET-4711\n");
  const VerifyReport r = RunWithCommand(dir, {"/bin/sh", "-c", "cat " + dir / "secret.txt" + " && exit 0; exit 3"});
  const Finding* f = CheckFinding(r, "probe");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_NE(f->message.find("exit code 3"), std::string::npos) << f->message;
  EXPECT_EQ(f->message.find("TOPSECRET"), std::string::npos) << f->message;
}

bool SleepersLeft(const std::string& marker) {
  DIR* d = opendir("/proc");
  bool found = false;
  while (dirent* de = readdir(d)) {
    if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + de->d_name + "/cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(marker) != std::string::npos && cmd.rfind("sleep", 0) == 0) found = true;
  }
  closedir(d);
  return found;
}

TEST(CheckCommand, ForkWithoutBoundIsStoppedAndNothingOutlivesTheWorker) {
  TempDir dir;
  const std::string marker = "37.25" + std::to_string(getpid() % 100);
  const VerifyReport r = RunWithCommand(
      dir, {"/bin/sh", "-c", "i=0; while [ $i -lt 400 ]; do sleep " + marker + " & i=$((i+1)); done; exit 0"});
  const Finding* f = CheckFinding(r, "probe");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_EQ(f->kind, FindingKind::kCheckFailed) << f->message;
  EXPECT_NE(f->message.find("fork"), std::string::npos) << Describe(r);
  EXPECT_FALSE(SleepersLeft(marker)) << "processes started by the check outlived the worker";
}

TEST(CheckCommand, CannotCreateADeviceNode) {
  TempDir dir;
  const VerifyReport r = RunWithCommand(dir, {"/bin/sh", "-c", "mknod null2 c 1 3 && exit 0; mkfifo p && exit 5; exit 3"});
  const Finding* f = CheckFinding(r, "probe");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_NE(f->message.find("exit code 3"), std::string::npos) << f->message;
}

TEST(CheckCommand, SetuidFileGivesNoPrivileges) {
  TempDir dir;
  // A set-user-ID-root copy of cat beside the check script. The worker runs as uid 0 of its
  // own user namespace without capabilities: a file of mode 000 stays unreadable unless the
  // exec hands out privileges.
  std::filesystem::create_directories(dir / "bin");
  ASSERT_EQ(RunShell("cp /usr/bin/cat " + dir / "bin/cat-suid" + " && chown 0:0 " + dir / "bin/cat-suid" +
                     " && chmod 4755 " + dir / "bin/cat-suid"),
            0);
  WriteFile(dir / "bin/check.sh",
            "#!/bin/sh\necho secret > locked.txt; chmod 000 locked.txt\n\"$(dirname \"$0\")/cat-suid\" locked.txt && exit 0\nexit 3\n");
  chmod((dir / "bin/check.sh").c_str(), 0755);
  const VerifyReport r = RunWithCommand(dir, {dir / "bin/check.sh"});
  const Finding* f = CheckFinding(r, "probe");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_NE(f->message.find("exit code 3"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("Permission denied"), std::string::npos) << f->message;
}

// Writes the first part of a tar into a FIFO and holds it open until released: a restore that
// is really under way and cannot finish on its own.
class StalledSource {
 public:
  explicit StalledSource(const std::string& dir) : fifo_(dir + "/stalled.tar") {
    std::vector<TreeEntry> e;
    for (int i = 0; i < 40; ++i) e.push_back({K::kFile, "f" + std::to_string(i), 20000, static_cast<uint64_t>(i), true, "", 0644, 0});
    e.push_back({K::kFile, "big", 8u << 20, 99, false, "", 0644, 0});
    EXPECT_TRUE(WriteArchive(dir + "/full.tar", {"pax", {}}, e).ok());
    tar_ = ReadFile(dir + "/full.tar");
    EXPECT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
    writer_ = std::thread([this] {
      const int fd = open(fifo_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return;
      signal(SIGPIPE, SIG_IGN);
      (void)!write(fd, tar_.data(), tar_.size() / 2);
      while (!release_) usleep(10000);
      if (finish_) (void)!write(fd, tar_.data() + tar_.size() / 2, tar_.size() - tar_.size() / 2);
      close(fd);
    });
  }
  ~StalledSource() {
    Release(false);
    // Unblock a writer still waiting in open() for a reader that never came.
    const int fd = open(fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    writer_.join();
    if (fd >= 0) close(fd);
  }
  void Release(bool finish) {
    finish_ = finish;
    release_ = true;
  }
  const std::string& path() const { return fifo_; }

 private:
  std::string fifo_, tar_;
  std::atomic<bool> release_{false}, finish_{false};
  std::thread writer_;
};

std::vector<pid_t> ChildrenOfThisProcess() {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc/self/task");
  while (dirent* de = readdir(d)) {
    if (de->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + de->d_name + "/children");
    pid_t p;
    while (in >> p) out.push_back(p);
  }
  closedir(d);
  return out;
}

// SIGKILL to the worker (every child of this process) once it has restored an entry.
void KillTheWorkerAtItsFirstEntry(VerifyOptions* o, bool* killed) {
  o->on_progress = [killed](const Progress& p) {
    if (*killed || p.entries == 0) return;
    for (pid_t c : ChildrenOfThisProcess()) kill(c, SIGKILL);
    *killed = true;
  };
}

TEST(Worker, KilledMidRestoreIsRecordedAsDiedAndTheSandboxWiped) {
  TempDir dir;
  StalledSource src(dir.path());
  auto o = Options(dir, src.path());
  bool killed = false;
  KillTheWorkerAtItsFirstEntry(&o, &killed);
  const VerifyReport r = RunVerifyIsolated(o);
  src.Release(false);
  EXPECT_TRUE(killed);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  ASSERT_EQ(PathsOf(r, FindingKind::kWorkerDied).size(), 1u) << Describe(r);
  EXPECT_NE(r.findings.back().message.find("signal 9"), std::string::npos) << Describe(r);
  EXPECT_TRUE(r.sandbox_removed);
  EXPECT_FALSE(std::filesystem::exists(r.sandbox));
}

std::vector<std::string> SandboxesIn(const std::string& parent) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(parent, ec))
    if (e.path().filename().string().rfind("rp-sandbox-", 0) == 0) out.push_back(e.path());
  return out;
}

// The next start that uses the sandbox directory: verify, or manifest create of an archive
// (which uses the configured sandbox directory).
class OrphanWipe : public ::testing::TestWithParam<std::string> {};

TEST_P(OrphanWipe, ParentKilledMidRestoreLeavesAnOrphanThatTheNextStartWipes) {
  TempDir dir;
  StalledSource src(dir.path());
  const std::string sb = dir / "sandboxes";
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(RP_BINARY, "restoreproof", "verify", src.path().c_str(), "--sandbox", sb.c_str(), nullptr);
    _exit(127);
  }
  // Wait until the restore has written files into its sandbox.
  bool restoring = false;
  for (int i = 0; i < 200 && !restoring; ++i) {
    for (const auto& s : SandboxesIn(sb)) restoring = restoring || !std::filesystem::is_empty(s);
    if (!restoring) usleep(50000);
  }
  ASSERT_TRUE(restoring);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  src.Release(false);
  const auto left = SandboxesIn(sb);
  ASSERT_EQ(left.size(), 1u) << "the killed run's sandbox should still be there";

  // Started again: the orphan is found and wiped, and that is said on stderr.
  ASSERT_TRUE(WriteArchive(dir / "ok.tar", {"pax", {}}, SmallTree()).ok());
  WriteFile(dir / "rp.toml", "[appliance]\nsandbox_dir = \"" + sb + "\"\n");
  const std::string again = GetParam() == "verify"
                                ? std::string(RP_BINARY) + " verify " + dir / "ok.tar" + " --sandbox " + sb
                                : std::string(RP_BINARY) + " --config " + dir / "rp.toml" + " manifest create " +
                                      dir / "ok.tar" + " -o " + dir / "ok.sum";
  std::string out;
  bool wiped = false;
  for (int attempt = 0; attempt < 50 && !wiped; ++attempt) {  // until the dead worker's lock is released
    RunShell(again, &out);
    wiped = out.find("wiped orphan sandbox " + left[0]) != std::string::npos;
    if (!wiped) usleep(100000);
  }
  EXPECT_TRUE(wiped) << out;
  EXPECT_TRUE(SandboxesIn(sb).empty());
  // Nor is the killed parent's pids cgroup left behind.
  const std::string cg = "/sys/fs/cgroup/pids/restoreproof-" + std::to_string(pid) + "-0";
  EXPECT_FALSE(std::filesystem::exists(cg)) << cg;
}

INSTANTIATE_TEST_SUITE_P(Commands, OrphanWipe, ::testing::Values("verify", "manifest_create"));

TEST(CheckCommand, InheritsNoDescriptorOfTheWorker) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  auto o = Options(dir, dir / "a.tar");
  o.write_manifest = dir / "baseline.xxh128";
  o.write_inventory = dir / "inventory";
  ContentCheck c;
  c.kind = CheckKind::kCommand;
  c.name = "probe";
  c.argv = {"/bin/sh", "-c",
            "for fd in 3 4 5 6 7; do (echo evil >&$fd) 2>/dev/null && echo wrote-$fd; done; echo done"};
  o.checks = {c};
  const VerifyReport r = RunVerifyIsolated(o);
  ASSERT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  const Finding* f = CheckFinding(r, "probe");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message.find("wrote-"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("done"), std::string::npos) << f->message;
  EXPECT_EQ(ReadFile(dir / "baseline.xxh128").find("evil"), std::string::npos);
  EXPECT_EQ(ReadFile(dir / "inventory").find("evil"), std::string::npos);
}

TEST(CheckCommand, SeveralCommandsAndAScriptGivenToAnInterpreterAllRun) {
  TempDir dir;
  std::filesystem::create_directories(dir / "checks-a");
  std::filesystem::create_directories(dir / "checks-b");
  WriteFile(dir / "checks-a/one.sh", "#!/bin/sh\necho one-ran\n");
  chmod((dir / "checks-a/one.sh").c_str(), 0755);
  WriteFile(dir / "checks-b/two.sh", "echo two-ran\n");  // not executable: run by /bin/sh
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  auto o = Options(dir, dir / "a.tar");
  ContentCheck one, two;
  one.kind = two.kind = CheckKind::kCommand;
  one.name = "one";
  one.argv = {dir / "checks-a/one.sh"};
  two.name = "two";
  two.argv = {"/bin/sh", dir / "checks-b/two.sh"};
  o.checks = {one, two};
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  ASSERT_NE(CheckFinding(r, "one"), nullptr);
  EXPECT_NE(CheckFinding(r, "one")->message.find("one-ran"), std::string::npos);
  ASSERT_NE(CheckFinding(r, "two"), nullptr);
  EXPECT_NE(CheckFinding(r, "two")->message.find("two-ran"), std::string::npos);
}

// The worker has parsed hostile bytes, so the parent must survive anything it says: a fake
// worker (a shell script) sends lines of the wrong shape, then a line that never ends.
TEST(Worker, MalformedOrEndlessOutputIsADeadWorkerNotACrash) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  WriteFile(dir / "fake-worker", "#!/bin/sh\ncat >/dev/null\n"
                                  "echo '{\"type\":\"progress\",\"entries\":\"many\",\"bytes\":[1]}'\n"
                                  "echo '{\"type\":\"finding\",\"finding\":{\"kind\":7}}'\n"
                                  "echo '{\"type\":\"result\",\"report\":5}'\nexit 0\n");
  chmod((dir / "fake-worker").c_str(), 0755);
  auto o = Options(dir, dir / "a.tar");
  o.worker_binary = dir / "fake-worker";
  int progress_calls = 0;
  o.on_progress = [&](const Progress&) { ++progress_calls; };
  VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(PathsOf(r, FindingKind::kWorkerDied).size(), 1u) << Describe(r);
  EXPECT_FALSE(std::filesystem::exists(r.sandbox));

  WriteFile(dir / "fake-worker", "#!/bin/sh\ncat >/dev/null\nhead -c 300000000 /dev/zero | tr '\\0' a\n");
  r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  ASSERT_EQ(PathsOf(r, FindingKind::kWorkerDied).size(), 1u) << Describe(r);
  EXPECT_NE(r.findings.back().message.find("256 MiB"), std::string::npos) << Describe(r);
}

// A worker that floods its parent with findings cannot make it grow without bound: the parent
// keeps kMaxStoredFindings, counts the rest, and still records its own verdict.
TEST(Worker, AFloodOfFindingsIsCappedAndTheVerdictKept) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  const size_t sent = kMaxStoredFindings + 5000;
  WriteFile(dir / "fake-worker",
            "#!/bin/sh\ncat >/dev/null\n"
            "yes '{\"type\":\"finding\",\"finding\":{\"kind\":\"corrupt\",\"path\":\"\",\"message\":\"m\"}}' | head -n " +
                std::to_string(sent) + "\nexit 3\n");
  chmod((dir / "fake-worker").c_str(), 0755);
  auto o = Options(dir, dir / "a.tar");
  o.worker_binary = dir / "fake-worker";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(r.findings.size(), kMaxStoredFindings + 1);
  EXPECT_EQ(r.findings_dropped, sent - kMaxStoredFindings);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings.back().kind, FindingKind::kWorkerDied);
  EXPECT_FALSE(std::filesystem::exists(r.sandbox));
}

// Past the cap even notices fail the run, in the worker and in-process alike: what was dropped
// is not known, so it cannot be called harmless. Each setuid file here gives a mode-cleared
// notice, which alone does not fail a run.
TEST(Worker, DroppedNoticesFailTheRunInBothPaths) {
  TempDir dir;
  std::vector<TreeEntry> entries;
  const size_t n = kMaxStoredFindings + 3;
  for (size_t i = 0; i < n; ++i)
    entries.push_back({TreeEntry::Kind::kFile, "s" + std::to_string(i), 0, 0, true, "", 04755, 0});
  ASSERT_TRUE(WriteArchive(dir / "setuid.tar", {"ustar", {}}, entries).ok());
  auto o = Options(dir, dir / "setuid.tar");
  o.limits.max_entries = 2 * n;
  for (const VerifyReport& r : {RunVerifyIsolated(o), RunVerify(o)}) {
    EXPECT_EQ(r.status, RunStatus::kFailed);
    EXPECT_FALSE(r.HasFailingFinding());
    ASSERT_EQ(r.findings.size(), kMaxStoredFindings);
    EXPECT_EQ(r.findings.front().kind, FindingKind::kModeCleared);
    EXPECT_EQ(r.findings_dropped, 3u);
  }
}

// A worker that ends without a result: the parent says how, from its exit and its stderr.
TEST(Worker, HowAWorkerEndedWithoutAResultIsTheParentsFinding) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  auto run = [&](const std::string& body) {
    WriteFile(dir / "fake-worker", "#!/bin/sh\ncat >/dev/null\n" + body + "\n");
    chmod((dir / "fake-worker").c_str(), 0755);
    auto o = Options(dir, dir / "a.tar");
    o.worker_binary = dir / "fake-worker";
    return RunVerifyIsolated(o);
  };
  // Died: its last words are in the finding.
  VerifyReport r = run("echo 'first line' >&2; echo 'archive_read: truncated gizmo' >&2; exit 3");
  EXPECT_EQ(r.status, RunStatus::kFailed);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings.back().kind, FindingKind::kWorkerDied) << Describe(r);
  EXPECT_NE(r.findings.back().message.find("exited with status 3"), std::string::npos) << Describe(r);
  EXPECT_NE(r.findings.back().message.find("it said: first line\narchive_read: truncated gizmo"), std::string::npos)
      << Describe(r);
  // Our allocation failure (exit 86), and a library's ("Out of memory" and exit): the memory
  // limit, named as the limit that was in force for allocations.
  for (const std::string body : {"exit 86", "echo 'tar: Out of memory' >&2; exit 1"}) {
    r = run(body);
    ASSERT_FALSE(r.findings.empty()) << body;
    const Finding& f = r.findings.back();
    EXPECT_EQ(f.kind, FindingKind::kLimitExceeded) << body << "\n" << Describe(r);
    EXPECT_EQ(f.limit, LimitKind::kMemory) << body;
    const IsolationRecord* memory = r.isolation.Find(IsolationLayer::kMemoryCgroup);
    ASSERT_NE(memory, nullptr);
    const std::string named = memory->state == LayerState::kEnforced
                                  ? "address-space limit of " + std::to_string(VerifyOptions{}.worker_address_space_bytes)
                                  : "memory limit of " + std::to_string(Limits{}.max_memory_bytes);
    EXPECT_NE(f.message.find(named + " bytes reached; an allocation failed"), std::string::npos) << f.message;
  }
}

// A real worker past the cap: it stores kMaxStoredFindings findings, streams exactly those as
// finding lines (not one more), and counts the rest; the count reaches the parent's report.
TEST(Worker, FindingsBeyondTheCapAreCountedNotSent) {
  TempDir dir;
  std::vector<TreeEntry> entries;
  const size_t n = kMaxStoredFindings + 5;
  for (size_t i = 0; i < n; ++i)
    entries.push_back({TreeEntry::Kind::kFifo, "p" + std::to_string(i), 0, 0, true, "", 0600, 0});
  ASSERT_TRUE(WriteArchive(dir / "fifos.tar", {"ustar", {}}, entries).ok());
  auto o = Options(dir, dir / "fifos.tar");
  o.limits.max_entries = 2 * n;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(r.findings.size(), kMaxStoredFindings);
  EXPECT_GE(r.findings_dropped, 5u);
  EXPECT_LE(r.findings_dropped, 6u);  // and perhaps the empty-source finding

  // The worker's own lines, read directly.
  std::filesystem::create_directories(dir / "sb");
  detail::WorkerJob job;
  job.options = o;
  job.sandbox_path = dir / "sb";
  job.pids_cgroup.detail = "not set up by this test";
  job.options.isolation = IsolationPolicy::kBestEffort;
  WriteFile(dir / "job.json", detail::EncodeJob(job));
  std::string out;
  ASSERT_EQ(RunShell("cd " + dir / "sb" + " && " + RP_BINARY + " worker < " + dir / "job.json" +
                         " 3< . | grep -c '\"type\":\"finding\"'",
                     &out),
            0)
      << out;
  EXPECT_EQ(std::stoul(out), kMaxStoredFindings);
}

// Numbers in a job or a report are integers that fit, never converted from any float: a float
// out of an integer's range is undefined behaviour in the conversion (found by fuzz_manifest).
TEST(Worker, NumbersOfTheWrongKindInAJobOrAReportAreRefused) {
  TempDir dir;
  detail::WorkerJob job;
  job.options = Options(dir, dir / "a.tar");
  job.sandbox_path = dir / "sb";
  const std::string good = detail::EncodeJob(job);
  detail::WorkerJob decoded;
  const Status ok = detail::DecodeJob(good, &decoded);
  ASSERT_TRUE(ok.ok()) << ok.message();
  const std::string key = "\"max_total_bytes\":";
  const size_t at = good.find(key);
  ASSERT_NE(at, std::string::npos) << good;
  const size_t end = good.find_first_of(",}", at);
  for (const std::string bad : {"3.4e67", "-1", "1.5", "\"12\""}) {
    std::string text = good;
    text.replace(at + key.size(), end - at - key.size(), bad);
    const Status st = detail::DecodeJob(text, &decoded);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_FALSE(st.message().empty()) << bad;
  }

  VerifyReport r;
  r.files = 3;
  const std::string report = EncodeJson(r, 2);
  VerifyReport back;
  ASSERT_TRUE(DecodeJson(report, "report", &back).ok());
  std::string text = report;
  const std::string files = "\"files\": 3";
  const size_t f = text.find(files);
  ASSERT_NE(f, std::string::npos) << text;
  text.replace(f, files.size(), "\"files\": 1e30");
  EXPECT_FALSE(DecodeJson(text, "report", &back).ok());
}

// The worker has parsed hostile bytes: its result is its word, not the evidence. A worker that
// claims to have passed after streaming a failing finding, and reports other limits and
// protections than the parent set up, does not get its way.
TEST(Worker, ItsResultCannotHideAFindingOrMisstateLimitsAndCgroups) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  VerifyReport lie;
  lie.status = RunStatus::kPassed;
  lie.source = "/somewhere/else.tar";
  lie.limits.max_memory_bytes = 1;
  lie.isolation.Set(IsolationLayer::kMemoryCgroup, LayerState::kEnforced, "a lie");
  const Finding hidden(FindingKind::kChecksumMismatch, "data/a", "streamed, then left out of the result");
  WriteFile(dir / "lines", detail::EncodeFindingLine(hidden) + "\n" + detail::EncodeResultLine(lie) + "\n");
  WriteFile(dir / "fake-worker", "#!/bin/sh\ncat > /dev/null\ncat " + dir / "lines" + "\n");
  ASSERT_EQ(chmod((dir / "fake-worker").c_str(), 0755), 0);
  auto o = Options(dir, dir / "a.tar");
  o.worker_binary = dir / "fake-worker";
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  EXPECT_EQ(PathsOf(r, FindingKind::kChecksumMismatch), std::vector<std::string>{"data/a"});
  EXPECT_EQ(r.limits, o.limits);
  EXPECT_EQ(r.source, o.source);
  const IsolationRecord* memory = r.isolation.Find(IsolationLayer::kMemoryCgroup);
  ASSERT_NE(memory, nullptr);
  EXPECT_NE(memory->detail, "a lie");
}

TEST(Worker, ACallerCanFailTheRunBeforeItsOutputsArePublished) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  auto o = Options(dir, dir / "a.tar");
  o.write_manifest = dir / "m";
  o.before_publish = [](VerifyReport* r) {
    r->Add(Finding{FindingKind::kIoError, "", "the feeding command failed", -1});
    r->status = RunStatus::kFailed;
  };
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_FALSE(std::filesystem::exists(dir / "m"));
}

TEST(Worker, AKeptSandboxIsNotTakenForAnOrphan) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "ok.tar", {"pax", {}}, SmallTree()).ok());
  auto o = Options(dir, dir / "ok.tar");
  o.keep = true;
  const VerifyReport kept = RunVerifyIsolated(o);
  ASSERT_EQ(kept.status, RunStatus::kPassed) << Describe(kept);
  EXPECT_FALSE(kept.sandbox_removed);
  EXPECT_NE(kept.sandbox.find("/rp-kept-"), std::string::npos) << kept.sandbox;
  ASSERT_TRUE(std::filesystem::exists(kept.sandbox + "/data/a.txt"));
  std::string out;
  RunShell(std::string(RP_BINARY) + " verify " + dir / "ok.tar" + " --sandbox " + o.sandbox_parent, &out);
  EXPECT_EQ(out.find("wiped orphan"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(kept.sandbox + "/data/a.txt"));
  RemoveTree(kept.sandbox);
}

TEST(Worker, WallTimeStopsTheWorkerAndWipes) {
  TempDir dir;
  StalledSource src(dir.path());
  auto o = Options(dir, src.path());
  o.limits.max_seconds = 1;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(PathsOf(r, FindingKind::kLimitExceeded).size(), 1u) << Describe(r);
  EXPECT_TRUE(r.sandbox_removed);
  EXPECT_FALSE(std::filesystem::exists(r.sandbox));
}

TEST(Worker, ProgressArrivesWhileTheRestoreRuns) {
  TempDir dir;
  StalledSource src(dir.path());
  auto o = Options(dir, src.path());
  std::vector<Progress> seen;
  o.on_progress = [&](const Progress& p) {
    seen.push_back(p);
    if (seen.size() == 3) src.Release(true);
  };
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  ASSERT_GE(seen.size(), 3u);
  // The first line comes at once after the lockdown; by the third (1 s on) the part of the
  // source delivered before the stall has been restored.
  EXPECT_GT(seen[2].entries, 0u);
  EXPECT_GT(seen[2].bytes, 0u);
  EXPECT_FALSE(seen[2].current.empty());
}

// Under `require` a machine without a layer refuses the run; under `best-effort` it runs and
// says what was missing. The layer is made really unavailable: the system call fails as on a
// kernel without it.
struct Unavailable {
  std::string syscall_spec;
  IsolationLayer layer;
};

std::optional<VerifyReport> ParseReport(const std::string& out) {
  VerifyReport r;
  if (!DecodeJson(out, "verify --json", &r).ok()) return std::nullopt;
  return r;
}

LayerState StateOf(const VerifyReport& r, IsolationLayer layer) {
  const IsolationRecord* rec = r.isolation.Find(layer);
  return rec ? rec->state : LayerState::kNotRequested;
}

std::string DetailOf(const VerifyReport& r, IsolationLayer layer) {
  const IsolationRecord* rec = r.isolation.Find(layer);
  return rec ? rec->detail : "";
}

class PolicyTest : public ::testing::TestWithParam<Unavailable> {};

TEST_P(PolicyTest, RequireRefusesBestEffortRunsAndRecordsTheGap) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  const std::string cmd = std::string(RP_WITHOUT_SYSCALLS) + " " + GetParam().syscall_spec + " -- " + RP_BINARY +
                          " verify " + dir / "a.tar" + " --sandbox " + dir / "sb" + " --json --isolation ";
  std::string out;
  EXPECT_EQ(RunShell("{ " + cmd + "require 2>/dev/null; }", &out), 3) << out;
  auto r = ParseReport(out);
  ASSERT_TRUE(r) << out;
  EXPECT_EQ(StateOf(*r, GetParam().layer), LayerState::kUnavailable) << DetailOf(*r, GetParam().layer);
  EXPECT_NE(r->abort_status.message().find("'" + std::string(IsolationLayerName(GetParam().layer)) + "' is unavailable"),
            std::string::npos)
      << r->abort_status.message();
  EXPECT_EQ(r->files, 0u);

  EXPECT_EQ(RunShell("{ " + cmd + "best-effort 2>/dev/null; }", &out), 0) << out;
  r = ParseReport(out);
  ASSERT_TRUE(r) << out;
  EXPECT_EQ(r->status, RunStatus::kPassed);
  EXPECT_EQ(StateOf(*r, GetParam().layer), LayerState::kUnavailable);
  EXPECT_TRUE(SandboxesIn(dir / "sb").empty());
}

// The worker mounts a /proc of its own PID namespace: even without Landlock (which denies
// /proc), a check command sees a handful of processes, not the host's, and so not the parent's
// environment.
TEST(Isolation, OnlyTheWorkersOwnProcessesAreVisibleInProc) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  WriteFile(dir / "checks.json",
            R"([{"kind": "command", "name": "procs", "argv": ["/bin/sh", "-c",
                "n=$(ls /proc | grep -c '^[0-9]'); echo pids=$n; test -r /proc/self/status && test $n -lt 10"],
                "timeout_s": 20}])");
  std::string out;
  EXPECT_EQ(RunShell("{ " + std::string(RP_WITHOUT_SYSCALLS) + " landlock_create_ruleset=ENOSYS -- " + RP_BINARY +
                         " verify " + dir / "a.tar" + " --sandbox " + dir / "sb" + " --checks " + dir / "checks.json" +
                         " --json --isolation best-effort 2>/dev/null; }",
                     &out),
            0)
      << out;
  auto r = ParseReport(out);
  ASSERT_TRUE(r) << out;
  EXPECT_EQ(StateOf(*r, IsolationLayer::kLandlock), LayerState::kUnavailable);
  EXPECT_NE(DetailOf(*r, IsolationLayer::kPidNamespace).find("its own /proc"), std::string::npos)
      << DetailOf(*r, IsolationLayer::kPidNamespace);
  const Finding* f = CheckFinding(*r, "procs");
  ASSERT_NE(f, nullptr) << out;
  EXPECT_EQ(f->kind, FindingKind::kCheckPassed) << f->message;
}

TEST(Tmpfs, WhenItCannotBeMountedBestEffortSaysDiskNotTmpfs) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  std::string out;
  EXPECT_EQ(RunShell("{ " + std::string(RP_WITHOUT_SYSCALLS) + " mount=EPERM -- " + RP_BINARY + " verify " + dir / "a.tar" +
                         " --sandbox " + dir / "sb" + " --json --sandbox-kind tmpfs --isolation best-effort 2>/dev/null; }",
                     &out),
            0)
      << out;
  auto r = ParseReport(out);
  ASSERT_TRUE(r) << out;
  EXPECT_EQ(r->sandbox_kind, SandboxKind::kDisk);
  EXPECT_EQ(StateOf(*r, IsolationLayer::kTmpfsSandbox), LayerState::kUnavailable) << DetailOf(*r, IsolationLayer::kTmpfsSandbox);
}

// The symlink chain check resolves each link with openat2 beneath the sandbox root; with ".."
// in the way, the kernel answers EAGAIN when a rename or mount anywhere raced the walk (busy
// machines, parallel test runs). A chain that cannot be resolved is refused, never passed: here
// openat2 always answers EAGAIN, and a chain that climbs out must still fail the run.
TEST(SymlinkCheck, AChainTheKernelCannotResolveIsRefusedNotPassed) {
  TempDir dir;
  const std::vector<TreeEntry> entries = {{K::kDirectory, "a/b", 0, 0, true, "", 0755, 0},
                                          {K::kSymlink, "a/b/l", 0, 0, true, "../..", 0777, 0},
                                          {K::kSymlink, "m", 0, 0, true, "a/b/l/../..", 0777, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, entries).ok());
  std::string out;
  RunShell("{ " + std::string(RP_WITHOUT_SYSCALLS) + " openat2=EAGAIN -- " + RP_BINARY + " verify " + dir / "a.tar" +
               " --sandbox " + dir / "sb" + " --json 2>/dev/null; }",
           &out);
  auto r = ParseReport(out);
  ASSERT_TRUE(r) << out;
  EXPECT_EQ(r->status, RunStatus::kFailed) << out;
  EXPECT_EQ(StateOf(*r, IsolationLayer::kSymlinkResolutionCheck), LayerState::kEnforced) << out;
  bool refused = false;
  for (const auto& f : r->findings)
    if (f.kind == FindingKind::kUnsafeEntry && f.path == "m") refused = f.message.find("EAGAIN") != std::string::npos;
  EXPECT_TRUE(refused) << out;
}

INSTANTIATE_TEST_SUITE_P(Layers, PolicyTest,
                         ::testing::Values(Unavailable{"landlock_create_ruleset=ENOSYS", IsolationLayer::kLandlock},
                                           Unavailable{"unshare=EPERM", IsolationLayer::kUserNamespace}),
                         [](const auto& tpi) { return std::string(IsolationLayerName(tpi.param.layer)); });

TEST(Tmpfs, RestoredDataNeverTouchesTheDiskAndVanishesWithTheWorker) {
  TempDir dir;
  StalledSource src(dir.path());
  auto o = Options(dir, src.path());
  o.sandbox_kind = SandboxKind::kTmpfs;
  o.tmpfs_budget_bytes = 64u << 20;
  int looked = 0;
  bool disk_empty = true;
  o.on_progress = [&](const Progress& p) {
    if (p.files == 0 || looked > 0) return;
    for (const auto& s : SandboxesIn(o.sandbox_parent)) {
      ++looked;
      disk_empty = disk_empty && std::filesystem::is_empty(s);  // seen from outside the worker
    }
    src.Release(true);
  };
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kPassed) << Describe(r);
  EXPECT_EQ(r.sandbox_kind, SandboxKind::kTmpfs);
  EXPECT_EQ(StateOf(r, IsolationLayer::kTmpfsSandbox), LayerState::kEnforced);
  EXPECT_EQ(looked, 1);
  EXPECT_TRUE(disk_empty) << "restored files were visible on the disk directory";
  EXPECT_FALSE(std::filesystem::exists(r.sandbox));
}

// A worker that dies leaves no result; the report still names the sandbox it had mounted.
TEST(Tmpfs, AWorkerKilledInATmpfsSandboxIsReportedWithThatSandbox) {
  TempDir dir;
  StalledSource src(dir.path());
  auto o = Options(dir, src.path());
  o.sandbox_kind = SandboxKind::kTmpfs;
  o.tmpfs_budget_bytes = 64u << 20;
  bool killed = false;
  KillTheWorkerAtItsFirstEntry(&o, &killed);
  const VerifyReport r = RunVerifyIsolated(o);
  src.Release(false);
  ASSERT_TRUE(killed);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  ASSERT_EQ(PathsOf(r, FindingKind::kWorkerDied).size(), 1u) << Describe(r);
  EXPECT_EQ(StateOf(r, IsolationLayer::kTmpfsSandbox), LayerState::kEnforced);
  EXPECT_EQ(r.sandbox_kind, SandboxKind::kTmpfs);
}

TEST(Tmpfs, SizeCapStopsABombAsALimit) {
  TempDir dir;
  std::vector<TreeEntry> e = {{K::kFile, "zeros", 40u << 20, 1, true, "", 0644, 0}};
  ASSERT_TRUE(WriteArchive(dir / "a.tar.zst", {"pax", {"zstd"}}, e).ok());
  auto o = Options(dir, dir / "a.tar.zst");
  o.sandbox_kind = SandboxKind::kTmpfs;
  o.tmpfs_budget_bytes = 8u << 20;
  const VerifyReport r = RunVerifyIsolated(o);
  EXPECT_EQ(r.status, RunStatus::kFailed) << Describe(r);
  ASSERT_FALSE(PathsOf(r, FindingKind::kLimitExceeded).empty()) << Describe(r);
  EXPECT_EQ(ExitCodeFor(r), 1);
  EXPECT_LE(r.bytes, 8u << 20);
}

TEST(Tmpfs, AutoChoosesTmpfsOnlyWhenTheSizeIsKnownAndFits) {
  TempDir dir;
  ASSERT_TRUE(WriteArchive(dir / "a.tar", {"pax", {}}, SmallTree()).ok());
  auto o = Options(dir, dir / "a.tar");
  EXPECT_EQ(RunVerifyIsolated(o).sandbox_kind, SandboxKind::kDisk);
  o.expected_bytes = 3000;
  o.tmpfs_budget_bytes = 256u << 20;
  EXPECT_EQ(RunVerifyIsolated(o).sandbox_kind, SandboxKind::kTmpfs);
  o.expected_bytes = 1ull << 30;
  const VerifyReport big = RunVerifyIsolated(o);
  EXPECT_EQ(big.sandbox_kind, SandboxKind::kDisk);
  EXPECT_EQ(StateOf(big, IsolationLayer::kTmpfsSandbox), LayerState::kNotRequested);
  EXPECT_NE(DetailOf(big, IsolationLayer::kTmpfsSandbox).find("does not fit"), std::string::npos);
}

// The worker executable restoreproof picks by itself: restoreproof-worker beside it, which
// links no web, database or TLS library; without one, its own `restoreproof worker`.
std::string WorkerDetail(const std::string& restoreproof, const TempDir& dir, const std::string& source) {
  std::string out;
  const int rc = RunShell(ShellQuote(restoreproof) + " verify " + ShellQuote(source) + " --sandbox " +
                              ShellQuote(dir / "sandboxes") + " --json 2>/dev/null",
                          &out);
  EXPECT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.contains("isolation")) return "unparsed: " + out;
  for (const auto& layer : j.at("isolation"))
    if (layer.value("layer", "") == "worker_process") return layer.value("detail", "");
  return "no worker_process layer";
}

TEST(WorkerBinary, RestoreproofRunsRestoreproofWorkerBesideItElseItself) {
  TempDir dir;
  ASSERT_TRUE(WriteTree(dir / "point", SmallTree()).ok());
  ASSERT_EQ(std::filesystem::path(RP_WORKER_BINARY).parent_path(), std::filesystem::path(RP_BINARY).parent_path());
  EXPECT_EQ(WorkerDetail(RP_BINARY, dir, dir / "point"), "a separate restoreproof worker process (restoreproof-worker)");
  // Alone in a directory (a hard link, so that /proc/self/exe names it there): its own worker.
  const std::string alone = dir / "bin";
  std::filesystem::create_directories(alone);
  if (link(RP_BINARY, (alone + "/restoreproof").c_str()) != 0) {
    std::error_code ec;
    std::filesystem::copy_file(RP_BINARY, alone + "/restoreproof", ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  EXPECT_EQ(WorkerDetail(alone + "/restoreproof", dir, dir / "point"),
            "a separate restoreproof worker process (restoreproof worker)");
}

TEST(WorkerBinary, RestoreproofWorkerLinksOnlyTheEngineAndTakesOnlyAJob) {
  std::string out;
  ASSERT_EQ(RunShell("ldd " + ShellQuote(RP_WORKER_BINARY), &out), 0) << out;
  for (const char* lib : {"libPoco", "libpq", "libssl", "libldap", "libkrb5", "libhpdf", "libprometheus"})
    EXPECT_EQ(out.find(lib), std::string::npos) << lib << " in\n" << out;
  EXPECT_NE(out.find("libarchive"), std::string::npos) << out;
  EXPECT_EQ(RunShell(ShellQuote(RP_WORKER_BINARY) + " 2>&1", &out), 2);
  EXPECT_NE(out.find("run by restoreproof"), std::string::npos) << out;
  std::string main_version;
  ASSERT_EQ(RunShell(ShellQuote(RP_BINARY) + " --version", &main_version), 0);
  ASSERT_EQ(main_version.rfind("restoreproof ", 0), 0u) << main_version;
  EXPECT_EQ(RunShell(ShellQuote(RP_WORKER_BINARY) + " --version", &out), 0);
  EXPECT_EQ(out, "restoreproof-worker " + main_version.substr(13)) << "one build, one version";
}

}  // namespace
}  // namespace rp::test
