/**
 * @module bench/apps/bareHttp: the P1b baseline, a bare `node:http` server answering every request
 * with the app's body and headers: the floor under any function host on this machine.
 */
import { createServer } from "node:http";

const body = process.env.BENCH_BODY ?? "{}";
const headers = JSON.parse(process.env.BENCH_HEADERS ?? "{}") as Record<string, string>;

const server = createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
