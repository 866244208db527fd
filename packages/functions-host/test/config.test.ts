/** @module functions-host/test/config: local.settings.json, host.json, CLI arguments and HTTP mapping (pure parts). */

import { describe, expect, it } from "vitest";
import { describeFunctions, parseCliArgs, resolvePort } from "../src/cliArgs";
import { parseHostJson, stripJsonComments } from "../src/hostConfig";
import { collectRequestHeaders, requestAuthority, rpcHttpToWireResponse, proxiedRequestTarget, serializeRpcCookie, workerRequestUrl } from "../src/httpMapping";
import { formatLogRecord, shouldEmit } from "../src/logging";
import { applyLocalSettingsValues, parseLocalSettings } from "../src/localSettings";

describe("parseLocalSettings", () => {
  it("parses Values and Host like Core Tools", () => {
    const text = JSON.stringify({
      IsEncrypted: false,
      Values: { FUNCTIONS_WORKER_RUNTIME: "node", COUNT: 3, FLAG: true, NOTHING: null },
      Host: { LocalHttpPort: 7072, CORS: "*", CORSCredentials: false },
      ConnectionStrings: {},
    });
    expect(parseLocalSettings(text)).toEqual({
      isEncrypted: false,
      values: { FUNCTIONS_WORKER_RUNTIME: "node", COUNT: "3", FLAG: "True", NOTHING: null },
      host: { localHttpPort: 7072, cors: "*", corsCredentials: false },
    });
  });

  it("accepts a BOM, a missing Values/Host and a string IsEncrypted", () => {
    expect(parseLocalSettings('\uFEFF{"IsEncrypted":"false"}')).toEqual({
      isEncrypted: false,
      values: {},
      host: { localHttpPort: undefined, cors: undefined, corsCredentials: undefined },
    });
  });

  it("treats a missing IsEncrypted as encrypted and refuses it", () => {
    expect(() => parseLocalSettings('{"Values":{"A":"1"}}')).toThrow(/IsEncrypted.*set "IsEncrypted": false/);
    expect(() => parseLocalSettings('{"IsEncrypted":true,"Values":{}}')).toThrow(/cannot be read/);
  });

  it.each([
    ["{not json", /not valid JSON/],
    ["[]", /JSON object/],
    ['{"IsEncrypted":false,"Values":{"A":{"nested":1}}}', /Values\.A must be a string/],
    ['{"IsEncrypted":false,"Values":[]}', /Values must be an object/],
    ['{"IsEncrypted":false,"Host":{"LocalHttpPort":"abc"}}', /LocalHttpPort/],
  ])("rejects %s", (text, message) => {
    expect(() => parseLocalSettings(text)).toThrow(message);
  });
});

describe("applyLocalSettingsValues", () => {
  it("lets a non-empty real environment variable win and applies the rest", () => {
    const env: Record<string, string | undefined> = { PRESET: "from-env", EMPTY: "" };
    const result = applyLocalSettingsValues({ PRESET: "from-file", EMPTY: "filled", NEW: "new", BLANK: "", NOTHING: null, "": "x" }, env);
    expect(env).toEqual({ PRESET: "from-env", EMPTY: "filled", NEW: "new", BLANK: "" });
    expect(result).toEqual({
      applied: ["EMPTY", "NEW", "BLANK"],
      warnings: [
        "Skipping 'PRESET' from local settings as it's already defined in current environment variables.",
        "Skipping 'NOTHING' because value is null",
        "Skipping local setting with empty key.",
      ],
    });
  });
});

describe("parseHostJson", () => {
  it("reads routePrefix (default api, empty allowed) and log levels", () => {
    expect(parseHostJson('{"version":"2.0"}').routePrefix).toBe("api");
    expect(parseHostJson('{"extensions":{"http":{"routePrefix":""}}}').routePrefix).toBe("");
    expect(parseHostJson('{"logging":{"logLevel":{"default":"Warning","Function.tick":"Debug","Host":"Error"}}}').logThresholds).toEqual({
      perFunction: { tick: "debug" },
      user: "warning",
      system: "error",
    });
  });

  it("tolerates comments and rejects bad values", () => {
    expect(stripJsonComments('{ // c\n "a": "x//y" /* b */ }')).toBe('{ \n "a": "x//y"  }');
    expect(parseHostJson('{ /* note */ "extensions": { "http": { "routePrefix": "v1" } } // end\n}').routePrefix).toBe("v1");
    expect(() => parseHostJson('{"extensions":{"http":{"routePrefix":1}}}')).toThrow(/routePrefix must be a string/);
    expect(() => parseHostJson('{"logging":{"logLevel":{"default":"Loud"}}}')).toThrow(/log level/);
  });
});

