// restoreproof: the command line. Parses the arguments of each command into its options and
// calls the one function that carries the command out, in the module that owns the work
// (docs/cli.md). Nothing else happens here.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rp/accounts_cmd.h"
#include "rp/agent.h"
#include "rp/commands.h"
#include "rp/config.h"
#include "rp/demo.h"
#include "rp/evidence_cmd.h"
#include "rp/log_cmd.h"
#include "rp/restore_cmd.h"
#include "rp/store_cmd.h"
#include "rp/runs_cmd.h"
#include "rp/schedule_cmd.h"
#include "rp/serve.h"
#include "rp/targets.h"
#include "rp/units.h"
#include "rp/verify.h"
#include "rp/web_server.h"

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitBug = 70;

// The options every command shares.
struct Global {
  std::string config_path = "/etc/restoreproof/restoreproof.toml";
  CLI::Option* config_option = nullptr;
  bool json = false;
  bool config_named() const { return config_option && config_option->count() > 0; }
};

// What a parsed subcommand runs.
using Command = std::function<int()>;
using Commands = std::vector<std::pair<CLI::App*, Command>>;

const auto kByteSize = CLI::Validator(
    [](std::string& s) { return rp::ParseByteSize(s) ? std::string() : "not a size like 512M, 10G: " + s; }, "SIZE");
const auto kPositiveSize = CLI::Validator(
    [](std::string& s) {
      const auto v = rp::ParseByteSize(s);
      return v && *v > 0 ? std::string() : "not a size above 0 like 512M, 10G: " + s;
    },
    "SIZE");
const auto kMemorySize = CLI::Validator(
    [](std::string& s) {
      const auto v = rp::ParseByteSize(s);
      return v && *v >= rp::kMinMemoryLimitBytes ? std::string() : "not a size of at least 64M like 1G: " + s;
    },
    "SIZE");
const auto kHashAlgo = CLI::Validator(
    [](std::string& s) {
      return rp::ParseHashAlgo(s) ? std::string() : "unknown algorithm '" + s + "' (xxh128, sha256, sha512, blake2b, xxh3, xxh64, xxh32)";
    },
    "ALGO");
const auto kDuration = CLI::Validator(
    [](std::string& s) { return rp::ParseDurationSeconds(s) ? std::string() : "not a duration like 90s, 10m, 2h: " + s; },
    "DURATION");
const auto kPositiveDuration = CLI::Validator(
    [](std::string& s) {
      const auto v = rp::ParseDurationSeconds(s);
      return v && *v > 0 ? std::string() : "not a duration above 0 like 90s, 10m, 2h: " + s;
    },
    "DURATION");

// Declares `--name VALUE` whose text is checked by `check` and, when given, turned into *out.
template <class T, class Parse>
void AddParsed(CLI::App* cmd, const std::string& name, T* out, Parse parse, const CLI::Validator& check,
               const std::string& help) {
  cmd->add_option_function<std::string>(name, [out, parse](const std::string& s) { *out = *parse(s); }, help)
      ->check(check);
}

void AddLimitOptions(CLI::App* cmd, rp::Limits* l) {
  const auto size = [](const std::string& s) { return rp::ParseByteSize(s); };
  const auto seconds = [](const std::string& s) { return rp::ParseDurationSeconds(s); };
  AddParsed(cmd, "--max-bytes", &l->max_total_bytes, size, kPositiveSize, "stop after restoring this many bytes (default 64G)");
  cmd->add_option("--max-entries", l->max_entries, "stop after this many archive entries (default 2000000)")
      ->check(CLI::PositiveNumber);
  AddParsed(cmd, "--max-file-size", &l->max_file_bytes, size, kByteSize, "largest single file (default 32G)");
  cmd->add_option("--max-depth", l->max_depth, "deepest path, in components (default 128)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-ratio", l->max_ratio, "largest compression ratio past the first 64 MiB (default 1000)")
      ->check(CLI::PositiveNumber);
  AddParsed(cmd, "--timeout", &l->max_seconds, seconds, kPositiveDuration, "wall-time limit of the run (default 4h)");
  AddParsed(cmd, "--stall-timeout", &l->max_stall_seconds, seconds, kDuration,
            "stop the run when reading the source makes no progress for this long (default 10m; 0: never)");
  AddParsed(cmd, "--spin-timeout", &l->max_spin_seconds, seconds, kDuration,
            "stop the run sooner when the worker burns CPU without progress for this long (default 30s; 0: never)");
  AddParsed(cmd, "--max-memory", &l->max_memory_bytes, size, kMemorySize,
            "memory the worker may use, enforced by the kernel (default 1G; a tmpfs sandbox comes on top)");
}

