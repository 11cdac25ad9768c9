/**
 * A stand-in for Chatwoot's Rails server, for tests only: it answers the endpoints the proxy and
 * the verify hook touch, with Chatwoot's headers, and can misbehave on demand. Loopback only.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface StubBehaviour {
  version: string;
  dataServices: "ok" | "failing";
  queueServices: "ok" | "failing";
  /** Refuse websocket upgrades on /cable (as Rails does when the proxy drops the headers). */
  refuseWebsocket: boolean;
  /** Answer the upgrade with a wrong Sec-WebSocket-Accept (a broken proxy or a fake 101). */
  wrongWebsocketAccept: boolean;
  /** Accept the upgrade but never answer a frame (a proxy that buffers the stream). */
  silentWebsocket: boolean;
  /** Paths whose requests are read and never answered (a stuck Rails worker). */
  silentPaths: readonly string[];
  /** The token the authenticated API accepts. */
  apiToken: string;
  accountId: number;
  inboxes: { id: number; name: string }[];
  webhooks: { id: number; url: string }[];
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface ChatwootStub {
  port: number;
  behaviour: StubBehaviour;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Headers Rails adds to every response by default (Chatwoot does not override them). */
const RAILS_DEFAULT_HEADERS = {
  "X-Frame-Options": "SAMEORIGIN",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "strict-origin-when-cross-origin",
};

/** What the widget sends: Chatwoot sets frame-ancestors from the inbox's allowed domains. */
export const WIDGET_CSP = "frame-ancestors https://shop.example.net";

/** A healthy Chatwoot: what tests reset the stub's behaviour to. */
export const HEALTHY = {
  version: "4.15.1",
  dataServices: "ok",
  queueServices: "ok",
  refuseWebsocket: false,
  wrongWebsocketAccept: false,
  silentWebsocket: false,
  silentPaths: [],
} as const satisfies Partial<StubBehaviour>;

export async function startChatwootStub(overrides: Partial<StubBehaviour> = {}): Promise<ChatwootStub> {
  const behaviour: StubBehaviour = {
    ...HEALTHY,
    apiToken: "stub-api-token",
    accountId: 1,
    inboxes: [{ id: 7, name: "API" }],
    webhooks: [{ id: 3, url: "https://app.example.com/hooks/chatwoot" }],
    ...overrides,
  };
  const requests: RecordedRequest[] = [];
  const sockets = new Set<import("node:net").Socket>();

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...RAILS_DEFAULT_HEADERS, ...headers });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = new URL(req.url ?? "/", "http://stub");
    if (behaviour.silentPaths.includes(url.pathname)) return;
    const authed = req.headers["api_access_token"] === behaviour.apiToken;
    const account = `/api/v1/accounts/${behaviour.accountId}`;
    if (url.pathname === "/health") return json(res, 200, { status: "woot" });
    if (url.pathname === "/api") {
      return json(res, 200, {
        version: behaviour.version,
        timestamp: "2026-11-20 12:00:00",
        queue_services: behaviour.queueServices,
        data_services: behaviour.dataServices,
      });
    }
    if (url.pathname.startsWith("/api/v1/")) {
      if (!authed) return json(res, 401, { error: "You need to sign in or sign up before continuing." });
      if (url.pathname === `${account}/inboxes`) return json(res, 200, { payload: behaviour.inboxes });
      if (url.pathname === `${account}/webhooks`) return json(res, 200, { payload: { webhooks: behaviour.webhooks } });
      return json(res, 404, { error: "not found" });
    }
    if (url.pathname === "/widget" || url.pathname.startsWith("/widget/")) {
      res.writeHead(200, { "Content-Type": "text/html", ...RAILS_DEFAULT_HEADERS, "Content-Security-Policy": WIDGET_CSP });
      return res.end("<html>widget</html>");
    }
    res.writeHead(200, { "Content-Type": "text/html", ...RAILS_DEFAULT_HEADERS });
    res.end("<html><body>Chatwoot dashboard</body></html>");
  });

  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  server.on("upgrade", (req, socket) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const key = req.headers["sec-websocket-key"];
    if (behaviour.refuseWebsocket || req.url !== "/cable" || typeof key !== "string") {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    const accept = createHash("sha1")
      .update(`${behaviour.wrongWebsocketAccept ? "x" : ""}${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: actioncable-v1-json\r\n\r\n`,
    );
    if (behaviour.silentWebsocket) return;
    // ActionCable greets every connection; one unmasked text frame.
    const payload = Buffer.from(JSON.stringify({ type: "welcome" }));
    socket.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload]));
    // RFC 6455: a ping (masked, from the client) is answered with a pong carrying its payload.
    let buf = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 6) {
        const opcode = buf[0]! & 0x0f;
        const len = buf[1]! & 0x7f;
        if (len > 125 || buf.length < 6 + len) return;
        const mask = buf.subarray(2, 6);
        const data = Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!));
        buf = buf.subarray(6 + len);
        if (opcode === 0x9) socket.write(Buffer.concat([Buffer.from([0x8a, data.length]), data]));
        if (opcode === 0x8) socket.end();
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    behaviour,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A free TCP port on loopback (bound and released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
