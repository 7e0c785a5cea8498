/**
 * Synthetic VPC flow logs (default format, version 2) with planted attacks, for the detector
 * benchmark and tests. Seeded: the same arguments always give the same file.
 *
 *   node -r ./bin/register.js bench/generate.ts <file> [records=5000000] [seed=1] [--gzip | --flood]
 *
 * With --flood, every record is a distinct flow instead (see generateFlood): the worst case for
 * the detector's memory.
 *
 * Ordinary traffic: 250 internal hosts (10.0.0.0/16) talk to each other on service ports
 * (443, 80, 5432, 6379, 8080) and to the internet on 443 with realistic payloads; 2,000 external
 * clients reach 20 load-balancer interfaces on 443; every request has its response flow; about
 * 1% of inbound flows are rejected. Start times spread over one hour from 2026-11-01T00:00Z.
 *
 * Planted attacks (one each; the addresses are reserved so tests can look for them):
 *   port-scan          203.0.113.10 -> 10.0.1.10, ports 1-200, rejected
 *   port-sweep         203.0.113.11 -> 10.0.2.1-60 on 3306, rejected
 *   ssh-brute-force    198.51.100.20 -> 10.0.1.20:22, 60 short connections
 *   exfiltration       10.0.3.30 -> 192.0.2.30:443, 2 GiB in one window
 *   c2-fan-out         10.0.3.40 -> 80 external addresses on 443, ~400 bytes each
 *   c2-beaconing       10.0.3.50 -> 198.51.100.50:443 every 60 s, 30 times
 *   lateral-movement   10.0.3.60 -> 10.0.4.1-20 on 445
 *   rejected-spike     198.51.100.70 -> 10.0.1.70:443, 400 rejected flows
 *   unusual-protocol   10.0.3.80 -> 203.0.113.80, GRE (47)
 */
import * as fs from "fs";
import * as zlib from "zlib";
import { seededRandom } from "../functions/detect/isolation-forest";

export const T0 = Date.UTC(2026, 10, 1) / 1000;
const ACCOUNT = "123456789012";

export const PLANTED = Object.freeze({
  "port-scan": "203.0.113.10",
  "port-sweep": "203.0.113.11",
  "ssh-brute-force": "198.51.100.20",
  exfiltration: "10.0.3.30",
  "c2-fan-out": "10.0.3.40",
  "c2-beaconing": "10.0.3.50",
  "lateral-movement": "10.0.3.60",
  "rejected-spike": "198.51.100.70",
  "unusual-protocol": "10.0.3.80",
} as const);

const rec = (eni: string, src: string, dst: string, sport: number, dport: number, proto: number, packets: number, bytes: number, start: number, action = "ACCEPT") =>
  `2 ${ACCOUNT} ${eni} ${src} ${dst} ${sport} ${dport} ${proto} ${packets} ${bytes} ${start} ${start + 45} ${action} OK`;

function plantedLines(): string[] {
  const out: string[] = [];
  const w = T0 + 1200; // every attack inside one 300 s window
  const eni = "eni-0a77ac0000000000a";
  for (let p = 1; p <= 200; p++) out.push(rec(eni, PLANTED["port-scan"], "10.0.1.10", 51000, p, 6, 1, 44, w, "REJECT"));
  for (let h = 1; h <= 60; h++) out.push(rec(eni, PLANTED["port-sweep"], `10.0.2.${h}`, 52000, 3306, 6, 1, 44, w, "REJECT"));
  for (let i = 0; i < 60; i++) out.push(rec(eni, PLANTED["ssh-brute-force"], "10.0.1.20", 40000 + i, 22, 6, 14, 2600, w + i));
  for (let i = 0; i < 8; i++) out.push(rec(eni, PLANTED.exfiltration, "192.0.2.30", 45000 + i, 443, 6, 200000, 268435456, w + i));
  for (let i = 0; i < 80; i++) out.push(rec(eni, PLANTED["c2-fan-out"], `198.18.${i >> 4}.${(i & 15) + 1}`, 46000 + i, 443, 6, 6, 400, w));
  for (let i = 0; i < 30; i++) out.push(rec(eni, PLANTED["c2-beaconing"], "198.51.100.50", 47000 + i, 443, 6, 5, 310, T0 + 60 * i));
  for (let h = 1; h <= 20; h++) out.push(rec(eni, PLANTED["lateral-movement"], `10.0.4.${h}`, 48000 + h, 445, 6, 20, 4000, w));
  for (let i = 0; i < 400; i++) out.push(rec(eni, PLANTED["rejected-spike"], "10.0.1.70", 20000 + i, 443, 6, 1, 44, w, "REJECT"));
  out.push(rec(eni, PLANTED["unusual-protocol"], "203.0.113.80", 0, 0, 47, 100, 90000, w));
  return out;
}