void AddVerify(CLI::App& app, Global& g, Commands* commands) {
  auto* cmd = app.add_subcommand("verify", "restore one archive or directory into a sandbox and verify it");
  auto o = std::make_shared<rp::VerifyCommandOptions>();
  auto sandbox = std::make_shared<std::string>();
  rp::VerifyOptions& v = o->verify;
  cmd->add_option("SOURCE", v.source, "archive file (any libarchive format) or directory")->required();
  cmd->add_option_function<std::string>("--manifest", [&v](const std::string& s) { v.manifest = s; },
                                        "xxhsum/sha256sum manifest to compare with");
  cmd->add_option("--sandbox", *sandbox, "create the sandbox under this directory (default: the configured sandbox_dir)");
  cmd->add_flag("--keep", v.keep, "keep the sandbox after the run");
  cmd->add_flag("--readback", v.readback, "read every restored file back from disk and hash it again");
  cmd->add_option_function<std::string>("--write-manifest", [&v](const std::string& s) { v.write_manifest = s; },
                                        "write the computed hashes here when the run passes");
  AddParsed(cmd, "--algo", &v.algo, [](const std::string& s) { return std::optional(rp::ParseHashAlgo(s)); },
            kHashAlgo, "hash algorithm without a manifest: xxh128 (default), sha256, sha512, blake2b, xxh3, xxh64, xxh32");
  cmd->add_flag("--json", g.json, "print one JSON document on stdout");
  AddParsed(cmd, "--isolation", &v.isolation, [](const std::string& s) { return rp::ParseIsolationPolicy(s); },
            CLI::IsMember({"require", "best-effort"}),
            "require (default): refuse to run when an isolation layer is unavailable; best-effort: run and record "
            "what was missing");
  AddParsed(cmd, "--sandbox-kind", &v.sandbox_kind, [](const std::string& s) { return rp::ParseSandboxKind(s); },
            CLI::IsMember({"auto", "disk", "tmpfs"}),
            "auto (default: tmpfs when --expected-size fits the memory budget), disk or tmpfs");
  AddParsed(cmd, "--expected-size", &v.expected_bytes, [](const std::string& s) { return std::optional(rp::ParseByteSize(s)); },
            kByteSize, "restored size of the recovery point, when known");
  AddParsed(cmd, "--tmpfs-budget", &v.tmpfs_budget_bytes, [](const std::string& s) { return rp::ParseByteSize(s); },
            kByteSize, "memory a tmpfs sandbox may use (default: half of MemAvailable)");
  cmd->add_option_function<std::string>("--write-inventory", [&v](const std::string& s) { v.write_inventory = s; },
                                        "write hash, size and mtime of every file here when the run passes (the "
                                        "baseline of an unchanged-since-baseline check)");
  cmd->add_option("--checks", o->checks_file, "JSON file with content checks to run in the sandbox (docs/worker-protocol.md)");
  auto* sample_pct = cmd->add_option_function<std::string>(
      "--sample", [o](const std::string& s) { o->sample_size = rp::ParseSamplePercent(s, nullptr); },
      "restore and verify only a seeded sample of about this share of the files, e.g. 10% (docs/sampling.md)");
  sample_pct->check(CLI::Validator([](std::string& s) { std::string e; return rp::ParseSamplePercent(s, &e) ? std::string() : e; }, "PERCENT"));
  cmd->add_option_function<std::string>(
         "--sample-bytes", [o](const std::string& s) { o->sample_size = rp::ParseSampleBytes(s, nullptr); },
         "restore and verify only a seeded sample of about this many bytes of the source, e.g. 50G")
      ->check(CLI::Validator([](std::string& s) { std::string e; return rp::ParseSampleBytes(s, &e) ? std::string() : e; }, "SIZE"))
      ->excludes(sample_pct);
  cmd->add_option_function<uint64_t>("--seed", [o](const uint64_t& n) { o->seed = n; },
                                     "the sample's seed (default: a random one, shown)");
  cmd->add_option_function<uint32_t>("--slice", [o](const uint32_t& n) { o->slice = n; },
                                     "which slice of the sample's split to restore, from 0 (default 0)");
  AddLimitOptions(cmd, &v.limits);
  commands->emplace_back(cmd, [o, sandbox, &g] {
    o->json = g.json;
    o->verify.sandbox_parent = *sandbox;
    if (sandbox->empty()) {
      if (rp::Status s = rp::DefaultSandboxParent(g.config_path, g.config_named(), &o->verify.sandbox_parent); !s.ok()) {
        std::cerr << "verify: " << s.message() << "\n";
        return s.exit_code();
      }
    }
    return rp::VerifyCommand(*o, std::cout, std::cerr);
  });
}

