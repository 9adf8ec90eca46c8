# How each library is found on Debian 12 (see ../shared/FACTS.md and README "Dependencies").
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(LZMA REQUIRED IMPORTED_TARGET liblzma)
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
find_package(SQLite3 REQUIRED)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(date CONFIG REQUIRED)
if(NOT RP_FUZZ_ONLY)
  find_package(CLI11 REQUIRED)
  # The controller: its store (Poco::Data over SQLite, or PostgreSQL for several hosts:
  # libpocodatapostgresql80), notifications (Poco::Net, NetSSL for STARTTLS and https webhooks)
  # and its io_context (Boost.Asio, header-only).
  # Debian's Poco::DataPostgreSQL links "PostgreSQL::client" (Poco's own find module's name)
  # without finding it: libpq (libpq-dev) through CMake's FindPostgreSQL, under that name.
  find_package(PostgreSQL REQUIRED)
  if(NOT TARGET PostgreSQL::client)
    add_library(PostgreSQL::client INTERFACE IMPORTED)
    target_link_libraries(PostgreSQL::client INTERFACE PostgreSQL::PostgreSQL)
  endif()
  find_package(Poco REQUIRED COMPONENTS Foundation Net NetSSL Crypto Util Data DataSQLite DataPostgreSQL)
  find_package(Boost 1.74 REQUIRED)
  # /metrics: prometheus-cpp's registry and text serializer (prometheus-cpp-dev); the page is
  # served by Poco's HTTPServer, so its civetweb exposer is not used.
  find_package(prometheus-cpp CONFIG REQUIRED COMPONENTS core)
  # Users' passwords: Argon2id from the reference implementation (libargon2-dev).
  pkg_check_modules(ARGON2 REQUIRED IMPORTED_TARGET libargon2)
  # The web's HTML pages: mustache templates (libmstch-dev ships a CMake config, mstch::mstch),
  # which escape every value they insert, so no page is concatenated from user data.
  find_package(mstch CONFIG REQUIRED)
  # Evidence reports as PDF: libharu (Debian's libhpdf-dev ships no pkg-config file), with the
  # DejaVu Sans TrueType font (fonts-dejavu-core) embedded so that Swedish text renders.
  find_library(HPDF_LIBRARY NAMES hpdf REQUIRED)
  find_path(HPDF_INCLUDE_DIR hpdf.h REQUIRED)
  add_library(rp_hpdf INTERFACE)
  target_link_libraries(rp_hpdf INTERFACE ${HPDF_LIBRARY})
  target_include_directories(rp_hpdf SYSTEM INTERFACE ${HPDF_INCLUDE_DIR})
  if(RP_TESTS)
    find_package(GTest REQUIRED)
  endif()
endif()