/** Writes `records` ordinary lines plus the planted attacks (spread evenly) through `write`. */
export function generate(records: number, seed: number, write: (chunk: string) => void): number {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const internal = Array.from({ length: 250 }, (_, i) => `10.0.${1 + (i >> 7)}.${(i & 127) + 100}`);
  const enis = internal.map((_, i) => `eni-0${(0x100000 + i).toString(16)}0000000000`);
  const external = Array.from({ length: 2000 }, (_, i) => `${[34, 52, 54, 18][i & 3]}.${(i >> 2) & 255}.${(i * 7) & 255}.${(i * 13) & 255}`);
  const services = [443, 80, 5432, 6379, 8080];
  const planted = plantedLines();
  const every = Math.max(1, Math.floor(records / planted.length));
  let buf: string[] = [];
  let written = 0;
  let p = 0;
  const push = (line: string) => {
    buf.push(line);
    written++;
    if (buf.length >= 10000) {
      write(buf.join("\n") + "\n");
      buf = [];
    }
  };
  for (let i = 0; i < records; ) {
    if (p < planted.length && i % every === 0) push(planted[p++]!);
    const start = T0 + int(3600);
    const kind = random();
    const sport = 32768 + int(28000);
    if (kind < 0.45) {
      // Internal client -> internal service, and the response.
      const a = int(250);
      const b = int(250);
      const port = services[int(services.length)]!;
      const pk = 5 + int(60);
      push(rec(enis[a]!, internal[a]!, internal[b]!, sport, port, 6, pk, pk * (200 + int(1200)), start));
      push(rec(enis[b]!, internal[b]!, internal[a]!, port, sport, 6, pk, pk * (300 + int(1200)), start));
      i += 2;
    } else if (kind < 0.8) {
      // External client -> load balancer on 443 (1% rejected), and the response.
      const c = int(2000);
      const lb = int(20);
      const rejected = random() < 0.01;
      const pk = 4 + int(40);
      push(rec(enis[lb]!, external[c]!, internal[lb]!, sport, 443, 6, pk, pk * (100 + int(900)), start, rejected ? "REJECT" : "ACCEPT"));
      if (!rejected) push(rec(enis[lb]!, internal[lb]!, external[c]!, 443, sport, 6, pk, pk * (500 + int(1000)), start));
      i += rejected ? 1 : 2;
    } else {
      // Internal host -> internet API on 443 with real payloads, and the response.
      const a = int(250);
      const e = int(200);
      const pk = 10 + int(200);
      push(rec(enis[a]!, internal[a]!, external[e]!, sport, 443, 6, pk, pk * (400 + int(1000)), start));
      push(rec(enis[a]!, external[e]!, internal[a]!, 443, sport, 6, pk, pk * (800 + int(1200)), start));
      i += 2;
    }
  }
  while (p < planted.length) push(planted[p++]!);
  if (buf.length) write(buf.join("\n") + "\n");
  return written;
}

/**
 * A flood of distinct flows, the worst case for the detector's memory: every record comes from
 * its own random public source to a random internal host and port, rejected, at a random time in
 * the hour. Seeded. Returns the number of records written.
 */
export function generateFlood(file: string, records: number, seed: number): number {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const fd = fs.openSync(file, "w");
  try {
    for (let i = 0; i < records; i += 10000) {
      const lines: string[] = [];
      for (let j = i; j < Math.min(records, i + 10000); j++) {
        const src = `${1 + int(223)}.${int(256)}.${int(256)}.${1 + int(254)}`;
        const dst = `10.${int(256)}.${int(256)}.${1 + int(254)}`;
        lines.push(rec("eni-0a1b2c3d4e5f60718", src, dst, 1024 + int(64512), 1 + int(65535), 6, 1, 44, T0 + int(3600), "REJECT"));
      }
      fs.writeSync(fd, lines.join("\n") + "\n", null, "latin1");
    }
    return records;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a generated file, gzip-compressed when `gzip` is set; returns the number of records. */
export function generateFile(file: string, records: number, seed: number, gzip = false): number {
  const fd = fs.openSync(file, "w");
  const header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";
  try {
    if (gzip) {
      const chunks: Buffer[] = [];
      const n = generate(records, seed, (c) => chunks.push(Buffer.from(c, "latin1")));
      fs.writeSync(fd, zlib.gzipSync(Buffer.concat([Buffer.from(header), ...chunks])));
      return n;
    }
    fs.writeSync(fd, header);
    return generate(records, seed, (c) => fs.writeSync(fd, c, null, "latin1"));
  } finally {
    fs.closeSync(fd);
  }
}

if (require.main === module) {
  const args = process.argv.slice(2).filter((a) => a !== "--gzip" && a !== "--flood");
  const [file, records = "5000000", seed = "1"] = args;
  if (!file) {
    process.stderr.write("usage: generate.ts <file> [records] [seed] [--gzip | --flood]\n");
    process.exit(2);
  }
  const n = process.argv.includes("--flood") ? generateFlood(file, Number(records), Number(seed)) : generateFile(file, Number(records), Number(seed), process.argv.includes("--gzip"));
  process.stdout.write(`${file}: ${n} records\n`);
}
