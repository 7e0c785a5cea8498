import * as fs from "fs";
import * as path from "path";
import { validateEnvironment } from "../../environments";
import { DEFAULT_INSIDE } from "../../functions/detect/thresholds";
import { baseInput, env, tempDir, validate } from "../support/env";

describe("network context and detector lists in the environment", () => {
  it("defaults: the private ranges inside, no NAT gateways, load balancers, resolvers, suppressions or threat lists", () => {
    const t = env().detectors.thresholds;
    expect(t.network).toEqual({ cidrs: DEFAULT_INSIDE, natGateways: [], loadBalancers: [], resolvers: [] });
    expect(t.suppress).toEqual([]);
    expect(t.threatIntel).toEqual([]);
  });

  it("carries network and suppressions into the thresholds every run applies", () => {
    const network = { cidrs: ["10.0.0.0/16", "2600:1f18:6a3:e100::/56"], natGateways: ["10.0.0.200"], loadBalancers: ["10.0.0.10", "10.0.0.20/30"], resolvers: ["10.0.0.2"] };
    const suppress = [{ rule: "port-scan", sources: ["10.0.9.9"], reason: "our scanner" }];
    const t = env({ network, detectors: { suppress } }).detectors.thresholds;
    expect(t.network).toEqual(network);
    expect(t.suppress).toEqual(suppress);
  });

  it("names every bad network entry in the usual form", () => {
    const { problems } = validate(baseInput({ network: { cidrs: ["10.0.0.1/16"], natGateways: ["nat-gw"] } }));
    expect(problems).toEqual([
      'test.network.cidrs[0]: has host bits set past /16 (got "10.0.0.1/16"). Write an IPv4 or IPv6 address or CIDR, e.g. "10.0.0.10", "10.0.0.0/16" or "2600:1f18::/56", with no host bits past the prefix.',
      'test.network.natGateways[0]: is not an IPv4 or IPv6 address or CIDR (got "nat-gw"). Write an IPv4 or IPv6 address or CIDR, e.g. "10.0.0.10", "10.0.0.0/16" or "2600:1f18::/56", with no host bits past the prefix.',
    ]);
  });
});

describe("threat-intelligence lists", () => {
  function withList(text: string | undefined, listPath = "intel/bad.txt") {
    const dir = tempDir("intel");
    if (text !== undefined) {
      fs.mkdirSync(path.join(dir, "intel"), { recursive: true });
      fs.writeFileSync(path.join(dir, "intel", "bad.txt"), text);
    }
    const problems: string[] = [];
    const input = baseInput({ detectors: { threatIntel: [{ name: "abuse", path: listPath }] } });
    const e = validateEnvironment({ file: path.join(dir, "test.ts"), input }, problems);
    return { e, problems, file: path.join(dir, "intel", "bad.txt") };
  }

  it("reads a list relative to the environment's file: IPs and CIDRs, IPv4 and IPv6, comments and blank lines ignored", () => {
    const { e, problems } = withList("# abuse.ch\n198.51.100.7\n\n203.0.113.0/24\n2001:db8:bad::/48   \n");
    expect(problems).toEqual([]);
    expect(e!.detectors.thresholds.threatIntel).toEqual([{ name: "abuse", entries: ["198.51.100.7", "203.0.113.0/24", "2001:db8:bad::/48"] }]);
  });

  it("a malformed line names the file, the line number and the value", () => {
    const { e, problems, file } = withList("198.51.100.7\n198.51.100.300\n");
    expect(e).toBeUndefined();
    expect(problems).toEqual([
      `test.detectors.threatIntel[0] (abuse): ${file}:2: is not an IPv4 or IPv6 address or CIDR (got "198.51.100.300"). Write one IPv4 or IPv6 address or CIDR per line, # for comments.`,
    ]);
  });

  it("an unreadable list is an error, not an empty list", () => {
    const { e, problems, file } = withList(undefined);
    expect(e).toBeUndefined();
    expect(problems).toEqual([`test.detectors.threatIntel[0] (abuse): ${file}: cannot read the threat list (got ENOENT). Give a readable file, its path relative to the environment's file.`]);
  });
});
