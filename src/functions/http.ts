/**
 * @module Shared HTTP adapter: Azure Functions request → API request, API response → Functions response.
 */
import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { api } from "../app";
import type { ApiResponse } from "../api/errors";
import type { ApiRequest } from "../api/request";

/** Converts a Functions request; the body is read lazily, once. */
export function toApiRequest(request: HttpRequest): ApiRequest {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: async () => new Uint8Array(await request.arrayBuffer()),
  };
}

/** Converts an API response; 204 carries no body. */
export function toResponseInit(response: ApiResponse): HttpResponseInit {
  return response.body === undefined ? { status: response.status, headers: response.headers } : { status: response.status, headers: response.headers, body: response.body };
}

/** The handler every Dapr route function registers. */
export async function serveDaprRequest(request: HttpRequest): Promise<HttpResponseInit> {
  return toResponseInit(await api(toApiRequest(request)));
}
