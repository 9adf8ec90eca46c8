# Forwarding the restoration log to syslog: collectors written in the test with plain sockets on
# loopback (TCP with octet-counted frames, UDP, a unix datagram socket for /dev/log), a collector
# that is down and comes back, restarts over the real SQLite store, the [syslog] section's
# errors, and one record forwarded by `serve`.
rp_add_gtest(syslog_test syslog_test.cpp)
target_link_libraries(syslog_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
