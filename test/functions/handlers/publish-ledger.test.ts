import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { finding } from "../../../functions/detect/findings";
import { claimFindings, settleClaims } from "../../../functions/handlers/publish-ledger";

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const LEDGER = { bucket: "flowlogs-prod-ath-410987654323-eu-central-1", prefix: "published/" };
const failed = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const scan = finding({ rule: "port-scan", severity: "MEDIUM", src: "203.0.113.9", dst: "10.0.1.5", window: { start: 1_764_547_200, end: 1_764_547_500 }, evidence: { ports: 30 }, description: "203.0.113.9 probed 30 ports of 10.0.1.5." });

/** S3 as the ledger sees it: conditional PutObject (If-None-Match: *, If-Match: ETag) and HeadObject over a map; `lose` drops the response of that many successful PutObjects (a timeout after S3 stored the object). */
function serveLedger(lose = 0) {
  const objects = new Map<string, { etag: string; meta: Record<string, string> }>();
  let version = 0;
  s3.on(PutObjectCommand).callsFake((input: { Key: string; Metadata?: Record<string, string>; IfNoneMatch?: string; IfMatch?: string }) => {
    const current = objects.get(input.Key);
    if (input.IfNoneMatch === "*" && current) throw failed("PreconditionFailed", 412);
    if (input.IfMatch !== undefined && current?.etag !== input.IfMatch) throw failed("PreconditionFailed", 412);
    const etag = `"e${++version}"`;
    objects.set(input.Key, { etag, meta: input.Metadata ?? {} });
    if (lose > 0) {
      lose--;
      throw Object.assign(new Error("socket hang up"), { name: "TimeoutError", $retryable: {} });
    }
    return { ETag: etag };
  });
  s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
    const current = objects.get(input.Key);
    if (!current) throw failed("NotFound", 404);
    return { ETag: current.etag, Metadata: current.meta };
  });
  return objects;
}

const logged: string[] = [];
const deps = { clients: { s3: new S3Client({ region: "eu-central-1" }) }, now: () => new Date(1_764_547_800_000), sleep: async () => undefined, log: (m: string) => void logged.push(m), random: () => 0 };

describe("the publish ledger's claim token", () => {
  it("takes a claim whose PutObject succeeded but whose response was lost as this run's own: the retry's 412 shows its token, and the finding is published", async () => {
    const objects = serveLedger(1);
    const [d] = await claimFindings(deps, LEDGER, [scan], { attempts: 3, baseMs: 1 }, "run-a");
    expect(d).toEqual({ kind: "publish", finding: scan, etag: '"e1"' });
    expect(objects.get(`published/${scan.id}`)!.meta).toEqual({ sent: "", claim: "MEDIUM", claimed: "1764547800", token: "run-a" });
    // The ETag HeadObject read settles it.
    expect(await settleClaims(deps, LEDGER, [d!], true)).toEqual([]);
    expect(objects.get(`published/${scan.id}`)!.meta).toEqual({ sent: "MEDIUM", claim: "", claimed: "" });
  });

  it("still skips another run's live claim at the same severity", async () => {
    serveLedger();
    await claimFindings(deps, LEDGER, [scan], undefined, "run-a");
    const [d] = await claimFindings(deps, LEDGER, [scan], undefined, "run-b");
    expect(d).toEqual({ kind: "skip", finding: scan, why: "claimed-by-another-run" });
  });

  it("gives every run its own token when none is passed", async () => {
    const objects = serveLedger();
    const other = finding({ rule: "port-scan", severity: "MEDIUM", src: "203.0.113.10", dst: "10.0.1.5", window: { start: 1_764_547_200, end: 1_764_547_500 }, evidence: { ports: 30 }, description: "203.0.113.10 probed 30 ports of 10.0.1.5." });
    await claimFindings(deps, LEDGER, [scan]);
    await claimFindings(deps, LEDGER, [other]);
    const tokens = [...objects.values()].map((o) => o.meta.token);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(tokens[0]).not.toBe(tokens[1]);
  });
});
