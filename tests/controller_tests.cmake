# The controller: the store (real SQLite files), the queue's claims and leases, the scheduler's
# catch-up, the restore-test rule.
rp_add_gtest(controller_test controller_test.cpp)
target_link_libraries(controller_test PRIVATE rp::controller)

# serve's notifications end to end: a real HTTP listener checking the HMAC, a real aiosmtpd.
rp_add_gtest(serve_notify_test serve_notify_test.cpp)
target_link_libraries(serve_notify_test PRIVATE rp::controller nlohmann_json::nlohmann_json)

# One run through the real worker: select forms, seeds, cancellation; `targets schedule`.
rp_add_gtest(runner_test runner_test.cpp)
target_link_libraries(runner_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
rp_add_gtest(coverage_test coverage_test.cpp)
target_link_libraries(coverage_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
