/** What Chatwoot v4.15.1 and Hetzner accept, checked before anything is created. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "./load";
import { stackNames } from "./names";
import { baseConfig, baseSecrets, pulumiConfig } from "../test/fixtures";
import { load, problemsOf, with_ } from "../test/config-load";

describe("what Chatwoot v4.15.1 accepts", () => {
  it.each(["de_DE", "en_US", "fr_FR", "sl", "english"])("refuses the locale %s, which Account.locale= would raise on", (locale) => {
    const problems = problemsOf(() => load(with_({ account: { name: "A", locale } })));
    expect(problems.join("\n")).toMatch(/^chatwoot:account\.locale must be one of Chatwoot's locales/);
  });

  it("suggests the locale that exists", () => {
    expect(problemsOf(() => load(with_({ account: { name: "A", locale: "de_DE" } })))[0]).toContain('did you mean "de"?');
  });

  it.each(["en", "pt_BR", "zh_TW", "zh_CN", "no", "et"])("accepts the locale %s", (locale) => {
    expect(load(with_({ account: { name: "A", locale } })).account.locale).toBe(locale);
  });

  it("refuses an admin password with a character the password gem rejects, without quoting it", () => {
    for (const password of ["Pässwort1!x", "Tab\there1!", "Emoji1!😀x", "Euro1!€xyz"]) {
      const problems = problemsOf(() => load(baseConfig, { ...baseSecrets, adminPassword: password }));
      expect(problems.join("\n")).toContain("chatwoot:adminPassword contains a character Chatwoot's password rules reject");
      for (const ch of ["ä", "😀", "€"]) expect(problems.join("\n")).not.toContain(ch);
    }
  });

  it("accepts passwords whose specials are in the gem's set of 33, which the old rule refused", () => {
    for (const password of ["Correct.Horse.Battery9", "With Space1", 'Quote"s1a', "Tilde~1a", "Back\\slash1"]) {
      expect(() => load(baseConfig, { ...baseSecrets, adminPassword: password })).not.toThrow();
    }
  });

  it("refuses names that are not features, with a suggestion", () => {
    const problems = problemsOf(() => load(with_({ disableFeatures: ["flags", "campaign", "captain_tasks"] })));
    expect(problems).toEqual([
      'chatwoot:disableFeatures.0 names "flags", which is not a Chatwoot v4.15.1 feature (config/features.yml)',
      'chatwoot:disableFeatures.1 names "campaign", which is not a Chatwoot v4.15.1 feature (config/features.yml); did you mean "campaigns"?',
    ]);
  });

  it("accepts every feature of config/features.yml", () => {
    expect(load(with_({ disableFeatures: ["captain_integration", "captain_tasks", "campaigns", "channel_tiktok"] })).disableFeatures).toHaveLength(4);
  });
});

describe("what Hetzner accepts", () => {
  it("refuses a server type that is not sold in the location", () => {
    expect(problemsOf(() => load(with_({ location: "ash", serverType: "cx33" })))).toEqual([
      'chatwoot:serverType "cx33" is not sold in ash (only in fsn1, nbg1, hel1); choose another type for ash or leave chatwoot:serverType unset for the location\'s default',
    ]);
    expect(problemsOf(() => load(with_({ location: "sin", serverType: "cax21" })))[0]).toContain('"cax21" is not sold in sin');
  });

  it("defaults the server type to one sold in every location", () => {
    expect(load(with_({ location: "hel1" })).serverType).toBe("cx33");
    for (const location of ["ash", "hil", "sin"]) expect(load(with_({ location })).serverType).toBe("cpx32");
  });

  it("refuses CIDRs with host bits set, naming the network", () => {
    expect(problemsOf(() => load(with_({ sshAllowedCidrs: ["203.0.113.5/24"] })))).toEqual([
      "chatwoot:sshAllowedCidrs.0 has host bits set: the network is 203.0.113.0/24",
    ]);
    expect(problemsOf(() => load(with_({ sshAllowedCidrs: ["2001:db8::1/32"] })))[0]).toContain("the network is 2001:db8::/32");
    expect(() => load(with_({ sshAllowedCidrs: ["203.0.113.5/32", "2001:db8::/32"] }))).not.toThrow();
  });

  it("derives valid server names and label values from any stack name, or says why it cannot", () => {
    expect(stackNames("Prod_1")).toEqual({ namePrefix: "chatwoot-prod-1", label: "prod-1" });
    expect(stackNames("-x")).toEqual({ namePrefix: "chatwoot-x", label: "x" });
    expect(stackNames("acme.staging")).toEqual({ namePrefix: "chatwoot-acme-staging", label: "acme-staging" });
    const long = stackNames("a".repeat(80));
    expect("namePrefix" in long && long.namePrefix.length).toBeLessThanOrEqual(41);
    expect(stackNames("___")).toEqual({ problem: expect.stringContaining("the stack name must contain letters or digits") });
  });

  it("warns about hcloud:token in the stack file: in plain text, and overriding HCLOUD_TOKEN", () => {
    const warningsWith = (secret: boolean) => {
      const { config, secretKeys } = pulumiConfig();
      config["hcloud:token"] = "token-value";
      const secrets = new Set([...secretKeys, ...(secret ? ["hcloud:token"] : [])]);
      return loadConfig({ values: config, isSecret: (k) => secrets.has(k) }, true).warnings.join("\n");
    };
    expect(warningsWith(false)).toContain("hcloud:token is stored in plain text");
    expect(warningsWith(true)).not.toContain("plain text");
    expect(warningsWith(true)).toContain("takes precedence over the HCLOUD_TOKEN environment variable");
    expect(load().warnings.join("\n")).not.toContain("HCLOUD_TOKEN");
  });

  it("catches typos of the namespaces this stack reads", () => {
    const problemsWith = (extra: Record<string, string>) => {
      const { config, secretKeys } = pulumiConfig();
      Object.assign(config, extra);
      const secret = new Set(secretKeys);
      return problemsOf(() => loadConfig({ values: config, isSecret: (k) => secret.has(k) }, true));
    };
    expect(problemsWith({ "chatwot:domain": "x.example.com" })).toEqual([
      'chatwot:domain is in the unknown namespace "chatwot" (did you mean chatwoot:domain?)',
    ]);
    expect(problemsWith({ "hcloud:tokn": "x" })).toEqual(["hcloud:tokn is not a setting of the hcloud provider (did you mean hcloud:token?)"]);
    expect(problemsWith({ "hclod:token": "x" })[0]).toContain("did you mean hcloud:token?");
  });
});
