/**
 * The NoCloud seed image: a small ISO 9660 volume labelled `cidata` holding
 * user-data, meta-data and network-config at its root.
 *
 * cloud-init finds the seed by its filesystem label and opens the files by
 * their lowercase names, which plain ISO 9660 cannot record (its names are
 * upper-case 8.3). The image therefore carries both extensions that Linux
 * reads: Rock Ridge (RRIP 1.10, "RRIP_1991A", as genisoimage -r writes it)
 * in the primary directory, and a Joliet (UCS-2 level 3) supplementary tree.
 *
 * Written here rather than by genisoimage/xorriso so that generation needs no
 * external tool and stays fast: the whole image is one allocation, a few
 * hundred bytes of descriptors and a copy of each file's bytes. The output
 * depends only on the inputs: every timestamp is the one given (Unix epoch by
 * default) and nothing random is recorded.
 *
 * Layout, in 2048-byte logical sectors:
 *   0-15  system area (zeros)
 *   16    primary volume descriptor
 *   17    supplementary volume descriptor (Joliet)
 *   18    volume descriptor set terminator
 *   19-20 type L and type M path tables of the primary tree
 *   21-22 type L and type M path tables of the Joliet tree
 *   23    Rock Ridge continuation area (the ER entry, too long for a record)
 *   24-   primary root directory, then Joliet root directory
 *   then  file data, one extent per file, in the order the files were given
 *
 * Directory records are sorted by identifier as ECMA-119 9.3 asks; only the
 * data extents follow the caller's order. Field layouts follow ECMA-119
 * (2nd edition), the Joliet specification (1995) and SUSP 1.10 / RRIP 1.10.
 */

export interface IsoFile {
  /** Name at the root of the image, as the reader will see it: user-data. */
  name: string;
  /** Strings are written as UTF-8. */
  content: string | Uint8Array;
}

export interface IsoOptions {
  /** Volume label (blkid LABEL); NoCloud looks for `cidata`. */
  volumeLabel?: string;
  /** Every date recorded in the image; defaults to the Unix epoch. */
  timestamp?: Date;
}

const SECTOR = 2048;
const PVD_SECTOR = 16;
const SVD_SECTOR = 17;
const TERMINATOR_SECTOR = 18;
const PATH_L_SECTOR = 19;
const PATH_M_SECTOR = 20;
const JOLIET_PATH_L_SECTOR = 21;
const JOLIET_PATH_M_SECTOR = 22;
const CONTINUATION_SECTOR = 23;
const FIRST_DIRECTORY_SECTOR = 24;

/** One path table record for the root alone: 8 bytes, a 1-byte identifier, 1 byte padding. */
const PATH_TABLE_SIZE = 10;

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_NAME = 64; // Joliet allows 64 UCS-2 characters.
const VOLUME_LABEL = /^[A-Za-z0-9_-]+$/;
const MAX_LABEL = 16; // The Joliet volume identifier holds 16 UCS-2 characters.
const MAX_FILE_SIZE = 0xffffffff; // Data Length is a 32-bit field; one extent per file.

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

// Rock Ridge: the extension reference recorded once, in the root's continuation area.
const RRIP_ID = ascii('RRIP_1991A');
const RRIP_DESCRIPTOR = ascii('THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS');
const RRIP_SOURCE = ascii(
  'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.',
);
const ER_LENGTH = 8 + RRIP_ID.length + RRIP_DESCRIPTOR.length + RRIP_SOURCE.length;

// Lengths of the System Use entries written (SUSP 1.10 / RRIP 1.10).
const SP_LENGTH = 7;
const CE_LENGTH = 28;
const RR_LENGTH = 5;
const PX_LENGTH = 36;
const TF_LENGTH = 5 + 3 * 7; // modify, access, attributes; 7-byte dates
const NM_HEADER = 5;

// RR entry flags (RRIP 1.09): which other entries the record carries.
const RR_PX = 0x01;
const RR_NM = 0x08;
const RR_TF = 0x80;

const MODE_DIRECTORY = 0o040555;
const MODE_FILE = 0o100444;

const FLAG_DIRECTORY = 0x02;

interface Entry {
  name: string;
  content: string | Uint8Array;
  size: number;
  /** ISO 9660 level 1 identifier without the version: USER_DAT. */
  isoBase: string;
  isoExt: string;
  sector: number;
}

