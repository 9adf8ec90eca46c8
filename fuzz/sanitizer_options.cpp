// Sanitizer defaults compiled into every fuzzer, so that runs by hand behave like the CTest
// smoke runs; ASAN_OPTIONS / UBSAN_OPTIONS in the environment still override them.
//
// allocator_may_return_null + max_allocation_size_mb: a single allocation above 256 MiB fails
// the way it would under a memory limit, instead of ending the run. libarchive asks for such
// blocks on tiny hostile inputs (a 4 GiB LZMA dictionary, a 1e9-byte RAR buffer) and handles
// the failure; the engine's own buffers are a few MiB. -rss_limit_mb still catches real growth.

extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=256";
}

extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }
