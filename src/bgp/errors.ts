// BGP's error codes (RFC 4271 section 4.5, Cease subcodes from RFC 4486) and the one error type the parser
// and the session throw: it carries what goes into the NOTIFICATION that answers it.

export const ErrorCode = {
  MessageHeader: 1,
  Open: 2,
  Update: 3,
  HoldTimerExpired: 4,
  Fsm: 5,
  Cease: 6,
} as const;

export const HeaderSubcode = { NotSynchronized: 1, BadLength: 2, BadType: 3 } as const;

export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersion: 1,
  BadPeerAs: 2,
  BadBgpId: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
} as const;

export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnown: 2,
  MissingWellKnown: 3,
  AttributeFlags: 4,
  AttributeLength: 5,
  InvalidOrigin: 6,
  InvalidNextHop: 8,
  OptionalAttribute: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

export const CeaseSubcode = {
  MaxPrefixes: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollision: 7,
  OutOfResources: 8,
  HardReset: 9,
} as const;

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    5: 'Authentication Failure',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    1: 'Unexpected Message in OpenSent State',
    2: 'Unexpected Message in OpenConfirm State',
    3: 'Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
  },
};

/** "OPEN Message Error / Bad Peer AS (2/2)". */
export function describeNotification(code: number, subcode: number): string {
  const name = CODE_NAMES[code] ?? `error code ${code}`;
  const sub = SUBCODE_NAMES[code]?.[subcode];
  return `${name}${sub ? ` / ${sub}` : ''} (${code}/${subcode})`;
}

/** Something the peer sent (or did) that ends the session with a NOTIFICATION carrying code/subcode/data. */
export class BgpError extends Error {
  override name = 'BgpError';
  constructor(
    readonly code: number,
    readonly subcode: number,
    detail: string,
    readonly data: Buffer = Buffer.alloc(0),
  ) {
    super(`${describeNotification(code, subcode)}: ${detail}`);
  }
}
