# The controller: the store (real SQLite files), the queue's claims and leases, the scheduler's
# catch-up, the restore-test rule.
rp_add_gtest(controller_test controller_test.cpp)
target_link_libraries(controller_test PRIVATE rp::controller)
