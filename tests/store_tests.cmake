# The store's address ([store] url) and opening, PostgreSQL's roles (docs/sql/roles.sql run
# literally) and triggers, and `store migrate|check` through the binary, on a real PostgreSQL 15
# (testkit's PgServer) and real SQLite files. The store's behaviour on both backends is in
# controller_test (StoreTest/SQLite, StoreTest/PostgreSQL).
rp_add_gtest(store_test store_test.cpp)
target_link_libraries(store_test PRIVATE rp::controller rp::config)
