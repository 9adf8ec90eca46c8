// restoreproof-worker: the isolated restore worker on its own. `restoreproof` runs it as
// `restoreproof-worker worker` for every restore when it lies beside it (PinWorkerBinary); it
// links only the engine and its libraries (libarchive, xxHash, the decompressors, libseccomp),
// so it starts in a few milliseconds, and the process that reads untrusted archives maps no
// web, database or TLS code. `restoreproof worker` does the same from the full executable.
#include <cstring>
#include <iostream>

#include "rp/verify.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "worker") == 0) return rp::WorkerMain(0, 1);
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::cout << "restoreproof-worker " << RP_VERSION << "\n";
    return 0;
  }
  std::cerr << "restoreproof-worker: internal: run by restoreproof as `restoreproof-worker worker`, "
               "with one job on standard input (docs/worker-protocol.md)\n";
  return 2;
}
