# The controller as a process: serve's schedules, workers, signals (SIGKILL, SIGTERM, SIGHUP)
# and leases, drills and the runs commands, against real archives and the real SQLite store.
# rp_add_gtest gives each test 600 s; the slowest (twenty SIGKILLs of serve) takes about 25 s.
rp_add_gtest(serve_test serve_test.cpp)
target_link_libraries(serve_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
