// Runs pusher-js (the real client, Node build) against one server and prints, as one JSON
// document on stdout, what it reached: every state change, every error with its code, the
// socket id when it connected, and pusher-js's own debug log.
//
//   node pusherjs_probe.js '{"module": ".../node_modules/pusher-js", "key": "app-key",
//                            "options": {"cluster": "mt1", "wsHost": ...}, "deadline_ms": 6000}'
//
// It stops at the first of:
//   - "connected"                      the client would work;
//   - "failed"                         no transport is supported (terminal in pusher-js);
//   - "disconnected"                   pusher-js gave up by itself (a 4000-4099 close, "refused");
//   - the deadline                     still "connecting" (or "unavailable"): it never connected.
// Only "connected" counts as reached. The exit code is 0 whenever the JSON was printed, so
// the caller reads the outcome from the JSON, never from the exit code.
"use strict";

const started = process.hrtime.bigint();
const elapsedMs = () => Number((process.hrtime.bigint() - started) / 1000000n);

const config = JSON.parse(process.argv[2]);
const net = require("net");
const tls = require("tls");

const report = {
  pusher_js: require(`${config.module}/package.json`).version,
  node: process.version,
  auto_select_family: typeof net.getDefaultAutoSelectFamily === "function"
    ? net.getDefaultAutoSelectFamily()
    : null,
  options: config.options,
  deadline_ms: config.deadline_ms,
  connected: false,
  final_state: null,
  stopped_by: null,
  socket_id: null,
  elapsed_ms: null,
  states: [],
  errors: [],
  sockets: [],
  log: [],
};

// Watch the sockets pusher-js opens (its WebSocket library calls net.connect or tls.connect):
// which address each reached and how each failed. Listeners only: nothing changes how the
// client connects. Patched before pusher-js is loaded, on the module objects it will use.
function watch(kind, original) {
  return function (...args) {
    const socket = original.apply(this, args);
    const options = typeof args[0] === "object" && args[0] !== null ? args[0] : {};
    const entry = { kind, host: options.host ?? null, port: options.port ?? null, events: [] };
    report.sockets.push(entry);
    const note = (event, extra) => entry.events.push({ at_ms: elapsedMs(), event, ...extra });
    const attempted = () => socket.autoSelectFamilyAttemptedAddresses ?? null;
    socket.on("connect", () =>
      note("connect", { address: socket.remoteAddress ?? null, attempted: attempted() }),
    );
    if (kind === "tls") socket.on("secureConnect", () => note("secureConnect", {}));
    socket.on("error", (error) =>
      note("error", { code: error.code ?? null, message: String(error.message), attempted: attempted() }),
    );
    socket.on("close", () => note("close", {}));
    return socket;
  };
}
net.connect = watch("tcp", net.connect);
tls.connect = watch("tls", tls.connect);
const Pusher = require(config.module);

// pusher-js logs through Pusher.log when it is set; keep the tail for the test's message.
const LOG_LINES = 60;
Pusher.log = (message) => {
  report.log.push(`${elapsedMs()} ms ${message}`);
  if (report.log.length > LOG_LINES) report.log.shift();
};

// Error payloads carry sockets and circular structures: keep what explains them.
function describeError(error) {
  const out = { at_ms: elapsedMs(), type: error && error.type ? String(error.type) : null };
  const data = error && error.data;
  if (data && typeof data === "object") {
    if (data.code !== undefined) out.code = data.code;
    if (data.message !== undefined) out.message = String(data.message);
  }
  const inner = error && error.error;
  if (inner) {
    if (inner.data && inner.data.code !== undefined) out.code = inner.data.code;
    if (inner.data && inner.data.message !== undefined) out.message = String(inner.data.message);
    if (inner.message !== undefined && out.message === undefined) out.message = String(inner.message);
    if (inner.code !== undefined && out.code === undefined) out.code = inner.code;
  }
  return out;
}

let finished = false;
let pusher = null;
let deadline = null;

function finish(stoppedBy) {
  if (finished) return;
  finished = true;
  clearTimeout(deadline);
  report.stopped_by = stoppedBy;
  report.final_state = pusher ? pusher.connection.state : null;
  report.elapsed_ms = elapsedMs();
  process.stdout.write(JSON.stringify(report) + "\n", () => {
    // Disconnecting can emit more events; the report is already out.
    if (pusher) pusher.disconnect();
    process.exit(0);
  });
}

deadline = setTimeout(() => finish("deadline"), config.deadline_ms);

try {
  // A copy: pusher-js adds its own entries (nacl) to the object it is given.
  pusher = new Pusher(config.key, { ...config.options });
} catch (error) {
  report.errors.push({ at_ms: elapsedMs(), type: "constructor", message: String(error) });
  finish("constructor");
}

if (pusher) {
  const connection = pusher.connection;
  connection.bind("state_change", (change) => {
    report.states.push({ at_ms: elapsedMs(), previous: change.previous, current: change.current });
    if (change.current === "failed") finish("failed");
    if (change.current === "disconnected") finish("disconnected");
  });
  connection.bind("error", (error) => {
    report.errors.push(describeError(error));
  });
  connection.bind("connected", () => {
    report.connected = true;
    report.socket_id = connection.socket_id;
    finish("connected");
  });
}
