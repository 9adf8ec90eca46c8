# Restore-test schedules (cron form, macros, nth weekday) and select forms: parsing, the
# canonical text and every error's position (restore-tests/include/rp/schedule.h).
rp_add_gtest(schedule_test schedule_test.cpp)
target_link_libraries(schedule_test PRIVATE rp::restore_tests)
