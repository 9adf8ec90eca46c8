// The web server inside `restoreproof serve` (docs/web.md): Poco's HTTPServer on
// `appliance.listen` with its own thread pool, queue and deadlines from [web], answering
// /healthz, /readyz, /metrics, sign-in, the placeholder dashboard and /api/v1/ (docs/api.md).
// It is a ServeExtension: `serve` starts it, hands it each
// reloaded configuration and stops it after the drain. Reads the store through the Store it is
// lent (thread-safe); owns its threads and sockets.
#pragma once

#include <memory>

#include "rp/serve.h"

namespace rp {

std::unique_ptr<ServeExtension> MakeWebServer(const ServeContext& context);

}  // namespace rp
