/* global require, process, fetch, setTimeout */
/* eslint-disable @typescript-eslint/no-require-imports */
// Drives the compiled startHost API in its own process (the library's state is per process):
//   node startHost.js <compiled host.js> <appDir> <runTimersOnStartup: true|false|default> [GET path] [wait ms]
// Prints one JSON line with what it observed, then lets the process exit on its own after close().
const [hostModule, appDir, timersMode, path, waitMs] = process.argv.slice(2);
const { startHost } = require(hostModule);

async function main() {
  const logs = [];
  const runTimersOnStartup = timersMode === "default" ? undefined : timersMode === "true";
  const host = await startHost({ appDir, port: 0, log: (line) => logs.push(line), runTimersOnStartup });
  let response;
  if (path) {
    const res = await fetch(`${host.url}${path}`, { headers: { Connection: "close" } });
    response = { status: res.status, body: await res.text() };
  }
  if (waitMs) await new Promise((resolve) => setTimeout(resolve, Number(waitMs)));
  const second = await startHost({ appDir, port: 0 }).then(
    () => "started",
    (err) => err.message,
  );
  await host.close();
  process.stdout.write(`${JSON.stringify({ url: host.url, port: host.port, functions: host.functions, response, second, logs })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
