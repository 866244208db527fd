/** @module functions-host/test/disabled: the `AzureWebJobs.<name>.Disabled` app setting (pure check + a running host). */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disablingSetting } from "../src/host";
import { killAllChildren, startFixtureHost, type RunningHost } from "./helpers";

describe("disablingSetting", () => {
  it("honours the dotted and the double-underscore form, case-insensitively, for true and 1", () => {
    expect(disablingSetting("onSecretEvent", { "AzureWebJobs.onSecretEvent.Disabled": "true" })).toBe("AzureWebJobs.onSecretEvent.Disabled");
    expect(disablingSetting("onSecretEvent", { "azurewebjobs.onsecretevent.disabled": "TRUE" })).toBe("AzureWebJobs.onSecretEvent.Disabled");
    expect(disablingSetting("onSecretEvent", { AzureWebJobs__onSecretEvent__Disabled: "1" })).toBe("AzureWebJobs__onSecretEvent__Disabled");
    expect(disablingSetting("onSecretEvent", { "AzureWebJobs.onSecretEvent.Disabled": "false" })).toBeUndefined();
    expect(disablingSetting("onSecretEvent", { "AzureWebJobs.other.Disabled": "true" })).toBeUndefined();
  });
});

describe("a disabled function", () => {
  let host: RunningHost;

  beforeAll(async () => {
    host = await startFixtureHost("eventgrid-app", { EVENTS_OUT: "/dev/null", "AzureWebJobs.failingEvent.Disabled": "true" });
  });

  afterAll(async () => {
    await host?.stop();
    await killAllChildren();
  });

  it("is not indexed: its webhook answers 404 and the start-up log says why", async () => {
    const response = await fetch(`${host.url}/runtime/webhooks/eventgrid?functionName=failingEvent`, {
      method: "POST",
      headers: { "aeg-event-type": "Notification", "content-type": "application/json" },
      body: JSON.stringify([{ id: "1", subject: "fail", eventType: "x", eventTime: new Date().toISOString(), data: {}, dataVersion: "1" }]),
    });
    expect(response.status).toBe(404);
    expect(host.output()).toContain('Function "failingEvent" is disabled (AzureWebJobs.failingEvent.Disabled)');
    expect(host.output()).not.toMatch(/failingEvent: eventGridTrigger/);
    expect(host.output()).toMatch(/onSecretEvent: eventGridTrigger/);
  });
});
