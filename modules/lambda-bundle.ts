import * as crypto from "crypto";
import * as esbuild from "esbuild";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";

/** A Lambda deployment package on disk. */
export interface LambdaBundle {
  /** The zip file. */
  readonly zipPath: string;
  /** sha-256 of the zip, hex: same code, same hash. */
  readonly sha256: string;
  /** base64 sha-256 of the zip, as Lambda's source_code_hash expects. */
  readonly sourceCodeHash: string;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A zip archive with fixed timestamps (1980-01-01), fixed permissions and entries in the given
 * order, so the same files always give the same bytes and Terraform never sees a change that
 * is not one.
 */
export function deterministicZip(entries: readonly { readonly name: string; readonly data: Buffer }[]): Buffer {
  const DOS_TIME = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const compressed = zlib.deflateRawSync(e.data, { level: 9 });
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, so the mode below is honoured
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // -rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

const bundles = new Map<string, LambdaBundle>();

/**
 * Bundles a handler with esbuild (every dependency included, so what was tested is what runs)
 * into `index.js` inside a deterministic zip, cached per process and on disk by content hash.
 */
export function bundleHandler(entry: string, name: string): LambdaBundle {
  const cached = bundles.get(entry);
  if (cached) return cached;
  const result = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
    // Absolute paths of this machine must not end up in the bundle.
    absWorkingDir: path.resolve(__dirname, ".."),
  });
  const code = Buffer.from(result.outputFiles[0]!.contents);
  const zip = deterministicZip([{ name: "index.js", data: code }]);
  const sha256 = crypto.createHash("sha256").update(zip).digest("hex");
  const dir = path.join(os.tmpdir(), "flowlog-kit-bundles", sha256);
  const zipPath = path.join(dir, `${name}.zip`);
  if (!fs.existsSync(zipPath)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${zipPath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, zip);
    fs.renameSync(tmp, zipPath);
  }
  const bundle = { zipPath, sha256, sourceCodeHash: crypto.createHash("sha256").update(zip).digest("base64") };
  bundles.set(entry, bundle);
  return bundle;
}