void AddManifest(CLI::App& app, Global& g, Commands* commands) {
  auto* manifest = app.add_subcommand("manifest", "checksum manifests");
  manifest->require_subcommand(1);
  auto* cmd = manifest->add_subcommand("create", "write a manifest that xxhsum -c / sha256sum -c verify");
  auto o = std::make_shared<rp::ManifestCreateCommandOptions>();
  cmd->add_option("SOURCE", o->source, "directory or archive")->required();
  cmd->add_option("-o,--output", o->output, "output file (default: standard output)");
  AddParsed(cmd, "--algo", &o->algo, [](const std::string& s) { return rp::ParseHashAlgo(s); },
            kHashAlgo, "xxh128 (default) or sha256, sha512, blake2b, xxh3, xxh64, xxh32");
  commands->emplace_back(cmd, [o, &g] {
    if (rp::Status s = rp::DefaultSandboxParent(g.config_path, g.config_named(), &o->sandbox_parent); !s.ok()) {
      std::cerr << "manifest create: " << s.message() << "\n";
      return s.exit_code();
    }
    std::cout.flush();
    return rp::ManifestCreateCommand(*o, STDOUT_FILENO, std::cerr);
  });
}

void AddConfigAndTargets(CLI::App& app, Global& g, Commands* commands) {
  auto* config = app.add_subcommand("config", "the configuration file");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "check the configuration: every error with file:line:col");
  check->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(check, [&g] { return rp::ConfigCheckCommand(g.config_path, g.json, std::cout, std::cerr); });

  auto* targets = app.add_subcommand("targets", "backup targets from the configuration");
  targets->require_subcommand(1);
  auto* list = targets->add_subcommand("list", "list the configured targets");
  list->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(list, [&g] { return rp::TargetsListCommand(g.config_path, g.json, std::cout, std::cerr); });

  auto* tcheck = targets->add_subcommand("check", "judge each target's copies against its policy (exit 1 when one fails)");
  auto o = std::make_shared<rp::TargetsCheckOptions>();
  tcheck->add_option("NAME", o->name, "one target (default: all)");
  tcheck->add_flag("--json", g.json, "print one JSON document on stdout");
  tcheck->add_option("--now", o->now, "judge as of this time, e.g. 2026-11-22T08:00:00+01:00 (default: now)");
  tcheck->add_flag_callback("--no-content", [o] { o->compare_content = false; },
                            "do not hash archives to compare copies' content");
  commands->emplace_back(tcheck, [o, &g] {
    o->json = g.json;
    return rp::TargetsCheckCommand(g.config_path, *o, std::cout, std::cerr);
  });
}

