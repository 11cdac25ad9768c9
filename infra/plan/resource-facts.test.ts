/** The plan's replacement facts against what the providers really do (verified-facts.md). */
import { describe, expect, it } from "vitest";
import { factsFor } from "./resource-facts";

describe("replacement facts", () => {
  it("a volume's format is create-only but not ForceNew: changing it is an update, not a replacement", () => {
    expect(factsFor("hcloud:index/volume:Volume").replaceOn).toEqual(["location"]);
  });

  it("a server is replaced by the inputs the provider marks ForceNew", () => {
    expect(factsFor("hcloud:index/server:Server").replaceOn.sort()).toEqual(["image", "location", "sshKeys", "userData"]);
  });

  it("an attachment follows its server and volume", () => {
    expect(factsFor("hcloud:index/volumeAttachment:VolumeAttachment").replaceOn.sort()).toEqual(["serverId", "volumeId"]);
  });
});
