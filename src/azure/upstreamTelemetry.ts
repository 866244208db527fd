/**
 * @module Telemetry for every HTTP attempt the Azure SDK clients make. The client factories in src/azure
 * add {@link upstreamPolicy} to each client's pipeline after the retry step, so every attempt (retries
 * and throttled 429s included) gets a client span and its latency and status.
 *
 * The composition root registers the telemetry port once at start ({@link setUpstreamTelemetry});
 * until then, and in unit tests, attempts go out unobserved. The port is read at request time, so
 * clients created before the registration are covered too.
 */
import type { Pipeline, PipelinePolicy } from "@azure/core-rest-pipeline";
import { describeUpstream, noTelemetry, type Telemetry, type UpstreamService } from "../observability/telemetry";

let telemetry: Telemetry = noTelemetry;

const POLICY_NAME = "vaultstateUpstreamTelemetry";

/** Registers the port the SDK clients report to (the composition root calls this once). */
export function setUpstreamTelemetry(port: Telemetry): void {
  telemetry = port;
}

/**
 * A pipeline policy reporting each attempt as a call to `service`.
 * @example new SecretClient(url, credential, { additionalPolicies: [{ policy: upstreamPolicy("keyvault"), position: "perRetry" }] })
 */
export function upstreamPolicy(service: UpstreamService): PipelinePolicy {
  return {
    name: POLICY_NAME,
    sendRequest: (request, next) => telemetry.upstream(describeUpstream(service, request.method, request.url), () => next(request), (response) => response.status),
  };
}

/** Client options that add the policy per attempt (Key Vault, Table, ARM clients). */
export function upstreamPolicies(service: UpstreamService): { additionalPolicies: { policy: PipelinePolicy; position: "perRetry" }[] } {
  return { additionalPolicies: [{ policy: upstreamPolicy(service), position: "perRetry" }] };
}

/**
 * Adds the policy to a Blob client, which takes no `additionalPolicies`: its core pipeline is reachable
 * through the client's service context and is shared by the container and blob clients made from it.
 * Returns the client; leaves it unobserved if the SDK's shape ever changes (the upstream tests notice).
 */
export function observeBlobClient<T extends object>(client: T): T {
  const context = (client as { storageClientContext?: { pipeline?: Pipeline } }).storageClientContext;
  const pipeline = context?.pipeline;
  if (pipeline === undefined || typeof pipeline.addPolicy !== "function") return client;
  if (!pipeline.getOrderedPolicies().some((p) => p.name === POLICY_NAME)) pipeline.addPolicy(upstreamPolicy("blob"), { afterPhase: "Retry" });
  return client;
}
