# `restoreproof demo` as a new user runs it: the real binary, its estate (with a real restic
# repository), its drill, its demo admin and its dashboard over loopback HTTP on port 0. Each
# test runs the whole demo (about 15 s on 2 cores; the first test runs it twice).
rp_add_gtest(demo_test demo_test.cpp)
target_link_libraries(demo_test PRIVATE nlohmann_json::nlohmann_json)
