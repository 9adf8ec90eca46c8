# When a cron schedule next fires (controller/include/rp/next_run.h), against a minute-by-minute
# simulation of cronie's loop over real tz data, and `schedule preview` through the binary.
rp_add_gtest(next_run_test next_run_test.cpp)
target_link_libraries(next_run_test PRIVATE rp::controller date::date-tz nlohmann_json::nlohmann_json)
