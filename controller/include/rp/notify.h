// Delivering one notification over one [[notify]] channel (rp/config.h, docs/notifications.md):
// a signed JSON POST to a webhook, or one e-mail over SMTP. Each call is one attempt, bounded by
// the channel's timeout; whether and when to send, and retries, are the controller's. The
// secrets are read from their files at send time and never appear in a Delivery. Stateless:
// safe to call from several threads. Blocking: never call on the io_context thread.
#pragma once

#include <string>
#include <string_view>

#include "rp/config.h"
#include "rp/smtp_text.h"  // ParseEhloReply, EncodeHeaderText, Base64

namespace rp {

// The outcome of one attempt. `detail` says what happened for a person: "HTTP 204 from
// https://host:443/hook", "SMTP 550 5.1.1 ... at RCPT TO <a@b>", "connection refused by
// host:25". It never holds a secret.
struct Delivery {
  bool ok = false;
  std::string detail;
};

// "sha256=" and the lowercase hex HMAC-SHA256 of `body` under `key`: the value of the
// X-Restoreproof-Signature header.
std::string WebhookSignature(std::string_view key, std::string_view body);

// POSTs `json_body` to `c.url` (http or https; https verified against the system's CA store,
// or the file SSL_CERT_FILE names) with Content-Type application/json, the signature over
// exactly these bytes and, when `delivery_id` is not empty, X-Restoreproof-Event-Id: the same
// id on every retry of one event, so the receiver can drop duplicates. 2xx is ok; redirects
// are not followed.
Delivery SendWebhook(const NotifyConfig& c, std::string_view json_body, std::string_view delivery_id = {});

// Sends one plain-text UTF-8 message from `c.from` to every address in `c.to`: EHLO, STARTTLS
// as `c.starttls` says, AUTH PLAIN or LOGIN when `c.username` is set (never without TLS unless
// starttls = "off"), then the message. A rejected recipient fails the attempt before anything
// is sent.
Delivery SendEmail(const NotifyConfig& c, std::string_view subject, std::string_view text_body);

}  // namespace rp