/** Builds the NoCloud seed image. Throws on a name or label that does not fit. */
export function buildCidataIso(files: readonly IsoFile[], options: IsoOptions = {}): Uint8Array {
  const label = options.volumeLabel ?? 'cidata';
  if (label.length > MAX_LABEL || !VOLUME_LABEL.test(label)) {
    throw new Error(`ISO volume label ${JSON.stringify(label)}: use 1 to ${MAX_LABEL} of A-Z a-z 0-9 _ -`);
  }
  const stamp = dates(options.timestamp ?? new Date(0));

  const entries = toEntries(files);
  const isoOrder = [...entries].sort(compareIso);
  const jolietOrder = [...entries].sort(compareJoliet);

  // Directory sizes decide where the file data starts.
  const primaryRecords = [ROOT_DOT_LENGTH, ROOT_DOTDOT_LENGTH, ...isoOrder.map(primaryRecordLength)];
  const jolietRecords = [34, 34, ...jolietOrder.map((e) => evenRecord(33 + 2 * e.name.length))];
  const primarySectors = directorySectors(primaryRecords);
  const jolietSectors = directorySectors(jolietRecords);
  const primaryDir = FIRST_DIRECTORY_SECTOR;
  const jolietDir = primaryDir + primarySectors;

  let next = jolietDir + jolietSectors;
  for (const e of entries) {
    // An empty file takes no sector; like genisoimage, it points where the next data starts.
    e.sector = next;
    next += Math.ceil(e.size / SECTOR);
  }
  const totalSectors = next;

  const image = new Uint8Array(totalSectors * SECTOR);
  const view = new DataView(image.buffer);
  const tree = { primaryDir, primarySize: primarySectors * SECTOR, jolietDir, jolietSize: jolietSectors * SECTOR };

  writeVolumeDescriptor(image, view, 'primary', label, totalSectors, tree, stamp);
  writeVolumeDescriptor(image, view, 'joliet', label, totalSectors, tree, stamp);
  image.set([0xff, 0x43, 0x44, 0x30, 0x30, 0x31, 0x01], TERMINATOR_SECTOR * SECTOR); // type 255, "CD001", version 1

  for (const [sector, root] of [[PATH_L_SECTOR, primaryDir], [JOLIET_PATH_L_SECTOR, jolietDir]] as const) {
    const at = sector * SECTOR;
    image[at] = 1; // identifier length; the root's identifier is one 00 byte
    view.setUint32(at + 2, root, true);
    view.setUint16(at + 6, 1, true); // parent directory number
  }
  for (const [sector, root] of [[PATH_M_SECTOR, primaryDir], [JOLIET_PATH_M_SECTOR, jolietDir]] as const) {
    const at = sector * SECTOR;
    image[at] = 1;
    view.setUint32(at + 2, root, false);
    view.setUint16(at + 6, 1, false);
  }

  writeExtensionReference(image, CONTINUATION_SECTOR * SECTOR);
  writePrimaryDirectory(image, view, isoOrder, tree, stamp);
  writeJolietDirectory(image, view, jolietOrder, tree, stamp);

  const encoder = new TextEncoder();
  for (const e of entries) {
    const at = e.sector * SECTOR;
    if (typeof e.content === 'string') encoder.encodeInto(e.content, image.subarray(at, at + e.size));
    else image.set(e.content, at);
  }
  return image;
}

function toEntries(files: readonly IsoFile[]): Entry[] {
  const seen = new Set<string>();
  const usedIso = new Set<string>();
  return files.map(({ name, content }) => {
    if (typeof name !== 'string' || name.length > MAX_NAME || !FILE_NAME.test(name)) {
      throw new Error(
        `ISO file name ${JSON.stringify(name)}: use 1 to ${MAX_NAME} of A-Z a-z 0-9 . _ -, starting with a letter or digit`,
      );
    }
    const folded = name.toLowerCase();
    if (seen.has(folded)) throw new Error(`ISO file name ${JSON.stringify(name)} is given twice (names are compared without case)`);
    seen.add(folded);
    const size = typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.length;
    if (size > MAX_FILE_SIZE) throw new Error(`ISO file ${name}: ${size} bytes is more than one extent holds`);
    const [isoBase, isoExt] = levelOneName(name, usedIso);
    return { name, content, size, isoBase, isoExt, sector: 0 };
  });
}