describe("CLI arguments", () => {
  it("parses --port and --cwd in both forms", () => {
    expect(parseCliArgs(["--port", "0", "--cwd", "app"])).toEqual({ port: 0, cwd: "app", help: false });
    expect(parseCliArgs(["--port=8080", "--cwd=/x"])).toEqual({ port: 8080, cwd: "/x", help: false });
    expect(parseCliArgs(["--help"])).toEqual({ port: undefined, cwd: undefined, help: true });
    expect(() => parseCliArgs(["--port"])).toThrow(/needs a value/);
    expect(() => parseCliArgs(["--port", "70000"])).toThrow(/port number/);
    expect(() => parseCliArgs(["--verbose"])).toThrow(/Unknown argument/);
  });

  it("resolves the port: flag > PORT > Host.LocalHttpPort > 7071", () => {
    const settings = { isEncrypted: false, values: {}, host: { localHttpPort: 7075 } };
    expect(resolvePort(7080, "7090", settings)).toBe(7080);
    expect(resolvePort(undefined, "7090", settings)).toBe(7090);
    expect(resolvePort(undefined, undefined, settings)).toBe(7075);
    expect(resolvePort(undefined, "", undefined)).toBe(7071);
    expect(() => resolvePort(undefined, "x", undefined)).toThrow(/PORT/);
  });

  it("lists functions with trigger, methods and URL", () => {
    const lines = describeFunctions("http://127.0.0.1:7071", [
      { name: "get", trigger: "http", route: "api/items/{id}", methods: ["GET"] },
      { name: "any", trigger: "http", route: "" },
      { name: "tick", trigger: "timer", schedule: "0 */5 * * * *" },
      { name: "onEvent", trigger: "eventGrid" },
      { name: "queue", trigger: "queueTrigger" },
    ]);
    expect(lines).toEqual([
      "",
      "Functions:",
      "",
      "\tget: [GET] http://127.0.0.1:7071/api/items/{id}",
      "\tany: [ALL] http://127.0.0.1:7071/",
      "\ttick: timerTrigger (0 */5 * * * *)",
      "\tonEvent: eventGridTrigger http://127.0.0.1:7071/runtime/webhooks/eventgrid?functionName=onEvent",
      "\tqueue: queueTrigger (not run by the local host)",
      "",
    ]);
  });
});

