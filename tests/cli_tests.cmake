# Smoke and contract tests of the restoreproof binary: exit codes, --json fields, manifests the
# real xxhsum / sha256sum accept.
rp_add_gtest(cli_test cli_test.cpp)
target_link_libraries(cli_test PRIVATE nlohmann_json::nlohmann_json)
