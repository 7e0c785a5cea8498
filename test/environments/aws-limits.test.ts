import { Testing } from "cdktf";
import type { IncidentRecord } from "../../environments/incidents/schema";
import { partitionOf } from "../../policies/iam";
import { AWS_REGIONS, awsRegion, nearestRegions } from "../../policies/regions";
import { KIT_TAG_KEYS, KIT_TAGS_PER_RESOURCE, MAX_ENVIRONMENT_TAGS, TAG_LIMITS } from "../../policies/tags";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { IncidentStack } from "../../stacks/incident-stack";
import { env } from "../support/env";

const UUID_KEY = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
const MRK_KEY = "mrk-1234abcd12ab34cd56ef1234567890ab";

describe("AWS regions", () => {
  it("lists each region once, in the partition policies/iam.ts builds its ARNs for", () => {
    const codes = AWS_REGIONS.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const r of AWS_REGIONS) expect([r.code, partitionOf(r.code)]).toEqual([r.code, r.partition]);
    expect(new Set(AWS_REGIONS.map((r) => r.partition))).toEqual(new Set(["aws", "aws-cn", "aws-us-gov"]));
  });

  it.each([
    ["a commercial region with a single-Region key", "eu-west-1", `arn:aws:kms:eu-west-1:123456789012:key/${UUID_KEY}`],
    ["a commercial region with a multi-Region key", "eu-west-1", `arn:aws:kms:eu-west-1:123456789012:key/${MRK_KEY}`],
    ["a China region with its partition's key", "cn-northwest-1", `arn:aws-cn:kms:cn-northwest-1:123456789012:key/${MRK_KEY}`],
    ["a GovCloud region with its partition's key", "us-gov-west-1", `arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/${UUID_KEY}`],
    ["a region opened in 2025", "mx-central-1", `arn:aws:kms:mx-central-1:123456789012:key/${UUID_KEY}`],
  ])("accepts %s", (_title, region, keyArn) => {
    const e = env({ region, kms: { keyArn } });
    expect([e.region, e.kms]).toEqual([region, { keyArn }]);
  });

  it.each([
    ["eu-west-9", ["eu-west-1", "eu-west-2", "eu-west-3"]],
    ["us-east-3", ["us-east-1", "us-east-2"]],
    ["eu-wset-1", ["eu-west-1"]],
    ["EU-CENTRAL-1", ["eu-central-1"]],
    ["mars-1", []],
  ])("suggests the nearest codes for %s", (code, nearest) => {
    expect(awsRegion(code)).toBeUndefined();
    expect(nearestRegions(code)).toEqual(nearest);
  });
});

describe("tags", () => {
  it("accepts letters of any script, spaces, the allowed punctuation and an empty value", () => {
    const tags = { Kostenstelle: "Müller + Co", "Team Name": "東京 ops", "a.b:c/d=e+f-g@h_i": "" };
    expect(env({ tags }).tags).toEqual(tags);
  });

  it(`accepts ${MAX_ENVIRONMENT_TAGS} tags, the most that leaves room for the kit's own`, () => {
    const tags = Object.fromEntries(Array.from({ length: MAX_ENVIRONMENT_TAGS }, (_, i) => [`Tag${i}`, "x"]));
    expect(Object.keys(env({ tags }).tags)).toHaveLength(MAX_ENVIRONMENT_TAGS);
    expect(MAX_ENVIRONMENT_TAGS + KIT_TAGS_PER_RESOURCE).toBe(TAG_LIMITS.perResource);
  });

  it("counts the kit's own tags as the synthesized stacks carry them: no resource over 50 with the most tags allowed", () => {
    const tags = Object.fromEntries(Array.from({ length: MAX_ENVIRONMENT_TAGS }, (_, i) => [`Tag${i}`, "x"]));
    const e = env({ tags, rbac: { roles: { Auditor: { principals: ["arn:aws:iam::123456789012:root"] } } } });
    const incident = { id: "inc-1", environment: "test", enis: ["eni-0123456789abcdef0"], reason: "r", ticket: "T-1", expiresAt: "2027-01-01T00:00:00.000Z" } as unknown as IncidentRecord;
    type Stack = { provider: { aws: { default_tags: { tags: Record<string, string> }[] }[] }; resource: Record<string, Record<string, { tags?: Record<string, string> }>> };
    const stacks = [new EnvironmentStack(Testing.app(), e), new IncidentStack(Testing.app(), e, incident)].map((s) => JSON.parse(Testing.synth(s)) as Stack);
    const kitKeys = new Set<string>();
    let most = 0;
    for (const stack of stacks) {
      const defaults = stack.provider.aws[0]!.default_tags[0]!.tags;
      for (const resources of Object.values(stack.resource)) {
        for (const resource of Object.values(resources)) {
          const keys = new Set([...Object.keys(defaults), ...Object.keys(resource.tags ?? {})]);
          const kit = [...keys].filter((k) => !(k in tags));
          kit.forEach((k) => kitKeys.add(k));
          most = Math.max(most, kit.length);
          expect(keys.size).toBeLessThanOrEqual(TAG_LIMITS.perResource);
        }
      }
    }
    expect(most).toBe(KIT_TAGS_PER_RESOURCE);
    expect([...kitKeys].sort()).toEqual([...KIT_TAG_KEYS].sort());
  });
});