/** An 8.3 identifier of d-characters, unique in the directory: user-data -> USER_DAT. */
function levelOneName(name: string, used: Set<string>): [string, string] {
  const upper = name.toUpperCase().replace(/[^A-Z0-9_.]/g, '_');
  const dot = upper.lastIndexOf('.');
  const base = (dot < 0 ? upper : upper.slice(0, dot)).replace(/\./g, '_').slice(0, 8);
  const ext = dot < 0 ? '' : upper.slice(dot + 1, dot + 4);
  let candidate = base;
  for (let n = 0; used.has(`${candidate}.${ext}`); n++) {
    const suffix = String(n);
    candidate = base.slice(0, 8 - suffix.length) + suffix;
  }
  used.add(`${candidate}.${ext}`);
  return [candidate, ext];
}

/** ECMA-119 9.3: by name, then extension, the shorter padded with spaces. */
function comparePadded(aName: string, aExt: string, bName: string, bExt: string): number {
  const width = Math.max(aName.length, bName.length);
  const byName = compareCodeUnits(aName.padEnd(width), bName.padEnd(width));
  if (byName !== 0) return byName;
  const extWidth = Math.max(aExt.length, bExt.length);
  return compareCodeUnits(aExt.padEnd(extWidth), bExt.padEnd(extWidth));
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const compareIso = (a: Entry, b: Entry): number => comparePadded(a.isoBase, a.isoExt, b.isoBase, b.isoExt);

function compareJoliet(a: Entry, b: Entry): number {
  const split = (n: string): [string, string] => {
    const dot = n.lastIndexOf('.');
    return dot < 0 ? [n, ''] : [n.slice(0, dot), n.slice(dot + 1)];
  };
  return comparePadded(...split(a.name), ...split(b.name));
}

function isoIdentifier(e: Entry): string {
  return `${e.isoBase}.${e.isoExt};1`;
}

/** A directory record's length is even: ECMA-119 9.1.12 pads the identifier, 9.1.13 the system use. */
function evenRecord(length: number): number {
  return length + (length & 1);
}

const ROOT_DOT_LENGTH = evenRecord(34 + SP_LENGTH + RR_LENGTH + PX_LENGTH + TF_LENGTH + CE_LENGTH);
const ROOT_DOTDOT_LENGTH = evenRecord(34 + RR_LENGTH + PX_LENGTH + TF_LENGTH);

function primaryRecordLength(e: Entry): number {
  const id = isoIdentifier(e).length;
  return evenRecord(33 + id + ((id & 1) ^ 1) + RR_LENGTH + NM_HEADER + e.name.length + PX_LENGTH + TF_LENGTH);
}

/** Records never straddle a sector (ECMA-119 6.8.1.1). */
function directorySectors(lengths: readonly number[]): number {
  let sectors = 1;
  let used = 0;
  for (const length of lengths) {
    if (used + length > SECTOR) { sectors++; used = 0; }
    used += length;
  }
  return sectors;
}

interface Dates {
  /** 7-byte directory record date (ECMA-119 9.1.5), also used by Rock Ridge TF. */
  record: Uint8Array;
  /** 17-byte volume descriptor date (ECMA-119 8.4.26.1). */
  volume: Uint8Array;
}

function dates(when: Date): Dates {
  const time = when.getTime();
  if (!Number.isFinite(time)) throw new Error('ISO timestamp is not a valid date');
  const year = when.getUTCFullYear();
  if (year < 1900 || year > 2155) throw new Error(`ISO timestamp ${when.toISOString()}: years 1900 to 2155 only`);
  const parts = [when.getUTCMonth() + 1, when.getUTCDate(), when.getUTCHours(), when.getUTCMinutes(), when.getUTCSeconds()];
  const record = Uint8Array.from([year - 1900, ...parts, 0]); // last byte: offset from GMT, 0
  const digits = String(year) + [...parts, Math.floor(when.getUTCMilliseconds() / 10)].map((n) => String(n).padStart(2, '0')).join('');
  const volume = new Uint8Array(17);
  volume.set(ascii(digits));
  return { record, volume };
}

/** "Not specified" in a 17-byte date field: sixteen '0' digits and a zero offset. */
const NO_DATE = (() => {
  const d = new Uint8Array(17);
  d.fill(0x30, 0, 16);
  return d;
})();

interface Tree { primaryDir: number; primarySize: number; jolietDir: number; jolietSize: number }

function both32(view: DataView, at: number, value: number): void {
  view.setUint32(at, value, true);
  view.setUint32(at + 4, value, false);
}

function both16(view: DataView, at: number, value: number): void {
  view.setUint16(at, value, true);
  view.setUint16(at + 2, value, false);
}

/** Text field: a-characters padded with spaces, or UCS-2 big-endian padded with UCS-2 spaces for Joliet. */
function putText(image: Uint8Array, at: number, width: number, text: string, joliet: boolean): void {
  if (joliet) {
    for (let i = 0; i + 1 < width; i += 2) {
      const code = i / 2 < text.length ? text.charCodeAt(i / 2) : 0x20;
      image[at + i] = code >> 8;
      image[at + i + 1] = code & 0xff;
    }
    // An odd-width field (the 37-byte file identifiers) ends with one spare 00 byte.
  } else {
    image.fill(0x20, at, at + width);
    for (let i = 0; i < text.length; i++) image[at + i] = text.charCodeAt(i);
  }
}

/** ECMA-119 8.4 (primary) and 8.5 (supplementary; Joliet). Offsets are byte positions - 1. */
function writeVolumeDescriptor(
  image: Uint8Array,
  view: DataView,
  kind: 'primary' | 'joliet',
  label: string,
  totalSectors: number,
  tree: Tree,
  stamp: Dates,
): void {
  const joliet = kind === 'joliet';
  const at = (joliet ? SVD_SECTOR : PVD_SECTOR) * SECTOR;
  image[at] = joliet ? 2 : 1;
  image.set(ascii('CD001'), at + 1);
  image[at + 6] = 1;
  putText(image, at + 8, 32, '', joliet); // system identifier
  putText(image, at + 40, 32, label, joliet); // volume identifier
  both32(view, at + 80, totalSectors);
  if (joliet) image.set([0x25, 0x2f, 0x45], at + 88); // escape sequence %/E: UCS-2 level 3
  both16(view, at + 120, 1); // volume set size
  both16(view, at + 124, 1); // volume sequence number
  both16(view, at + 128, SECTOR);
  both32(view, at + 132, PATH_TABLE_SIZE);
  view.setUint32(at + 140, joliet ? JOLIET_PATH_L_SECTOR : PATH_L_SECTOR, true);
  view.setUint32(at + 148, joliet ? JOLIET_PATH_M_SECTOR : PATH_M_SECTOR, false);
  writeRecord(image, view, at + 156, {
    length: 34,
    sector: joliet ? tree.jolietDir : tree.primaryDir,
    size: joliet ? tree.jolietSize : tree.primarySize,
    flags: FLAG_DIRECTORY,
    identifier: [0],
    date: stamp.record,
  });
  putText(image, at + 190, 128, '', joliet); // volume set
  putText(image, at + 318, 128, '', joliet); // publisher
  putText(image, at + 446, 128, '', joliet); // data preparer
  putText(image, at + 574, 128, '', joliet); // application
  putText(image, at + 702, 37, '', joliet); // copyright file
  putText(image, at + 739, 37, '', joliet); // abstract file
  putText(image, at + 776, 37, '', joliet); // bibliographic file
  image.set(stamp.volume, at + 813); // creation
  image.set(stamp.volume, at + 830); // modification
  image.set(NO_DATE, at + 847); // expiration
  image.set(stamp.volume, at + 864); // effective
  image[at + 881] = 1; // file structure version
}

interface RecordFields {
  length: number;
  sector: number;
  size: number;
  flags: number;
  identifier: ArrayLike<number>;
  date: Uint8Array;
}

/** ECMA-119 9.1; returns where the System Use area starts. */
function writeRecord(image: Uint8Array, view: DataView, at: number, r: RecordFields): number {
  image[at] = r.length;
  both32(view, at + 2, r.sector);
  both32(view, at + 10, r.size);
  image.set(r.date, at + 18);
  image[at + 25] = r.flags;
  both16(view, at + 28, 1); // volume sequence number
  image[at + 32] = r.identifier.length;
  image.set(r.identifier, at + 33);
  return at + 33 + r.identifier.length + ((r.identifier.length & 1) ^ 1);
}

/** Places records in a directory's sectors in turn, moving to the next sector rather than straddling. */
function recordPlacer(start: number): (length: number) => number {
  let at = start;
  return (length) => {
    const inSector = at % SECTOR;
    if (inSector + length > SECTOR) at += SECTOR - inSector;
    const here = at;
    at += length;
    return here;
  };
}

function entry(image: Uint8Array, at: number, signature: string, length: number): number {
  image[at] = signature.charCodeAt(0);
  image[at + 1] = signature.charCodeAt(1);
  image[at + 2] = length;
  image[at + 3] = 1; // entry version
  return at + 4;
}

function writeRR(image: Uint8Array, at: number, flags: number): number {
  image[entry(image, at, 'RR', RR_LENGTH)] = flags;
  return at + RR_LENGTH;
}

function writePX(image: Uint8Array, view: DataView, at: number, mode: number, links: number): number {
  const body = entry(image, at, 'PX', PX_LENGTH);
  both32(view, body, mode);
  both32(view, body + 8, links);
  // uid and gid (body + 16, body + 24) stay 0: root.
  return at + PX_LENGTH;
}

function writeTF(image: Uint8Array, at: number, date: Uint8Array): number {
  const body = entry(image, at, 'TF', TF_LENGTH);
  image[body] = 0x02 | 0x04 | 0x08; // modify, access, attributes
  for (let i = 0; i < 3; i++) image.set(date, body + 1 + 7 * i);
  return at + TF_LENGTH;
}

function writeExtensionReference(image: Uint8Array, at: number): void {
  const body = entry(image, at, 'ER', ER_LENGTH);
  image[body] = RRIP_ID.length;
  image[body + 1] = RRIP_DESCRIPTOR.length;
  image[body + 2] = RRIP_SOURCE.length;
  image[body + 3] = 1; // extension version
  image.set(RRIP_ID, body + 4);
  image.set(RRIP_DESCRIPTOR, body + 4 + RRIP_ID.length);
  image.set(RRIP_SOURCE, body + 4 + RRIP_ID.length + RRIP_DESCRIPTOR.length);
}

function writePrimaryDirectory(image: Uint8Array, view: DataView, order: readonly Entry[], tree: Tree, stamp: Dates): void {
  const place = recordPlacer(tree.primaryDir * SECTOR);
  const self = { sector: tree.primaryDir, size: tree.primarySize, flags: FLAG_DIRECTORY, date: stamp.record };

  // "." carries SP (first, as SUSP 5.3 requires), then CE pointing at the ER entry.
  let su = writeRecord(image, view, place(ROOT_DOT_LENGTH), { ...self, length: ROOT_DOT_LENGTH, identifier: [0] });
  su = entry(image, su, 'SP', SP_LENGTH);
  image.set([0xbe, 0xef, 0], su); // check bytes, and no bytes skipped
  su = writeRR(image, su + 3, RR_PX | RR_TF);
  su = writePX(image, view, su, MODE_DIRECTORY, 2);
  su = writeTF(image, su, stamp.record);
  const ce = entry(image, su, 'CE', CE_LENGTH);
  both32(view, ce, CONTINUATION_SECTOR);
  both32(view, ce + 8, 0);
  both32(view, ce + 16, ER_LENGTH);

  // "..": the root is its own parent.
  su = writeRecord(image, view, place(ROOT_DOTDOT_LENGTH), { ...self, length: ROOT_DOTDOT_LENGTH, identifier: [1] });
  su = writeRR(image, su, RR_PX | RR_TF);
  su = writePX(image, view, su, MODE_DIRECTORY, 2);
  writeTF(image, su, stamp.record);

  for (const e of order) {
    const length = primaryRecordLength(e);
    su = writeRecord(image, view, place(length), {
      length,
      sector: e.sector,
      size: e.size,
      flags: 0,
      identifier: ascii(isoIdentifier(e)),
      date: stamp.record,
    });
    su = writeRR(image, su, RR_PX | RR_NM | RR_TF);
    const nm = entry(image, su, 'NM', NM_HEADER + e.name.length);
    image[nm] = 0; // flags: the whole name, in this one entry
    image.set(ascii(e.name), nm + 1);
    su = writePX(image, view, nm + 1 + e.name.length, MODE_FILE, 1);
    writeTF(image, su, stamp.record);
  }
}

function writeJolietDirectory(image: Uint8Array, view: DataView, order: readonly Entry[], tree: Tree, stamp: Dates): void {
  const place = recordPlacer(tree.jolietDir * SECTOR);
  const self = { sector: tree.jolietDir, size: tree.jolietSize, flags: FLAG_DIRECTORY, date: stamp.record, length: 34 };
  writeRecord(image, view, place(34), { ...self, identifier: [0] });
  writeRecord(image, view, place(34), { ...self, identifier: [1] });
  for (const e of order) {
    const identifier = new Uint8Array(2 * e.name.length);
    for (let i = 0; i < e.name.length; i++) identifier[2 * i + 1] = e.name.charCodeAt(i); // ASCII: high byte 0
    const length = evenRecord(33 + identifier.length);
    writeRecord(image, view, place(length), { length, sector: e.sector, size: e.size, flags: 0, identifier, date: stamp.record });
  }
}
