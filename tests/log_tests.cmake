# The restoration log: the chain, tampering through the real SQLite file (sqlite3 CLI), signed
# checkpoints (also checked with the openssl CLI), `log show` and `log verify` as a process, and
# the chain recomputed by the python script of docs/restoration-log.md.
rp_add_gtest(restoration_log_test restoration_log_test.cpp)
target_link_libraries(restoration_log_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