void AddController(CLI::App& app, Global& g, Commands* commands) {
  auto* serve = app.add_subcommand("serve", "run the appliance until SIGTERM/SIGINT (logs JSON lines on stderr)");
  commands->emplace_back(serve, [&g] { return rp::ServeCommand({g.config_path, "", &rp::MakeWebServer}, std::cerr); });

  auto* agent = app.add_subcommand("agent", "run restore jobs claimed from a shared store until SIGTERM/SIGINT (docs/multi-host.md)");
  agent->add_option("--config", g.config_path, "configuration file (as the global --config)");
  commands->emplace_back(agent, [&g] { return rp::AgentCommand({g.config_path, ""}, std::cerr); });

  auto* runs = app.add_subcommand("runs", "the recorded restore runs");
  runs->require_subcommand(1);
  auto lo = std::make_shared<rp::RunsListOptions>();
  auto* list = runs->add_subcommand("list", "recorded runs, newest first");
  list->add_option("--target", lo->target, "one target");
  list->add_option("--since", lo->since, "queued at or after (ISO 8601 or a date)");
  list->add_option("--status", lo->status, "queued|running|passed|failed|aborted|interrupted|cancelled");
  list->add_option("--limit", lo->limit, "at most this many (default 100)")->check(CLI::Range(1, 1000000));
  list->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(list, [lo, &g] {
    lo->json = g.json;
    return rp::RunsListCommand(g.config_path, *lo, std::cout, std::cerr);
  });
  auto id = std::make_shared<int64_t>(0);
  auto* show = runs->add_subcommand("show", "one run in full");
  show->add_option("ID", *id, "the run's id")->required();
  show->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(show, [id, &g] { return rp::RunsShowCommand(g.config_path, *id, g.json, std::cout, std::cerr); });
  auto* cancel = runs->add_subcommand("cancel", "cancel a queued run, or stop a running one");
  cancel->add_option("ID", *id, "the run's id")->required();
  commands->emplace_back(cancel, [id, &g] { return rp::RunsCancelCommand(g.config_path, *id, std::cout, std::cerr); });

  auto* drill = app.add_subcommand("drill", "restore drills");
  drill->require_subcommand(1);
  auto dr = std::make_shared<rp::DrillRunOptions>();
  auto* run = drill->add_subcommand("run", "run a drill now and wait for it (exit 1 when a target fails or misses its RTO)");
  run->add_option("--target", dr->targets, "a target (repeatable; default all)");
  run->add_option("--responsible", dr->responsible, "the person responsible (default: the invoking user)");
  run->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(run, [dr, &g] {
    dr->json = g.json;
    return rp::DrillRunCommand(g.config_path, *dr, std::cout, std::cerr);
  });
  auto* drills = app.add_subcommand("drills", "recorded drills");
  drills->require_subcommand(1);
  auto* dlist = drills->add_subcommand("list", "drills, newest first");
  dlist->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(dlist, [&g] { return rp::DrillsListCommand(g.config_path, g.json, std::cout, std::cerr); });
  auto* dshow = drills->add_subcommand("show", "one drill's report");
  dshow->add_option("ID", *id, "the drill's id")->required();
  dshow->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(dshow, [id, &g] { return rp::DrillsShowCommand(g.config_path, *id, g.json, std::cout, std::cerr); });

  auto* tsched = app.get_subcommand("targets")->add_subcommand("schedule", "each target's next restore test and drill");
  tsched->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(tsched, [&g] { return rp::TargetsScheduleCommand(g.config_path, g.json, std::cout, std::cerr); });
}

void AddLog(CLI::App& app, Global& g, Commands* commands) {
  auto* log = app.add_subcommand("log", "the restoration log: every restoration, hash-chained (docs/restoration-log.md)");
  log->require_subcommand(1);
  auto o = std::make_shared<rp::LogShowOptions>();
  auto* show = log->add_subcommand("show", "the records, oldest first");
  show->add_option("--since", o->since, "at or after (ISO 8601 or a date)");
  show->add_option("--target", o->target, "one target");
  show->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(show, [o, &g] {
    o->json = g.json;
    return rp::LogShowCommand(g.config_path, *o, std::cout, std::cerr);
  });
  auto* verify = log->add_subcommand(
      "verify", "recompute the chain and check its signed checkpoints (exit 1 naming a changed, removed, inserted or "
                "reordered record)");
  verify->add_flag("--json", g.json, "print one JSON document on stdout");
  auto against = std::make_shared<std::string>();
  verify->add_option("--against", *against,
                     "an evidence bundle: the log must still extend the chain head it pins (a rewritten log fails)");
  commands->emplace_back(verify, [&g, against] {
    return rp::LogVerifyCommand(g.config_path, g.json, *against, std::cout, std::cerr);
  });
}

