# The progress line of verify, restore and drill run: its text for given figures and its
# drawing (unit), and the real binary on a real pseudo-terminal, on a pipe and with --json.
rp_add_gtest(progress_test progress_test.cpp)

rp_add_gtest(progress_cli_test progress_cli_test.cpp)
target_link_libraries(progress_cli_test PRIVATE nlohmann_json::nlohmann_json util)
