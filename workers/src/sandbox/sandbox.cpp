#include "rp/sandbox.h"

#include "rp/posix_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace rp {
namespace {

std::string Errno(int e) { return std::strerror(e); }

// The entries of a directory (without . and ..) in inode order, not directory-hash order:
// neighbouring inodes share inode-table blocks, so unlinking in this order touches each block
// once (coreutils' rm does the same). With `dirs_apart`, entries the directory listing marks
// as directories go to *dirs instead, in listing order. A listing that fails part way gives
// what it read: the serial pass, and the check that the sandbox is gone, come after.
std::vector<std::pair<ino_t, std::string>> ListForRemoval(int dfd, std::vector<std::string>* dirs_apart) {
  std::vector<DirName> names;
  ReadDirNames(dfd, &names);
  std::vector<std::pair<ino_t, std::string>> entries;
  entries.reserve(names.size());
  for (auto& n : names) {
    if (dirs_apart && n.type == DT_DIR) dirs_apart->push_back(std::move(n.name));
    else entries.emplace_back(n.ino, std::move(n.name));
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

// Opens the subdirectory `name` of `parent` to empty it, never through a symlink, after making
// sure we may list and delete inside whatever mode the archive gave it. -1 if it cannot.
int OpenForRemoval(int parent, const std::string& name) {
  fchmodat(parent, name.c_str(), 0700, AT_SYMLINK_NOFOLLOW);
  return openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// Removes everything inside the directory open at `dfd` (which it closes). Never follows a
// symlink: entries are unlinked by name, subdirectories opened with O_NOFOLLOW.
bool RemoveContents(int dfd, std::string* err) {
  const UniqueFd dir(dfd);
  bool ok = true;
  std::vector<std::string> subdirs;
  for (const auto& [ino, name] : ListForRemoval(dfd, &subdirs)) {
    if (unlinkat(dfd, name.c_str(), 0) == 0) continue;
    if (errno == EISDIR || errno == EPERM) {
      subdirs.push_back(name);
    } else if (errno != ENOENT) {
      *err = "unlink " + name + ": " + Errno(errno);
      ok = false;
    }
  }
  for (const auto& name : subdirs) {
    const int sub = OpenForRemoval(dfd, name);
    if (sub < 0) {
      *err = "open " + name + ": " + Errno(errno);
      ok = false;
      continue;
    }
    if (!RemoveContents(sub, err)) ok = false;
    if (unlinkat(dfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      *err = "rmdir " + name + ": " + Errno(errno);
      ok = false;
    }
  }
  return ok;
}

// The first, parallel pass of a wipe: empties directories of everything but their
// subdirectories, several directories at a time. Removing a file costs the kernel more after
// the directory entry is gone (freeing its page cache and its inode) than before, and that
// part does not hold the directory's lock, so threads on different directories overlap well:
// 40,000 files with 1 GiB of unwritten data went from 0.7-0.9 s to 0.45-0.55 s on two cores.
// It reports nothing: the serial pass after it removes what is left (the directories, and
// anything this pass could not) and is the one that says what failed.
class ParallelEmptier {
 public:
  // Takes ownership of `root_fd`.
  void Run(int root_fd, unsigned threads) {
    queue_.push_back(root_fd);
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) {
      try {
        pool.emplace_back([this] { Work(); });
      } catch (const std::system_error&) {
        break;  // out of tasks (RLIMIT_NPROC, pids cgroup): fewer threads, same result
      }
    }
    Work();
    for (auto& t : pool) t.join();
  }

 private:
  // Directories waiting for a thread, as open descriptors. Beyond this many, a thread empties
  // a subdirectory itself, depth first, down to kMaxInlineDepth levels; deeper ones are left to
  // the serial pass. Descriptors held: at most the cap plus kMaxInlineDepth + 1 per thread.
  static constexpr size_t kMaxQueued = 64;
  static constexpr int kMaxInlineDepth = 32;

  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return !queue_.empty() || busy_ == 0; });
      if (queue_.empty()) return;  // nothing queued and nobody left to queue more
      const int dfd = queue_.front();
      queue_.pop_front();
      ++busy_;
      lock.unlock();
      try {
        Empty(dfd, 0);
      } catch (...) {  // out of memory: what is left goes to the serial pass
      }
      lock.lock();
      if (--busy_ == 0 && queue_.empty()) cv_.notify_all();
    }
  }