describe("HTTP mapping", () => {
  it.each([
    ["/v1.0/state/s/pct%2520x", "/v1.0/state/s/pct%20x"],
    ["/a%2Fb/%7e%41", "/a%2Fb/~A"],
    ["/caf%C3%A9/%zz/%E2%82", "/caf%C3%A9/%25zz/%E2%82"],
    ["/sp%20ace?q=%41%20b", "/sp%20ace?q=%41%20b"],
    ["/raw space<>", "/raw%20space%3C%3E"],
  ])("shapes the worker URL of %s like Kestrel + PathString.ToUriComponent", (target, path) => {
    expect(workerRequestUrl("h:1", target)).toBe(`http://h:1${path}`);
  });

  it.each([
    ["/v1.0/state/s/pct%2520x", "/v1.0/state/s/pct%2520x"],
    ["/k/plus%2Bx/raw+y", "/k/plus+x/raw+y"],
    ["/a%2Fb/%7e%41", "/a%252Fb/~A"],
    ["/bad%zz/%zz%41", "/bad%25zz/%25zzA"],
    ["/caf%C3%A9/sp%20ace?q=%41%20b+c", "/caf%C3%A9/sp%20ace?q=%41%20b+c"],
    ["/raw space<>", "/raw%20space%3C%3E"],
  ])("shapes the proxied target of %s like Kestrel + YARP's EncodePath (streaming)", (target, expected) => {
    expect(proxiedRequestTarget(target)).toBe(expected);
  });

  it("joins repeated request headers with ',' (StringValues) under lower-case names", () => {
    expect(collectRequestHeaders(["Accept", "a/b", "X-Multi", "1", "x-multi", "2", "Cookie", "a=1", "Cookie", "b=2"])).toEqual({
      accept: "a/b",
      "x-multi": "1,2",
      cookie: "a=1,b=2",
    });
  });

  it("uses the Host header as the URL authority unless it is unusable", () => {
    expect(requestAuthority("localhost:7071", "127.0.0.1:1")).toBe("localhost:7071");
    expect(requestAuthority("bad host/", "127.0.0.1:1")).toBe("127.0.0.1:1");
    expect(requestAuthority(undefined, "127.0.0.1:1")).toBe("127.0.0.1:1");
  });

  it("serialises RPC cookies like ASP.NET Core", () => {
    expect(
      serializeRpcCookie({
        name: "s",
        value: "v",
        domain: { value: "example.com" },
        path: { value: "/" },
        expires: { value: { seconds: 0 } },
        secure: { value: true },
        httpOnly: { value: true },
        sameSite: "explicitNone",
        maxAge: { value: 60 },
      }),
    ).toBe("s=v; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=60; domain=example.com; path=/; secure; samesite=none; httponly");
    expect(serializeRpcCookie({ name: "a", value: "b", sameSite: "none" })).toBe("a=b");
    expect(serializeRpcCookie({ value: "no name" })).toBeUndefined();
  });

  it("maps returnValue.http to status, headers as given, cookies and bytes", () => {
    const wire = rpcHttpToWireResponse({
      http: {
        statusCode: "201",
        headers: { "X-Custom": "A", "content-length": "999" },
        cookies: [{ name: "c", value: "1", sameSite: "lax" }],
        body: { bytes: new Uint8Array([0, 255]) },
      },
    });
    expect(wire).toEqual({ status: 201, headers: [["X-Custom", "A"], ["Set-Cookie", "c=1; samesite=lax"]], body: new Uint8Array([0, 255]) });
  });

  it("drops the body of 204 and answers 200 empty when there is no return value", () => {
    expect(rpcHttpToWireResponse({ http: { statusCode: "204", body: { string: "x" } } })).toEqual({ status: 204, headers: [], body: new Uint8Array(0) });
    expect(rpcHttpToWireResponse(undefined)).toEqual({ status: 200, headers: [], body: new Uint8Array(0) });
    expect(() => rpcHttpToWireResponse({ http: { statusCode: "abc" } })).toThrow(/Invalid HTTP status/);
  });
});

describe("logging", () => {
  const thresholds = { perFunction: { chatty: "debug" as const }, user: "information" as const, system: "information" as const };

  it("filters by category, function and level", () => {
    expect(shouldEmit({ level: "debug", category: "system", message: "m" }, thresholds)).toBe(false);
    expect(shouldEmit({ level: "debug", category: "user", message: "m", functionName: "chatty" }, thresholds)).toBe(true);
    expect(shouldEmit({ level: "debug", category: "user", message: "m", functionName: "quiet" }, thresholds)).toBe(false);
    expect(shouldEmit({ level: "warning", category: "user", message: "m", functionName: "quiet" }, thresholds)).toBe(true);
    expect(shouldEmit({ level: "none", category: "user", message: "m" }, thresholds)).toBe(false);
  });

  it("formats time, level and source", () => {
    const time = new Date("2026-01-02T03:04:05.006Z");
    expect(formatLogRecord({ level: "warning", category: "user", message: "hi", functionName: "f" }, time)).toBe("[2026-01-02T03:04:05.006Z] [warning] [Function.f.User] hi");
    expect(formatLogRecord({ level: "error", category: "system", message: "x", functionName: "f" }, time)).toBe("[2026-01-02T03:04:05.006Z] [error] [Function.f] x");
    expect(formatLogRecord({ level: "information", category: "system", message: "up" }, time)).toBe("[2026-01-02T03:04:05.006Z] [information] [Host] up");
  });
});
