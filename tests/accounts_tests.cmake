# Users, API tokens, sessions and the audit trail: Argon2id hashes and their parameters, token,
# session id and CSRF formats, the login rate limiter with injected time, the store's tables on
# a real SQLite file, and `user add|list`, `token create` through the binary with the password
# piped on stdin.
rp_add_gtest(accounts_test accounts_test.cpp)
target_link_libraries(accounts_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
