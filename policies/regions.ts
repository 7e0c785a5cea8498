/**
 * The AWS Regions an environment may name: the commercial (`aws`), China (`aws-cn`) and
 * GovCloud (`aws-us-gov`) partitions. This is the one list of them in the kit.
 *
 * Source, as of 2026-12-05: the AWS SDK for JavaScript's endpoint data (`partitions` in
 * @aws-sdk/core 3.981.0, installed here) and AWS's "AWS Region billing codes" page. Left out on
 * purpose: the ISO partitions and the European Sovereign Cloud (`aws-eusc`), whose ARNs
 * policies/iam.ts does not build. When AWS opens a Region, add it here with the date.
 *
 * `provider: false` marks a Region the pinned AWS provider (hashicorp/aws 5.100.0) does not know:
 * `terraform plan` stops there with "invalid AWS Region" (measured with that provider,
 * 2026-12-05). The offline plan skips the provider's region check, so only this list catches it.
 * @see https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-region-billing-codes.html
 */
import { editDistance } from "../functions/flowlog/fields";
export const AWS_REGIONS = Object.freeze([
  { code: "af-south-1", partition: "aws", name: "Africa (Cape Town)" },
  { code: "ap-east-1", partition: "aws", name: "Asia Pacific (Hong Kong)" },
  { code: "ap-east-2", partition: "aws", name: "Asia Pacific (Taipei)" },
  { code: "ap-northeast-1", partition: "aws", name: "Asia Pacific (Tokyo)" },
  { code: "ap-northeast-2", partition: "aws", name: "Asia Pacific (Seoul)" },
  { code: "ap-northeast-3", partition: "aws", name: "Asia Pacific (Osaka)" },
  { code: "ap-south-1", partition: "aws", name: "Asia Pacific (Mumbai)" },
  { code: "ap-south-2", partition: "aws", name: "Asia Pacific (Hyderabad)" },
  { code: "ap-southeast-1", partition: "aws", name: "Asia Pacific (Singapore)" },
  { code: "ap-southeast-2", partition: "aws", name: "Asia Pacific (Sydney)" },
  { code: "ap-southeast-3", partition: "aws", name: "Asia Pacific (Jakarta)" },
  { code: "ap-southeast-4", partition: "aws", name: "Asia Pacific (Melbourne)" },
  { code: "ap-southeast-5", partition: "aws", name: "Asia Pacific (Malaysia)" },
  { code: "ap-southeast-6", partition: "aws", name: "Asia Pacific (New Zealand)", provider: false },
  { code: "ap-southeast-7", partition: "aws", name: "Asia Pacific (Thailand)" },
  { code: "ca-central-1", partition: "aws", name: "Canada (Central)" },
  { code: "ca-west-1", partition: "aws", name: "Canada West (Calgary)" },
  { code: "eu-central-1", partition: "aws", name: "Europe (Frankfurt)" },
  { code: "eu-central-2", partition: "aws", name: "Europe (Zurich)" },
  { code: "eu-north-1", partition: "aws", name: "Europe (Stockholm)" },
  { code: "eu-south-1", partition: "aws", name: "Europe (Milan)" },
  { code: "eu-south-2", partition: "aws", name: "Europe (Spain)" },
  { code: "eu-west-1", partition: "aws", name: "Europe (Ireland)" },
  { code: "eu-west-2", partition: "aws", name: "Europe (London)" },
  { code: "eu-west-3", partition: "aws", name: "Europe (Paris)" },
  { code: "il-central-1", partition: "aws", name: "Israel (Tel Aviv)" },
  { code: "me-central-1", partition: "aws", name: "Middle East (UAE)" },
  { code: "me-south-1", partition: "aws", name: "Middle East (Bahrain)" },
  { code: "me-west-1", partition: "aws", name: "Middle East (Saudi Arabia)", provider: false },
  { code: "mx-central-1", partition: "aws", name: "Mexico (Central)" },
  { code: "sa-east-1", partition: "aws", name: "South America (São Paulo)" },
  { code: "sa-west-1", partition: "aws", name: "South America (Chile)", provider: false },
  { code: "us-east-1", partition: "aws", name: "US East (N. Virginia)" },
  { code: "us-east-2", partition: "aws", name: "US East (Ohio)" },
  { code: "us-west-1", partition: "aws", name: "US West (N. California)" },
  { code: "us-west-2", partition: "aws", name: "US West (Oregon)" },
  { code: "cn-north-1", partition: "aws-cn", name: "China (Beijing)" },
  { code: "cn-northwest-1", partition: "aws-cn", name: "China (Ningxia)" },
  { code: "us-gov-east-1", partition: "aws-us-gov", name: "AWS GovCloud (US-East)" },
  { code: "us-gov-west-1", partition: "aws-us-gov", name: "AWS GovCloud (US-West)" },
] as const satisfies readonly { code: string; partition: AwsPartition; name: string; provider?: false }[]);

export type AwsPartition = "aws" | "aws-cn" | "aws-us-gov";
export type AwsRegion = (typeof AWS_REGIONS)[number];

/** The pinned AWS provider, as messages name it. */
export const PINNED_PROVIDER = "hashicorp/aws 5.100.0";

/** The Region with this code, or undefined when AWS has none by that name. */
export function awsRegion(code: string): AwsRegion | undefined {
  return AWS_REGIONS.find((r) => r.code === code);
}

/**
 * Region codes close to a mistyped one, best first: a wrong number (`eu-west-9`) lists that
 * area's Regions, a typo (`eu-wset-1`) the code it resembles. Empty when nothing is close.
 */
export function nearestRegions(code: string, max = 3): string[] {
  const scored = AWS_REGIONS.map((r) => ({ code: r.code, d: editDistance(code.toLowerCase(), r.code) }));
  const best = Math.min(...scored.map((s) => s.d));
  if (best > 3) return [];
  return scored
    .filter((s) => s.d === best)
    .map((s) => s.code)
    .slice(0, max);
}
