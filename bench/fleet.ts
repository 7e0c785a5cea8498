/**
 * Generates a fleet of environments for the synth benchmark: N environments, each with one VPC
 * scope and M ENI scopes, all delivering to CloudWatch and S3, and the CloudWatch.16 exception
 * the examples carry. Deterministic: the same N and M give the same files.
 *
 *   node -r ./bin/register.js bench/fleet.ts <dir> [environments=100] [scopes=50]
 */
import * as fs from "fs";
import * as path from "path";

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

export function writeFleet(dir: string, environments: number, scopes: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let e = 0; e < environments; e++) {
    const name = `fleet-${String(e).padStart(3, "0")}`;
    const env = {
      name,
      account: String(100000000000 + e),
      region: ["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-2"][e % 4],
      owner: "platform-team",
      tags: { Environment: name },
      retention: { cloudwatch: "production", archive: "customer-facing" },
      flowLogs: [
        { resource: "vpc", id: `vpc-${hex(e, 5)}${hex(0, 12)}`, trafficType: "ALL", aggregationSeconds: 600, destinations: ["cloudwatch", "s3"] },
        // The interfaces are in a second VPC that is not logged itself: they share the log group.
        ...Array.from({ length: scopes }, (_, s) => ({
          resource: "eni",
          id: `eni-${hex(e, 5)}${hex(s, 12)}`,
          vpc: `vpc-${hex(e, 5)}${hex(1, 12)}`,
          trafficType: "ALL",
          aggregationSeconds: 60,
          destinations: ["cloudwatch", "s3"],
        })),
      ],
      exceptions: [
        {
          control: "CWL-365",
          justification: "CloudWatch Logs is for recent incidents.",
          compensatingControl: "The S3 archive keeps flow logs for the archive retention.",
          approver: "ciso@example.com",
          approved: "2026-10-01",
          expires: "2027-09-30",
        },
      ],
    };
    fs.writeFileSync(path.join(dir, `${name}.ts`), `export default ${JSON.stringify(env, null, 1)};\n`);
  }
}

if (require.main === module) {
  const [dir, n = "100", m = "50"] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write("usage: fleet.ts <dir> [environments] [scopes]\n");
    process.exit(2);
  }
  writeFleet(dir, Number(n), Number(m));
}