  void Empty(int dfd, int depth) {
    const UniqueFd dir(dfd);
    const int fd = dfd;
    std::vector<std::string> subdirs;
    // DT_UNKNOWN entries are tried as files: unlinkat says EISDIR for a directory.
    for (const auto& [ino, name] : ListForRemoval(fd, &subdirs)) {
      if (unlinkat(fd, name.c_str(), 0) != 0 && (errno == EISDIR || errno == EPERM)) subdirs.push_back(name);
    }
    for (const auto& name : subdirs) {
      // Opened as it is first: the sandbox writer leaves its directories writable by us, so
      // the chmod is needed only for what it could not open (what it cannot empty is left to
      // the serial pass, which makes every directory writable first).
      int sub = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0 && errno == EACCES) sub = OpenForRemoval(fd, name);
      if (sub < 0) continue;
      {
        std::lock_guard<std::mutex> g(mu_);
        if (queue_.size() < kMaxQueued) {
          queue_.push_back(sub);
          cv_.notify_one();
          continue;
        }
      }
      if (depth >= kMaxInlineDepth) {
        close(sub);
        continue;
      }
      // Emptied here, so removed here too, unless another thread still holds part of it; what
      // is left (ENOTEMPTY) the serial pass removes. Never a symlink: AT_REMOVEDIR refuses one.
      Empty(sub, depth + 1);
      unlinkat(fd, name.c_str(), AT_REMOVEDIR);
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> queue_;
  int busy_ = 0;
};

unsigned WipeThreads() {
  const unsigned n = std::thread::hardware_concurrency();
  return std::clamp(n, 2u, 4u);
}

}  // namespace

void EmptyTreeInParallel(int dir_fd, unsigned threads) { ParallelEmptier().Run(dir_fd, threads); }

Status CreateSandbox(const std::string& parent, Sandbox* out) {
  if (mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::Environment("cannot create sandbox directory " + parent + ": " + Errno(errno));
  // Made under a name the orphan scan leaves alone, locked, then renamed: a scan running in
  // another process can never take a sandbox that is being set up for an orphan.
  std::string tmpl = parent + "/.rp-new-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data()))
    return Status::Environment("cannot create a sandbox under " + parent + ": " + Errno(errno));
  const std::string fresh = buf.data();
  const std::string suffix = fresh.substr(fresh.size() - 6);
  out->path = parent + "/rp-sandbox-" + suffix;
  out->fd = open(fresh.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (out->fd < 0 || flock(out->fd, LOCK_EX) != 0 || rename(fresh.c_str(), out->path.c_str()) != 0) {
    const int e = errno;
    if (out->fd >= 0) close(out->fd);
    out->fd = -1;
    rmdir(fresh.c_str());
    return Status::Environment("cannot set up sandbox " + out->path + ": " + Errno(e));
  }
  return Status::Ok();
}

Status WipeOrphanSandboxes(const std::string& parent, std::vector<std::string>* wiped) {
  DIR* dir = opendir(parent.c_str());
  if (!dir) {
    if (errno == ENOENT) return Status::Ok();
    return Status::Environment("cannot list sandbox directory " + parent + ": " + Errno(errno));
  }
  std::vector<std::string> names;
  while (dirent* de = readdir(dir)) {
    const std::string n = de->d_name;
    if (n.rfind("rp-sandbox-", 0) == 0 || n.rfind(".rp-new-", 0) == 0) names.push_back(n);
  }
  closedir(dir);
  Status result;
  for (const auto& n : names) {
    const std::string path = parent + "/" + n;
    const UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) continue;  // gone already, or not a directory we made
    struct stat st {};
    const bool young_new = n[0] == '.' && fstat(fd.get(), &st) == 0 && st.st_mtime > time(nullptr) - 60;
    // A live run holds its sandbox's lock (the worker shares it): free means its run is dead.
    if (young_new || flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    Status s = RemoveTree(path);  // under the lock, held until fd goes
    if (s.ok()) wiped->push_back(path);
    else if (result.ok()) result = s;
  }
  return result;
}

void CloseSandbox(Sandbox* sb) {
  if (sb->fd >= 0) close(sb->fd);
  sb->fd = -1;
}

Status RemoveTree(const std::string& path) { return RemoveTree(path, WipeThreads()); }

Status RemoveTree(const std::string& path, unsigned threads) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::Environment("cannot inspect " + path + ": " + Errno(errno));
  }
  std::string err;
  if (S_ISDIR(st.st_mode)) {
    chmod(path.c_str(), 0700);
    const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Status::Environment("cannot open " + path + " to wipe it: " + Errno(errno));
    // Its own open file description (not a dup, which would share the read position).
    const int first = threads > 1 ? openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (first >= 0) EmptyTreeInParallel(first, threads);
    RemoveContents(fd, &err);
    if (rmdir(path.c_str()) != 0 && errno != ENOENT && err.empty())
      err = "rmdir: " + Errno(errno);
  } else if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    err = "unlink: " + Errno(errno);
  }
  if (lstat(path.c_str(), &st) == 0 || errno != ENOENT)
    return Status::Environment("sandbox " + path + " still exists after wiping" +
                               (err.empty() ? "" : " (" + err + ")"));
  return Status::Ok();
}

}  // namespace rp
