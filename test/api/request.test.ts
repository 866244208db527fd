/** How the API reads a request URL: raw path and query, nothing decoded. */
import { describe, expect, it } from "vitest";
import { splitUrl } from "../../src/api/request";

/** The definition splitUrl implements: strip `scheme://authority`, cut the fragment, split at the first `?`. */
function reference(url: string): { path: string; query: string } {
  const withoutOrigin = url.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/, "");
  const withoutFragment = withoutOrigin.split("#", 1)[0] ?? "";
  const q = withoutFragment.indexOf("?");
  const path = q === -1 ? withoutFragment : withoutFragment.slice(0, q);
  return { path: path === "" ? "/" : path, query: q === -1 ? "" : withoutFragment.slice(q + 1) };
}

describe("splitUrl", () => {
  it("splits absolute and origin-form URLs", () => {
    expect(splitUrl("http://127.0.0.1:7071/v1.0/secrets/kv/a?metadata.version_id=1")).toEqual({ path: "/v1.0/secrets/kv/a", query: "metadata.version_id=1" });
    expect(splitUrl("/v1.0/state/s/k")).toEqual({ path: "/v1.0/state/s/k", query: "" });
    expect(splitUrl("https://host")).toEqual({ path: "/", query: "" });
  });

  it.each([
    "http://h:1/a/b?x=1&y=2#frag",
    "http://h:1?q=1",
    "http://h:1#f?x",
    "http://h:1/a#f?x",
    "/a?b?c",
    "/a#b?c",
    "",
    "?x",
    "a+b.c-d://h/p?q",
    "1http://h/p",
    "a:b://h/p",
    "ht_tp://h/p",
    "://h/p",
    "http:/h/p",
    "http://user@h:1/p%2Fq?r=%20#",
    "HTTP://H/P",
    "/x://y/z",
  ])("%s as the regular-expression definition reads it", (url) => {
    expect(splitUrl(url)).toEqual(reference(url));
  });
});
