import * as net from "net";
import { isIPAddress, isIPv4, isIPv6, MAX_FLOW_BYTES, MAX_FLOW_PACKETS, VALUE_LIMITS } from "../../../functions/flowlog/values";

const bytes = (text: string) => Buffer.from(text, "latin1");
const check = (fn: (b: Uint8Array, s: number, e: number) => boolean, text: string) => {
  // Inside a larger buffer, to prove the function reads only [s, e).
  const b = bytes(`9:${text}.9`);
  return fn(b, 2, 2 + text.length);
};

describe("what counts as an address", () => {
  it.each([
    ["1.2.3.4", true],
    ["0.0.0.0", true],
    ["255.255.255.255", true],
    ["999.999.999.999", false],
    ["256.1.1.1", false],
    ["010.0.0.5", false],
    ["1.2.3", false],
    ["1.2.3.4.5", false],
    ["1..2.3", false],
    ["1.2.3.", false],
    ["", false],
  ])("IPv4 %j: %s", (text, valid) => {
    expect(check(isIPv4, text)).toBe(valid);
  });

  it.each([
    ["::", true],
    ["::1", true],
    ["1::", true],
    ["2001:db8:1234:a100:8d6e:3477:df66:f105", true],
    ["2001:DB8::F105", true],
    ["1:2:3:4:5:6:7::", true],
    ["::ffff:1.2.3.4", true],
    ["1:2:3:4:5:6:1.2.3.4", true],
    ["1::2:3:4:5:6:7:8", false],
    ["1:2:3:4:5:6:7:1.2.3.4", false],
    ["2001:db8:::1", false],
    ["1::2::3", false],
    [":1", false],
    ["1:", false],
    ["12345::", false],
    ["1:2:3:4:5:6:7:8:9", false],
    ["::ffff:01.2.3.4", false],
    ["fe80::1%eth0", false],
    ["g::1", false],
  ])("IPv6 %j: %s", (text, valid) => {
    expect(check(isIPv6, text)).toBe(valid);
  });

  it("agrees with Node's net.isIP on 20,000 random address-like strings (seeded; zone indexes aside, which flow logs never write)", () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const alphabet = "0123456789abcdefABCDEFg.::";
    const disagreements: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      const n = 1 + random(40);
      for (let j = 0; j < n; j++) text += alphabet[random(alphabet.length)];
      if (random(3) === 0) text = `${random(300)}.${random(300)}.${random(300)}.${random(300)}`;
      if (random(5) === 0) text = `::ffff:${random(300)}.${random(300)}.${random(300)}.${random(300)}`;
      if (random(3) === 0) {
        // Groups of 1 to 5 hex digits, 1 to 9 of them, sometimes one or two "::".
        const groups = Array.from({ length: 1 + random(9) }, () => Array.from({ length: 1 + random(5) }, () => "0123456789abcdef"[random(16)]).join(""));
        for (let k = random(3); k > 0; k--) groups.splice(random(groups.length + 1), 0, "");
        text = groups.join(":");
      }
      if (check(isIPAddress, text) !== (net.isIP(text) !== 0)) disagreements.push(text);
    }
    expect(disagreements).toEqual([]);
  });
});

describe("the bounds of numeric values", () => {
  it("are the ports', the protocol's and the flags' widths, and a flow's most bytes and packets (lost ones too) in one aggregation interval", () => {
    expect(VALUE_LIMITS).toEqual({
      srcport: 65535, dstport: 65535, protocol: 255, "tcp-flags": 255, packets: 2 ** 44, bytes: 2 ** 48,
      "packets-lost-no-route": 2 ** 44, "packets-lost-blackhole": 2 ** 44, "packets-lost-mtu-exceeded": 2 ** 44, "packets-lost-ttl-expired": 2 ** 44,
    });
    // 3,200 Gbps (the largest EC2 instance's whole bandwidth) for the longest interval, 10 minutes, fits under the byte bound.
    expect((3200e9 / 8) * 600).toBeLessThan(MAX_FLOW_BYTES);
    expect(Number.isSafeInteger(MAX_FLOW_BYTES) && String(MAX_FLOW_BYTES).length).toBe(15);
    expect(MAX_FLOW_PACKETS * 16).toBe(MAX_FLOW_BYTES);
  });
});