void AddRestore(CLI::App& app, Global& g, Commands* commands) {
  auto o = std::make_shared<rp::RestoreOptions>();
  auto* cmd = app.add_subcommand(
      "restore", "a real restoration of a recovery point to a new or empty directory, verified and logged (docs/restore.md)");
  cmd->add_option("target", o->target, "the target")->required();
  cmd->add_option("--point", o->point, "the recovery point's id (default: the newest)");
  cmd->add_option("--location", o->location, "the copy to restore from (default: the first that holds the point)");
  cmd->add_option("--to", o->to, "the destination: a new or empty directory outside the sandbox area");
  cmd->add_option("--responsible", o->responsible, "the person responsible for the restoration (required)");
  cmd->add_option("--personal-data", o->personal_data, "a description of the personal data restored (required)");
  cmd->add_option("--reason", o->reason, "why it is restored (required)");
  cmd->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(cmd, [o, &g] {
    o->json = g.json;
    return rp::RestoreCommand(g.config_path, *o, std::cout, std::cerr);
  });
}

void AddEvidence(CLI::App& app, Global& g, Commands* commands) {
  auto* ev = app.add_subcommand("evidence", "signed evidence for auditors (docs/evidence.md)");
  ev->require_subcommand(1);
  auto o = std::make_shared<rp::EvidenceExportOptions>();
  auto* exp = ev->add_subcommand("export", "write a signed evidence bundle for a period");
  exp->add_option("--from", o->from, "the period's first day or instant (ISO 8601 or a date)")->required();
  exp->add_option("--to", o->to, "the period's last day (a date, included) or end instant")->required();
  exp->add_option("--target", o->targets, "a target (repeatable; default: every target)");
  exp->add_flag("--clear-names", o->clear_names, "do not pseudonymise targets that hold personal data (logged)");
  exp->add_option("--reason", o->reason, "why clear names are needed (required with --clear-names)");
  exp->add_option("-o,--output", o->output, "the bundle to write (must not exist)")->required();
  exp->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(exp, [o, &g] {
    o->json = g.json;
    return rp::EvidenceExportCommand(g.config_path, *o, std::cout, std::cerr);
  });
  auto file = std::make_shared<std::string>();
  auto key = std::make_shared<std::string>();
  auto* ver = ev->add_subcommand("verify", "check a bundle: checksums, signature, log chain (exit 1 naming what fails)");
  ver->add_option("bundle", *file, "the bundle")->required();
  ver->add_option("--key", *key, "the appliance's public key (PEM) the bundle must be signed with");
  ver->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(ver, [file, key, &g] { return rp::EvidenceVerifyCommand(*file, *key, g.json, std::cout, std::cerr); });
  auto* pd = ev->add_subcommand("personal-data", "which personal data each target's backups hold, where, how long");
  pd->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(pd, [&g] { return rp::EvidencePersonalDataCommand(g.config_path, g.json, std::cout, std::cerr); });
}

