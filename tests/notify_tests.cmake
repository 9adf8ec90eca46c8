# Notifications over real transports: a Poco HTTP(S) server on loopback that checks the HMAC
# signature, and aiosmtpd (Debian python3-aiosmtpd, tests/tools/smtp_sink.py) as the SMTP server.
rp_add_gtest(notify_test notify_test.cpp)
target_link_libraries(notify_test PRIVATE rp::controller Poco::Net Poco::NetSSL Poco::Crypto Poco::Foundation
                      nlohmann_json::nlohmann_json)
