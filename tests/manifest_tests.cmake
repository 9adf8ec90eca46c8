# Manifest reader/writer, hashes and path text: unit tests plus differential tests against the
# real xxhsum and sha256sum/sha512sum/b2sum installed on the machine.
rp_add_gtest(manifest_test manifest_test.cpp)
rp_add_gtest(hash_test hash_test.cpp)
rp_add_gtest(path_text_test path_text_test.cpp)
