/** Hetzner facts the program computes with (verified-facts.md). */
import { describe, expect, it } from "vitest";
import { defaultServerType, ipv6ServerAddress, LABEL_VALUE, locationsOfServerType, LOCATIONS, SERVER_NAME } from "./hetzner";

describe("the server's IPv6 address", () => {
  it("is …::1 of the /64 whose network address the provider returns as ipAddress", () => {
    expect(ipv6ServerAddress("2a01:4f8:1c1c:abcd::")).toBe("2a01:4f8:1c1c:abcd::1");
    expect(ipv6ServerAddress("2a01:4f8:1c1c:abcd::/64")).toBe("2a01:4f8:1c1c:abcd::1");
    expect(ipv6ServerAddress("2a01:04f8:1c1c:abcd:0000:0000:0000:0000")).toBe("2a01:4f8:1c1c:abcd::1");
    expect(ipv6ServerAddress("2001:db8:10::")).toBe("2001:db8:10::1");
  });

  it("keeps an address that already names a host", () => {
    expect(ipv6ServerAddress("2001:db8:10::1")).toBe("2001:db8:10::1");
  });

  it("refuses what is not IPv6", () => {
    expect(() => ipv6ServerAddress("203.0.113.10")).toThrow("not an IPv6 address");
  });
});

describe("server types by location", () => {
  it("sells the CX and CAX lines in the EU only", () => {
    expect(locationsOfServerType("cx33")).toEqual(["fsn1", "nbg1", "hel1"]);
    expect(locationsOfServerType("cax21")).toEqual(["fsn1", "nbg1", "hel1"]);
    expect(locationsOfServerType("cpx32")).toBeUndefined();
  });

  it("defaults to a type sold where the server goes", () => {
    for (const location of LOCATIONS) {
      const where = locationsOfServerType(defaultServerType(location));
      expect(where === undefined || where.includes(location), location).toBe(true);
    }
  });
});

describe("names", () => {
  it("label values start and end alphanumeric", () => {
    expect(["prod", "prod-1", "a.b_c", ""].every((v) => LABEL_VALUE.test(v))).toBe(true);
    expect(["-x", "x-", "_x", "a b"].some((v) => LABEL_VALUE.test(v))).toBe(false);
  });

  it("server names are RFC 1123 hostnames", () => {
    expect(SERVER_NAME.test("chatwoot-prod-1")).toBe(true);
    expect(["chatwoot-prod_1", "-chatwoot", "Chatwoot"].some((v) => SERVER_NAME.test(v))).toBe(false);
  });
});