void AddDemo(CLI::App& app, Commands* commands) {
  auto* cmd = app.add_subcommand("demo", "create a sample estate, verify it, run a drill and serve the dashboard");
  auto o = std::make_shared<rp::DemoOptions>();
  o->dir = "demo-estate";
  o->web = &rp::MakeWebServer;
  cmd->add_option("--dir", o->dir, "where to create the estate (default ./demo-estate)");
  cmd->add_option("--port", o->port, "the dashboard's port on 127.0.0.1 (default 8080; 0: any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_flag_callback("--no-serve", [o] { o->serve = false; }, "stop after the drill and the demo admin");
  commands->emplace_back(cmd, [o] { return rp::DemoCommand(*o, std::cout, std::cerr); });
}

void AddSchedule(CLI::App& app, Global& g, Commands* commands) {
  auto* schedule = app.add_subcommand("schedule", "cron schedules in the appliance's time zone");
  schedule->require_subcommand(1);
  auto* cmd = schedule->add_subcommand("preview", "the next run times of a cron expression, with their UTC offsets");
  auto o = std::make_shared<rp::SchedulePreviewOptions>();
  cmd->add_option("EXPR", o->expression, "5 cron fields or a macro, quoted as one argument: '0 3 * * mon#1'")
      ->required();
  cmd->add_option("--count", o->count, "how many run times (default 5)")->check(CLI::Range(1, 1000));
  cmd->add_option("--from", o->from, "runs at or after this time, e.g. 2026-11-22T08:00:00+01:00 or 2026-11-22 (default: now)");
  cmd->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(cmd, [o, &g] {
    o->json = g.json;
    return rp::SchedulePreviewCommand(g.config_path, g.config_named(), *o, std::cout, std::cerr);
  });
}

void AddAccounts(CLI::App& app, Global& g, Commands* commands) {
  auto* user = app.add_subcommand("user", "people who sign in to the web page");
  user->require_subcommand(1);
  auto uo = std::make_shared<rp::UserAddOptions>();
  auto* add = user->add_subcommand("add", "add a user; the password is read from stdin (asked twice on a terminal)");
  add->add_option("NAME", uo->name, "the user's name: [a-z0-9._-]{1,64}")->required();
  add->add_option("--role", uo->role, "viewer|operator|auditor|admin")->required();
  add->add_flag("--one-time", uo->one_time, "the password is one-time: the first sign-in must choose a new one");
  add->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(add, [uo, &g] {
    uo->json = g.json;
    return rp::UserAddCommand(g.config_path, *uo, STDIN_FILENO, std::cout, std::cerr);
  });
  auto* list = user->add_subcommand("list", "the users: name, role, created, disabled");
  list->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(list, [&g] { return rp::UserListCommand(g.config_path, g.json, std::cout, std::cerr); });

  auto* token = app.add_subcommand("token", "API tokens for scripts");
  token->require_subcommand(1);
  auto to = std::make_shared<rp::TokenCreateOptions>();
  auto* create = token->add_subcommand("create", "create an API token, printed once (only its SHA-256 is kept)");
  create->add_option("NAME", to->name, "what the token is for: [a-z0-9._-]{1,64}")->required();
  create->add_option("--role", to->role, "viewer|operator|auditor|admin")->required();
  create->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(create, [to, &g] {
    to->json = g.json;
    return rp::TokenCreateCommand(g.config_path, *to, std::cout, std::cerr);
  });
}

// The store itself (docs/store.md): migrate it to this binary's schema, check it.
void AddStore(CLI::App& app, Global& g, Commands* commands) {
  auto* store = app.add_subcommand("store", "the store: SQLite under data_dir or PostgreSQL ([store] url)");
  store->require_subcommand(1);
  auto* migrate = store->add_subcommand("migrate", "bring the store to this restoreproof's schema (prints from -> to)");
  migrate->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(migrate, [&g] { return rp::StoreMigrateCommand(g.config_path, g.json, std::cout, std::cerr); });
  auto* check = store->add_subcommand(
      "check", "connect and report backend, schema version and integrity (exit 1 naming each problem found)");
  check->add_flag("--json", g.json, "print one JSON document on stdout");
  commands->emplace_back(check, [&g] { return rp::StoreCheckCommand(g.config_path, g.json, std::cout, std::cerr); });
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything else, so that an upgrade while this process runs cannot hand it another
  // build's worker.
  rp::PinWorkerBinary();
  CLI::App app{"restoreproof: proves that backups can really be restored"};
  app.set_version_flag("--version", std::string("restoreproof ") + RP_VERSION);
  app.require_subcommand(1);
  Global g;
  g.config_option = app.add_option("--config", g.config_path, "configuration file (default /etc/restoreproof/restoreproof.toml)");
  app.add_flag("--json", g.json, "print one JSON document on stdout");
  Commands commands;
  commands.reserve(24);
  AddVerify(app, g, &commands);
  AddManifest(app, g, &commands);
  AddConfigAndTargets(app, g, &commands);
  AddDemo(app, &commands);
  AddSchedule(app, g, &commands);
  AddController(app, g, &commands);
  AddLog(app, g, &commands);
  AddRestore(app, g, &commands);
  AddEvidence(app, g, &commands);
  AddAccounts(app, g, &commands);
  AddStore(app, g, &commands);
  // internal: one isolated restore, driven by its parent over stdin/stdout
  auto* worker = app.add_subcommand("worker", "internal: run one restore job (JSON on stdin, JSON lines on stdout)");
  worker->group("");
  commands.emplace_back(worker, [] { return rp::WorkerMain(0, 1); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  try {
    for (const auto& [cmd, run] : commands)
      if (cmd->parsed()) return run();
  } catch (const std::exception& e) {
    std::cerr << "restoreproof: internal error: " << e.what() << "\n";
    return kExitBug;
  }
  return kExitUsage;
}
