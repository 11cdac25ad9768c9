/**
 * Local receivers for the watchdog's alerts, on loopback: an HTTP endpoint that records webhook
 * posts and pings, and a TEST STAND-IN SMTP SERVER (not a mail server: it speaks just enough SMTP,
 * RFC 5321's EHLO, AUTH PLAIN, MAIL, RCPT, DATA and QUIT, to record what a client sends).
 */
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";

export interface HttpReceiver {
  url: string;
  /** Every request: method, path and body. */
  received: { method: string; path: string; body: string }[];
  /** The status to answer with (200 unless a test breaks the channel). */
  status: number;
  close(): Promise<void>;
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const receiver = { received: [] as HttpReceiver["received"], status: 200 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      receiver.received.push({ method: req.method ?? "", path: req.url ?? "", body });
      res.writeHead(receiver.status, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

export interface SmtpReceiver {
  port: number;
  /** One entry per message: the envelope, the AUTH line's credentials as sent, and the data. */
  messages: { from: string; to: string[]; auth?: string; data: string }[];
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const messages: SmtpReceiver["messages"] = [];
  const server = net.createServer((socket) => {
    let buffer = "";
    let inData = false;
    let current = { from: "", to: [] as string[], auth: undefined as string | undefined, data: "" };
    const say = (line: string) => socket.write(`${line}\r\n`);
    say("220 receiver.test ESMTP stand-in");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let i: number;
      while ((i = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            messages.push(current);
            current = { from: "", to: [], auth: current.auth, data: "" };
            say("250 queued");
          } else current.data += `${line.startsWith("..") ? line.slice(1) : line}\n`;
          continue;
        }
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "EHLO") say("250-receiver.test\r\n250 AUTH PLAIN");
        else if (verb === "HELO") say("250 receiver.test");
        else if (verb === "AUTH") {
          current.auth = Buffer.from(line.split(" ")[2] ?? "", "base64").toString("utf8");
          say("235 accepted");
        } else if (verb === "MAIL") {
          current.from = line.slice(line.indexOf(":") + 1).trim();
          say("250 ok");
        } else if (verb === "RCPT") {
          current.to.push(line.slice(line.indexOf(":") + 1).trim());
          say("250 ok");
        } else if (verb === "DATA") {
          inData = true;
          say("354 go on");
        } else if (verb === "QUIT") {
          say("221 bye");
          socket.end();
        } else if (verb === "RSET" || verb === "NOOP") say("250 ok");
        else say("502 not implemented");
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
