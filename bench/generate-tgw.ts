/**
 * Synthetic transit-gateway flow logs in AWS's default transit-gateway format (36 fields,
 * headerless, as CloudWatch Logs delivers them), for the README's `detect --format
 * transit-gateway-default` example. Seeded: the same arguments always give the same file.
 *
 *   node -r ./bin/register.js bench/generate-tgw.ts <file> [seed=1]
 *
 * One transit gateway, three attachments: two spoke VPCs, the egress VPC and a VPN.
 * - ordinary traffic: spoke hosts call each other on 443 and 5432; each flow is recorded at the
 *   attachment where it enters (ingress) and the one where it leaves (egress), as AWS does;
 * - a port scan over the VPN: 192.168.50.9 -> 10.1.2.7, 200 ports, recorded at both ends;
 * - exfiltration: 10.0.3.30 -> 192.0.2.30:443, 2 GiB leaving through the egress attachment;
 * - missing routes: 40 flows on a spoke attachment with packets-lost-no-route.
 */
import * as fs from "fs";
import { seededRandom } from "../functions/detect/isolation-forest";
import { TRANSIT_GATEWAY_DEFAULT_FIELD_NAMES } from "../functions/flowlog/fields";

const T0 = Date.UTC(2026, 10, 1) / 1000;
const ACCOUNT = "123456789012";
const TGW = "tgw-0aaaa1111bbbb2222";
const SPOKE_A = "tgw-attach-0aaaa1111bbbb2222";
const SPOKE_B = "tgw-attach-0bbbb3333cccc4444";
const EGRESS = "tgw-attach-0cccc5555dddd6666";
const VPN = "tgw-attach-0dddd7777aaaa8888";

interface Flow {
  readonly attachment: string;
  readonly direction: "ingress" | "egress";
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly packets: number;
  readonly bytes: number;
  readonly start: number;
  readonly noRoute?: number;
}

function record(f: Flow): string {
  const values: Record<string, string | number> = {
    version: 6,
    "resource-type": "TransitGateway",
    "account-id": ACCOUNT,
    "tgw-id": TGW,
    "tgw-attachment-id": f.attachment,
    "tgw-src-vpc-account-id": ACCOUNT,
    "tgw-dst-vpc-account-id": ACCOUNT,
    "tgw-src-vpc-id": "-",
    "tgw-dst-vpc-id": "-",
    "tgw-src-subnet-id": "-",
    "tgw-dst-subnet-id": "-",
    "tgw-src-eni": "-",
    "tgw-dst-eni": "-",
    "tgw-src-az-id": "euw1-az1",
    "tgw-dst-az-id": "euw1-az2",
    "tgw-pair-attachment-id": "-",
    srcaddr: f.src,
    dstaddr: f.dst,
    srcport: f.srcPort,
    dstport: f.dstPort,
    protocol: 6,
    packets: f.packets,
    bytes: f.bytes,
    start: f.start,
    end: f.start + 60,
    "log-status": "OK",
    type: "IPv4",
    "packets-lost-no-route": f.noRoute ?? 0,
    "packets-lost-blackhole": 0,
    "packets-lost-mtu-exceeded": 0,
    "packets-lost-ttl-expired": 0,
    "tcp-flags": 2,
    region: "eu-west-1",
    "flow-direction": f.direction,
    "pkt-src-aws-service": "-",
    "pkt-dst-aws-service": "-",
  };
  return TRANSIT_GATEWAY_DEFAULT_FIELD_NAMES.map((name) => String(values[name])).join(" ");
}

export function generateTgw(seed = 1): string[] {
  const random = seededRandom(seed);
  const lines: string[] = [];
  const both = (f: Omit<Flow, "attachment" | "direction">, from: string, to: string) => {
    lines.push(record({ ...f, attachment: from, direction: "ingress" }), record({ ...f, attachment: to, direction: "egress" }));
  };
  for (let i = 0; i < 3000; i++) {
    const src = `10.0.${1 + Math.floor(random() * 4)}.${10 + Math.floor(random() * 50)}`;
    const dst = `10.1.${1 + Math.floor(random() * 4)}.${10 + Math.floor(random() * 50)}`;
    const dstPort = random() < 0.7 ? 443 : 5432;
    const packets = 5 + Math.floor(random() * 40);
    both({ src, dst, srcPort: 32768 + Math.floor(random() * 28000), dstPort, packets, bytes: packets * 600, start: T0 + Math.floor(random() * 240) }, SPOKE_A, SPOKE_B);
  }
  for (let port = 1; port <= 200; port++) {
    both({ src: "192.168.50.9", dst: "10.1.2.7", srcPort: 40000 + port, dstPort: port, packets: 1, bytes: 44, start: T0 + 30 }, VPN, SPOKE_B);
  }
  for (let i = 0; i < 2; i++) {
    lines.push(record({ attachment: EGRESS, direction: "egress", src: "10.0.3.30", dst: "192.0.2.30", srcPort: 51000 + i, dstPort: 443, packets: 700000, bytes: 1073741824, start: T0 + 60 }));
  }
  for (let i = 0; i < 40; i++) {
    lines.push(record({ attachment: SPOKE_A, direction: "ingress", src: "10.0.2.20", dst: "10.9.0.5", srcPort: 45000 + i, dstPort: 443, packets: 60, bytes: 3600, start: T0 + 90, noRoute: 60 }));
  }
  return lines;
}

if (require.main === module) {
  const [file, seed = "1"] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: node -r ./bin/register.js bench/generate-tgw.ts <file> [seed=1]\n");
    process.exit(1);
  }
  const lines = generateTgw(Number(seed));
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  process.stderr.write(`${lines.length} transit-gateway records -> ${file}\n`);
}
