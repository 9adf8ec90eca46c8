# `restore` (real restores) as a process: the real binary restoring real pax archives with
# sidecar manifests into new and empty destinations, a point damaged against its manifest,
# destinations refused, and the restoration log read back with `log show` and `log verify`.
rp_add_gtest(restore_test restore_test.cpp)
target_link_libraries(restore_test PRIVATE nlohmann_json::nlohmann_json)
