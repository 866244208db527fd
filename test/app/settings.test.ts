/** Azure detection and the timer's registration settings, per hosting plan (a table test). */
import { describe, expect, it } from "vitest";
import { azurePlan, parseSettings, timerSettings } from "../../src/config/settings";

const PLANS: [string, Record<string, string>, ReturnType<typeof azurePlan>][] = [
  ["Flex Consumption", { WEBSITE_SKU: "FlexConsumption", WEBSITE_POD_NAME: "pod-1", CONTAINER_NAME: "c-1", WEBSITE_SITE_NAME: "app" }, "FlexConsumption"],
  ["Flex Consumption (pod name only)", { WEBSITE_SKU: "FlexConsumption", WEBSITE_POD_NAME: "pod-1" }, "FlexConsumption"],
  ["Linux Consumption", { CONTAINER_NAME: "c-1", WEBSITE_SITE_NAME: "app", WEBSITE_SKU: "Dynamic" }, "Consumption"],
  ["Linux Consumption (no SKU)", { CONTAINER_NAME: "c-1", WEBSITE_SITE_NAME: "app" }, "Consumption"],
  ["Windows Consumption", { WEBSITE_INSTANCE_ID: "abc", WEBSITE_SKU: "Dynamic", WEBSITE_SITE_NAME: "app" }, "Consumption"],
  ["Elastic Premium", { WEBSITE_INSTANCE_ID: "abc", WEBSITE_SKU: "ElasticPremium", WEBSITE_SITE_NAME: "app" }, "Premium"],
  ["Dedicated (App Service plan)", { WEBSITE_INSTANCE_ID: "abc", WEBSITE_SKU: "PremiumV3", WEBSITE_SITE_NAME: "app" }, "Dedicated"],
  ["Core Tools / our local host", {}, undefined],
  ["a dev container (CONTAINER_NAME only)", { CONTAINER_NAME: "devcontainer" }, undefined],
  ["blank values", { WEBSITE_INSTANCE_ID: " ", CONTAINER_NAME: "" }, undefined],
];

describe("Azure detection", () => {
  it.each(PLANS)("%s", (_name, env, plan) => {
    expect(azurePlan(env)).toBe(plan);
    expect(parseSettings(env).azurePlan).toBe(plan);
  });

  it.each(PLANS)("REFRESH_ON_STARTUP is honoured only outside Azure: %s", (_name, env, plan) => {
    expect(timerSettings({ ...env, REFRESH_ON_STARTUP: "true" }).runOnStartup).toBe(plan === undefined);
  });
});

describe("timer settings", () => {
  it("default to every 5 minutes, never throw, and pass the schedule through for the host to validate", () => {
    expect(timerSettings({})).toEqual({ schedule: "0 */5 * * * *", runOnStartup: false });
    expect(timerSettings({ REFRESH_SCHEDULE: " not a schedule ", REFRESH_ON_STARTUP: "yes" })).toEqual({ schedule: "not a schedule", runOnStartup: false });
  });
});
